"""Which decks there are: the two ready-made ones for a month (the whole country, one
province) and the decks people saved by name.

Saved decks live in one JSON file beside the warehouse (``decks.json``; ``DX_DECKS`` moves
it), which ``python -m etl build`` never touches, so a rebuild keeps them. Each is a list of
view permalinks (dashboard/present/permalink.py). Writes take a lock and replace the file
atomically, like the users file.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

from core import catalog, files, fmt, i18n, paths
from dashboard import queries
from dashboard.present.permalink import BadPermalink, parse, view

NATIONAL, PROVINCE, MINE = "national", "province", "mine"  # deck names a saved deck cannot take
RESERVED = {NATIONAL, PROVINCE, MINE}
MAX_NAME = 60
MAX_VIEWS = 40
MAX_DECKS = 500


class DeckError(ValueError):
    """A name or a list of views that cannot be saved (the message is for readers)."""


@dataclass(frozen=True)
class Deck:
    name: str  # NATIONAL, PROVINCE, MINE or a saved name
    views: tuple[str, ...]  # permalinks, one slide each
    query: tuple[tuple[str, str], ...]  # the deck's own URL parameters (/present?…)

    def title(self, lang: str) -> str:
        params = dict(self.query)
        if self.name == NATIONAL:
            return i18n.t("present.deck_national", lang)
        if self.name == PROVINCE:
            provs = queries.provinces()
            return provs.loc[provs["code"] == params["province"], "name"].iloc[0]
        if self.name == MINE:
            return i18n.t("present.deck_mine", lang)
        return self.name

    def url_query(self, lang: str, *, play: bool = True) -> str:
        return urlencode([*self.query, ("lang", lang), *([("play", "1")] if play else [])])


def national(period: str) -> Deck:
    """The whole country in ``period``: headline numbers, map, ranking, movers, trend against
    the target, spending planned against disbursed, provinces that miss the target."""
    ind = catalog.headline().code
    views = (
        view("present.headline", indicator=ind, period=period),
        view("overview.map", indicator=ind, period=period),
        view("rankings.bars", indicator=ind, period=period, region="all"),
        view("rankings.movers", indicator=ind, period=period, span=3),
        view("trends.lines", indicator=ind, provinces="", history=1, until=period),
        view("trends.spending", year=period[:4], scope="national", until=period),
        view("present.below_target", indicator=ind, period=period),
    )
    return Deck(NATIONAL, tuple(v.permalink() for v in views), (("deck", NATIONAL), ("period", period)))


def province(code: str, period: str) -> Deck:
    """One province in ``period``: headline with rank, map with the province highlighted,
    trend against the national value and the target, the 766 groups, spending, its
    communes' map, its lagging communes."""
    ind = catalog.headline().code
    views = (
        view("present.headline", province=code, indicator=ind, period=period),
        view("overview.map", indicator=ind, period=period, province=code),
        view("trends.lines", indicator=ind, provinces=code, history=1, until=period),
        view("profile.i766_groups", province=code, period=period),
        view("profile.i766_waterfall", province=code, period=period),
        view("trends.spending", year=period[:4], scope=code, until=period),
        view("profile.map", province=code, period=period, indicator=ind),
        view("present.lagging_communes", province=code, indicator=ind, period=period),
    )
    return Deck(PROVINCE, tuple(v.permalink() for v in views),
                (("deck", PROVINCE), ("province", code), ("period", period)))


def mine(views: list[str]) -> Deck:
    """The deck being put together in this session (not shareable until saved)."""
    return Deck(MINE, tuple(views), (("deck", MINE),))


def saved_deck(name: str, path: Path | None = None) -> Deck:
    """A saved deck (KeyError if there is none by that name)."""
    return Deck(name, tuple(saved(path)[normalise_name(name)]), (("deck", normalise_name(name)),))


def months(deck: Deck) -> list[str]:
    """The months a deck's views name, oldest first."""
    found = set()
    for link in deck.views:
        with contextlib.suppress(BadPermalink):
            period = parse(link).get("period")
            if period and len(period) == 7:
                found.add(period)
    return sorted(found)


def month_text(found: list[str], lang: str) -> str:
    if not found:
        return ""
    if len(found) == 1:
        return fmt.month(found[0], lang)
    return f"{fmt.month(found[0], lang)} – {fmt.month(found[-1], lang)}"


# --------------------------------------------------------------------------- the decks file


def decks_path() -> Path:
    """``DX_DECKS``, or ``decks.json`` beside the warehouse."""
    configured = os.environ.get("DX_DECKS")
    return Path(configured).resolve() if configured else paths.warehouse_path().parent / "decks.json"


def normalise_name(name: str) -> str:
    """A deck's name as stored: NFC, single spaces; refused when empty, too long, reserved or
    holding control characters."""
    text = " ".join(unicodedata.normalize("NFC", str(name)).split())
    if not text or len(text) > MAX_NAME or any(unicodedata.category(c).startswith("C") for c in text):
        raise DeckError("present.bad_name")
    if text.lower() in RESERVED:
        raise DeckError("present.reserved_name")
    return text


def saved(path: Path | None = None) -> dict[str, list[str]]:
    """Every saved deck by name (an unreadable file counts as none, and is left for an
    administrator: the next save refuses to overwrite it)."""
    try:
        data = json.loads((path or decks_path()).read_text(encoding="utf-8"))
        return {str(name): [str(v) for v in entry["views"]] for name, entry in data["decks"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[dict]:
    """The file's content to change in place, written back atomically under a lock."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path.with_name(path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            data = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {"version": 1, "decks": {}}
        except ValueError:
            raise DeckError("present.file_damaged") from None
        yield data
        files.write_atomic(path, json.dumps(data, ensure_ascii=False, indent=1))
    finally:
        os.close(fd)


def save(name: str, views: list[str], path: Path | None = None) -> str:
    """Save (or replace) a deck; returns the name as stored."""
    name = normalise_name(name)
    links = [parse(v).permalink() for v in views]  # BadPermalink for anything else
    if not links or len(links) > MAX_VIEWS:
        raise DeckError("present.bad_size")
    with _locked(path or decks_path()) as data:
        decks = data.setdefault("decks", {})
        if name not in decks and len(decks) >= MAX_DECKS:
            raise DeckError("present.too_many")
        decks[name] = {"views": links, "saved_at": datetime.now(UTC).isoformat(timespec="seconds")}
    return name


def delete(name: str, path: Path | None = None) -> None:
    with _locked(path or decks_path()) as data:
        data.setdefault("decks", {}).pop(normalise_name(name), None)
