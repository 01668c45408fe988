"""A rate and its two counts: given together (or neither), the numerator part of the
denominator, the rate equal to 100 × numerator / denominator, and the counts equal to the
file's own count rows. A rate row's counts are loaded too, as observations of its numerator and
denominator indicators, so that counts and rates in the warehouse agree."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from core import catalog
from etl.load import values as V
from etl.load.notes import Note
from etl.load.rules import Reason
from etl.load.rules.context import OBS_COLUMNS

if TYPE_CHECKING:
    from etl.load.rules.context import Report

INCOMPLETE_COUNTS = Reason("incomplete_counts")
ONE_COUNT = INCOMPLETE_COUNTS.says("reason", "suggestion")

NUMERATOR_GT_DENOMINATOR = Reason("numerator_gt_denominator")
LARGER = NUMERATOR_GT_DENOMINATOR.says("reason", "suggestion", "numerator", "denominator")

ZERO_DENOMINATOR = Reason("zero_denominator")
ZERO = ZERO_DENOMINATOR.says("reason", "suggestion")

RATE_MISMATCH = Reason("rate_mismatch")
COUNTS_GIVE = RATE_MISMATCH.says("reason", "suggestion", "value", "numerator", "denominator", "expected")
COUNT_ROWS_GIVE = RATE_MISMATCH.says("reason_count_rows", "suggestion_count_rows", "value", "numerator",
                                     "numerator_row", "denominator", "denominator_row", "expected")

CONFLICTING_COUNT = Reason("conflicting_count")
COUNT_ROW_SAYS = CONFLICTING_COUNT.says("reason", "suggestion", "indicator", "count", "other", "row")
RATE_ROW_SAYS = CONFLICTING_COUNT.says("reason_rate_rows", "suggestion_rate_rows", "indicator", "count")

def rate_tolerance(ind: catalog.Indicator) -> float:
    """How far a rate may be from 100·num/den: 0.01, or half a unit of the catalog's
    published precision when that is coarser (a 1-decimal rate "88.1" for 88.06)."""
    return max(0.01, 0.5 * 10 ** (-ind.decimals)) + 1e-9


def incomplete_counts(r: Report) -> None:
    c = r.c
    no_numerator = c.numerator.map(V.is_empty).to_numpy()
    no_denominator = c.denominator.map(V.is_empty).to_numpy()
    one = r.is_rate & (no_numerator ^ no_denominator)
    r.reject(one & no_numerator, ONE_COUNT(), r.header("numerator"), c.numerator)
    r.reject(one & no_denominator, ONE_COUNT(), r.header("denominator"), c.denominator)


def numerator_gt_denominator(r: Report) -> None:
    c = r.c
    r.reject(r.has_counts & (c.num_num > c.den_num).to_numpy(), LARGER, r.header("numerator"), c.numerator,
             numerator=c.num_num, denominator=c.den_num)


def zero_denominator(r: Report) -> None:
    r.reject(r.has_counts & (r.c.den_num == 0).to_numpy() & ~r.empty_value, ZERO(), r.header("denominator"),
             r.c.denominator)


def rate_mismatch(r: Report) -> None:
    """A rate row's value against its own counts (to 0.01, or half its published decimal)."""
    c = r.c
    n, d, v = c.num_num.to_numpy(), c.den_num.to_numpy(), c.value_num.to_numpy()
    tolerance = r.info.map(lambda i: rate_tolerance(i) if i else 0.0).to_numpy(dtype="float64")
    with np.errstate(invalid="ignore", divide="ignore"):
        expected = np.where(d > 0, 100.0 * n / np.where(d > 0, d, 1), np.nan)
        off = r.has_counts & (d > 0) & (n <= d) & (n >= 0) & (np.abs(v - expected) > tolerance)
    r.reject(off, COUNTS_GIVE, c.cell_column, c.value, value=v, numerator=n, denominator=d, expected=expected)


def _count_rows(r: Report) -> dict[tuple, tuple[float, int]]:
    """(level, unit, period, indicator) -> (value, row) of the good rows."""
    ok = r.c[~r.bad]
    return {(a, b, p, i): (v, row) for a, b, p, i, v, row in
            ok[["lvl", "unit_code", "period_ok", "ind", "value_num", "row"]].itertuples(index=False)}


def _good_rates(r: Report, with_counts: bool) -> pd.DataFrame:
    """The good rate rows with (or without) their counts; their index is their position in ``c``."""
    return r.c[~r.bad & r.is_rate & (r.has_counts == with_counts)]


def conflicting_count(r: Report) -> None:
    """The counts of a rate row become observations of its numerator and denominator
    indicators (``r.implied``) unless the file has those count rows, which must then agree;
    two rate rows implying one count must agree too."""
    explicit = _count_rows(r)
    implied = []
    rates = _good_rates(r, True)
    for position, rr in zip(rates.index, rates.itertuples(index=False)):
        ind = catalog.get(rr.ind)
        for part, count in (("numerator", rr.num_num), ("denominator", rr.den_num)):
            code = getattr(ind, part)
            if rr.lvl not in catalog.get(code).levels:
                continue
            there = explicit.get((rr.lvl, rr.unit_code, rr.period_ok, code))
            if there is None:
                implied.append({"row": rr.row, "level": rr.lvl, "unit_code": rr.unit_code,
                                "province_code": rr.province_code, "indicator": code, "period": rr.period_ok,
                                "value": float(count), "numerator": np.nan, "denominator": np.nan,
                                "source": None if V.is_empty(rr.source) else str(rr.source),
                                "note": f"from the {part} of {rr.ind} (row {rr.row})", "_at": position,
                                "_part": part})
            elif abs(there[0] - count) > 1e-9 * max(1.0, abs(count)):
                r.reject_cell(position, COUNT_ROW_SAYS(indicator=code, count=count, other=there[0], row=there[1]),
                              r.header(part), count)
    frame = pd.DataFrame(implied, columns=[*OBS_COLUMNS, "_at", "_part"])
    frame = frame[~r.bad[frame._at.to_numpy(dtype=int)]]  # a rate row whose other count conflicted
    key = ["level", "unit_code", "indicator", "period"]
    values = frame.groupby(key).value
    conflict = (values.transform("max") - values.transform("min")) > 1e-9
    for row in frame[conflict].itertuples(index=False):
        r.reject_cell(row._at, RATE_ROW_SAYS(indicator=row.indicator, count=row.value), r.header(row._part),
                      row.value)
    r.implied = frame[~conflict].drop_duplicates(key)[OBS_COLUMNS]
    if len(r.implied):
        r.notes.append(Note("implied_counts", {"n": len(r.implied)}))


def rate_mismatch_with_count_rows(r: Report) -> None:
    """A rate row without its counts, against the file's rows of its numerator and denominator:
    they must agree, and when they do the rate row gets them."""
    explicit = _count_rows(r)
    rates = _good_rates(r, False)
    filled = {}
    for position, rr in zip(rates.index, rates.itertuples(index=False)):
        ind = catalog.get(rr.ind)
        base = (rr.lvl, rr.unit_code, rr.period_ok)
        n, d = explicit.get(base + (ind.numerator,)), explicit.get(base + (ind.denominator,))
        if n is None or d is None or not d[0] > 0:
            continue
        expected = 100.0 * n[0] / d[0]
        if abs(rr.value_num - expected) > rate_tolerance(ind):
            r.reject_cell(position, COUNT_ROWS_GIVE(value=rr.value_num, numerator=ind.numerator, numerator_row=n[1],
                                                    denominator=ind.denominator, denominator_row=d[1],
                                                    expected=expected), r.c.cell_column.iat[position], rr.value_num)
        else:
            filled[position] = (n[0], d[0])
    if filled:
        counts = pd.DataFrame.from_dict(filled, orient="index", columns=["num_num", "den_num"])
        r.c.loc[counts.index, ["num_num", "den_num"]] = counts.to_numpy()
