"""The value of a row: a number (in Vietnamese or English notation), present, and possible
for its indicator's unit: counts whole and not negative, rates within 0–100, scores within
their scale, counts and amounts below their plausible maximum."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from core import catalog
from etl.load import values as V
from etl.load.rules import Reason
from etl.load.rules.context import cached

if TYPE_CHECKING:
    from etl.load.rules.context import Report

MISSING_VALUE = Reason("missing_value")
EMPTY = MISSING_VALUE.says("reason", "suggestion")

NON_NUMERIC = Reason("non_numeric")
WHY = {  # the problems of values.parse_number
    "not_a_number": NON_NUMERIC.says("reason", "suggestion", "column"),
    "separators": NON_NUMERIC.says("reason_separators", "suggestion", "column"),
    "boolean": NON_NUMERIC.says("reason_boolean", "suggestion", "column"),
    "not_finite": NON_NUMERIC.says("reason_not_finite", "suggestion", "column"),
    "date": NON_NUMERIC.says("reason_date", "suggestion", "column"),
}

NEGATIVE_COUNT = Reason("negative_count")
NEGATIVE = NEGATIVE_COUNT.says("reason", "suggestion")
NEGATIVE_COUNTS = NEGATIVE_COUNT.says("reason_counts", "suggestion_counts")

NOT_WHOLE_NUMBER = Reason("not_whole_number")
NOT_WHOLE = NOT_WHOLE_NUMBER.says("reason", "suggestion")

RATE_OUT_OF_RANGE = Reason("rate_out_of_range")
RATE_ABOVE_100 = RATE_OUT_OF_RANGE.says("reason", "suggestion_above")
RATE_BELOW_0 = RATE_OUT_OF_RANGE.says("reason", "suggestion_below")

OUT_OF_RANGE = Reason("out_of_range")
OUTSIDE_THE_SCALE = OUT_OF_RANGE.says("reason", "suggestion", "max")

IMPLAUSIBLE_VALUE = Reason("implausible_value")
IMPLAUSIBLE = {"value": IMPLAUSIBLE_VALUE.says("reason", "suggestion", "value", "bound", "indicator"),
               "numerator": IMPLAUSIBLE_VALUE.says("reason_numerator", "suggestion", "value", "bound", "indicator"),
               "denominator": IMPLAUSIBLE_VALUE.says("reason_denominator", "suggestion", "value", "bound",
                                                     "indicator")}

def scale_max(ind: catalog.Indicator) -> float | None:
    """The top of the indicator's scale (100 %, 17 criteria, a score's max); None for counts
    and money, which are bounded by their plausible_max instead."""
    return None if is_amount(ind) else ind.upper_bound


def is_amount(ind: catalog.Indicator | None) -> bool:
    """Counts and money (units bounded by plausible_max in the catalog): never negative."""
    return bool(ind) and ind.unit_spec.bound == "plausible_max"


def parse(r: Report) -> None:
    """Parse step: ``value_num`` (a rate left empty is computed from its two counts),
    ``num_num`` and ``den_num`` (rate rows only), and what is no number."""
    c = r.c
    r.empty_value = c.value.map(V.is_empty).to_numpy()
    r.number_problems = {}
    for name, target in (("value", "value_num"), ("numerator", "num_num"), ("denominator", "den_num")):
        parsed = cached(c[name], lambda v: (None, None) if V.is_empty(v) else V.parse_number(v))
        c[target] = pd.to_numeric(parsed.map(lambda t: t[0]), errors="coerce").astype("float64")
        r.number_problems[name] = parsed.map(lambda t: t[1].name if t[1] else None)
    c["num_num"] = c.num_num.where(r.is_rate)
    c["den_num"] = c.den_num.where(r.is_rate)
    r.has_counts = (c.num_num.notna() & c.den_num.notna()).to_numpy()
    # A rate row may omit its value when it gives both counts.
    r.derived = r.empty_value & r.has_counts & (c.den_num > 0).to_numpy()
    c["value_num"] = c.value_num.where(~r.derived, 100.0 * c.num_num / c.den_num)
    r.unit_kind = r.info.map(lambda i: i.unit if i else None).to_numpy()


def non_numeric(r: Report) -> None:
    c = r.c
    for name, problems in r.number_problems.items():
        column = c.cell_column if name == "value" else r.header(name)
        for problem, message in WHY.items():
            r.reject((problems == problem).to_numpy(), message, column, c[name], column=column)


def missing_value(r: Report) -> None:
    r.reject(r.empty_value & ~r.derived, EMPTY, r.c.cell_column, r.c.value)


def negative_count(r: Report) -> None:
    """A count or an amount below 0; a rate's numerator or denominator below 0."""
    c = r.c
    with np.errstate(invalid="ignore"):
        r.reject(r.info.map(is_amount).to_numpy(dtype=bool) & (c.value_num.to_numpy() < 0), NEGATIVE,
                 c.cell_column, c.value)
        r.reject(r.has_counts & ((c.num_num < 0) | (c.den_num < 0)).to_numpy(), NEGATIVE_COUNTS,
                 r.header("numerator"), c.numerator)


def not_whole_number(r: Report) -> None:
    v = r.c.value_num.to_numpy()
    with np.errstate(invalid="ignore"):
        r.reject((r.unit_kind == "count") & (v >= 0) & (np.abs(v - np.round(v)) > 1e-9), NOT_WHOLE, r.c.cell_column,
                 r.c.value)


def rate_out_of_range(r: Report) -> None:
    v = r.c.value_num.to_numpy()
    percent = r.unit_kind == "percent"
    with np.errstate(invalid="ignore"):
        r.reject(percent & (v > 100), RATE_ABOVE_100, r.c.cell_column, r.c.value)
        r.reject(percent & (v < 0), RATE_BELOW_0, r.c.cell_column, r.c.value)


def out_of_range(r: Report) -> None:
    """A score or a criteria count outside its scale (0 to the catalog's maximum)."""
    scored = ~np.isin(r.unit_kind, ["percent", None]) & ~r.info.map(is_amount).to_numpy(dtype=bool)
    top = pd.to_numeric(r.info.map(lambda i: scale_max(i) if i else None), errors="coerce").to_numpy(dtype="float64")
    v = r.c.value_num.to_numpy()
    with np.errstate(invalid="ignore"):
        r.reject(scored & ((v < 0) | (v > top)), OUTSIDE_THE_SCALE, r.c.cell_column, r.c.value, max=top)


def implausible_value(r: Report) -> None:
    """A count or an amount above its plausible_max (data/meta/indicators.toml), a rate's
    numerator or denominator above that of its count indicator."""
    c, info = r.c, r.info
    checks = [("value", c.value_num, c.cell_column, c.value,
               info.map(lambda i: i if is_amount(i) else None))]
    for part, counts in (("numerator", c.num_num), ("denominator", c.den_num)):
        checks.append((part, counts, r.header(part), c[part],
                       info.map(lambda i, part=part: catalog.get(getattr(i, part)) if i and i.is_rate else None)))
    for name, numbers, column, raw, bounded in checks:
        bound = bounded.map(lambda i: i.upper_bound if i else np.nan).to_numpy(dtype="float64")
        x = numbers.to_numpy()
        with np.errstate(invalid="ignore"):
            above = x > bound
        r.reject(above, IMPLAUSIBLE[name], column, raw, value=x, bound=bound,
                 indicator=bounded.map(lambda i: i.code if i else ""))
