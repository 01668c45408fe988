"""Presenting at meetings: decks of views (permalink), their slides (slides), the HTML that shows
them (render, compose), saved decks (decks), exports (export) and ``python -m dashboard.present``."""
