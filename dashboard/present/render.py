"""A deck as one HTML document: the slides (title, chart as plotly JSON, footer), the slide
script and its style inline; plotly.js inline (exports: nothing to fetch, ever) or from a URL
(the app's static folder: the browser fetches and caches it once).

Pure: slides in, text out. Maps need no network either: plotly's base-map topojson and the
province outlines are put in ``window.PlotlyGeoAssets`` before plotly.js loads, where
plotly.js looks before it would fetch them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from html import escape
from pathlib import Path
from urllib.parse import unquote_plus

import plotly.offline
import segno
from plotly.utils import PlotlyJSONEncoder

from charts import maps, theme
from core import i18n
from dashboard.present.slides import Slide

ASSETS = Path(__file__).resolve().parent / "assets"
TOPOJSON = Path(__file__).resolve().parents[2] / "static" / "topojson"
PROVINCES_KEY = "dx:provinces_34"  # the province outlines' name in PlotlyGeoAssets


@dataclass(frozen=True)
class TitleSlide:
    title: str
    subtitle: str
    url: str | None  # the deck's public address (its QR code), None when none is configured
    footer: str
    demo: bool


@cache
def plotly_js() -> str:
    return plotly.offline.get_plotlyjs()


@cache
def _asset(name: str) -> str:
    return (ASSETS / name).read_text(encoding="utf-8")


@cache
def _geo_assets(with_outlines: bool) -> str:
    topojson = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted(TOPOJSON.glob("*.json"))}
    assets = {"topojson": topojson, **({PROVINCES_KEY: maps.provinces_geojson()} if with_outlines else {})}
    return _script_json(assets)


def _script_json(value: object) -> str:
    """JSON safe inside a <script> element (no '</' can close it)."""
    text = json.dumps(value, cls=PlotlyJSONEncoder, separators=(",", ":"), ensure_ascii=False)
    return text.replace("</", "<\\/").replace("<!--", "<\\!--")


def _shared_outlines(figure: dict) -> dict:
    """The figure with the 34 province outlines named instead of copied (each map would
    otherwise carry its own 100 KB copy)."""
    outlines = maps.provinces_geojson()
    data = [dict(trace, geojson=PROVINCES_KEY) if trace.get("geojson") == outlines else trace
            for trace in figure.get("data", [])]
    return {**figure, "data": data}


def qr_svg(url: str) -> str:
    return segno.make(url, error="m").svg_inline(scale=10, dark="#000", light="#fff", border=2)


def _header(title: str, demo: bool, lang: str) -> str:
    mark = f'<span class="demo">{escape(i18n.t("present.demo_mark", lang))}</span>' if demo else ""
    return f"<header><h1>{escape(title)}</h1>{mark}</header>"


def _footer(text: str, index: int, count: int) -> str:
    return f'<footer><span class="source">{escape(text)}</span><span class="count">{index} / {count}</span></footer>'


def _title_html(title: TitleSlide, count: int, lang: str) -> str:
    if title.url:
        qr = (f'<div class="qr">{qr_svg(title.url)}<div class="url">{escape(unquote_plus(title.url))}</div>'
              f'<div>{escape(i18n.t("present.qr_note", lang))}</div></div>')
    else:
        qr = f'<div class="qr"><div class="none">{escape(i18n.t("present.no_public_url", lang))}</div></div>'
    return (
        f'<section class="slide title-slide" data-title="{escape(title.title)}">'
        f'{_header(title.title, title.demo, lang)}'
        f'<div class="body"><div><p class="subtitle">{escape(title.subtitle)}</p>'
        f'<p class="keys">{escape(i18n.t("present.keys_help", lang))}</p></div>{qr}</div>'
        f"{_footer(title.footer, 1, count)}</section>"
    )


def document(title: TitleSlide, slides: list[Slide], *, lang: str, plotly_src: str | None = None) -> str:
    """The deck as HTML: the title slide, then one slide per entry of ``slides``.
    ``plotly_src``: a URL for plotly.js, or None to inline it."""
    count = len(slides) + 1
    figures: list[dict] = []
    parts = [_title_html(title, count, lang)]
    for index, slide in enumerate(slides, start=2):
        if slide.figure is not None:
            body = f'<div class="chart" data-figure="{len(figures)}"></div>'
            figures.append(_shared_outlines(slide.figure))
        else:
            body = f'<p class="message">{escape(slide.message or "")}</p>'
        parts.append(
            f'<section class="slide" data-title="{escape(slide.title)}" data-permalink="{escape(slide.permalink)}">'
            f'{_header(slide.title, slide.demo, lang)}<div class="body">{body}</div>'
            f"{_footer(slide.footer, index, count)}</section>"
        )
    plotly_tag = (f'<script src="{escape(plotly_src)}"></script>' if plotly_src
                  else f"<script>{plotly_js()}</script>")
    outlines = any(t.get("geojson") == PROVINCES_KEY for f in figures for t in f["data"])
    return (
        f'<!DOCTYPE html>\n<html lang="{lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title.title)}</title><style>:root {{ --font: {theme.SLIDE_FONT_FAMILY}; }}\n"
        f"{_asset('deck.css')}</style></head><body>"
        f'<main id="deck">{"".join(parts)}</main>'
        f'<script type="application/json" id="deck-figures">{_script_json(figures)}</script>'
        f"<script>window.PlotlyGeoAssets = {_geo_assets(outlines)};</script>"
        f"{plotly_tag}<script>{_asset('deck.js')}</script></body></html>\n"
    )
