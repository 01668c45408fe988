"""The Decision 766 ranking table as the National Public Service Portal (dichvucong.gov.vn)
gives it to staff (``--kind index766``): the JSON list the portal answers a ranking request
with, or the same table saved as Excel or CSV with Vietnamese headings and title rows.

One record per unit: ``ID`` (the portal's own id, not a GSO code: ignored), ``TEN`` (the
unit's name: "Tỉnh Phú Thọ", "Thành phố Huế", "UBND xã …", or a department), ``ROW_STT``
(its rank), ``TONG_SCORE`` and one field per group (``CKMB``, ``TDGQ``, ``TTTT``, ``CLGQ``,
``MDSH``, ``MDHL``; which group each holds, and its maximum, is the catalog's
``[[index766_method]]`` of the month given with ``--period``). Values often come as text.

A province's own table (``--province``) lists its departments and its communes: communes are
loaded, departments (and the province's own row) are left out and counted. Checks: the file's
groups are the month's method's; each group within its maximum; the total equal to the sum of
the groups (to 0.01); one row per unit; ``ROW_STT`` against the rank of ``TONG_SCORE`` among the
file's rows as the warehouse ranks (ties share the best rank), a warning when they differ.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core import catalog
from core.names import COMMUNE_PREFIXES, PROVINCE_PREFIXES, split_prefix, strip_diacritics, without_council
from core.resolver import Resolved, ResolveError, UnitResolver
from etl.load import limits, readers
from etl.load import values as V
from etl.load.cells import is_total_label
from etl.load.errors import FileRejected
from etl.load.notes import Note
from etl.load.rules import file as F
from etl.load.rules import index766 as R
from etl.load.rules import numbers as N
from etl.load.rules import periods
from etl.load.rules import rows as RW
from etl.load.rules import units as U
from etl.load.rules.context import OBS_COLUMNS
from etl.load.rules.found import Found
from etl.load.rules.found import empty as no_rejections

SOURCE = "Cổng Dịch vụ công quốc gia (dichvucong.gov.vn): Bộ chỉ số phục vụ người dân, doanh nghiệp (QĐ 766)"
TOLERANCE = 0.01  # total against the sum of the groups
PORTAL_FIELDS = {"name": "TEN", "rank": "ROW_STT", "total": "TONG_SCORE"}
# The portal's fields and the headings of staff's copies (header keys), best first.
COLUMNS: dict[str, tuple[str, ...]] = {
    "name": ("ten", "ten_don_vi", "don_vi", "ten_co_quan", "co_quan_don_vi", "co_quan", "dia_phuong",
             "tinh_thanh_pho", "ten_tinh", "unit", "name"),
    "rank": ("row_stt", "xep_hang", "thu_hang", "hang", "rank", "stt", "tt"),
    "total": ("tong_score", "tong_diem", "diem_tong", "tong_so_diem", "tong", "total_score", "total"),
}
# How names of a province's bodies that are no commune begin (without diacritics, lower case);
# only a name that resolves to none of the province's communes is read so.
DEPARTMENTS = ("so ", "ban ", "cong an", "van phong", "thanh tra", "bao hiem", "cuc ", "chi cuc", "kho bac", "thue ",
               "trung tam", "dai phat thanh", "bo chi huy", "ngan hang", "dien luc", "vien thong", "buu dien",
               "hoi ", "truong ", "benh vien", "ubnd tinh", "uy ban nhan dan tinh", "chi nhanh", "cong ty", "toa an",
               "vien kiem sat", "quy ", "khu kinh te", "doan ", "lien doan", "tong cuc")
_NUMBER = re.compile(r"^[+-]?(\d+([.,]\d+)?|[.,]\d+)$")


def _key(text: Any) -> str:
    """A heading as a key: no case, diacritics, punctuation, '(18 điểm)' or leading 'Điểm'."""
    key = readers.header_key(re.sub(r"\([^)]*\)", " ", str(text)))
    return key.removeprefix("diem_") if key.startswith("diem_") and key != "diem_tong" else key


def _group_keys() -> dict[str, str]:
    """Header key -> portal field, over every method: the field itself, the group's name in
    Vietnamese and English (without '766 – ') and the method's extra headings."""
    keys: dict[str, str] = {}
    for method in catalog.index766_methods():
        for group in method.groups:
            indicator = catalog.get(group.indicator)
            short = [n.split("–", 1)[-1] for n in (indicator.name_vi, indicator.name_en)]  # '766 – Tên' -> 'Tên'
            for name in (group.field, *group.headers, *short):
                keys.setdefault(_key(name), group.field)
    return keys


def _roles(cells: list[Any]) -> dict[str, int]:
    """Role ('name', 'rank', 'total', or a portal field) -> column index, for a header row."""
    groups, found = _group_keys(), {}
    for role, keys in COLUMNS.items():
        for wanted in keys:
            at = next((i for i, cell in enumerate(cells) if _key(cell) == wanted), None)
            if at is not None:
                found[role] = at
                break
    for i, cell in enumerate(cells):
        field_name = groups.get(_key(cell))
        if field_name is not None and field_name not in found and i not in found.values():
            found[field_name] = i
    return found


def looks_like_portal(cells: list[Any]) -> bool:
    """A header row of the portal's table (or its Excel copy): a name, a total and groups."""
    roles = _roles(cells)
    return "name" in roles and "total" in roles and len(set(roles) - set(COLUMNS)) >= 2


# --------------------------------------------------------------------------- reading


@dataclass
class Portal:
    """The table as read: ``frame`` has ``row`` (record number in a JSON list, spreadsheet row
    of a copy), ``name``, ``rank``, ``total`` and one column per group field found, raw values."""

    frame: pd.DataFrame
    labels: dict[str, str]  # role or field -> the heading as the file writes it
    fmt: str
    header_row: int | None = None
    sheet: str | None = None


def read(path: Path, sheet: str | None = None) -> Portal:
    fmt = readers.sniff_format(path)
    if fmt == "json":
        return _from_json(path)
    if fmt == "parquet":
        raise FileRejected(F.NO_PORTAL_HEADER())
    if fmt in readers.EXCEL_FORMATS:
        name = readers.choose_sheet(path, sheet)
        grid = readers.read_excel_grid(path, name)
        return _from_grid(grid.rows, grid.row_numbers, fmt, name)
    if sheet is not None:
        raise readers.UsageError("--sheet applies to Excel workbooks only")
    text = readers.decode_csv_bytes(path.read_bytes())
    _, delimiter = readers.csv_grid_head(text)
    lim = limits.current()
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    rows: list[list[str]] = []
    try:
        for row in reader:
            rows.append(row)
            readers.check_shape(len(rows), len(row), lim)
    except csv.Error as exc:  # a field over the csv module's limit
        raise readers._cell_too_large(reader.line_num, None, None, lim.cell_chars) from exc
    return _from_grid(rows, list(range(1, len(rows) + 1)), "csv", None)


def _from_grid(rows: list[list[Any]], numbers: list[int], fmt: str, sheet: str | None) -> Portal:
    """A copy of the table: title rows above the heading row, skipped."""
    at = next((i for i, row in enumerate(rows[:readers.HEADER_SCAN_ROWS]) if looks_like_portal(row)), None)
    if at is None:
        raise FileRejected(F.NO_PORTAL_HEADER())
    header, roles = rows[at], _roles(rows[at])
    lim = limits.current()
    body = []
    for cells, number in zip(rows[at + 1:], numbers[at + 1:]):
        if all(V.is_empty(c) for c in cells):
            continue
        record = {"row": number}
        for role, i in roles.items():
            value = cells[i] if i < len(cells) else None
            if isinstance(value, str) and len(value) > lim.cell_chars:
                raise FileRejected(F.CELL_OF(line=number, chars=len(value), limit=lim.cell_chars,
                                             env=limits.Limits.env("cell_chars")), row=number, column=str(header[i]))
            record[role] = value
        body.append(record)
    labels = {role: str(header[i]).strip() for role, i in roles.items()}
    return Portal(_frame(body, roles), labels, fmt, numbers[at], sheet)


def _from_json(path: Path) -> Portal:
    """The portal's answer: a list of records, or an object holding one such list."""
    text = readers.decode_csv_bytes(path.read_bytes())
    lim = limits.current()
    if text.count("{") > lim.rows + 1:  # before parsing: 45 MB of "{}," are 15 M objects, 1 GB once parsed
        raise FileRejected(F.ROWS(limit=lim.rows, env=limits.Limits.env("rows")))
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise FileRejected(F.NOT_JSON(error=str(exc)[:200])) from None
    if isinstance(data, dict):
        lists = [value for value in data.values() if isinstance(value, list)]
        data = lists[0] if len(lists) == 1 else None
    if not isinstance(data, list) or not all(isinstance(record, dict) for record in data):
        raise FileRejected(F.JSON_SHAPE())
    readers.check_shape(len(data), None, lim)
    names = list(dict.fromkeys(name for record in data for name in record))  # every field, first seen first
    readers.check_shape(None, len(names), lim)
    roles = {role: names[i] for role, i in _roles(names).items()}
    body = []
    for number, record in enumerate(data, start=1):
        row = {"row": number}
        for role, name in roles.items():
            value = record.get(name)
            if isinstance(value, (dict, list)):
                value = json.dumps(value, ensure_ascii=False)[:200]
            if isinstance(value, str) and len(value) > lim.cell_chars:
                raise FileRejected(F.CELL_OF(line=number, chars=len(value), limit=lim.cell_chars,
                                             env=limits.Limits.env("cell_chars")), row=number, column=name)
            row[role] = value
        body.append(row)
    if not body:
        raise FileRejected(F.NO_DATA_ROWS())
    return Portal(_frame(body, roles), {role: str(name) for role, name in roles.items()}, "json")


def _frame(body: list[dict], roles: dict) -> pd.DataFrame:
    columns = ["row", "name", "rank", "total"] + [r for r in roles if r not in COLUMNS]
    return pd.DataFrame(body, columns=columns, dtype=object)


# --------------------------------------------------------------------------- cells


def parse_score(value: Any) -> tuple[float | None, str | None]:
    """A score as the portal or a copy writes it: a number, or text with one decimal point or
    comma ("17.49", "17,49"); scores never have thousands separators. The problem's name is
    one of :data:`etl.load.rules.numbers.WHY`'s."""
    if isinstance(value, bool):
        return None, "boolean"
    if isinstance(value, (int, float, np.integer, np.floating)):
        number = float(value)
        return (number, None) if np.isfinite(number) else (None, "not_finite")
    if hasattr(value, "year"):
        return None, "date"
    text = str(value).strip().replace("\u00a0", "").replace(" ", "")
    if not _NUMBER.match(text):
        return None, "not_a_number"
    return float(text.replace(",", ".")), None


def parse_rank(value: Any) -> int | None:
    number, problem = parse_score(value)
    return int(number) if problem is None and number >= 1 and float(number).is_integer() else None


def _ascii(text: Any) -> str:
    return " ".join(re.sub(r"[^0-9a-z]+", " ", strip_diacritics(str(text)).lower()).split())


def is_department(name: Any) -> bool:
    """A department, agency or other body of a province ('Sở Tư pháp', 'Công an tỉnh …')."""
    text = _ascii(name) + " "
    return text.startswith(DEPARTMENTS)


def is_commune(name: Any) -> bool:
    """Named as a commune, ward or special zone ('Xã …', 'UBND phường …', 'Phuong …')."""
    return split_prefix(without_council(str(name)), COMMUNE_PREFIXES)[0] is not None or \
        (_ascii(without_council(str(name))) + " ").startswith(("xa ", "phuong ", "dac khu ", "thi tran "))


# --------------------------------------------------------------------------- checking


@dataclass
class Checked:
    rows: pd.DataFrame
    rejections: pd.DataFrame
    rows_read: int
    values_read: int
    fatal: bool
    notes: list[Note] = field(default_factory=list)


def check(portal: Portal, period: str | None, province: str | None, resolver: UnitResolver,
          now=None) -> Checked:
    """Check the table for the month ``period`` (the provinces', or the communes of
    ``province``) and give the observations of its valid rows: the total and the groups of
    the month's method, each row whole or not at all."""
    found, f = Found(), portal.frame
    header = portal.header_row

    def refused() -> Checked:
        return Checked(pd.DataFrame(columns=OBS_COLUMNS), found.frame(), len(f), 0, True)

    missing = [PORTAL_FIELDS[role] for role in ("name", "total") if role not in portal.labels]
    if missing:
        found.add(R.MISSING_COLUMNS(missing=", ".join(missing), found=", ".join(portal.labels.values()) or "–"), header)
        return refused()
    if period is None:
        found.add(R.NO_PERIOD(), None, "--period")
        return refused()
    month, said = periods.parse_period(period, now)
    if said is not None:
        found.add(said, None, "--period", period)
        return refused()
    method = catalog.index766_method(month)
    if method is None:
        found.add(R.NO_METHOD(period=month, first=catalog.index766_methods()[0].valid_from), None, "--period", month)
        return refused()
    _method_fields(portal, month, method, found)
    prov = None
    if province is not None:
        try:
            prov = resolver.province(province, allow_legacy=True)
        except ResolveError as err:
            found.add(U.unknown_province(province, err), None, "--province", province)
    if len(found):
        return refused()

    units = _units(f, prov, resolver)
    stray = units.kind.isin(["department", "commune"]) if prov is None else pd.Series(False, index=f.index)
    if stray.any():
        first = stray.idxmax()
        found.add(R.UNITS_OF_A_PROVINCE(n=int(stray.sum()), example=str(f.name[first])),
                  f.row[first], portal.labels["name"], f.name[first])
        return refused()
    bad = np.zeros(len(f), dtype=bool)
    loaded = units.kind.isin(["province", "commune"]).to_numpy()

    def reject(mask, message, where, value, /, **params) -> None:
        """One line per row of ``mask`` at column ``where``; the message's values in ``params``."""
        at = np.flatnonzero(np.asarray(mask, dtype=bool))
        if not len(at):
            return
        pick = (lambda x: x.iloc[at].tolist() if isinstance(x, pd.Series)
                else (x[at].tolist() if isinstance(x, np.ndarray) else x))
        found.many(f.row.iloc[at].tolist(), pick(where), pick(value), message,
                   **{k: pick(v) for k, v in params.items()})
        bad[at] = True

    errors = units.error
    for i in np.flatnonzero(errors.notna().to_numpy()):
        found.add(errors.iat[i], f.row.iat[i], portal.labels["name"], f.name.iat[i])
        bad[i] = True

    # the total and the groups of the month's method: numbers, within their scale
    scored = {"total": ("total", 100.0, None)}
    scored.update({g.field: (g.field, g.max, g.indicator) for g in method.groups})
    values = {}
    for role, (label_role, top, indicator) in scored.items():
        raw = f[role] if role in f else pd.Series([None] * len(f), index=f.index, dtype=object)
        column = portal.labels.get(label_role, role)
        parsed = raw.map(lambda v: (None, "empty") if V.is_empty(v) else parse_score(v))
        number = pd.to_numeric(parsed.map(lambda p: p[0]), errors="coerce").astype("float64")
        problem = parsed.map(lambda p: p[1])
        values[role] = number
        reject(loaded & (problem == "empty").to_numpy(), N.EMPTY, column, raw)
        for name, message in N.WHY.items():
            reject(loaded & (problem == name).to_numpy(), message, column, raw, column=column)
        with np.errstate(invalid="ignore"):
            if indicator is None:
                reject(loaded & ((number < 0) | (number > top)).to_numpy(), N.OUTSIDE_THE_SCALE, column, raw, max=top)
            else:
                reject(loaded & (number < 0).to_numpy(), N.OUTSIDE_THE_SCALE, column, raw, max=top)
                reject(loaded & (number > top).to_numpy(), R.ABOVE, column, raw, indicator=indicator, max=top,
                       period=month, n=len(method.groups))
    groups = [values[g.field] for g in method.groups]
    summed = sum(groups)
    known = loaded & ~bad & summed.notna().to_numpy() & values["total"].notna().to_numpy()
    with np.errstate(invalid="ignore"):
        off = known & ((values["total"] - summed).abs() > TOLERANCE + 1e-9).to_numpy()
    reject(off, R.NOT_THE_SUM, portal.labels["total"], f.total, total=values["total"].to_numpy(),
           sum=summed.round(4).to_numpy(), n=len(groups))
    _duplicates(f, units, loaded, reject, portal.labels["name"])
    if prov is not None and (start := catalog.valid_from("commune")) and month < start:
        reject(loaded, U.BEFORE["commune"], "--period", month, period=month, start=start)
    _ranks(f, values["total"], found, portal.labels.get("rank", "rank"))

    good = loaded & ~bad
    obs = _observations(f[good], units[good], {k: v[good] for k, v in values.items()}, method, month)
    notes = []
    skipped = ~loaded & units.error.isna().to_numpy()
    if skipped.any():
        notes.append(Note("index766_skipped", {"n": int(skipped.sum()), "row": int(f.row[skipped].min())}))
    if len(obs):
        notes.append(Note("index766_loaded", {"units": int(good.sum()), "groups": len(method.groups)}))
    frame = found.frame()
    if len(frame):
        frame = frame.sort_values(["row", "column"], kind="stable", na_position="first").reset_index(drop=True)
    return Checked(obs, frame if len(frame) else no_rejections(), len(f), int(loaded.sum()) * (1 + len(groups)),
                   False, notes)


def _method_fields(portal: Portal, month: str, method: catalog.Method, found: Found) -> None:
    """The file's groups against the month's method: a field of another method that holds a
    score (not empty, not 0) or a field of this method with no value at all is a mismatch."""
    f, fields = portal.frame, {g.field: g for g in method.groups}
    others = {g.field: g for m in catalog.index766_methods() for g in m.groups if g.field not in fields}
    where = {"period": month, "n": len(method.groups), "since": method.valid_from}
    for name, group in others.items():
        if name in f and f[name].map(lambda v: not V.is_empty(v) and parse_score(v)[0] != 0).any():
            found.add(R.EXTRA_GROUP(field=name, indicator=group.indicator, **where), portal.header_row,
                      portal.labels.get(name, name), name)
    for name, group in fields.items():
        if name not in f or not f[name].map(lambda v: not V.is_empty(v)).any():
            found.add(R.MISSING_GROUP(field=name, indicator=group.indicator, **where), portal.header_row,
                      portal.labels.get(name, name))


def _units(f: pd.DataFrame, prov: Resolved | None, resolver: UnitResolver) -> pd.DataFrame:
    """Each row's kind ('province' or 'commune': loaded; 'department' or 'total': left out and
    counted, but a department or a commune in a table of provinces needs --province; 'error'),
    its unit and province codes, and its error."""
    cache: dict[str, tuple] = {}
    out = []
    for name in f.name.tolist():
        key = V.display(name)
        if key not in cache:
            cache[key] = _unit(name, prov, resolver)
        out.append(cache[key])
    return pd.DataFrame(out, columns=["kind", "unit_code", "province_code", "error"], index=f.index, dtype=object)


def _unit(name: Any, prov: Resolved | None, resolver: UnitResolver) -> tuple:
    """One name. In a province's own table a name is a commune when it resolves as one, else a
    department when it reads like one (or names the province itself), else an error: a row is
    never left out only because its name is unknown."""
    if V.is_empty(name):
        return "error", None, None, U.EMPTY_UNIT()
    if is_total_label(name):
        return "total", None, None, None
    if prov is None:  # a table of provinces
        try:
            res = resolver.province(name)
            return "province", res.code, res.province_code, None
        except ResolveError as err:
            if err.reason != "legacy" and (is_commune(name) or is_department(name)):
                return ("commune" if is_commune(name) else "department"), None, None, None
            return "error", None, None, U.province_error(name, err)
    try:
        res = resolver.commune(name, prov)
        return "commune", res.code, res.province_code, None
    except ResolveError as err:
        if not is_commune(name) and (is_department(name) or _names_province(name, prov, resolver)):
            return "department", None, None, None
        return "error", None, None, U.commune_error(name, err, prov)


def _names_province(name: Any, prov: Resolved, resolver: UnitResolver) -> bool:
    """'Tỉnh Phú Thọ', 'UBND tỉnh Phú Thọ': the province's own row in its table."""
    if split_prefix(without_council(str(name)), PROVINCE_PREFIXES)[0] is None:
        return False
    try:
        return resolver.province(name, allow_legacy=True).province_code == prov.province_code
    except ResolveError:
        return False


def _duplicates(f: pd.DataFrame, units: pd.DataFrame, loaded: np.ndarray, reject, column: str) -> None:
    """Two rows of the file for one unit: each names the others (the first few)."""
    codes = units.unit_code.where(loaded)
    repeated = codes[codes.notna() & codes.duplicated(keep=False)]
    for code in repeated.unique():
        at = repeated.index[repeated == code]
        for i in at:
            others = [int(f.row[j]) for j in at if j != i]
            shown = ", ".join(map(str, others[:RW.ROWS_SHOWN]))
            mask = np.zeros(len(f), dtype=bool)
            mask[f.index.get_loc(i)] = True
            if len(others) > RW.ROWS_SHOWN:
                reject(mask, RW.ALSO_IN_MORE, column, f.name, rows=shown, more=len(others) - RW.ROWS_SHOWN)
            else:
                reject(mask, RW.ALSO_IN, column, f.name, rows=shown)


def _ranks(f: pd.DataFrame, total: pd.Series, found: Found, column: str) -> None:
    """ROW_STT against the rank of the total among the file's rows (SQL RANK: ties share the
    best rank; the portal may number a tie in any order): a warning where they differ."""
    if "rank" not in f or f["rank"].map(V.is_empty).all():
        return
    best = total.rank(method="min", ascending=False)
    worst = total.rank(method="max", ascending=False)
    for i in range(len(f)):
        raw = f["rank"].iat[i]
        if V.is_empty(raw) or pd.isna(total.iat[i]):
            continue
        stated = parse_rank(raw)
        if stated is None:
            found.add(R.NOT_A_RANK(), f.row.iat[i], column, raw)
        elif not best.iat[i] <= stated <= worst.iat[i]:
            found.add(R.RANK_DIFFERS(rank=int(best.iat[i]), total=float(total.iat[i])), f.row.iat[i], column, raw)


def _observations(f: pd.DataFrame, units: pd.DataFrame, values: dict[str, pd.Series], method: catalog.Method,
                  month: str) -> pd.DataFrame:
    """The total and each group of the month's method, per unit."""
    if not len(f):
        return pd.DataFrame(columns=OBS_COLUMNS)
    index = catalog.by_role("index766")
    parts = [(index.code, values["total"])] + [(g.indicator, values[g.field]) for g in method.groups]
    frames = [pd.DataFrame({
        "row": f.row.astype("int64"), "level": units.kind, "unit_code": units.unit_code,
        "province_code": units.province_code, "indicator": code, "period": month,
        "value": numbers.astype("float64"), "numerator": np.nan, "denominator": np.nan,
        "source": SOURCE, "note": None,
    }) for code, numbers in parts]
    return pd.concat(frames, ignore_index=True)[OBS_COLUMNS]
