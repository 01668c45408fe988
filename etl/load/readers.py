"""Reading report files (CSV, .xlsx, .xls, Parquet) into one canonical long table of raw cells.

What arrives in practice and is handled here:
- CSV in UTF-8 (with or without BOM) or UTF-16 with BOM, comma / semicolon / tab separated;
  anything else is rejected with a suggestion to save as "CSV UTF-8";
- Excel workbooks with title rows above the header, merged header (and data) cells, several
  sheets (``sheet=``), dates and numbers typed as text;
- long layout ``period, unit, indicator, value [, numerator, denominator, source, note,
  province, level]`` or wide layout (one row per unit, one column per indicator code or
  Vietnamese/English indicator name, period from a column or ``period=``).

The header row is the first row (of the first 30) whose cells name known columns or
indicators; headers are matched without case, diacritics or punctuation, with Vietnamese
synonyms ("Kỳ báo cáo", "Đơn vị", "Chỉ tiêu", "Giá trị", "Tử số", "Mẫu số", "Tỉnh", "Xã").
"""

from __future__ import annotations

import csv
import difflib
import io
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from core import catalog, paths
from core.names import ascii_key, strip_diacritics, tone_key
from etl.load import limits, preflight
from etl.load.errors import FileRejected, UsageError
from etl.load.rules import file as F

HEADER_SCAN_ROWS = 30
MB = limits.MB


# --------------------------------------------------------------------------- limits

def max_bytes(kind: str) -> int:
    """Upload limit for a kind of file: ``DX_MAX_UPLOAD_MB`` (reports, default 200) and
    ``DX_MAX_DOSSIER_MB`` (dossier exports, default 4096); see :mod:`etl.load.limits`."""
    lim = limits.current()
    return lim.dossier_bytes if kind == "dossiers" else lim.upload_bytes


def check_size(path: Path, kind: str) -> int:
    size = path.stat().st_size
    limit = max_bytes(kind)
    if size > limit:
        dossiers = kind == "dossiers"
        raise FileRejected((F.DOSSIER_SIZE if dossiers else F.REPORT_SIZE)(
            size_mb=size / MB, limit_mb=limit / MB, env=limits.Limits.env("dossier_mb" if dossiers else "upload_mb")))
    if size == 0:
        raise FileRejected(F.ZERO_BYTES())
    return size


# --------------------------------------------------------------------------- formats

XLSX_MAGIC, XLS_MAGIC, EXCEL_FORMATS = preflight.XLSX_MAGIC, preflight.XLS_MAGIC, preflight.EXCEL_FORMATS
sniff_format = preflight.sniff_format


def decode_csv_bytes(data: bytes) -> str:
    """UTF-8 (BOM optional) or UTF-16 with BOM; otherwise an 'encoding' rejection."""
    if data.startswith(b"\xef\xbb\xbf"):
        encoding, body = "utf-8", data[3:]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding, body = "utf-16", data
    else:
        encoding, body = "utf-8", data
        if b"\x00" in data[:4096]:
            raise FileRejected(F.UTF16_WITHOUT_BOM())
    try:
        return body.decode(encoding)
    except UnicodeDecodeError as exc:
        line = body[: exc.start].count(b"\n") + 1
        sample = body[max(0, exc.start - 20): exc.start + 20]
        raise FileRejected(F.NOT_VALID_TEXT(encoding=encoding.upper(), byte=exc.start, line=line),
                           row=line, value=sample.decode("utf-8", "replace")) from None


def sniff_delimiter(lines: list[str]) -> str:
    counts = {d: sum(line.count(d) for line in lines) for d in (",", ";", "\t")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


# --------------------------------------------------------------------------- header matching

def header_key(text: Any) -> str:
    return re.sub(r"[^0-9a-z]+", "_", strip_diacritics(str(text)).lower()).strip("_")


COLUMN_SYNONYMS: dict[str, set[str]] = {
    "period": {"period", "ky", "ky_bao_cao", "thang", "month", "thoi_gian", "thang_nam", "ky_so_lieu"},
    "unit": {"unit", "unit_code", "unit_name", "don_vi", "ten_don_vi", "ma_don_vi", "dia_phuong",
             "don_vi_hanh_chinh", "legacy_province", "tinh_cu", "old_province"},
    "province": {"province", "province_code", "province_name", "tinh", "ma_tinh", "ten_tinh",
                 "tinh_thanh_pho", "tinh_thanh", "tinh_tp"},
    "commune": {"commune", "commune_code", "commune_name", "xa", "ma_xa", "ten_xa", "xa_phuong",
                "phuong_xa", "xa_phuong_dac_khu", "ward"},
    "indicator": {"indicator", "indicator_code", "chi_tieu", "ma_chi_tieu", "chi_so", "ma_chi_so"},
    "value": {"value", "gia_tri", "so_lieu"},
    "numerator": {"numerator", "tu_so"},
    "denominator": {"denominator", "mau_so"},
    "source": {"source", "nguon", "nguon_so_lieu"},
    "note": {"note", "notes", "ghi_chu"},
    "level": {"level", "cap"},
    "ignore": {"stt", "tt", "no", "so_tt", "so_thu_tu", "", "n"},
}
_COLUMN_BY_KEY = {key: name for name, keys in COLUMN_SYNONYMS.items() for key in keys}


def indicator_keys() -> dict[str, str]:
    """Header/indicator spellings -> indicator code: codes, Vietnamese and English names of
    the catalog in use (``DX_CATALOG`` may name another)."""
    return _indicator_keys(paths.catalog_file())


@cache
def _indicator_keys(catalog_file: Path) -> dict[str, str]:
    indicators = catalog.load(catalog_file).indicators
    keys: dict[str, str] = {}
    for ind in indicators.values():
        keys[ind.code.lower()] = ind.code
        keys[header_key(ind.code)] = ind.code
    for ind in indicators.values():
        for name in (ind.name_vi, ind.name_en):
            for key in ("tone:" + tone_key(name), "ascii:" + ascii_key(name)):
                keys.setdefault(key, ind.code)
    return keys


def match_indicator(text: Any) -> str | None:
    if text is None:
        return None
    raw = str(text).strip()
    if not raw:
        return None
    keys = indicator_keys()
    for key in (raw.lower(), header_key(raw), "tone:" + tone_key(raw), "ascii:" + ascii_key(raw)):
        if key in keys:
            return keys[key]
    return None


def closest_indicators(text: Any, n: int = 3) -> str:
    """A suggestion for an unknown indicator: the indicators whose code or Vietnamese/English
    name is nearest to ``text`` (compared without case, diacritics or spacing), named in
    Vietnamese with their code; '' when none is near."""
    candidates = {ascii_key(code): code for code in catalog.indicators()}
    candidates.update({key[len("ascii:"):]: code for key, code in indicator_keys().items() if key.startswith("ascii:")})
    near = difflib.get_close_matches(ascii_key(str(text)), list(candidates), n=3 * n, cutoff=0.6)
    codes = list(dict.fromkeys(candidates[key] for key in near))[:n]
    return ", ".join(f"{catalog.get(code).name_vi} ({code})" for code in codes)


def classify_header(cell: Any) -> tuple[str, str | None]:
    """('column', canonical) | ('indicator', code) | ('unknown', None) | ('blank', None)."""
    if cell is None or (isinstance(cell, float) and pd.isna(cell)) or not str(cell).strip():
        return "blank", None
    key = header_key(cell)
    if key in _COLUMN_BY_KEY:
        return "column", _COLUMN_BY_KEY[key]
    code = match_indicator(cell)
    if code:
        return "indicator", code
    return "unknown", None


def _header_score(cells: list[Any]) -> tuple[int, bool]:
    kinds = [classify_header(c) for c in cells]
    known = [k for k in kinds if k[0] in ("column", "indicator") and k[1] != "ignore"]
    names = {k[1] for k in kinds if k[0] == "column"}
    has_unit = bool(names & {"unit", "province", "commune"})
    has_data = "value" in names or any(k[0] == "indicator" for k in kinds)
    return len(known), has_unit and has_data


# --------------------------------------------------------------------------- grids

@dataclass
class Grid:
    """Rows of cells as read (no header yet) and the spreadsheet row number of each."""

    rows: list[list[Any]]
    row_numbers: list[int]
    sheet: str | None = None
    fmt: str = "csv"


def _fill_merged(rows: list[list[Any]], merged: list[tuple[tuple[int, int], tuple[int, int]]]) -> None:
    """Give every cell of a merged range the value of its top-left cell (in place). Ranges are
    cut to the cells the sheet has: a merge reaching column XFD must not widen every row."""
    width = max((len(r) for r in rows), default=0)
    for (r0, c0), (r1, c1) in merged:
        c1 = min(c1, width - 1)
        if r0 >= len(rows) or c0 > c1:
            continue
        top = rows[r0][c0] if c0 < len(rows[r0]) else ""
        for r in range(r0, min(r1, len(rows) - 1) + 1):
            row = rows[r]
            if len(row) <= c1:
                row.extend([""] * (c1 + 1 - len(row)))
            for c in range(c0, c1 + 1):
                if r == r0 and c == c0:
                    continue
                if row[c] in ("", None):
                    row[c] = top


def _calamine_fault(exc: BaseException) -> bool:
    """An error of the Excel reader about the file: its own exceptions, and the panics it turns
    into ``pyo3_runtime.PanicException`` (a BaseException) on inputs it does not expect."""
    return isinstance(exc, Exception) or type(exc).__name__ == "PanicException"


def excel_sheets(path: Path) -> list[tuple[str, bool]]:
    """(name, visible) of every worksheet. This is where a workbook is first opened, so a file
    that is no readable workbook (damaged, password-protected, a Word file), or one the reader
    must not open (:mod:`etl.load.preflight`), is rejected here."""
    from python_calamine import CalamineWorkbook

    preflight.workbook(path, sniff_format(path))
    try:
        wb = CalamineWorkbook.from_path(str(path))
    except BaseException as exc:
        if not _calamine_fault(exc):
            raise
        raise FileRejected(F.UNREADABLE_WORKBOOK()) from None
    try:
        return [(meta.name, "Visible" in str(meta.visible) and "Hidden" not in str(meta.visible))
                for meta in wb.sheets_metadata if "WorkSheet" in str(meta.typ)]
    finally:
        wb.close()


_GRID_CACHE: dict[tuple, Grid] = {}


def read_excel_grid(path: Path, sheet: str) -> Grid:
    """The sheet's cells with merged ranges filled (the last two reads are cached: kind
    detection, sheet choice and parsing read the same sheet)."""
    stat = Path(path).stat()
    key = (str(Path(path).resolve()), stat.st_mtime_ns, stat.st_size, sheet)
    if key not in _GRID_CACHE:
        if len(_GRID_CACHE) >= 2:
            _GRID_CACHE.pop(next(iter(_GRID_CACHE)))
        _GRID_CACHE[key] = _read_excel_grid(path, sheet)
    return _GRID_CACHE[key]


def _read_excel_grid(path: Path, sheet: str) -> Grid:
    from python_calamine import CalamineWorkbook

    preflight.workbook(path, sniff_format(path))
    try:
        wb = CalamineWorkbook.from_path(str(path))
        try:
            ws = wb.get_sheet_by_name(sheet)
            rows = ws.to_python(skip_empty_area=False)
            merged = list(ws.merged_cell_ranges or [])
        finally:
            wb.close()
    except BaseException as exc:
        if not _calamine_fault(exc):
            raise
        raise FileRejected(F.UNREADABLE_WORKBOOK()) from None
    rows = [list(r) for r in rows]
    _fill_merged(rows, merged)
    return Grid(rows, list(range(1, len(rows) + 1)), sheet, sniff_format(path))


def choose_sheet(path: Path, sheet: str | None) -> str:
    sheets = excel_sheets(path)
    names = [name for name, _ in sheets]
    if sheet is not None:
        if sheet in names:
            return sheet
        lowered = {n.strip().lower(): n for n in names}
        if sheet.strip().lower() in lowered:
            return lowered[sheet.strip().lower()]
        raise UsageError(f"no sheet {sheet!r} in this workbook; sheets: {', '.join(names)}", names)
    visible = [name for name, vis in sheets if vis] or names
    if len(visible) == 1:
        return visible[0]
    from etl.load.dossiers import looks_like_dossiers

    looks_like_data = []
    for name in visible:
        grid = read_excel_grid(path, name)
        if find_header(grid, required=False) is not None or any(
                looks_like_dossiers([str(c) for c in row]) for row in grid.rows[:HEADER_SCAN_ROWS]):
            looks_like_data.append(name)
    if len(looks_like_data) == 1:
        return looks_like_data[0]
    candidates = looks_like_data or visible
    raise UsageError(
        f"the workbook has {len(candidates)} sheets with data ({', '.join(candidates)}); "
        "choose one with --sheet NAME",
        candidates,
    )


def _cell_too_large(line: int, column: str | None, chars: int | None, limit: int) -> FileRejected:
    env = limits.Limits.env("cell_chars")
    said = F.CELL_OF(line=line, chars=chars, limit=limit, env=env) if chars else \
        F.CELL_OVER(line=line, parser_limit=csv.field_size_limit(), limit=limit, env=env)
    return FileRejected(said, row=line, column=column)


def csv_grid_head(text: str) -> tuple[list[list[str]], str]:
    """The first lines as cells, to find the header (and the delimiter)."""
    end = -1
    for _ in range(HEADER_SCAN_ROWS):
        end = text.find("\n", end + 1)
        if end < 0:
            break
    lines = (text if end < 0 else text[:end]).splitlines()[:HEADER_SCAN_ROWS]
    delimiter = sniff_delimiter(lines)
    reader = csv.reader(lines, delimiter=delimiter)
    rows = []
    try:
        for row in reader:
            rows.append(row)
    except csv.Error as exc:  # the only one csv raises on this input: a field over its 128 KiB limit
        raise _cell_too_large(reader.line_num, None, None, limits.current().cell_chars) from exc
    return rows, delimiter


parquet_metadata = preflight.parquet_metadata


def check_shape(rows: int | None, columns: int | None, lim: limits.Limits) -> None:
    """Refuse a table beyond DX_MAX_ROWS, DX_MAX_COLUMNS or DX_MAX_CELLS (``rows`` None: not known yet)."""
    if columns is not None and columns > lim.columns:
        raise FileRejected(F.COLUMNS(columns=columns, limit=lim.columns, env=limits.Limits.env("columns")))
    if rows is not None and rows > lim.rows:
        raise FileRejected(F.ROWS(limit=lim.rows, env=limits.Limits.env("rows")))
    if rows is not None and columns is not None and rows * columns > lim.cells:
        raise FileRejected(F.CELLS(rows=rows, columns=columns, cells=rows * columns, limit=lim.cells,
                                   env=limits.Limits.env("cells")))


# --------------------------------------------------------------------------- header + table

@dataclass
class Table:
    """The data rows under the detected header, all cells raw."""

    frame: pd.DataFrame  # columns: original header labels (deduplicated) + '_row'
    header: list[Any]
    header_row: int
    roles: dict[str, tuple[str, str | None]]  # label -> classify_header()
    fmt: str
    sheet: str | None = None
    delimiter: str | None = None


def find_header(grid: Grid, required: bool = True) -> int | None:
    """Index (in grid.rows) of the header row."""
    for i, row in enumerate(grid.rows[:HEADER_SCAN_ROWS]):
        score, complete = _header_score(row)
        if complete and score >= 2:
            return i
    if required:
        raise FileRejected(F.NO_HEADER())
    return None


def _labels(header: list[Any]) -> list[str]:
    seen: dict[str, int] = {}
    labels = []
    for i, cell in enumerate(header):
        label = str(cell).strip() if cell not in (None, "") else f"column {i + 1}"
        if label in seen:
            seen[label] += 1
            label = f"{label} ({seen[label]})"
        else:
            seen[label] = 1
        labels.append(label)
    return labels


def table_from_grid(grid: Grid) -> Table:
    h = find_header(grid)
    header = list(grid.rows[h])
    width = max((len(r) for r in grid.rows[h:]), default=len(header))
    header += [""] * (width - len(header))
    labels = _labels(header)
    body = [list(r) + [""] * (width - len(r)) for r in grid.rows[h + 1:]]
    frame = pd.DataFrame(body, columns=labels, dtype=object)
    frame["_row"] = grid.row_numbers[h + 1:]
    # Drop fully empty rows (spacing, trailing formatting) and total/footer lines handled later.
    blank = frame[labels].map(lambda v: v is None or (isinstance(v, str) and not v.strip())).all(axis=1)
    frame = frame[~blank].reset_index(drop=True)
    roles = {label: classify_header(cell) for label, cell in zip(labels, header)}
    return Table(frame, header, grid.row_numbers[h], roles, grid.fmt, grid.sheet)


def read_csv_table(text: str) -> Table:
    head, delimiter = csv_grid_head(text)
    grid = Grid(head, list(range(1, len(head) + 1)))
    h = find_header(grid)
    header = head[h]
    labels = _labels(header)
    lim = limits.current()
    check_shape(None, len(labels), lim)
    frame = pd.read_csv(
        io.StringIO(text), sep=delimiter, header=None, skiprows=h + 1, dtype=str,
        keep_default_na=False, names=labels, index_col=False, skip_blank_lines=False,
        engine="c", on_bad_lines="error", nrows=lim.rows + 1,
    )
    check_shape(len(frame), len(labels), lim)
    frame["_row"] = range(h + 2, h + 2 + len(frame))
    for label in labels:
        lengths = frame[label].str.len()
        if len(lengths) and lengths.max() > lim.cell_chars:
            at = int(lengths.idxmax())
            raise _cell_too_large(int(frame["_row"].iat[at]), label, int(lengths.iat[at]), lim.cell_chars)
    values = frame[labels]
    blank = (values == "").all(axis=1) if len(values.columns) else pd.Series(True, index=frame.index)
    frame = frame[~blank].reset_index(drop=True)
    roles = {label: classify_header(cell) for label, cell in zip(labels, header)}
    return Table(frame, header, h + 1, roles, "csv", None, delimiter)


def read_table(path: Path, sheet: str | None = None) -> Table:
    fmt = sniff_format(path)
    if fmt in EXCEL_FORMATS:
        name = choose_sheet(path, sheet)
        table = table_from_grid(read_excel_grid(path, name))
    elif fmt == "csv":
        if sheet is not None:
            raise UsageError("--sheet applies to Excel workbooks only")
        text = decode_csv_bytes(path.read_bytes())
        if not text.strip():
            raise FileRejected(F.NO_CONTENT())
        try:
            table = read_csv_table(text)
        except pd.errors.ParserError as exc:
            raise FileRejected(F.UNPARSED_CSV(error=str(exc))) from None
    else:
        meta = parquet_metadata(path)
        lim = limits.current()
        check_shape(meta.num_rows, meta.num_columns, lim)
        decoded = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
        if decoded > lim.upload_bytes:
            raise FileRejected(F.DECODED(size_mb=decoded / MB, limit_mb=lim.upload_mb,
                                         env=limits.Limits.env("upload_mb")))
        try:
            frame = pd.read_parquet(path)
        except (pa.ArrowException, OSError, ValueError):
            raise FileRejected(F.UNREADABLE_PARQUET()) from None
        header = list(frame.columns)
        labels = _labels(header)
        frame.columns = labels
        frame = frame.astype(object)
        frame["_row"] = range(1, len(frame) + 1)
        roles = {label: classify_header(cell) for label, cell in zip(labels, header)}
        table = Table(frame, header, 0, roles, "parquet")
        if not any(r[0] == "column" and r[1] in ("unit", "province", "commune") for r in roles.values()):
            find_header(Grid([header], [0]))
    if table.frame.empty:
        raise FileRejected(F.NO_DATA_ROWS())
    return table
