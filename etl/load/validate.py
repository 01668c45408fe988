"""Validation of indicator reports (current and legacy): raw cells in, clean observations and
rejections out, through the small rules of :mod:`etl.load.rules`.

Every problem becomes one rejection line (:mod:`etl.load.rules.found`): row, column and value
as written, the reason's code, its reason and suggestion (keyed sentences, in English here and
in the reader's language on the upload page), and its severity ('error' blocks the file unless
``accept_valid``; 'warning' is only reported).

A rate row that carries its numerator and denominator also supplies those counts: they are
written as observations of the numerator and denominator indicators (unless the file has
them already, in which case they must agree), so counts and rates in the warehouse agree
and the dashboard does not keep showing demo counts next to a real rate.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pandas as pd

from core.resolver import UnitResolver
from etl import reference
from etl.load import values as V
from etl.load.cells import is_total_label, to_cells
from etl.load.notes import Note
from etl.load.readers import Table
from etl.load.rules import file, index766, indicators, numbers, periods, rates, rebase, rows, units
from etl.load.rules.context import OBS_COLUMNS, Report, cached
from etl.load.rules.found import empty as empty_rejections

HEADER = (indicators.unknown_columns, file.no_unit_column, periods.no_period)
# In order: each row's cells (parse steps, then the rules reading what they parsed), then rows
# against other rows. A cell can fail several rules: each says so.
STEPS = (
    periods.parse, periods.bad_period, periods.future_period,
    indicators.parse, indicators.unknown_indicator,
    units.resolve, units.unresolved,
    numbers.parse, numbers.non_numeric, numbers.missing_value, numbers.negative_count, numbers.not_whole_number,
    numbers.rate_out_of_range, numbers.implausible_value, numbers.out_of_range,
    index766.report_groups,
    rates.incomplete_counts, rates.numerator_gt_denominator, rates.zero_denominator, rates.rate_mismatch,
    indicators.wrong_level, units.before_unit_existed,
    rows.duplicate, rates.conflicting_count, rates.rate_mismatch_with_count_rows,
)
AFTER = (rows.total_mismatch, rebase.rebase)  # on the observations


@dataclass
class Checked:
    rows: pd.DataFrame  # clean observations
    rejections: pd.DataFrame
    rows_read: int
    values_read: int
    layout: str
    notes: list[Note] = field(default_factory=list)


def check_report(table: Table, kind: str, period: str | None = None, province: str | None = None,
                 resolver: UnitResolver | None = None, now: dt.datetime | None = None) -> Checked:
    """Validate a report (kind 'report' or 'legacy'); legacy rows are re-based onto the 34."""
    cells = to_cells(table, period, province, kind)
    is_total = cached(cells.frame.unit, is_total_label).to_numpy(dtype=bool)
    r = Report(cells, cells.frame[~is_total].reset_index(drop=True), cells.frame[is_total], kind,
               resolver or reference.resolver(), now)
    for step in HEADER:
        step(r)
    if r.c.empty:
        if not len(r.found):
            r.found.add((file.ONLY_A_TOTAL if len(r.totals) else file.NO_VALUES)())
        return _checked(r, pd.DataFrame(columns=OBS_COLUMNS))
    for step in STEPS:
        step(r)
    r.obs = _observations(r)
    for step in AFTER:
        step(r)
    return _checked(r, r.obs)


def _observations(r: Report) -> pd.DataFrame:
    """The good rows, and the counts their rates imply."""
    good = r.c[~r.bad]
    obs = pd.DataFrame({
        "row": good.row.astype("int64"),
        "level": good.lvl,
        "unit_code": good.unit_code,
        "province_code": good.province_code,
        "indicator": good.ind,
        "period": good.period_ok,
        "value": good.value_num.astype("float64"),
        "numerator": good.num_num.astype("float64"),
        "denominator": good.den_num.astype("float64"),
        "source": good.source.map(lambda s: None if V.is_empty(s) else V.nfc_text(s)),
        "note": good.note.map(lambda s: None if V.is_empty(s) else V.nfc_text(s)),
    })
    return pd.concat([obs, r.implied], ignore_index=True) if len(r.implied) else obs


def _checked(r: Report, obs: pd.DataFrame) -> Checked:
    frame = r.found.frame()
    if len(frame):
        frame = frame.drop_duplicates(["row", "column", "code", "reason"])
        frame = frame.sort_values(["row", "column"], kind="stable", na_position="first").reset_index(drop=True)
    return Checked(obs.reset_index(drop=True), frame if len(frame) else empty_rejections(), r.cells.rows_read,
                   len(r.cells.frame), r.cells.layout, r.notes)
