"""A report being checked: what the steps of :func:`etl.load.validate.check_report` share.

The parse steps add columns to ``c`` (one row per value): ``period_ok``, ``ind``, ``lvl``,
``unit_code``, ``province_code``, ``value_num``, ``num_num``, ``den_num``; the rules read them
and reject cells with :meth:`Report.reject`, which marks them ``bad`` (left out of the
observations) and records one line each.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from core.resolver import UnitResolver
from etl.load.cells import Cells
from etl.load.rules import Message, Said
from etl.load.rules.found import Found

OBS_COLUMNS = ["row", "level", "unit_code", "province_code", "indicator", "period", "value",
               "numerator", "denominator", "source", "note"]


@dataclass(repr=False)
class Report:
    cells: Cells
    c: pd.DataFrame  # the cells of the units' rows (total rows apart), index 0..n-1
    totals: pd.DataFrame  # the cells of total rows (not loaded; compared with the rows' sums)
    kind: str  # 'report' | 'legacy'
    resolver: UnitResolver
    now: dt.datetime | None
    found: Found = field(default_factory=Found)
    notes: list = field(default_factory=list)
    bad: np.ndarray = field(init=False)
    # set by the parse steps
    info: pd.Series = field(init=False)  # catalog.Indicator of each cell (None: unknown indicator)
    is_rate: np.ndarray = field(init=False)
    unit_errors: pd.Series = field(init=False)  # (column role, Said) where no unit was found, else None
    unit_kind: np.ndarray = field(init=False)  # the catalog unit of each cell's indicator
    empty_value: np.ndarray = field(init=False)  # the value cell is empty
    has_counts: np.ndarray = field(init=False)  # a rate row with its numerator and denominator
    derived: np.ndarray = field(init=False)  # a rate left empty, computed from its counts
    number_problems: dict[str, pd.Series] = field(init=False)  # column role -> why a cell is no number
    # set by the steps after the rules
    obs: pd.DataFrame = field(init=False)  # the observations
    implied: pd.DataFrame = field(init=False)  # counts given by the numerators / denominators of rate rows

    def __post_init__(self) -> None:
        self.bad = np.zeros(len(self.c), dtype=bool)

    def header(self, role: str) -> str:
        """The header of a column role as the file writes it ('Tử số' for 'numerator')."""
        return self.cells.columns.get(role, role)

    def reject(self, mask: Any, message: Message, column: Any, value: Any, /, **params: Any) -> None:
        """Reject the cells of ``mask``, one line each; ``column``, ``value`` and each param are a
        Series or array aligned with the cells, or one value for all."""
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return
        at = np.flatnonzero(mask)

        def pick(x: Any) -> Any:
            if isinstance(x, pd.Series):
                return x.iloc[at].tolist()
            if isinstance(x, np.ndarray):
                return x[at].tolist()
            return x

        self.found.many(self.c.row.iloc[at].tolist(), pick(column), pick(value), message,
                        **{name: pick(v) for name, v in params.items()})
        self.bad |= mask

    def reject_each(self, mask: np.ndarray, column: pd.Series, value: pd.Series, saids: pd.Series) -> None:
        """Reject the cells of ``mask``, each with its own :class:`Said`."""
        at = np.flatnonzero(mask)
        if not len(at):
            return
        self.found.each(self.c.row.iloc[at].tolist(), column.iloc[at].tolist(), value.iloc[at].tolist(),
                        saids.iloc[at].tolist())
        self.bad |= mask

    def reject_cell(self, position: int, said: Said, column: str, value: Any) -> None:
        """Reject one cell (its position in ``c``)."""
        self.found.add(said, self.c.row.iat[position], column, value)
        self.bad[position] = True

    def at_header(self, said: Said, column: str | None = None, value: Any = None) -> None:
        """A problem of the header row (a column missing or unknown)."""
        self.found.add(said, self.cells.header_row, column, value)


def cached(series: pd.Series, fn: Callable[[Any], Any]) -> pd.Series:
    """``series.map(fn)`` with ``fn`` called once per distinct value (a column of a 100,000-row
    report has a few hundred distinct spellings)."""
    done: dict = {}
    out = []
    for v in series.tolist():
        k = (type(v).__name__, v) if not isinstance(v, float) or v == v else ("nan",)
        try:
            hit = done[k]
        except (KeyError, TypeError):
            hit = fn(v)
            with contextlib.suppress(TypeError):
                done[k] = hit
        out.append(hit)
    return pd.Series(out, index=series.index, dtype=object)
