"""The one source of colours, fonts and layout defaults for every chart.

- Categories: Okabe-Ito (distinguishable with the common colour-vision deficiencies).
- Values: a perceptually uniform sequential scale (viridis family) running from "bad" to
  "good". For indicators where lower is better (``higher_is_better = False``, e.g.
  delayed_tasks) the scale is reversed so that good is always the same colour.
- Rank change: diverging blue (moved up) / vermillion (moved down).
- Large fonts: charts are shown on projectors in meeting rooms.
"""

from __future__ import annotations

import plotly.graph_objects as go

# Okabe & Ito (2008), "Color Universal Design".
OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}
CATEGORICAL = [
    OKABE_ITO["blue"], OKABE_ITO["orange"], OKABE_ITO["bluish_green"], OKABE_ITO["reddish_purple"],
    OKABE_ITO["sky_blue"], OKABE_ITO["vermillion"], OKABE_ITO["yellow"], OKABE_ITO["black"],
]

# Viridis stops, from "bad" (light yellow) to "good" (dark blue-purple): dark = good reads
# well on white and on a projector.
_VIRIDIS = ["#fde725", "#b5de2b", "#6ece58", "#35b779", "#1f9e89",
            "#26828e", "#31688e", "#3e4989", "#482878", "#440154"]
BAD_TO_GOOD = [[i / (len(_VIRIDIS) - 1), c] for i, c in enumerate(_VIRIDIS)]

GOOD = OKABE_ITO["blue"]  # rank rises, "better"
BAD = OKABE_ITO["vermillion"]  # rank falls, "worse"
NEUTRAL = "#8c8c8c"
BAR = "#9ecae1"  # ordinary bars (light blue), highlighted bar uses HIGHLIGHT
HIGHLIGHT = OKABE_ITO["vermillion"]
NATIONAL = "#000000"
TARGET = OKABE_ITO["bluish_green"]
EVENT = "#6b6b6b"
HISTORY_OPACITY = 0.55
GRID = "#e5e5e5"
MISSING = "#d9d9d9"  # provinces without data on maps

FONT_FAMILY = "'Source Sans', 'Source Sans Pro', 'Source Sans 3', 'Segoe UI', Roboto, Arial, sans-serif"
# Slides (charts/deck.py, the deck's HTML): fonts with every Vietnamese letter on the machines
# that show or export decks (Windows, Debian with fonts-dejavu-core, macOS). Not Arial: on
# Debian it is Liberation Sans, which lacks "ọ", "ỷ" (Chromium then mixes in other fonts).
SLIDE_FONT_FAMILY = '"Segoe UI", "Noto Sans", "DejaVu Sans", "Helvetica Neue", sans-serif'
FONT_SIZE = 16
TITLE_SIZE = 20


def sequential_scale(higher_is_better: bool = True) -> list[list]:
    """Colour scale from low value to high value such that "good" is always dark blue."""
    if higher_is_better:
        return [list(s) for s in BAD_TO_GOOD]
    return [[1 - pos, colour] for pos, colour in reversed(BAD_TO_GOOD)]


def change_colour(delta: float | None) -> str:
    """Colour of a rank change: blue up, vermillion down, grey unchanged/unknown."""
    if delta is None or delta != delta or delta == 0:
        return NEUTRAL
    return GOOD if delta > 0 else BAD


def discrete_marker(indices: list[int], palette: list[str]) -> dict:
    """Per-bar colours as numbers into a stepped colour scale.

    plotly validates a list of colour strings element by element (~10 ms for 34 bars);
    numbers with a stepped ``colorscale`` draw the same colours and validate in microseconds.
    """
    n = len(palette)
    scale = []
    for i, colour in enumerate(palette):
        scale += [[i / n, colour], [(i + 1) / n, colour]]
    return dict(color=list(indices), colorscale=scale, cmin=-0.5, cmax=n - 0.5, showscale=False)


def marker_colours(marker) -> list[str]:
    """The colour of each bar of a marker made by :func:`discrete_marker` (tests, exports)."""
    scale = [colour for _, colour in marker["colorscale"][::2]]
    return [scale[int(i)] for i in marker["color"]]


def base_layout(lang: str = "vi", *, title: str | None = None, height: int = 520) -> dict:
    """Layout defaults for every chart (fonts, margins, separators in the reader's locale)."""
    layout = dict(
        font=dict(family=FONT_FAMILY, size=FONT_SIZE, color="#1a1a1a"),
        separators=",." if lang == "vi" else ".,",
        paper_bgcolor="white",
        plot_bgcolor="white",
        colorway=CATEGORICAL,
        margin=dict(l=10, r=20, t=60 if title else 20, b=40),
        height=height,
        hoverlabel=dict(font=dict(size=FONT_SIZE, family=FONT_FAMILY), bgcolor="white"),
        legend=dict(font=dict(size=FONT_SIZE - 1), orientation="h", yanchor="top", y=-0.12, x=0),
    )
    if title:
        text = wrapped_title(title)
        # From the top edge down: a second line must not run into notes above the plot.
        # plotly anchors a title's first line at "top": a second line adds its height to the pad.
        layout["title"] = dict(text=text, font=dict(size=TITLE_SIZE), x=0, xanchor="left",
                               y=1, yref="container", yanchor="top",
                               pad=dict(t=10 + (TITLE_LINE if "<br>" in text else 0)))
        layout["margin"]["t"] = title_room(title, 60)
    return layout


TITLE_CHARACTERS = 40  # about what a phone (390 px) shows on one line at TITLE_SIZE


TITLE_LINE = 28  # pixels: the height of a title's second line


def title_room(title: str | None, one_line: int) -> int:
    """The top margin for ``title``: ``one_line`` pixels, a line more when it takes two, 0
    pixels of it without a title (the caller adds what else sits on top)."""
    if not title:
        return 0
    return one_line + (TITLE_LINE if "<br>" in wrapped_title(title) else 0)


def wrapped_title(title: str) -> str:
    """A long title on two lines, broken after a " · " where that keeps both lines short
    ('Tỷ lệ … theo xã, phường ·<br>Phú Thọ · Tháng 9/2025'), else at the space nearest its
    middle: plotly never wraps a title, and on a phone the month was cut off."""
    if len(title) <= TITLE_CHARACTERS or "<br>" in title:
        return title
    spaces = [i for i, ch in enumerate(title) if ch == " " and title[i - 1] != "·"]
    dots = [i + 2 for i in spaces if title[i + 1:i + 3] == "· "]  # the space after a " · "
    longest = {i: max(i, len(title) - i - 1) for i in dots + spaces}
    if not longest:
        return title
    best_dot = min(dots, key=longest.get) if dots else None
    cut = best_dot if best_dot is not None and longest[best_dot] <= TITLE_CHARACTERS else min(spaces, key=longest.get)
    return f"{title[:cut]}<br>{title[cut + 1:]}"


def axis(**extra) -> dict:
    base = dict(gridcolor=GRID, zerolinecolor="#bdbdbd", tickfont=dict(size=FONT_SIZE - 1), automargin=True)
    base.update(extra)
    return base


def figure(lang: str = "vi", *, title: str | None = None, height: int = 520) -> go.Figure:
    """An empty figure with the theme applied (faster than templates for small charts)."""
    return go.Figure(layout=base_layout(lang, title=title, height=height))
