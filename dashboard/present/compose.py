"""A deck's slides and its HTML: one slide per view, after a title slide with the deck's name,
its months, its sources and a QR code to its own address.

The address is built from ``DX_PUBLIC_URL`` (what people in the room can reach, e.g.
``https://dx.example.gov.vn``), never from localhost: without one, the title slide says that
no public address is configured.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

import streamlit as st

from core import i18n
from dashboard import db, downloads, ui
from dashboard.present import decks, render, slides
from dashboard.present.render import TitleSlide
from dashboard.present.slides import Slide

LOCAL_HOSTS = {"localhost", "localhost.localdomain", "0.0.0.0", "::1", "::"}  # noqa: S104 (names, not a bind)


def public_base() -> str | None:
    """``DX_PUBLIC_URL`` without its trailing slash, or None when unset or local."""
    base = os.environ.get("DX_PUBLIC_URL", "").strip().rstrip("/")
    parts = urlsplit(base)
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not host or host in LOCAL_HOSTS or host.startswith("127."):
        return None
    return base


def deck_url(deck: decks.Deck, lang: str) -> str | None:
    """The deck's public address (the Present page showing it), or None."""
    base = public_base()
    if base is None or deck.name == decks.MINE:
        return None
    return f"{base}/present?{deck.url_query(lang)}"


def build_slides(deck: decks.Deck, lang: str) -> list[Slide]:
    return [slides.build(link, lang) for link in deck.views]


def title_slide(deck: decks.Deck, built: list[Slide], lang: str) -> TitleSlide:
    found = decks.months(deck) or sorted({m for s in built for m in s.months if m})
    sources = sorted({src for s in built for src in s.sources})
    demo = [s.demo for s in built if s.footer]
    if len(found) > 1:
        footer = ui.caption_text(sources, lang, start=found[0], end=found[-1], demo=demo, mark=str)
    else:
        footer = ui.caption_text(sources, lang, period=found[0] if found else None, demo=demo, mark=str)
    subtitle = " · ".join(p for p in (decks.month_text(found, lang), i18n.t("app.title", lang)) if p)
    return TitleSlide(title=deck.title(lang), subtitle=subtitle, url=deck_url(deck, lang), footer=footer,
                      demo=any(demo))


def html(deck: decks.Deck, lang: str, *, plotly_src: str | None = None) -> str:
    """The whole deck as one HTML document (plotly.js inline unless ``plotly_src``)."""
    built = build_slides(deck, lang)
    return render.document(title_slide(deck, built, lang), built, lang=lang, plotly_src=plotly_src)


def file_stem(deck: decks.Deck, lang: str) -> str:
    """'phu-tho_2025-09' (a file name for its exports)."""
    months = decks.months(deck)
    return downloads.file_stem(deck.title(lang), months[-1] if months else "")


@db.cached_per_warehouse(st.cache_data, max_entries=512)
def slide_title(link: str, lang: str) -> str:
    """The title of a permalink's slide (the Present page lists a deck by them)."""
    return slides.build(link, lang).title
