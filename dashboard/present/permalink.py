"""A deck is a list of view permalinks: the page's URL with its query string, plus ``chart``
naming one chart of that page, e.g.::

    /rankings?indicator=online_application_rate&period=2025-09&region=all&province=25&chart=bars

Opened in the app, the same text is the page's own permalink (pages ignore ``chart``). The
view's key is ``<section>.<chart>`` as the pages pass it to ``ui.chart`` (``rankings.bars``);
``present.*`` keys are slides only decks have (headline figures, provinces below the target,
lagging communes). Pure: no Streamlit, no warehouse.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit

# view key -> URL path of the page that draws it
PAGES = {
    "overview.map": "overview",
    "rankings.bars": "rankings",
    "rankings.movers": "rankings",
    "trends.lines": "trends",
    "trends.spending": "trends",
    "profile.i766_waterfall": "province",
    "profile.i766_groups": "province",
    "profile.map": "province",
    "communes.criteria": "communes",
    "communes.trend": "communes",
    "present.headline": "present",
    "present.below_target": "present",
    "present.lagging_communes": "present",
}
# Parameters a view never keeps: the deck has its own language; the rest steer the app.
DROPPED = frozenset({"lang", "page", "chart", "play", "deck", "auto"})
MAX_LENGTH = 1000  # characters of one permalink
MAX_PARAMS = 12


class BadPermalink(ValueError):
    """Text that is not the permalink of a chart the deck knows."""


@dataclass(frozen=True)
class View:
    key: str  # e.g. "rankings.bars"
    params: tuple[tuple[str, str], ...]  # in the order given, without DROPPED names

    @property
    def page(self) -> str:
        return PAGES[self.key]

    def get(self, name: str, default: str | None = None) -> str | None:
        return dict(self.params).get(name, default)

    def permalink(self) -> str:
        chart = self.key.split(".", 1)[1]
        return f"/{self.page}?{urlencode([*self.params, ('chart', chart)])}"


def view(key: str, **params: str | int | None) -> View:
    """A view from keyword parameters (None leaves one out)."""
    if key not in PAGES:
        raise BadPermalink(f"unknown chart {key!r}")
    return View(key, tuple((k, str(v)) for k, v in params.items() if v is not None and k not in DROPPED))


def _clean(text: str) -> str:
    return unicodedata.normalize("NFC", text).strip()


def parse(text: str) -> View:
    """The view of a permalink (a path with its query string; a full URL's host is ignored)."""
    text = _clean(str(text))
    if not text or len(text) > MAX_LENGTH:
        raise BadPermalink("empty or too long")
    parts = urlsplit(text)
    page = parts.path.rstrip("/").rsplit("/", 1)[-1]
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    chart = next((v for k, v in pairs if k == "chart"), None)
    key = next((k for k, p in PAGES.items() if p == page and k.split(".", 1)[1] == chart), None)
    if key is None:
        raise BadPermalink(f"no chart {chart!r} on page {page!r}")
    params = tuple((k, _clean(v)) for k, v in pairs if k not in DROPPED)
    if len(params) > MAX_PARAMS or len({k for k, _ in params}) != len(params):
        raise BadPermalink("too many or repeated parameters")
    return View(key, params)


def from_page(key: str, query: dict[str, str]) -> View:
    """The view of chart ``key`` as its page shows it (the page's query parameters)."""
    return view(key, **{k: v for k, v in query.items() if k not in DROPPED})
