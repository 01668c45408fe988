"""A workbook or Parquet file looked at before any parser allocates for it.

Why: the Excel reader (python-calamine, Rust) builds a sheet as one grid from A1 to its farthest
cell and trusts counts the file declares, so a 5 KB workbook with one cell at XFD1048576 asks
for 512 GB and aborts the process. Here the file is read with the standard library only, in
bounded steps, and refused with a reason a clerk can act on when:

- .xlsx (a zip): it unpacks to more than ``DX_MAX_UPLOAD_MB``, a part inflates more than
  ``DX_MAX_ZIP_RATIO`` times or beyond the size it declares (a zip bomb), a cell lies beyond
  ``DX_MAX_ROWS`` / ``DX_MAX_COLUMNS`` / ``DX_MAX_CELLS`` (the cells themselves are scanned:
  the ``<dimension>`` a sheet declares is not what the reader allocates), or the shared-string
  table declares more strings than it can hold;
- .xls (an OLE compound file): its sector chains leave the file or loop, a sheet's
  DIMENSIONS record or its farthest cell record lies beyond the limits, or a sheet starts
  outside the workbook stream;
- Parquet: the footer is unreadable, or it declares too many columns (and, for reports, too
  many rows or too many bytes once decoded).

What this cannot foresee is still bounded: files are read in a child process with a memory and
time limit (:mod:`etl.load.sandbox`).
"""

from __future__ import annotations

import re
import struct
import zipfile
import zlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from etl.load import limits as L
from etl.load.errors import FileRejected
from etl.load.rules import file as F

EXCEL_ROWS, EXCEL_COLUMNS = 1_048_576, 16_384
XLSX_MAGIC, XLS_MAGIC = b"PK\x03\x04", b"\xd0\xcf\x11\xe0"  # zip (.xlsx) / OLE compound file (.xls)
EXCEL_FORMATS = ("xlsx", "xls")
MAX_ZIP_PARTS = 10_000
INFLATE_STEP = 1 << 20


def column_name(index: int) -> str:
    """0 -> 'A', 16383 -> 'XFD'."""
    name, n = "", index + 1
    while n:
        n, rest = divmod(n - 1, 26)
        name = chr(65 + rest) + name
    return name


@dataclass
class Extent:
    """The farthest row and column (0-based) a part's cells reach, and one cell at each."""

    rows: int = 0
    columns: int = 0
    last_row_cell: str = ""
    last_column_cell: str = ""

    def add(self, row: int, column: int) -> None:
        if row + 1 > self.rows:
            self.rows, self.last_row_cell = row + 1, f"{column_name(column)}{row + 1}"
        if column + 1 > self.columns:
            self.columns, self.last_column_cell = column + 1, f"{column_name(column)}{row + 1}"


def check_extent(extent: Extent, sheet: str, lim: L.Limits) -> None:
    """Refuse a sheet whose grid (A1 to its farthest cell) is beyond the limits; ``sheet``
    names it (a workbook part, or a sheet's number)."""
    if extent.columns > lim.columns:
        raise FileRejected(F.SHEET_COLUMNS(sheet=sheet, cell=extent.last_column_cell, columns=extent.columns,
                                           limit=lim.columns, env=L.Limits.env("columns")),
                           value=extent.last_column_cell)
    if extent.rows > lim.rows:
        raise FileRejected(F.SHEET_ROWS(sheet=sheet, cell=extent.last_row_cell, rows=extent.rows, limit=lim.rows,
                                        env=L.Limits.env("rows")), value=extent.last_row_cell)
    if extent.rows * extent.columns > lim.cells:
        raise FileRejected(F.SHEET_CELLS(sheet=sheet, rows=extent.rows, columns=extent.columns,
                                         cells=extent.rows * extent.columns, limit=lim.cells,
                                         env=L.Limits.env("cells")))


# --------------------------------------------------------------------------- .xlsx

_ATTRS = rb"""((?:[^>"']|"[^"]*"|'[^']*')*)"""
_PREFIX = rb"(?:[A-Za-z_][\w.\-]*:)?"
# How Excel, LibreOffice and openpyxl write a cell: its address first, in capitals. Any other
# cell tag (another attribute first, no address, a namespace prefix) sends a part to the walk.
_OTHER_CELL = re.compile(rb'<c(?! r="[A-Z]{1,3}[1-9][0-9]{0,6}")[\s/>]')
_MAYBE_PREFIXED_CELL = re.compile(rb":c[\s/>]")
_PLAIN_COLUMN = re.compile(rb'<c r="([A-Z]{1,3})[1-9]')
_PLAIN_ROW = {digits: re.compile(rb'<c r="[A-Z]{1,3}([1-9][0-9]{%d})"' % (digits - 1)) for digits in range(1, 8)}
_TAG = re.compile(rb"<(/?)" + _PREFIX + rb"(row|c)(?=[\s/>])" + _ATTRS + rb">")
_R = re.compile(rb"""(?:^|\s)r\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_REF = re.compile(rb"([A-Za-z]*)([0-9]+)")
_SST = re.compile(rb"<" + _PREFIX + rb"sst(?=[\s/>])" + _ATTRS + rb">")
_UNIQUE = re.compile(rb"""(?:^|\s)uniqueCount\s*=\s*["']\s*([0-9]+)""")


def _ref(raw: bytes, sheet: str) -> tuple[int, int]:
    """(row, column), 0-based, of a cell reference as the reader parses it; a reference outside
    Excel's grid (which the reader would wrap around) is refused."""
    match = _REF.fullmatch(raw)
    if not match or len(match.group(1)) > 3 or len(match.group(2)) > 7:
        raise FileRejected(F.NOT_A_CELL_ADDRESS(sheet=sheet, ref=raw[:20].decode("ascii", "replace")))
    column = 0
    for letter in match.group(1).upper():
        column = column * 26 + letter - 64
    row = int(match.group(2))
    if row < 1 or row > EXCEL_ROWS or column > EXCEL_COLUMNS:
        raise FileRejected(F.OUTSIDE_THE_GRID(sheet=sheet, ref=raw.decode("ascii")))
    return row - 1, column - 1


def cell_extent(xml: bytes, sheet: str) -> Extent:
    """The farthest cell, placed as the reader places cells: by their ``r`` attribute, else
    one column right of the previous cell of the row (empty ones included), rows by ``<row r>``
    or one below the previous row. Cells written the usual way are found by a few regex passes
    (≈ 1 µs a cell); others are walked tag by tag, empty cells (``<c …/>``) not counted."""
    extent = Extent()
    if not _OTHER_CELL.search(xml) and not _MAYBE_PREFIXED_CELL.search(xml):
        # Every cell names its address (empty ones are counted too: conservative).
        columns = set(_PLAIN_COLUMN.findall(xml))
        if not columns:
            return extent
        widest = max(columns, key=lambda c: (len(c), c))
        top = next(max(rows) for rows in (_PLAIN_ROW[d].findall(xml) for d in range(7, 0, -1)) if rows)
        at_top = re.search(rb'<c r="([A-Z]{1,3})' + top + b'"', xml).group(1)
        at_widest = re.search(rb'<c r="' + widest + rb'([1-9][0-9]{0,6})"', xml).group(1)
        extent.add(*_ref(widest + at_widest, sheet))
        extent.add(*_ref(at_top + top, sheet))
        return extent
    row = column = 0
    for closing, name, attrs in _TAG.findall(xml):
        self_closing = attrs.endswith(b"/")
        if name == b"row":
            if closing:
                row, column = row + 1, 0
                continue
            r = _R.search(attrs)
            if r:  # the reader takes the digits and ignores any letters
                row = _ref(b"A" + (r.group(1) if r.group(1) is not None else r.group(2)).lstrip(_LETTERS), sheet)[0]
            if self_closing:
                row, column = row + 1, 0
            continue
        if closing:
            continue
        r = _R.search(attrs)
        if r:
            here, column = _ref(r.group(1) if r.group(1) is not None else r.group(2), sheet)
        else:
            here = row
            if row >= EXCEL_ROWS or column >= EXCEL_COLUMNS:
                raise FileRejected(F.CELLS_OUTSIDE_THE_GRID(sheet=sheet))
        if not self_closing:
            extent.add(here, column)
        column += 1
    return extent


_LETTERS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _inflate(handle, info: zipfile.ZipInfo) -> bytes:
    """A part's bytes, inflated in bounded steps: never more than it declares, whatever its
    compressed stream would produce."""
    handle.seek(info.header_offset)
    local = handle.read(30)
    if len(local) < 30 or local[:4] != b"PK\x03\x04":
        raise zipfile.BadZipFile("bad local header")
    name_len, extra_len = struct.unpack("<HH", local[26:30])
    handle.seek(info.header_offset + 30 + name_len + extra_len)
    if info.flag_bits & 0x1:
        raise FileRejected(F.ENCRYPTED())
    if info.compress_type == zipfile.ZIP_STORED:
        data = handle.read(info.compress_size)
        if len(data) != info.file_size:
            raise zipfile.BadZipFile("truncated part")
    elif info.compress_type == zipfile.ZIP_DEFLATED:
        inflater = zlib.decompressobj(-15)
        pieces, produced, left = [], 0, info.compress_size
        pending = b""
        while True:
            if not pending:
                if not left:
                    break
                pending = handle.read(min(INFLATE_STEP, left))
                if not pending:
                    raise zipfile.BadZipFile("truncated part")
                left -= len(pending)
            piece = inflater.decompress(pending, INFLATE_STEP)
            pending = inflater.unconsumed_tail
            produced += len(piece)
            if produced > info.file_size:
                raise FileRejected(F.PART_BEYOND(part=info.filename, size=info.file_size))
            pieces.append(piece)
            if inflater.eof:
                break
        data = b"".join(pieces)
        if not inflater.eof or len(data) != info.file_size:
            raise zipfile.BadZipFile("truncated part")
    else:
        raise FileRejected(F.UNKNOWN_COMPRESSION(part=info.filename))
    if zlib.crc32(data) != info.CRC:
        raise zipfile.BadZipFile("bad CRC")
    return data


def xlsx(path: Path, lim: L.Limits) -> None:
    damaged = FileRejected(F.DAMAGED_XLSX())
    try:
        with zipfile.ZipFile(path) as archive, open(path, "rb") as handle:
            parts = archive.infolist()
            if len(parts) > MAX_ZIP_PARTS:
                raise FileRejected(F.TOO_MANY_PARTS(parts=len(parts)))
            unpacked = sum(p.file_size for p in parts)
            if unpacked > lim.upload_bytes:
                raise FileRejected(F.UNPACKED(size_mb=unpacked / L.MB, limit_mb=lim.upload_bytes / L.MB,
                                              env=L.Limits.env("upload_mb")))
            for part in parts:
                if part.file_size > L.ZIP_RATIO_FROM_BYTES and \
                        part.file_size > lim.zip_ratio * max(part.compress_size, 1):
                    raise FileRejected(F.PART_RATIO(
                        part=part.filename, ratio=part.file_size / max(part.compress_size, 1),
                        packed_mb=part.compress_size / L.MB, size_mb=part.file_size / L.MB, limit=lim.zip_ratio,
                        env=L.Limits.env("zip_ratio")))
            for part in parts:
                if part.is_dir():
                    continue
                data = _inflate(handle, part)
                sheet = repr(part.filename)
                check_extent(cell_extent(data, sheet), sheet, lim)
                sst = _SST.search(data)  # the reader reserves room for its uniqueCount strings
                unique = _UNIQUE.search(sst.group(1)) if sst else None
                if unique and int(unique.group(1)) > min(lim.cells, len(data)):
                    raise FileRejected(F.SHARED_STRINGS(strings=int(unique.group(1)), size=len(data)))
    except FileRejected:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError, ValueError, struct.error,
            NotImplementedError, RuntimeError):
        raise damaged from None


# --------------------------------------------------------------------------- .xls

END_OF_CHAIN, FREE_SECTOR = 0xFFFFFFFE, 0xFFFFFFFF
MAX_READER_RESERVE = 256 * L.MB
WORKBOOK_STREAMS = ("Workbook", "Book", "WORKBOOK", "BOOK")  # the reader's order
XLS_CELLS = {0x0203, 0x0204, 0x00D6, 0x0205, 0x027E, 0x00FD, 0x0006}  # number, label, rstring, bool, rk, sst, formula
XLS_MULRK, XLS_DIMENSIONS, XLS_BOF, XLS_EOF, XLS_BOUNDSHEET = 0x00BD, 0x0200, 0x0809, 0x000A, 0x0085


class _Damaged(Exception):
    pass


def _u16(data: bytes, at: int) -> int:
    return struct.unpack_from("<H", data, at)[0]


def _u32(data: bytes, at: int) -> int:
    return struct.unpack_from("<I", data, at)[0]


def _compound_stream(data: bytes, lim: L.Limits) -> tuple[str, bytes]:
    """The workbook stream of an OLE compound file, every chain checked to stay in the file and
    end (the reader follows them without such checks)."""
    if len(data) < 512:
        raise _Damaged
    shift = _u16(data, 30)
    if shift not in (9, 12) or _u16(data, 32) != 6:
        raise _Damaged
    size = 1 << shift
    sectors = max(0, (len(data) - size) // size + (1 if (len(data) - size) % size else 0))

    def sector(i: int) -> bytes:
        if i >= sectors:
            raise _Damaged
        return data[(i + 1) * size:(i + 2) * size]

    fat_count, dir_start = _u32(data, 44), _u32(data, 48)
    mini_start, mini_count = _u32(data, 60), _u32(data, 64)
    difat_start = _u32(data, 68)
    # The reader reserves 4 bytes × the u32 at offset 62 (its misread of the DIFAT count: the
    # high half of the mini FAT start and the low half of the mini FAT count): 65,536 per mini
    # FAT sector of a real file, up to 16 GB in a forged header.
    if fat_count > sectors or mini_count > sectors or _u32(data, 62) > MAX_READER_RESERVE // 4:
        raise _Damaged
    difat = list(struct.unpack_from("<109I", data, 76))
    seen: set[int] = set()
    next_difat = difat_start
    while next_difat < 0xFFFFFFFA:
        if next_difat in seen:
            raise _Damaged
        seen.add(next_difat)
        block = struct.unpack(f"<{size // 4}I", sector(next_difat))
        difat.extend(block[:-1])
        next_difat = block[-1]
    fat: list[int] = []
    for i in [x for x in difat if x < 0xFFFFFFFA][:max(fat_count, 1)]:
        fat.extend(struct.unpack(f"<{size // 4}I", sector(i).ljust(size, b"\xff")))

    def chain(start: int, table: list[int], limit: int) -> list[int]:
        out, seen_ids = [], set()
        while start != END_OF_CHAIN:
            if start >= limit or start >= len(table) or start in seen_ids:
                raise _Damaged
            seen_ids.add(start)
            out.append(start)
            start = table[start]
        return out

    directory = b"".join(sector(i) for i in chain(dir_start, fat, sectors))
    entries = []
    for at in range(0, len(directory) - 127, 128):
        raw = directory[at:at + 128]
        name_bytes = min(_u16(raw, 64), 64)
        name = raw[:max(0, name_bytes - 2)].decode("utf-16-le", "replace")
        length = _u32(raw, 120) if size == 512 else struct.unpack_from("<Q", raw, 120)[0]
        entries.append((name, raw[66], _u32(raw, 116), length))
    if not entries:
        raise _Damaged
    root = entries[0]
    for wanted in WORKBOOK_STREAMS:
        found = [e for e in entries if e[0] == wanted]
        if found:
            break
    else:
        raise FileRejected(F.NO_WORKBOOK_STREAM())
    name, _, start, length = found[0]
    if length > len(data) or length > lim.upload_bytes:
        raise _Damaged
    if length < _u32(data, 56):  # in the mini stream
        ministream = b"".join(sector(i) for i in chain(root[2], fat, sectors))
        minifat: list[int] = []
        for i in chain(mini_start, fat, sectors) if mini_count else []:
            minifat.extend(struct.unpack(f"<{size // 4}I", sector(i).ljust(size, b"\xff")))
        stream = b"".join(ministream[i * 64:(i + 1) * 64] for i in chain(start, minifat, len(ministream) // 64))
    else:
        stream = b"".join(sector(i) for i in chain(start, fat, sectors))
    if len(stream) < length:
        raise _Damaged
    return name, stream[:length]


def _records(stream: bytes, at: int):
    while at + 4 <= len(stream):
        kind, length = struct.unpack_from("<HH", stream, at)
        body = stream[at + 4:at + 4 + length]
        if len(body) < length:
            raise _Damaged
        yield kind, body
        at += 4 + length


def _sheet_extent(stream: bytes, at: int, sheet: str, lim: L.Limits) -> Extent:
    """Cells of one worksheet substream, and the grid its DIMENSIONS record makes the reader reserve."""
    extent = Extent()
    depth, seen_bof = 0, False
    for kind, body in _records(stream, at):
        if depth:
            depth += {XLS_BOF: 1, XLS_EOF: -1}.get(kind, 0)
            continue
        if kind == XLS_BOF:
            if seen_bof:
                depth = 1
            seen_bof = True
        elif kind == XLS_EOF:
            break
        elif kind == XLS_DIMENSIONS and len(body) in (10, 14):
            if len(body) == 14:
                first_row, last_row = _u32(body, 0), _u32(body, 4)
                first_col, last_col = _u16(body, 8), _u16(body, 10)
            else:
                first_row, last_row, first_col, last_col = struct.unpack_from("<4H", body)
            if first_col > 0xFF or last_col < first_col:
                first_col = 0
            if last_row >= 1 and last_col >= 1:
                rows = ((last_row - 1 - first_row) % 2 ** 32) + 1  # as the reader computes it (u32)
                columns = ((last_col - 1 - first_col) % 2 ** 32) + 1
                if rows > lim.rows or columns > lim.columns or rows * columns > lim.cells:
                    raise FileRejected(F.SHEET_DECLARES(sheet=sheet, rows=rows, columns=columns, max_rows=lim.rows,
                                                        max_columns=lim.columns, max_cells=lim.cells))
        elif kind in XLS_CELLS and len(body) >= 4:
            extent.add(_u16(body, 0), _u16(body, 2))
        elif kind == XLS_MULRK and len(body) >= 6:
            extent.add(_u16(body, 0), _u16(body, len(body) - 2))
    return extent


def xls(path: Path, lim: L.Limits) -> None:
    data = path.read_bytes()
    try:
        _, stream = _compound_stream(data, lim)
        sheets = [(_u32(body, 0), body) for kind, body in _globals(stream) if kind == XLS_BOUNDSHEET and len(body) >= 6]
        for number, (at, _) in enumerate(sheets, start=1):
            if at >= len(stream):
                raise _Damaged
            sheet = str(number)
            check_extent(_sheet_extent(stream, at, sheet, lim), sheet, lim)
    except (_Damaged, struct.error):
        raise FileRejected(F.DAMAGED_XLS()) from None


def _globals(stream: bytes):
    for kind, body in _records(stream, 0):
        yield kind, body
        if kind == XLS_EOF:
            return


# --------------------------------------------------------------------------- dispatch

def sniff_format(path: Path) -> str:
    """'csv' | 'xlsx' | 'xls' | 'parquet' | 'json' from the file's first bytes (then its
    extension). Excel 97–2003 workbooks (.xls) are still common in provincial offices: read
    directly. JSON (a list or an object first, after a BOM and white space) is the National
    Public Service Portal's answer to a ranking request (the 766 index)."""
    with open(path, "rb") as handle:
        head = handle.read(64)
    if head.startswith(XLSX_MAGIC):
        return "xlsx"
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(XLS_MAGIC):  # or another Office 97–2003 document: the workbook check tells
        return "xls"
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if text[:1] in (b"[", b"{") or Path(path).suffix.lower() == ".json":
        return "json"
    suffix = Path(path).suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        raise FileRejected(F.NAMED_XLSX())
    if suffix in (".parquet", ".pq"):
        raise FileRejected(F.NAMED_PARQUET())
    return "csv"


def parquet_metadata(path: Path):
    """The Parquet footer (row and column counts, sizes), or a rejection if there is none."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return pq.read_metadata(path)
    except (pa.ArrowException, OSError, ValueError):
        raise FileRejected(F.UNREADABLE_PARQUET()) from None


def before_reading(path: Path) -> None:
    """The checks that need no parser (a workbook's, a Parquet footer): run first in the
    checking process, so a refused file costs no pandas import there."""
    fmt = sniff_format(path)
    if fmt in EXCEL_FORMATS:
        workbook(path, fmt)
    elif fmt == "parquet":
        parquet_metadata(path)


@lru_cache(maxsize=8)
def _workbook(path: str, fmt: str, mtime_ns: int, size: int, lim: L.Limits) -> None:
    if size > lim.upload_bytes:
        raise FileRejected(F.WORKBOOK_SIZE(size_mb=size / L.MB, limit_mb=lim.upload_bytes / L.MB,
                                           env=L.Limits.env("upload_mb")))
    (xlsx if fmt == "xlsx" else xls)(Path(path), lim)


def workbook(path: Path, fmt: str) -> None:
    """Refuse a workbook the reader must not open (see the module docstring); cached per file
    version, since a load opens the same workbook several times."""
    info = Path(path).stat()
    _workbook(str(Path(path).resolve()), fmt, info.st_mtime_ns, info.st_size, L.current())
