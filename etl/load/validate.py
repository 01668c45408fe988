"""Validation of indicator reports (current and legacy): raw cells in, clean observations and
rejections out.

Every problem becomes one rejection line: ``row`` (spreadsheet row / CSV line), ``column``
(header as written), ``value`` (as written), ``code`` (a stable slug, see :data:`REASONS`),
``reason`` (a sentence), ``suggestion`` (what to do), ``severity`` ('error' blocks the file
unless ``accept_valid``; 'warning' is only reported).

A rate row that carries its numerator and denominator also supplies those counts: they are
written as observations of the numerator and denominator indicators (unless the file has
them already, in which case they must agree), so counts and rates in the warehouse agree
and the dashboard does not keep showing demo counts next to a real rate.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import pandas as pd

from core import catalog
from etl.load import values as V
from etl.load.readers import Table, closest_indicators, match_indicator
from core.names import COMMUNE_PREFIXES, PROVINCE_PREFIXES, ascii_key, split_prefix
from core.resolver import ResolveError, UnitResolver
from etl import reference

REJECTION_COLUMNS = ["row", "column", "value", "code", "reason", "suggestion", "severity"]

# code -> short title (README and the console report use these).
REASONS = {
    "empty_file": "empty file",
    "encoding": "wrong encoding",
    "too_large": "file too large",
    "cell_too_large": "a cell is too large",
    "too_demanding": "file needs more memory or time than allowed",
    "bad_format": "unreadable or unrecognised layout",
    "unknown_unit": "unknown unit",
    "ambiguous_unit": "ambiguous unit",
    "not_in_province": "commune not in the stated province",
    "legacy_unit": "pre-2025 province in a current report",
    "unknown_province": "unknown province",
    "unknown_indicator": "unknown indicator",
    "wrong_level": "indicator not published at this level",
    "bad_period": "malformed period",
    "future_period": "future period",
    "missing_value": "missing value",
    "non_numeric": "non-numeric value",
    "negative_count": "negative count",
    "not_whole_number": "count is not a whole number",
    "rate_out_of_range": "rate outside 0–100",
    "out_of_range": "value outside its scale",
    "numerator_gt_denominator": "numerator > denominator",
    "incomplete_counts": "numerator without denominator (or the reverse)",
    "zero_denominator": "denominator is zero",
    "rate_mismatch": "value disagrees with its numerator/denominator",
    "conflicting_count": "count disagrees with another row of the file",
    "duplicate": "duplicate (unit, indicator, period) in the file",
    "implausible_value": "value above the plausible maximum",
    "before_unit_existed": "unit did not exist yet in that month",
    "rebase_rate_without_counts": "rate cannot be re-based without its counts",
    "rebase_not_additive": "indicator cannot be re-based",
    "rebase_incomplete": "not every old province of the new province is in the file",
    "total_mismatch": "total row disagrees with the sum of the rows",
    # dossier exports
    "missing_id": "missing dossier id",
    "duplicate_dossier": "duplicate dossier id (counted once)",
    "duplicates_not_listed": "more duplicate dossier ids (not listed one by one)",
    "partial_province": "export covers part of a province's communes",
    "bad_time": "malformed time",
    "future_time": "time in the future",
    "resolved_before_received": "resolved before received",
    "bad_channel": "unknown channel",
    "bad_bool": "not a yes/no value",
    "missing_column": "required column missing",
}

# ascii_key() of the labels of total rows in Vietnamese and English reports.
TOTAL_LABELS = {"tong", "tongcong", "tongso", "cong", "toantinh", "toanthanhpho", "tongcongtoantinh",
                "congtoantinh", "canuoc", "toanquoc", "tongcongcanuoc", "total", "grandtotal"}

LEVEL_WORDS = {"province": "province", "tinh": "province", "tỉnh": "province", "p": "province",
               "commune": "commune", "xa": "commune", "xã": "commune", "c": "commune",
               "ward": "commune", "phuong": "commune", "phường": "commune"}


@dataclass(frozen=True)
class Note:
    """A remark on a load (e.g. how many dossiers were counted). Its sentence is
    ``refresh.note.<key>`` in data/i18n.toml, so the command line prints it in English and the
    upload page in the reader's language; ``counts`` fill it, formatted by the caller."""
    key: str
    counts: dict[str, int]

    def text(self, lang: str = "en", number: Callable[[int], str] = "{:,}".format) -> str:
        from core.i18n import t

        return t(f"refresh.note.{self.key}", lang, **{k: number(v) for k, v in self.counts.items()})

    def __str__(self) -> str:
        return self.text()


def rejection(row: Any, column: str | None, value: Any, code: str, reason: str, suggestion: str = "",
              severity: str = "error") -> dict:
    return {"row": row, "column": column, "value": V.display(value), "code": code, "reason": reason,
            "suggestion": suggestion, "severity": severity}


def empty_rejections() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="Int64" if c == "row" else object) for c in REJECTION_COLUMNS})


def rate_tolerance(ind: catalog.Indicator) -> float:
    """How far a rate may be from 100·num/den: 0.01, or half a unit of the catalog's
    published precision when that is coarser (a 1-decimal rate "88.1" for 88.06)."""
    return max(0.01, 0.5 * 10 ** (-ind.decimals)) + 1e-9


def scale_max(ind: catalog.Indicator) -> float | None:
    """The top of the indicator's scale (100 %, 17 criteria, a score's max); None for counts
    and money, which are bounded by their plausible_max instead."""
    return None if ind.unit_spec.bound == "plausible_max" else ind.upper_bound


# --------------------------------------------------------------------------- cells

CELL_COLUMNS = ["row", "cell_column", "unit", "unit_column", "province", "province_column",
                "level_hint", "level", "indicator", "indicator_column", "period", "period_column",
                "value", "numerator", "denominator", "source", "note"]


@dataclass
class Cells:
    frame: pd.DataFrame
    layout: str  # 'long' | 'wide'
    rows_read: int
    rejections: list[dict] = field(default_factory=list)
    columns: dict[str, str] = field(default_factory=dict)  # role -> header label


def _column(table: Table, role: str) -> str | None:
    for label, (kind, name) in table.roles.items():
        if kind == "column" and name == role:
            return label
    return None


def to_cells(table: Table, period: str | None, province: str | None, kind: str) -> Cells:
    """The table as one row per value (long), whatever its layout."""
    f = table.frame
    cols = {role: _column(table, role) for role in
            ("period", "unit", "province", "commune", "indicator", "value", "numerator",
             "denominator", "source", "note", "level")}
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
    rejections: list[dict] = []
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
                close = closest_indicators(label)
                rejections.append(rejection(
                    table.header_row, label, label, "unknown_indicator",
                    f"column {label!r} is neither an indicator code nor a known column",
                    f"did you mean {close}?" if close else
                    "use an indicator code from data/meta/indicators.toml as the column header, "
                    "or delete the column"))
        cells = pd.concat(parts, ignore_index=True) if parts else base.iloc[0:0].assign(
            cell_column=None, indicator=None, indicator_column=None, value=None, numerator=None, denominator=None)
    if unit_col is None:
        rejections.append(rejection(table.header_row, None, None, "bad_format",
                                    "no unit column (unit, province or commune)",
                                    "add a column 'unit' naming the province or commune of each row"))
    if cols["period"] is None and period is None:
        rejections.append(rejection(table.header_row, None, None, "bad_period",
                                    "no period: the file has no period column and no --period was given",
                                    "add a column 'period' (YYYY-MM) or pass --period YYYY-MM"))
    cells = cells.reset_index(drop=True)
    return Cells(cells, layout, len(f), rejections, {k: v for k, v in cols.items() if v})


# --------------------------------------------------------------------------- unit resolution

def _looks_like_code(value: Any) -> int | None:
    """Number of digits of a code-like value ("01", 1, "00070", 70.0), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, np.integer)):
        return len(str(int(value)))
    if isinstance(value, float) and value.is_integer():
        return len(str(int(value)))
    text = str(value).strip()
    if text.endswith(".0"):
        text = text[:-2]
    return len(text) if text.isdigit() else None


def _closest(err: ResolveError) -> str:
    return ", ".join(err.candidates) if err.candidates else ""


def unknown_province(province: Any, err: ResolveError) -> tuple[str, str, str]:
    """(code, reason, suggestion) for a province cell that names no province."""
    return ("unknown_province", f"unknown province {V.display(province)!r}",
            f"closest: {_closest(err)}" if err.candidates else "use one of the 34 current province names or codes")


class UnitLookup:
    """Resolve (unit, province, level) triples of a report, each distinct triple once."""

    def __init__(self, resolver: UnitResolver, kind: str):
        self.r = resolver
        self.kind = kind
        self.cache: dict[tuple, tuple] = {}

    def __call__(self, unit: Any, province: Any, level: Any, hint: Any) -> tuple:
        key = (V.display(unit), V.display(province), V.display(level), hint)
        hit = self.cache.get(key)
        if hit is None:
            hit = self._resolve(unit, province, level, hint)
            self.cache[key] = hit
        return hit

    # -> (level, unit_code, province_code, error) ; error = (column_role, code, reason, suggestion)
    def _resolve(self, unit: Any, province: Any, level: Any, hint: Any) -> tuple:
        if V.is_empty(unit):
            return None, None, None, ("unit", "unknown_unit", "the unit is empty",
                                      "name the province or commune (code or name)")
        if self.kind == "legacy":
            try:
                res = self.r.legacy_province(unit)
                return "province", res.code, res.province_code, None
            except ResolveError as err:
                return None, None, None, ("unit", "unknown_unit", f"unknown pre-2025 province {V.display(unit)!r}",
                                          f"closest: {_closest(err)}" if err.candidates else
                                          "use one of the 63 old province names or codes")
        explicit = None
        if not V.is_empty(level):
            explicit = LEVEL_WORDS.get(str(level).strip().lower())
            if explicit is None:
                return None, None, None, ("level", "bad_format", f"unknown level {V.display(level)!r}",
                                          "write province or commune")
        prov_res = None
        if not V.is_empty(province):
            try:
                prov_res = self.r.province(province, allow_legacy=True)
            except ResolveError as err:
                return None, None, None, ("province", *unknown_province(province, err))
        lvl = explicit or hint
        if lvl is None:
            digits = _looks_like_code(unit)
            if digits is not None:
                lvl = "province" if digits <= 2 else "commune"
            elif split_prefix(str(unit), COMMUNE_PREFIXES)[0]:
                lvl = "commune"
            elif split_prefix(str(unit), PROVINCE_PREFIXES)[0]:
                lvl = "province"
        province_err = None
        if lvl in (None, "province"):
            try:
                res = self.r.province(unit)
                if lvl == "province" or prov_res is None or prov_res.province_code == res.province_code:
                    return "province", res.code, res.province_code, None
            except ResolveError as err:
                if lvl == "province":
                    return None, None, None, self._province_error(unit, err)
                if err.reason == "legacy" and prov_res is None:
                    return None, None, None, self._province_error(unit, err)
                province_err = err
        try:
            res = self.r.commune(unit, prov_res)
            return "commune", res.code, res.province_code, None
        except ResolveError as err:
            if err.reason == "unknown" and province_err is not None and prov_res is None:
                # Neither a province nor a commune: offer the closest of both.
                names = list(dict.fromkeys(province_err.candidates + err.candidates))[:6]
                return None, None, None, ("unit", "unknown_unit", f"unknown unit {V.display(unit)!r}",
                                          f"closest: {', '.join(names)}" if names else
                                          "check the spelling or use the code")
            return None, None, None, self._commune_error(unit, err, prov_res)

    @staticmethod
    def _province_error(unit: Any, err: ResolveError) -> tuple:
        if err.reason == "legacy":
            return ("unit", "legacy_unit", str(err),
                    "this is an old (63-province) name that was merged: load the file with "
                    "--kind legacy, or use the new province name")
        return ("unit", "unknown_unit", f"unknown province {V.display(unit)!r}",
                f"closest: {_closest(err)}" if err.candidates else "check the spelling or use the code")

    @staticmethod
    def _commune_error(unit: Any, err: ResolveError, prov: Any) -> tuple:
        where = f" in {prov.name}" if prov is not None else ""
        if err.reason == "ambiguous":
            return ("unit", "ambiguous_unit",
                    f"{V.display(unit)!r} names {len(err.candidates)} communes{where}",
                    f"candidates: {_closest(err)}; add a 'province' column, pass --province, "
                    "or use the 5-digit commune code")
        if err.reason == "not_in_province":
            return ("unit", "not_in_province", f"{V.display(unit)!r} is not a commune of {prov.name if prov else '?'}",
                    f"it exists in: {_closest(err)}; fix the province or the commune")
        return ("unit", "unknown_unit", f"unknown unit {V.display(unit)!r}{where}",
                f"closest: {_closest(err)}" if err.candidates else "check the spelling or use the code")


# --------------------------------------------------------------------------- checks

@dataclass
class Checked:
    rows: pd.DataFrame  # clean observations
    rejections: pd.DataFrame
    rows_read: int
    values_read: int
    layout: str
    notes: list[Note] = field(default_factory=list)


OBS_COLUMNS = ["row", "level", "unit_code", "province_code", "indicator", "period", "value",
               "numerator", "denominator", "source", "note"]


def _cached(series: pd.Series, fn) -> pd.Series:
    cache: dict = {}
    out = []
    for v in series.tolist():
        k = (type(v).__name__, v) if not isinstance(v, float) or v == v else ("nan",)
        try:
            hit = cache[k]
        except (KeyError, TypeError):
            hit = fn(v)
            try:
                cache[k] = hit
            except TypeError:
                pass
        out.append(hit)
    return pd.Series(out, index=series.index, dtype=object)


def check_report(table: Table, kind: str, period: str | None = None, province: str | None = None,
                 resolver: UnitResolver | None = None, now: dt.datetime | None = None) -> Checked:
    """Validate a report (kind 'report' or 'legacy'); legacy rows are re-based onto the 34."""
    resolver = resolver or reference.resolver()
    cells = to_cells(table, period, province, kind)
    is_total = _cached(cells.frame.unit, is_total_label).to_numpy(dtype=bool)
    totals, c = cells.frame[is_total], cells.frame[~is_total].reset_index(drop=True)
    rej: list[dict] = list(cells.rejections)
    bad = np.zeros(len(c), dtype=bool)

    def add(mask: np.ndarray | pd.Series, column: pd.Series | str, value: pd.Series, code: str,
            reason: pd.Series | str, suggestion: pd.Series | str = "") -> None:
        nonlocal bad
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return
        idx = np.flatnonzero(mask)
        sub = c.iloc[idx]

        def pick(x):
            return x.iloc[idx].tolist() if isinstance(x, pd.Series) else [x] * len(idx)

        for r, col, val, rs, sg in zip(sub.row.tolist(), pick(column), pick(value), pick(reason), pick(suggestion)):
            rej.append(rejection(r, col, val, code, rs, sg))
        bad |= mask

    if c.empty:
        if not rej:
            rej.append(rejection(None, None, None, "empty_file", "the file has no values under its header"
                                 + (" other than its total row" if len(totals) else ""),
                                 "fill in at least one value"))
        return _finish(pd.DataFrame(columns=OBS_COLUMNS), rej, bad, cells, kind)

    # periods
    parsed = _cached(c.period, lambda v: (None, "bad_period", "the period is empty") if V.is_empty(v)
                     else V.parse_period(v, now))
    c["period_ok"] = parsed.map(lambda t: t[0])
    for code in ("bad_period", "future_period"):
        mask = parsed.map(lambda t: t[1] == code).to_numpy()
        add(mask, c.period_column, c.period, code, parsed.map(lambda t: t[2]),
            "write the month as YYYY-MM, e.g. 2025-07" if code == "bad_period"
            else "check the year and month; reports can only cover past or current months")

    # indicators
    ind_code = _cached(c.indicator, lambda v: None if V.is_empty(v) else match_indicator(v))
    c["ind"] = ind_code
    mask = ind_code.isna().to_numpy()
    if mask.any():
        hints = {}
        for v in c.indicator[mask].map(V.display).unique():
            close = closest_indicators(v)
            hints[v] = (f"did you mean {close}?" if close
                        else "see data/meta/indicators.toml for the indicator codes")
        shown = c.indicator.map(V.display)
        add(mask, c.indicator_column, c.indicator, "unknown_indicator",
            shown.map(lambda v: f"unknown indicator {v!r}" if v else "the indicator is empty"),
            shown.map(lambda v: hints.get(v, "")))

    # units
    lookup = UnitLookup(resolver, kind)
    resolved = [lookup(u, p, l, h) for u, p, l, h in zip(c.unit.tolist(), c.province.tolist(),
                                                          c.level.tolist(), c.level_hint.tolist())]
    c["lvl"] = [r[0] for r in resolved]
    c["unit_code"] = [r[1] for r in resolved]
    c["province_code"] = [r[2] for r in resolved]
    errors = _hint_the_province([r[3] for r in resolved], c, lookup)
    if any(e is not None for e in errors):
        err_frame = pd.DataFrame({"e": errors})
        for code in sorted({e[1] for e in errors if e is not None}):
            mask = np.array([e is not None and e[1] == code for e in errors])
            role = err_frame.e.map(lambda e: e[0] if e else None)
            column = pd.Series(np.where(role == "province", c.province_column,
                                        np.where(role == "level", "level", c.unit_column)), index=c.index)
            value = pd.Series(np.where(role == "province", c.province,
                                       np.where(role == "level", c.level, c.unit)), index=c.index)
            add(mask, column, value, code, err_frame.e.map(lambda e: e[2] if e else ""),
                err_frame.e.map(lambda e: e[3] if e else ""))

    # numbers
    empty_value = c.value.map(V.is_empty).to_numpy()
    num_raw_empty = c.numerator.map(V.is_empty).to_numpy()
    den_raw_empty = c.denominator.map(V.is_empty).to_numpy()
    nums = {}
    for name in ("value", "numerator", "denominator"):
        parsed_n = _cached(c[name], lambda v: (None, None) if V.is_empty(v) else V.parse_number(v))
        nums[name] = pd.to_numeric(parsed_n.map(lambda t: t[0]), errors="coerce").astype("float64")
        mask = parsed_n.map(lambda t: t[1] is not None).to_numpy()
        add(mask, c.cell_column if name == "value" else name, c[name], "non_numeric",
            parsed_n.map(lambda t: f"{name} is not a number ({t[1]})" if t[1] else ""),
            "write digits with a comma or dot as decimal separator, e.g. 88,01 or 1.234")
    value, num, den = nums["value"], nums["numerator"], nums["denominator"]

    info = c.ind.map(lambda code: catalog.get(code) if code else None)
    is_rate = info.map(lambda i: bool(i and i.is_rate)).to_numpy()
    has_num, has_den = num.notna().to_numpy(), den.notna().to_numpy()
    # A rate row may omit its value when it gives both counts.
    derive = is_rate & empty_value & has_num & has_den & (den.to_numpy() > 0)
    value = value.where(~derive, 100.0 * num / den)
    missing = empty_value & ~derive
    add(missing, c.cell_column, c.value, "missing_value", "the value is empty",
        "fill in the value or delete the row")

    unit_kind = info.map(lambda i: i.unit if i else None).to_numpy()
    v = value.to_numpy()
    with np.errstate(invalid="ignore"):
        is_count = np.isin(unit_kind, ["count", "bn_vnd"])
        add(is_count & (v < 0), c.cell_column, c.value, "negative_count", "a count cannot be negative",
            "check the sign; write 0 if there were none")
        add((unit_kind == "count") & (v >= 0) & (np.abs(v - np.round(v)) > 1e-9), c.cell_column, c.value,
            "not_whole_number", "a count must be a whole number",
            "check the separators: in Vietnamese notation 1.234 is one thousand two hundred "
            "thirty-four and 1,5 is one and a half")
        add((unit_kind == "percent") & ((v < 0) | (v > 100)), c.cell_column, c.value, "rate_out_of_range",
            "a rate must be between 0 and 100 (percent)",
            pd.Series(np.where(v > 100, "check the decimal separator (88,01 not 8801)",
                               "a rate cannot be negative"), index=c.index))
        bound = info.map(lambda i: i.upper_bound if i and i.unit_spec.bound == "plausible_max" else np.nan)
        bound = bound.to_numpy(dtype="float64")
        add(is_count & (v > bound), c.cell_column, c.value, "implausible_value",
            pd.Series([f"{x:,.10g} is more than {b:,.0f}, the most one unit can report for {i.code if i else ''} "
                       "in a month" if x > b else "" for x, b, i in zip(v, bound, info)], index=c.index),
            IMPLAUSIBLE_SUGGESTION)
        maxes = info.map(lambda i: scale_max(i) if i and i.unit not in ("percent", "count", "bn_vnd") else None)
        mx = pd.to_numeric(maxes, errors="coerce").to_numpy(dtype="float64")
        add(~np.isin(unit_kind, ["percent", "count", "bn_vnd", None]) & ((v < 0) | (v > mx)), c.cell_column, c.value,
            "out_of_range", pd.Series([f"must be between 0 and {m:g}" for m in np.nan_to_num(mx)], index=c.index),
            "check the value against the indicator's scale")
        n_, d_ = num.to_numpy(), den.to_numpy()
        add(is_rate & (num_raw_empty ^ den_raw_empty),
            pd.Series(np.where(num_raw_empty, "numerator", "denominator"), index=c.index),
            pd.Series(np.where(num_raw_empty, c.numerator, c.denominator), index=c.index), "incomplete_counts",
            "a rate needs both its numerator and its denominator (or neither)",
            "fill in the missing count or leave both empty")
        both = is_rate & has_num & has_den
        add(both & ((n_ < 0) | (d_ < 0)), "numerator", c.numerator, "negative_count",
            "counts cannot be negative", "check the signs")
        for part, counts, raw in (("numerator", n_, c.numerator), ("denominator", d_, c.denominator)):
            part_bound = info.map(lambda i: catalog.get(getattr(i, part)).upper_bound if i and i.is_rate else np.nan)
            part_bound = part_bound.to_numpy(dtype="float64")
            add(is_rate & (counts > part_bound), part, raw, "implausible_value",
                pd.Series([f"the {part} {x:,.10g} is more than {b:,.0f}, the most one unit can report for "
                           f"{getattr(i, part)} in a month" if x > b else "" for x, b, i in zip(counts, part_bound, info)],
                          index=c.index), IMPLAUSIBLE_SUGGESTION)
        add(both & (n_ > d_), "numerator", c.numerator, "numerator_gt_denominator",
            pd.Series([f"numerator {a:g} is larger than denominator {b:g}" for a, b in zip(n_, d_)], index=c.index),
            "the numerator is part of the denominator: check that the two columns are not swapped")
        add(both & (d_ == 0) & ~empty_value, "denominator", c.denominator, "zero_denominator",
            "the denominator is 0, so the rate is undefined", "leave the value empty or fix the counts")
        tol = info.map(lambda i: rate_tolerance(i) if i else 0.0).to_numpy(dtype="float64")
        expected = np.where(d_ > 0, 100.0 * n_ / np.where(d_ > 0, d_, 1), np.nan)
        mismatch = both & (d_ > 0) & (n_ <= d_) & (n_ >= 0) & (np.abs(v - expected) > tol)
        add(mismatch, c.cell_column, c.value, "rate_mismatch",
            pd.Series([f"value {a:g} but 100 × {b:g} / {d:g} = {e:.4g}" for a, b, d, e in
                       zip(v, np.nan_to_num(n_), np.nan_to_num(d_), np.nan_to_num(expected))], index=c.index),
            "correct the value or the counts (the rate must equal 100 × numerator / denominator)")

    # levels
    lvl = c.lvl.to_numpy()
    wrong = np.array([bool(i and isinstance(l, str) and l not in i.levels) for i, l in zip(info, lvl)])
    add(wrong, c.indicator_column, c.indicator, "wrong_level",
        pd.Series([f"{i.code} is published for {', '.join(i.levels)} only, not {l}" if i and isinstance(l, str) else ""
                   for i, l in zip(info, lvl)], index=c.index),
        "remove these rows or load them as province figures")

    # units that did not exist yet (communes before the two-tier government)
    for level in catalog.LEVELS:
        start = catalog.valid_from(level)
        if start is None:
            continue
        early = (c.lvl == level).to_numpy() & c.period_ok.map(lambda p: isinstance(p, str) and p < start).to_numpy()
        add(early, c.period_column, c.period, "before_unit_existed",
            pd.Series([f"{p} is before {start}: the {level}s of the two-tier local government exist from {start}"
                       for p in c.period_ok], index=c.index),
            f"check the period; a {level} figure for a month before {start} cannot be loaded (before the merger "
            "the old units reported: load their figures as a legacy province report)")

    c["value_num"], c["num_num"], c["den_num"] = value, num.where(is_rate), den.where(is_rate)
    c["_bad"] = bad

    # duplicates among rows whose key resolved (each line names a few of the other rows, so the
    # report grows with the rows, not with their square)
    key = ["lvl", "unit_code", "ind", "period_ok"]
    key_ok = c.unit_code.notna() & c.ind.notna() & c.period_ok.notna()
    keyed = c[key_ok]
    dup = keyed.duplicated(key, keep=False)
    if dup.any():
        repeated = keyed[dup]
        group = repeated.groupby(key, sort=False).ngroup()
        rows_of = repeated.groupby(group.to_numpy()).row.agg(lambda rows: sorted(set(rows))).to_dict()
        reason = pd.Series("", index=c.index, dtype=object)
        reason[repeated.index] = [_also_in(rows_of[g], r) for g, r in zip(group.tolist(), repeated.row.tolist())]
        mask = np.zeros(len(c), dtype=bool)
        mask[repeated.index.to_numpy()] = True
        add(mask, c.unit_column, c.unit, "duplicate", reason, "keep one row per unit, indicator and period")
        bad = bad | mask

    # counts implied by rate rows, and rates checked against count rows of the file
    c["_bad"] = bad
    implied, rate_fill, extra_rej, bad = _cross_counts(c, bad)
    rej.extend(extra_rej)
    c["_bad"] = bad
    if rate_fill is not None:
        c.loc[rate_fill.index, "num_num"] = rate_fill.numerator
        c.loc[rate_fill.index, "den_num"] = rate_fill.denominator

    good = c[~bad]
    obs = pd.DataFrame(
        {
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
        }
    )
    if implied is not None and len(implied):
        obs = pd.concat([obs, implied[OBS_COLUMNS]], ignore_index=True)
    notes = []
    if len(totals):
        total_rej, total_note = _check_totals(totals, c, now)
        rej.extend(total_rej)
        notes.append(total_note)
    if implied is not None and len(implied):
        notes.append(Note("implied_counts", {"n": len(implied)}))
    if kind == "legacy" and len(obs):
        obs, rebase_rej, note = _rebase(obs, dict(zip(c.row, c.unit)))
        rej.extend(rebase_rej)
        notes.append(note)
    result = _finish(obs, rej, bad, cells, kind)
    result.notes.extend(notes)
    return result


DUPLICATE_ROWS_SHOWN = 5
IMPLAUSIBLE_SUGGESTION = ("check the number (an extra digit? a total typed in a unit's row?); if it is right, "
                          "the bound (plausible_max in data/meta/indicators.toml) must be raised")


def _also_in(rows: list[int], row: int) -> str:
    """'the same … is also in row(s) 3, 4, 5, 6, 7 and 19,994 more' for a duplicate line;
    ``rows``: the distinct rows of its group, sorted, ``row`` among them (constant time: a
    file of n repeated rows costs n lines, not n²)."""
    others = [r for r in rows[:DUPLICATE_ROWS_SHOWN + 1] if r != row][:DUPLICATE_ROWS_SHOWN]
    if not others:  # two columns of one row name the same indicator
        return "the same unit, indicator and period is given twice in this row"
    more = len(rows) - 1 - len(others)
    listed = ", ".join(map(str, others)) + (f" and {more:,} more" if more else "")
    return f"the same unit, indicator and period is also in row(s) {listed}"


def _hint_the_province(errors: list, c: pd.DataFrame, lookup: UnitLookup) -> list:
    """Ambiguous commune names in a file whose other units all lie in one province: when that
    province resolves the name, the suggestion says so (the clerk confirms it; it is not guessed)."""
    ambiguous = [i for i, e in enumerate(errors) if e is not None and e[1] == "ambiguous_unit"]
    provinces = {p for p, e in zip(c.province_code, errors) if e is None and isinstance(p, str)}
    if not ambiguous or len(provinces) != 1:
        return errors
    (code,) = provinces
    name = lookup.r.province(code).name
    hinted = list(errors)
    for i in ambiguous:
        if lookup(c.unit.iat[i], code, c.level.iat[i], c.level_hint.iat[i])[3] is None:
            role, reason_code, reason, suggestion = errors[i]
            hinted[i] = (role, reason_code, reason,
                         f"the file's other units are all in {name}: name that province (column or --province) "
                         f"if this commune is there too; {suggestion}")
    return hinted


def is_total_label(unit: Any) -> bool:
    """A unit cell of a total row ('Tổng cộng', 'Toàn tỉnh', 'Cả nước'…; no unit is so named)."""
    return not V.is_empty(unit) and ascii_key(str(unit)) in TOTAL_LABELS


def _check_totals(totals: pd.DataFrame, c: pd.DataFrame, now: dt.datetime | None) -> tuple[list[dict], Note]:
    """Total rows are not loaded (the warehouse sums units itself), but each total of a count or
    an amount is compared with the sum of the file's rows for its indicator and period: a
    difference means a row is missing or mistyped, which the clerk should see (a warning)."""
    rej = []
    checked = agree = 0
    for r in totals.itertuples(index=False):
        code = match_indicator(r.indicator)
        stated, _ = (None, None) if V.is_empty(r.value) else V.parse_number(r.value)
        month = V.parse_period(r.period, now)[0]
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
        rej.append(rejection(r.row, r.cell_column, r.value, "total_mismatch",
                             f"the total row gives {stated:,.10g} for {code} {month}, the {len(parts)} rows "
                             f"above sum to {counted:,.10g}",
                             "check for a missing or mistyped row (the total row itself is not loaded)",
                             severity="warning"))
    return rej, Note("total_rows", {"n": totals.row.nunique(), "row": int(totals.row.min()),
                                    "checked": checked, "agree": agree})


def _cross_counts(c: pd.DataFrame, bad: np.ndarray):
    """Counts implied by rate rows (numerator/denominator), conflicts with explicit count rows,
    and numerators/denominators filled into rate rows from the file's own count rows."""
    rej: list[dict] = []
    ok = c[~bad]
    key = ["lvl", "unit_code", "period_ok"]
    explicit = ok[["lvl", "unit_code", "period_ok", "ind", "value_num", "row"]]
    explicit_map = {(a, b, p, i): (v, r) for a, b, p, i, v, r in explicit.itertuples(index=False)}
    rates = ok[ok.ind.map(lambda x: bool(x) and catalog.get(x).is_rate)]
    implied_rows = []
    fill = {}
    for idx, rr in zip(rates.index, rates.itertuples(index=False)):
        ind = catalog.get(rr.ind)
        base = (rr.lvl, rr.unit_code, rr.period_ok)
        has_counts = pd.notna(rr.num_num) and pd.notna(rr.den_num)
        if has_counts:
            for part, count in ((ind.numerator, rr.num_num), (ind.denominator, rr.den_num)):
                if rr.lvl not in catalog.get(part).levels:
                    continue
                there = explicit_map.get(base + (part,))
                if there is not None:
                    if abs(there[0] - count) > 1e-9 * max(1.0, abs(count)):
                        rej.append(rejection(
                            rr.row, "numerator" if part == ind.numerator else "denominator", count,
                            "conflicting_count",
                            f"{part} is {count:g} here but {there[0]:g} in row {there[1]}",
                            "make the rate's counts agree with the count rows"))
                        bad[c.index.get_loc(idx)] = True
                    continue
                implied_rows.append({"row": rr.row, "level": rr.lvl, "unit_code": rr.unit_code,
                                     "province_code": rr.province_code, "indicator": part,
                                     "period": rr.period_ok, "value": float(count),
                                     "numerator": np.nan, "denominator": np.nan,
                                     "source": None if V.is_empty(rr.source) else str(rr.source),
                                     "note": f"from the {'numerator' if part == ind.numerator else 'denominator'}"
                                             f" of {rr.ind} (row {rr.row})", "_idx": idx})
        else:
            n = explicit_map.get(base + (ind.numerator,))
            d = explicit_map.get(base + (ind.denominator,))
            if n is not None and d is not None and d[0] > 0:
                expected = 100.0 * n[0] / d[0]
                if abs(rr.value_num - expected) > rate_tolerance(ind):
                    rej.append(rejection(
                        rr.row, "value", rr.value_num, "rate_mismatch",
                        f"value {rr.value_num:g} but the file's {ind.numerator} (row {n[1]}) and "
                        f"{ind.denominator} (row {d[1]}) give {expected:.4g}",
                        "correct the rate or the counts"))
                    bad[c.index.get_loc(idx)] = True
                else:
                    fill[idx] = (n[0], d[0])
    implied = pd.DataFrame(implied_rows)
    if len(implied):
        implied = implied[~bad[[c.index.get_loc(i) for i in implied._idx]]]
        # Two rate rows implying the same count must agree.
        grp = implied.groupby(["level", "unit_code", "indicator", "period"]).value
        spread = grp.transform("max") - grp.transform("min")
        conflict = spread > 1e-9
        for r in implied[conflict].itertuples(index=False):
            rej.append(rejection(r.row, "numerator", r.value, "conflicting_count",
                                 f"{r.indicator} {r.value:g} disagrees with another rate row of the file",
                                 "make the counts of the rate rows agree"))
            bad[c.index.get_loc(r._idx)] = True
        implied = implied[~conflict].drop_duplicates(["level", "unit_code", "indicator", "period"])
    fill_frame = None
    if fill:
        fill_frame = pd.DataFrame.from_dict(fill, orient="index", columns=["numerator", "denominator"])
    return implied, fill_frame, rej, bad


def _rebase(obs: pd.DataFrame, unit_text: dict[int, Any]) -> tuple[pd.DataFrame, list[dict], Note]:
    """Legacy rows onto the 34 provinces; a rejection shows the unit as the file spelled it
    (``unit_text`` by row) and names the old province it resolved to."""
    from etl.rebase import rebase_legacy
    from etl.reference import legacy_provinces

    frame = obs.rename(columns={"unit_code": "legacy_code"})[
        ["indicator", "period", "legacy_code", "value", "numerator", "denominator", "row"]]
    rebased, rejected = rebase_legacy(frame)
    rej = []
    legacy_name = dict(zip(legacy_provinces().code, legacy_provinces().name))
    for r in rejected.itertuples(index=False):
        code = ("rebase_rate_without_counts" if "numerator" in r.reason else
                "rebase_incomplete" if "incomplete" in r.reason else "rebase_not_additive")
        rej.append(rejection(r.row, "unit", unit_text.get(r.row, r.legacy_code), code,
                             f"{r.indicator} {r.period}, old province {legacy_name[r.legacy_code]} "
                             f"({r.legacy_code}): {r.reason}",
                             {"rebase_rate_without_counts": "add numerator and denominator columns (the two counts) "
                                                            "so the rate can be recomputed",
                              "rebase_incomplete": "include every old province that merged into the new one",
                              "rebase_not_additive": "report this indicator for the new province instead"}[code]))
    sources = obs.groupby(["indicator", "period", "province_code"]).agg(
        row=("row", "min"), n=("unit_code", "nunique"), source=("source", "first"),
        rows=("row", lambda s: ", ".join(map(str, sorted(set(s))[:8]))))
    out = rebased.merge(sources.reset_index().rename(columns={"province_code": "unit_code"}),
                        on=["indicator", "period", "unit_code"], how="left")
    out["level"] = "province"
    out["province_code"] = out.unit_code
    out["note"] = [f"re-based from {n} old province(s), rows {rows}" for n, rows in zip(out.n_legacy, out.rows)]
    note = Note("rebased", {"old": len(obs), "new": len(out)})
    return out[OBS_COLUMNS], rej, note


def _finish(obs: pd.DataFrame, rej: list[dict], bad: np.ndarray, cells: Cells, kind: str) -> Checked:
    frame = pd.DataFrame(rej, columns=REJECTION_COLUMNS) if rej else empty_rejections()
    if len(frame):
        frame = frame.drop_duplicates(["row", "column", "code", "reason"])
        frame["row"] = pd.to_numeric(frame.row, errors="coerce").astype("Int64")
        frame = frame.sort_values(["row", "column"], kind="stable", na_position="first").reset_index(drop=True)
    if "row" in obs.columns and list(obs.columns) != OBS_COLUMNS:
        obs = obs.reindex(columns=OBS_COLUMNS) if set(OBS_COLUMNS) <= set(obs.columns) else pd.DataFrame(columns=OBS_COLUMNS)
    return Checked(obs.reset_index(drop=True), frame, cells.rows_read, len(cells.frame), cells.layout)
