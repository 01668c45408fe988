"""The month of a row: YYYY-MM (or a usual Vietnamese or English spelling of a month,
:func:`etl.load.values.parse_period`), not after the current month."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from etl.load import values as V
from etl.load.rules import Reason, Said
from etl.load.rules.context import cached

if TYPE_CHECKING:
    from etl.load.rules.context import Report

BAD_PERIOD = Reason("bad_period")
NO_PERIOD = BAD_PERIOD.says("reason_no_period", "suggestion_no_period")
FUTURE_PERIOD = Reason("future_period")
WHY = {  # the problems of values.parse_period
    "empty": BAD_PERIOD.says("reason_empty", "suggestion"),
    "quarter": BAD_PERIOD.says("reason_quarter", "suggestion"),
    "year": BAD_PERIOD.says("reason_year", "suggestion"),
    "months": BAD_PERIOD.says("reason_months", "suggestion"),
    "not_a_month": BAD_PERIOD.says("reason_not_a_month", "suggestion"),
    "no_such_month": BAD_PERIOD.says("reason_no_such_month", "suggestion", "month"),
    "too_early": BAD_PERIOD.says("reason_too_early", "suggestion", "year", "first"),
    "future": FUTURE_PERIOD.says("reason", "suggestion", "period", "current"),
}


def parse_period(value: Any, now: dt.datetime | None) -> tuple[str | None, Said | None]:
    """:func:`etl.load.values.parse_period`, its problem in words."""
    period, problem = V.parse_period(value, now)
    return period, problem and WHY[problem.name](**(problem.values or {}))


def no_period(r: Report) -> None:
    """The file has no period column and none was given for it."""
    if not r.cells.has_period:
        r.at_header(NO_PERIOD())


def parse(r: Report) -> None:
    """Parse step: the month of each row, and why not when there is none."""
    parsed = cached(r.c.period, lambda v: parse_period(v, r.now))
    r.c["period_ok"] = parsed.map(lambda p: p[0])
    r.c["period_problem"] = parsed.map(lambda p: p[1])


def bad_period(r: Report) -> None:
    _reject(r, "bad_period")


def future_period(r: Report) -> None:
    _reject(r, "future_period")


def _reject(r: Report, code: str) -> None:
    problems = r.c.period_problem
    at = problems.map(lambda s: s is not None and s.code == code).to_numpy()
    r.reject_each(at, r.c.period_column, r.c.period, problems)
