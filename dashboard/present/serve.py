"""Decks the app shows: written once as static files, so hundreds of viewers fetch them over
plain HTTP (cached by their browsers) instead of each session's websocket carrying ~5 MB.

- ``static/vendor/plotly-<version>.min.js``: the plotly.js inside the plotly package;
- ``static/decks/<sha256>.html``: a deck's document referring to it (named by its content,
  so several server processes and a changed warehouse never clash; the newest ``KEEP`` stay).

Streamlit serves ``static/`` at ``/app/static/`` (``server.enableStaticServing``). Where the
folder cannot be written (a read-only install) the Present page falls back to the document
with plotly.js inline.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

import plotly
import streamlit as st

from core import files
from dashboard import db
from dashboard.present import compose, decks, render

STATIC = Path(__file__).resolve().parents[2] / "static"
DECKS = STATIC / "decks"
VENDOR = STATIC / "vendor"
URL = "/app/static/decks/"
KEEP = 200


def _write(path: Path, data: bytes) -> None:
    """Write atomically (a reader never gets half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    files.write_atomic(path, data)


@functools.cache
def plotly_src() -> str | None:
    """plotly.js under static/vendor, as a URL relative to a deck file (None: not writable)."""
    data = render.plotly_js().encode("utf-8")
    path = VENDOR / f"plotly-{plotly.__version__}-{hashlib.sha256(data).hexdigest()[:12]}.min.js"
    try:
        if not path.exists() or path.stat().st_size != len(data):
            _write(path, data)
    except OSError:
        return None
    return f"../vendor/{path.name}"


def _prune() -> None:
    files = sorted(DECKS.glob("*.html"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in files[KEEP:]:
        old.unlink(missing_ok=True)


@db.cached_per_warehouse(st.cache_resource, max_entries=64)
def _deck_file(name: str, views: tuple[str, ...], query: tuple[tuple[str, str], ...], lang: str,
               public: str | None) -> str | None:
    source = plotly_src()
    if source is None:
        return None
    data = compose.html(decks.Deck(name, views, query), lang, plotly_src=source).encode("utf-8")
    path = DECKS / f"{hashlib.sha256(data).hexdigest()[:24]}.html"
    try:
        if not path.exists():
            _write(path, data)
            _prune()
    except OSError:
        return None
    return URL + path.name


def deck_url(deck: decks.Deck, lang: str) -> str | None:
    """The served document of ``deck`` in ``lang`` (written on first use), or None when the
    static folder cannot be written."""
    args = (deck.name, deck.views, deck.query, lang, compose.public_base())
    url = _deck_file(*args)
    if url and not (DECKS / url.rsplit("/", 1)[1]).exists():  # pruned by another process
        _deck_file.clear()
        url = _deck_file(*args)
    return url


def inline_html(deck: decks.Deck, lang: str) -> str:
    """The fallback: the whole document, plotly.js inline."""
    return compose.html(deck, lang)
