"""Rows against other rows of the file: one row per unit, indicator and period; a total row
(not loaded) equal to the sum of the rows it totals."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from core import catalog
from etl.load import values as V
from etl.load.notes import Note
from etl.load.readers import match_indicator
from etl.load.rules import Reason

if TYPE_CHECKING:
    from etl.load.rules.context import Report

DUPLICATE = Reason("duplicate")
ALSO_IN = DUPLICATE.says("reason", "suggestion", "rows")
ALSO_IN_MORE = DUPLICATE.says("reason_more", "suggestion", "rows", "more")
TWICE_IN_THE_ROW = DUPLICATE.says("reason_same_row", "suggestion")

TOTAL_MISMATCH = Reason("total_mismatch", severity="warning")
SUMS_DIFFER = TOTAL_MISMATCH.says("reason", "suggestion", "stated", "indicator", "period", "n", "counted")

ROWS_SHOWN = 5  # a duplicate line names this many of the other rows


def duplicate(r: Report) -> None:
    """Rows whose unit, indicator and period resolved to the same key. Each line names a few of
    the other rows and how many more, so the report grows with the rows, not with their square."""
    c = r.c
    key = ["lvl", "unit_code", "ind", "period_ok"]
    keyed = c[c.unit_code.notna() & c.ind.notna() & c.period_ok.notna()]
    repeated = keyed[keyed.duplicated(key, keep=False)]
    if repeated.empty:
        return
    group = repeated.groupby(key, sort=False).ngroup().to_numpy()
    rows_of = repeated.groupby(group).row.agg(lambda rows: sorted(set(rows))).to_dict()
    listed, more = [], []
    for g, row in zip(group.tolist(), repeated.row.tolist()):
        rows = rows_of[g]
        others = [x for x in rows[:ROWS_SHOWN + 1] if x != row][:ROWS_SHOWN]
        listed.append(", ".join(map(str, others)))
        more.append(len(rows) - 1 - len(others))
    listed, more = np.array(listed, dtype=object), np.array(more)
    at = np.zeros(len(c), dtype=bool)
    at[repeated.index.to_numpy()] = True

    def spread(values: np.ndarray) -> np.ndarray:  # the repeated rows' values at their positions in c
        out = np.empty(len(c), dtype=values.dtype)
        out[repeated.index.to_numpy()] = values
        return out

    listed, more = spread(listed), spread(more)
    twice = at & (listed == "")  # two columns of one row name the same indicator
    r.reject(twice, TWICE_IN_THE_ROW(), c.unit_column, c.unit)
    r.reject(at & ~twice & (more == 0), ALSO_IN, c.unit_column, c.unit, rows=listed)
    r.reject(at & ~twice & (more > 0), ALSO_IN_MORE, c.unit_column, c.unit, rows=listed, more=more)


def total_mismatch(r: Report) -> None:
    """Total rows are not loaded (the warehouse sums units itself), but each total of a count or
    an amount is compared with the sum of the file's rows for its indicator and period: a
    difference means a row is missing or mistyped, which the clerk should see (a warning)."""
    if r.totals.empty:
        return
    c = r.c
    checked = agree = 0
    for t in r.totals.itertuples(index=False):
        code = match_indicator(t.indicator)
        stated = None if V.is_empty(t.value) else V.parse_number(t.value)[0]
        month = V.parse_period(t.period, r.now)[0]
        if code is None or stated is None or month is None or catalog.get(code).aggregation != "sum":
            continue
        parts = c.loc[(c.ind == code) & (c.period_ok == month), "value_num"]
        if parts.empty or parts.isna().any():
            continue
        checked += 1
        counted = float(parts.sum())
        tolerance = 0.5 if catalog.get(code).unit == "count" else 0.005 * len(parts) + 1e-9  # rounding per row
        if abs(stated - counted) <= tolerance:
            agree += 1
            continue
        r.found.add(SUMS_DIFFER(stated=stated, indicator=code, period=month, n=len(parts), counted=counted),
                    t.row, t.cell_column, t.value)
    r.notes.append(Note("total_rows", {"n": r.totals.row.nunique(), "row": int(r.totals.row.min()),
                                       "checked": checked, "agree": agree}))
