"""Streamlit-side core of the DX dashboard: database access, queries, translation,
formatting, permalinks, downloads and shared page parts. Charts live in ``charts/``."""
