"""The Decision 766 index: a month's groups are those of its method (catalog
``[[index766_method]]``: five until 2025-09, six from 2025-10), each within its maximum under
that method, and the total is their sum. Checked on the portal's ranking table
(:mod:`etl.load.index766`, which also compares the portal's ranks with the file's scores) and,
for the groups, on any report (:func:`report_groups`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from core import catalog
from etl.load.rules import Reason
from etl.load.rules import file as F
from etl.load.rules import periods as P

if TYPE_CHECKING:
    from etl.load.rules.context import Report

METHOD_MISMATCH = Reason("method_mismatch")
EXTRA_GROUP = METHOD_MISMATCH.says("reason_extra", "suggestion", "field", "indicator", "period", "n", "since")
MISSING_GROUP = METHOD_MISMATCH.says("reason_missing", "suggestion", "field", "indicator", "period", "n", "since")
NOT_IN_METHOD = METHOD_MISMATCH.says("reason_indicator", "suggestion_indicator", "indicator", "period", "n", "since")
NO_METHOD = METHOD_MISMATCH.says("reason_none", "suggestion_none", "period", "first")

TOTAL_NOT_SUM = Reason("total_not_sum")
NOT_THE_SUM = TOTAL_NOT_SUM.says("reason", "suggestion", "total", "sum", "n")

GROUP_ABOVE_MAX = Reason("group_above_max")
ABOVE = GROUP_ABOVE_MAX.says("reason", "suggestion", "indicator", "max", "period", "n")

RANK_MISMATCH = Reason("rank_mismatch", severity="warning")
RANK_DIFFERS = RANK_MISMATCH.says("reason", "suggestion", "rank", "total")
NOT_A_RANK = RANK_MISMATCH.says("reason_not_a_rank", "suggestion")

NEEDS_PROVINCE = Reason("needs_province")
UNITS_OF_A_PROVINCE = NEEDS_PROVINCE.says("reason", "suggestion", "n", "example")

NO_PERIOD = P.BAD_PERIOD.says("reason_portal", "suggestion_portal")
MISSING_COLUMNS = F.MISSING_COLUMN.says("reason_portal", "suggestion_portal", "missing", "found")


def report_groups(r: Report) -> None:
    """A 766 group in a report: a group of its month's method (no online payment before
    2025-10), within that method's maximum (online public services: 22, then 12). Months
    before the first method have no index at all."""
    c, components = r.c, set(catalog.by_role("index766").components)
    total = catalog.by_role("index766").code
    is_766 = c.ind.isin(components | {total}).to_numpy() & c.period_ok.notna().to_numpy()
    if not is_766.any():
        return
    first = catalog.index766_methods()[0].valid_from
    methods = c.period_ok.map(lambda p: catalog.index766_method(p) if isinstance(p, str) else None)
    r.reject(is_766 & methods.isna().to_numpy(), NO_METHOD, c.period_column, c.period, period=c.period_ok,
             first=first)
    group = is_766 & methods.notna().to_numpy() & (c.ind != total).to_numpy()
    top = np.array([m.max_of(code) if m is not None and code in components else np.nan
                    for m, code in zip(methods, c.ind)], dtype="float64")
    n = np.array([len(m.groups) if m is not None else 0 for m in methods])
    since = np.array([m.valid_from if m is not None else "" for m in methods], dtype=object)
    r.reject(group & np.isnan(top), NOT_IN_METHOD, c.indicator_column, c.indicator, indicator=c.ind,
             period=c.period_ok, n=n, since=since)
    with np.errstate(invalid="ignore"):
        above = group & (c.value_num.to_numpy() > top)
    r.reject(above, ABOVE, c.cell_column, c.value, indicator=c.ind, max=top, period=c.period_ok, n=n)
