"""Charts on slides: any chart of the pages restyled for a 16:9 slide (the slide carries the
title, so the figure drops its own; type grows for a hall), and the headline cards.

Pure: a figure in, plotly JSON (a dict) out. The slide is 1920 × 1080 CSS pixels; the chart
box under the title is about ``CHART_WIDTH`` × ``CHART_HEIGHT`` (the PPTX images are drawn at
that size, twice the pixels).
"""

from __future__ import annotations

from html import escape, unescape
from typing import Any

import plotly.graph_objects as go

from charts import theme

CHART_WIDTH = 1792
CHART_HEIGHT = 800
FONT_SCALE = 1.6  # 16 px chart text -> 26 px on a 1920 px slide
TITLE_MARGIN = 40  # what a chart's own title takes of its top margin


def _scale_fonts(node: Any, factor: float) -> None:
    """Multiply every font size in a plotly JSON tree (``font``, ``tickfont``, ``textfont`` …)
    and put the pages' font family to the slides' one."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key.endswith("font") and isinstance(value, dict):
                if isinstance(value.get("size"), (int, float)):
                    value["size"] = round(value["size"] * factor, 1)
                if value.get("family") == theme.FONT_FAMILY:
                    value["family"] = theme.SLIDE_FONT_FAMILY
            _scale_fonts(value, factor)
    elif isinstance(node, list):
        for item in node:
            _scale_fonts(item, factor)


def slide_figure(fig: go.Figure, *, font_scale: float = FONT_SCALE) -> dict:
    """The figure as plotly JSON for a slide: no title, no fixed size (the slide's chart box
    gives it), every font and margin ``font_scale`` times larger. ``fig`` is not changed
    (figures from dashboard.figures are shared)."""
    spec = fig.to_dict()
    layout = spec.setdefault("layout", {})
    titled = bool((layout.pop("title", None) or {}).get("text"))
    layout.pop("height", None)
    layout.pop("width", None)
    layout.setdefault("font", {}).setdefault("size", theme.FONT_SIZE)
    layout["font"]["family"] = theme.SLIDE_FONT_FAMILY
    _scale_fonts(spec, font_scale)
    margin = layout.setdefault("margin", {})
    if titled:
        margin["t"] = max(10, margin.get("t", 60) - TITLE_MARGIN)
    for side in ("t", "b", "l", "r"):
        if isinstance(margin.get(side), (int, float)):
            margin[side] = round(margin[side] * font_scale)
    return spec


def headline_cards(cards: list[dict], lang: str = "vi") -> go.Figure:
    """Up to four big numbers, two by two: each card a ``label``, a ``value`` and a ``note``
    (``good``: True/False colours the note blue/vermillion, None black). Texts are escaped:
    plotly would draw a name's ``<a href>`` as a link."""
    fig = theme.figure(lang, height=CHART_HEIGHT)
    columns = 2 if len(cards) > 1 else 1
    rows = (len(cards) + columns - 1) // columns
    gap = 0.03
    width, height = (1 - gap * (columns - 1)) / columns, (1 - gap * (rows - 1)) / rows
    shapes, notes = [], []
    for i, card in enumerate(cards):
        x0 = (i % columns) * (width + gap)
        y1 = 1 - (i // columns) * (height + gap)
        x_mid = x0 + width / 2
        shapes.append(dict(type="rect", xref="paper", yref="paper", x0=x0, x1=x0 + width, y0=y1 - height, y1=y1,
                           fillcolor="#f2f2f2", line=dict(color="#1a1a1a", width=2), layer="below"))
        value = escape(str(card["value"]), quote=False)
        size = max(40, min(84, int(1500 / max(len(value), 1))))
        good = card.get("good")
        colour = "#1a1a1a" if good is None else theme.GOOD if good else theme.BAD
        for text, y, font in (
            (escape(card["label"], quote=False), y1 - height * 0.12, dict(size=32, color="#1a1a1a")),
            (f"<b>{value}</b>", y1 - height * 0.50, dict(size=size, color="#000000")),
            (escape(card.get("note") or "", quote=False), y1 - height * 0.86, dict(size=30, color=colour)),
        ):
            notes.append(dict(x=x_mid, y=y, xref="paper", yref="paper", text=text, showarrow=False,
                              xanchor="center", yanchor="middle", font=font))
    fig.update_layout(shapes=shapes, annotations=notes, margin=dict(l=4, r=4, t=4, b=4),
                      xaxis=dict(visible=False), yaxis=dict(visible=False), dragmode=False)
    return fig


def card_texts(fig: go.Figure) -> list[str]:
    """The texts of a headline figure, card by card (tests)."""
    return [unescape(a.text.replace("<b>", "").replace("</b>", "")) for a in fig.layout.annotations]
