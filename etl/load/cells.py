"""A report table as one row per value (long), whatever its layout: the raw cells the rules of
:mod:`etl.load.rules` check, each with its row number and the header it came from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from core.names import ascii_key
from etl.load import values as V
from etl.load.readers import Table

ROLES = ("period", "unit", "province", "commune", "indicator", "value", "numerator", "denominator", "source", "note",
         "level")

# ascii_key() of the labels of total rows in Vietnamese and English reports.
TOTAL_LABELS = {"tong", "tongcong", "tongso", "cong", "toantinh", "toanthanhpho", "tongcongtoantinh",
                "congtoantinh", "canuoc", "toanquoc", "tongcongcanuoc", "total", "grandtotal"}


@dataclass
class Cells:
    frame: pd.DataFrame  # row, cell_column, unit, unit_column, province, province_column, level_hint, level,
    #                      indicator, indicator_column, period, period_column, value, numerator, denominator,
    #                      source, note
    layout: str  # 'long' | 'wide'
    rows_read: int
    header_row: int
    columns: dict[str, str] = field(default_factory=dict)  # role -> header label
    unit_column: str | None = None  # the column naming each row's unit (None: the file has none)
    has_period: bool = True  # a period column or a period for the whole file
    unknown_columns: list[str] = field(default_factory=list)  # wide headers that are neither column nor indicator


def _column(table: Table, role: str) -> str | None:
    for label, (kind, name) in table.roles.items():
        if kind == "column" and name == role:
            return label
    return None


def to_cells(table: Table, period: str | None, province: str | None, kind: str) -> Cells:
    """The table as one row per value (long), whatever its layout."""
    f = table.frame
    cols = {role: _column(table, role) for role in ROLES}
    level_hint = None
    unit_col, province_col = cols["unit"], cols["province"]
    if unit_col is None:
        if cols["commune"] is not None:
            unit_col, level_hint = cols["commune"], "commune"
        elif province_col is not None:
            unit_col, province_col, level_hint = province_col, None, "province"
    elif cols["commune"] is not None and province_col is None:
        province_col = None  # a 'unit' column plus a 'commune' column is not a layout we know
    if kind == "legacy":
        level_hint = "province"
    n = len(f)

    def col(label: str | None, default: Any = None) -> pd.Series:
        if label is None:
            return pd.Series([default] * n, index=f.index, dtype=object)
        return f[label].astype(object)

    base = pd.DataFrame(
        {
            "row": f["_row"].astype("int64"),
            "unit": col(unit_col),
            "unit_column": unit_col,
            "province": col(province_col, province),
            "province_column": province_col or "--province",
            "level_hint": level_hint,
            "level": col(cols["level"]),
            "period": col(cols["period"], period),
            "period_column": cols["period"] or "--period",
            "source": col(cols["source"]),
            "note": col(cols["note"]),
        }
    )
    if province_col is not None and province is not None:
        empty = base.province.map(V.is_empty)
        base.loc[empty, "province"] = province
    if cols["period"] is not None and period is not None:
        empty = base.period.map(V.is_empty)
        base.loc[empty, "period"] = period
    unknown = []
    if cols["indicator"] is not None and cols["value"] is not None:
        cells = base.assign(
            cell_column=cols["value"],
            indicator=col(cols["indicator"]),
            indicator_column=cols["indicator"],
            value=col(cols["value"]),
            numerator=col(cols["numerator"]),
            denominator=col(cols["denominator"]),
        )
        layout = "long"
    else:
        layout = "wide"
        parts = []
        for label, (role, code) in table.roles.items():
            if label == "_row":
                continue
            if role == "indicator":
                values = f[label].astype(object)
                keep = ~values.map(V.is_empty)
                parts.append(base[keep].assign(
                    cell_column=label, indicator=code, indicator_column=label, value=values[keep],
                    numerator=None, denominator=None))
            elif role == "unknown":
                unknown.append(label)
        cells = pd.concat(parts, ignore_index=True) if parts else base.iloc[0:0].assign(
            cell_column=None, indicator=None, indicator_column=None, value=None, numerator=None, denominator=None)
    return Cells(cells.reset_index(drop=True), layout, len(f), table.header_row,
                 {k: v for k, v in cols.items() if v}, unit_col, cols["period"] is not None or period is not None,
                 unknown)


def is_total_label(unit: Any) -> bool:
    """A unit cell of a total row ('Tổng cộng', 'Toàn tỉnh', 'Cả nước'…; no unit is so named)."""
    return not V.is_empty(unit) and ascii_key(str(unit)) in TOTAL_LABELS
