"""The indicator of a row (or of a wide report's column): a code or name of
data/meta/indicators.toml, published at the row's level."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from core import catalog
from etl.load import values as V
from etl.load.readers import closest_indicators, match_indicator
from etl.load.rules import Reason
from etl.load.rules.context import cached

if TYPE_CHECKING:
    from etl.load.rules.context import Report

UNKNOWN_INDICATOR = Reason("unknown_indicator")
UNKNOWN = UNKNOWN_INDICATOR.says("reason", "suggestion_closest", "value", "closest")
UNKNOWN_FAR = UNKNOWN_INDICATOR.says("reason", "suggestion_catalog", "value")
EMPTY = UNKNOWN_INDICATOR.says("reason_empty", "suggestion_catalog")
UNKNOWN_COLUMN = UNKNOWN_INDICATOR.says("reason_column", "suggestion_closest", "value", "closest")
UNKNOWN_COLUMN_FAR = UNKNOWN_INDICATOR.says("reason_column", "suggestion_column", "value")

WRONG_LEVEL = Reason("wrong_level")
ONLY_AT = {("province",): WRONG_LEVEL.says("reason_province_only", "suggestion_province_only", "indicator"),
           ("commune",): WRONG_LEVEL.says("reason_commune_only", "suggestion_commune_only", "indicator")}


def unknown_columns(r: Report) -> None:
    """A wide report's header that is neither a known column nor an indicator."""
    for label in r.cells.unknown_columns:
        close = closest_indicators(label)
        r.at_header(UNKNOWN_COLUMN(value=label, closest=close) if close else UNKNOWN_COLUMN_FAR(value=label),
                    label, label)


def parse(r: Report) -> None:
    """Parse step: the indicator code of each row, and its catalog entry."""
    c = r.c
    c["ind"] = cached(c.indicator, lambda v: None if V.is_empty(v) else match_indicator(v))
    r.info = cached(c.ind, lambda code: catalog.get(code) if code else None)
    r.is_rate = r.info.map(lambda i: bool(i and i.is_rate)).to_numpy()


def unknown_indicator(r: Report) -> None:
    c = r.c
    unknown = c.ind.isna().to_numpy()
    if not unknown.any():
        return
    shown = c.indicator.map(V.display)
    empty = unknown & (shown == "").to_numpy()
    r.reject(empty, EMPTY(), c.indicator_column, c.indicator)
    close = {v: closest_indicators(v) for v in shown[unknown & ~empty].unique()}
    near = shown.map(lambda v: bool(close.get(v))).to_numpy()
    r.reject(unknown & ~empty & near, UNKNOWN, c.indicator_column, c.indicator, value=shown, closest=shown.map(close))
    r.reject(unknown & ~empty & ~near, UNKNOWN_FAR, c.indicator_column, c.indicator, value=shown)


def wrong_level(r: Report) -> None:
    """An indicator published for one level only, given at the other."""
    c = r.c
    wrong = np.array([bool(i and isinstance(lv, str) and lv not in i.levels) for i, lv in zip(r.info, c.lvl)])
    if not wrong.any():
        return
    published = r.info.map(lambda i: tuple(i.levels) if i else ())
    code = r.info.map(lambda i: i.code if i else "")
    for levels in sorted(set(published[wrong])):
        at = wrong & published.map(levels.__eq__).to_numpy()
        r.reject(at, ONLY_AT[levels], c.indicator_column, c.indicator, indicator=code)
