"""The dossier export's columns and the SQL pieces both counting paths share: the source
(CSV, Parquet, Excel, frame) as a FROM clause, typed time / text / channel / yes-no
expressions, and the id hashes that find repeated dossiers."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from etl.load.readers import XLS_MAGIC, XLSX_MAGIC, FileRejected, header_key
from etl.load.rules import file as F
from etl.load.rules.found import Found

DUPLICATE_LIMIT = 100_000  # duplicate ids listed individually (a national year has ~100 k); the rest are counted

DOSSIER_COLUMNS = {
    "dossier_id": {"dossier_id", "dossier", "id", "ma_ho_so", "so_ho_so", "ma_hs", "ho_so"},
    "procedure_code": {"procedure_code", "procedure", "ma_thu_tuc", "thu_tuc", "ma_tthc", "tthc"},
    "commune": {"commune", "receiving_commune", "commune_code", "commune_name", "xa", "ma_xa", "ten_xa",
                "xa_phuong", "don_vi_tiep_nhan", "co_quan_tiep_nhan", "noi_tiep_nhan"},
    "province": {"province", "province_code", "tinh", "ma_tinh", "ten_tinh"},
    "channel": {"channel", "kenh", "kenh_nop", "hinh_thuc_nop", "kenh_tiep_nhan"},
    "received_at": {"received_at", "received", "received_time", "ngay_tiep_nhan", "thoi_gian_tiep_nhan",
                    "ngay_nhan"},
    "due_at": {"due_at", "due", "due_time", "han_xu_ly", "ngay_hen_tra", "han_giai_quyet", "hen_tra"},
    "resolved_at": {"resolved_at", "resolved", "resolved_time", "ngay_tra_ket_qua", "ngay_giai_quyet",
                    "ngay_hoan_thanh", "ngay_co_ket_qua"},
    "paid_online": {"paid_online", "thanh_toan_truc_tuyen", "da_thanh_toan_truc_tuyen", "online_payment"},
}

REQUIRED = ["dossier_id", "commune", "channel", "received_at", "due_at", "resolved_at"]

HEADER_KEYS = {k: name for name, keys in DOSSIER_COLUMNS.items() for k in keys}

CHANNELS = {
    "online": ["online", "truc tuyen", "dvc", "dich vu cong", "internet", "web", "portal", "cong dvc",
               "dvctt", "truc tuyen toan trinh", "truc tuyen mot phan"],
    "in_person": ["in person", "in_person", "in-person", "inperson", "truc tiep", "offline", "counter",
                  "tai quay", "mot cua", "bo phan mot cua", "direct"],
    "postal": ["postal", "post", "mail", "buu chinh", "buu dien", "buu chinh cong ich", "bccI".lower()],
}


def source_sql(con: duckdb.DuckDBPyConnection, source: Any, sheet: str | None = None) -> tuple[str, int]:
    """A FROM clause for the source (registers DataFrames) and the offset from a data row's
    position to the row number shown to people (1 for a header line, 0 for Parquet)."""
    if isinstance(source, pd.DataFrame):
        con.register("_dossier_frame", source)
        return "_dossier_frame", 0
    path = Path(source)
    with open(path, "rb") as handle:
        head = handle.read(4)
    literal = "'" + str(path).replace("'", "''") + "'"
    if head.startswith(b"PAR1"):
        return f"read_parquet({literal})", 0
    if head.startswith((XLSX_MAGIC, XLS_MAGIC)):
        from etl.load.readers import choose_sheet, read_excel_grid

        grid = read_excel_grid(path, choose_sheet(path, sheet))
        rows = [r for r in grid.rows if any(v not in ("", None) for v in r)]
        if not rows:
            raise FileRejected(F.WORKBOOK_WITHOUT_ROWS())
        def cell(v):
            if v is None or v == "" or (isinstance(v, float) and v != v):
                return None
            if isinstance(v, (dt.datetime, dt.date)):
                return v
            return str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)

        header = [str(c) for c in rows[0]]
        columns = {}
        for i, name in enumerate(header):
            values = [cell(r[i]) if i < len(r) else None for r in rows[1:]]
            if all(v is None or isinstance(v, (dt.datetime, dt.date)) for v in values) and any(values):
                columns[name] = pd.Series(pd.to_datetime(values), dtype="datetime64[us]")
            else:
                columns[name] = pd.Series([v if not isinstance(v, (dt.datetime, dt.date)) else str(v) for v in values],
                                          dtype=object)
        frame = pd.DataFrame(columns)
        con.register("_dossier_frame", frame)
        return "_dossier_frame", 1
    encoding = "utf-16" if head.startswith((b"\xff\xfe", b"\xfe\xff")) else "utf-8"
    return (f"read_csv({literal}, all_varchar=true, header=true, encoding='{encoding}', "
            "null_padding=false, parallel=true)"), 1


def describe(con: duckdb.DuckDBPyConnection, from_sql: str) -> list[tuple[str, str]]:
    try:
        return [(r[0], r[1]) for r in con.execute(f"DESCRIBE SELECT * FROM {from_sql}").fetchall()]
    except duckdb.Error as exc:
        raise file_error(exc) from None


def file_error(exc: Exception) -> FileRejected:
    message = str(exc)
    if "unicode" in message.lower() or "utf-8" in message.lower():
        return FileRejected(F.NOT_UTF8_EXPORT())
    return FileRejected(F.UNREADABLE_EXPORT(error=message.splitlines()[0] if message else type(exc).__name__))


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def timestamp(col: str | None, typ: str) -> str:
    """A timestamp from a column: typed columns as they are; text as ISO first (fast), then
    the Vietnamese day-first spellings, only for the rows ISO did not parse."""
    if col is None:
        return "NULL::TIMESTAMP"
    q = quote(col)
    if typ.startswith("TIMESTAMP") or typ == "DATE":
        return f"{q}::TIMESTAMP"
    v = f"{q}::VARCHAR"
    return (f"coalesce(try_cast({v} AS TIMESTAMP), "
            f"CASE WHEN {v} <> '' THEN try_strptime(trim({v}), ['%d/%m/%Y %H:%M:%S', '%d/%m/%Y %H:%M', '%d/%m/%Y', "
            f"'%d-%m-%Y %H:%M:%S', '%d-%m-%Y', '%Y/%m/%d %H:%M:%S', '%Y/%m/%d']) END)")


def text(col: str | None) -> str:
    return "NULL::VARCHAR" if col is None else f"nullif({quote(col)}::VARCHAR, '')"


def channel_sql(col: str) -> str:
    """Channel names: the three canonical spellings directly, anything else normalised."""
    raw = f"{quote(col)}::VARCHAR"
    key = f"replace(strip_accents(lower(trim({raw}))), 'đ', 'd')"
    parts = [f"WHEN {key} IN ({', '.join(repr(v) for v in values)}) THEN '{name}'"
             for name, values in CHANNELS.items()]
    return (f"CASE WHEN {raw} = 'online' THEN 'online' WHEN {raw} = 'in person' THEN 'in_person' "
            f"WHEN {raw} = 'postal' THEN 'postal' " + " ".join(parts) + " END")


def bool_sql(col: str | None, typ: str) -> tuple[str, str]:
    """(value expression, is-bad expression)."""
    if col is None:
        return "false", "false"
    q = quote(col)
    if typ == "BOOLEAN":
        return f"coalesce({q}, false)", "false"
    key = f"replace(strip_accents(lower(trim({q}::VARCHAR))), 'đ', 'd')"
    true = "('true','1','yes','y','co','x','t','da thanh toan','1.0')"
    false = "('false','0','no','n','khong','','f','chua thanh toan','0.0')"
    return (f"coalesce({key} IN {true}, false)",
            f"({q} IS NOT NULL AND {key} NOT IN {true} AND {key} NOT IN {false})")


def map_columns(described: list[tuple[str, str]]) -> tuple[dict[str, str], dict[str, str]]:
    mapping: dict[str, str] = {}
    types = dict(described)
    for name, _ in described:
        canonical = HEADER_KEYS.get(header_key(name))
        if canonical and canonical not in mapping:
            mapping[canonical] = name
    missing = [c for c in REQUIRED if c not in mapping]
    if missing:
        raise FileRejected(F.MISSING_DOSSIER_COLUMNS(missing=", ".join(missing), found=", ".join(types),
                                                     columns=", ".join(DOSSIER_COLUMNS)), column=", ".join(missing))
    return mapping, types

TIME_COLUMNS = ("received_at", "due_at", "resolved_at")


def now_literal(now: dt.datetime) -> str:
    return f"TIMESTAMP '{now:%Y-%m-%d %H:%M:%S}'"


def is_typed_time(typ: str) -> bool:
    return typ.startswith("TIMESTAMP") or typ == "DATE"


def column_types(m: dict[str, str], types: dict[str, str]) -> dict[str, str]:
    return {c: types[m[c]] if c in m else "VARCHAR" for c in DOSSIER_COLUMNS}


def month_index(col: str) -> str:
    return f"(year({col}) * 12 + month({col}) - 1)"


def unit_columns(m: dict[str, str]) -> list[str]:
    """The source columns naming a row's unit: the commune, and the province when there is one."""
    return [m["commune"]] + ([m["province"]] if "province" in m else [])


def id_sql(m: dict[str, str]) -> str:
    return f"{quote(m['dossier_id'])}::VARCHAR"


def id_hash_sql(m: dict[str, str]) -> str:
    """A 32-bit hash of the id. Hashes only pick the candidate repeats, which are confirmed on
    the id text, so 32 bits suffice: the false candidates (~rows² / 2³³, 12 k at 10 M rows) cost
    less than a column and a sort twice as wide."""
    return f"(hash({id_sql(m)}) >> 32)::UINTEGER"


def id_hashes(con: duckdb.DuckDBPyConnection, from_sql: str, m: dict[str, str]) -> np.ndarray:
    """Pass 1, the id column only: the id hash of every row into numpy (no hash table over
    10 M strings: repeats are found by sorting, see :func:`repeated_hashes`)."""
    return hash_column(con.sql(f"SELECT {id_hash_sql(m)} AS h FROM {from_sql}").to_arrow_table())


def hash_column(table: pa.Table) -> np.ndarray:
    """The ``h`` column as one writable array (for :func:`repeated_hashes` to sort in place)."""
    chunks = [c.to_numpy() for c in table.column("h").chunks]
    return np.concatenate(chunks) if chunks else np.zeros(0, np.uint32)


def numbered_parquet(from_sql: str) -> str | None:
    """The Parquet FROM clause with each row's position in the file (``file_row_number``);
    ``None`` for the other sources (DuckDB's CSV reader has no row positions)."""
    if from_sql.startswith("read_parquet(") and from_sql.endswith(")"):
        return from_sql[:-1] + ", file_row_number=true)"
    return None


def repeated_hashes(hashes: np.ndarray) -> np.ndarray:
    """The hashes that occur more than once. Sorts ``hashes`` in place (a copy would be
    another fresh array to fault in) and compares each with its neighbour."""
    hashes.sort()
    return np.unique(hashes[1:][hashes[1:] == hashes[:-1]])


def advancement_sql(received: str, due: str, resolved: str, commune: str, province: str, online: str) -> str:
    """How advanced a version of a dossier is, as one value to order by (the arguments are
    SQL expressions): resolved before open, then the latest received, due and resolved times;
    equal times are settled by what is counted (commune, province, online), never by file
    order, so that a reload or a re-sorted export counts the same version."""
    return (f"({resolved} IS NOT NULL, {received}, {due}, coalesce({resolved}, '-infinity'::TIMESTAMP), "
            f"coalesce({commune}, ''), coalesce({province}, ''), coalesce({online}, false))")


def create_from_arrow(con: duckdb.DuckDBPyConnection, name: str, table: pa.Table) -> None:
    con.register(f"{name}_arrow", table)
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM {name}_arrow")
    finally:
        con.unregister(f"{name}_arrow")


@dataclass
class MonthCounts:
    """Dossiers by (commune spelling, month): ``unit`` indexes :attr:`Counts.unit_codes`, ``month``
    is year × 12 + month − 1, ``n`` counts dossiers and ``k`` those online (received) or on time
    (resolved). Entries are summed, so one (commune, month) may occur more than once; the fast
    path hands the losing copies of repeated ids over as negative entries."""
    unit: np.ndarray
    month: np.ndarray
    n: np.ndarray
    k: np.ndarray


@dataclass
class Counts:
    """What either path hands to the indicator step (:mod:`etl.load.dossier_indicators`)."""
    rows_read: int
    rows_rejected: int
    dossiers: int
    duplicate_rows: int
    duplicate_ids: int
    duplicates: list[tuple[str, int]]  # (id, rows), at most DUPLICATE_LIMIT
    rejected: Found  # rejected rows, each with its row number
    unit_codes: np.ndarray  # per commune spelling: its commune code ...
    province_codes: np.ndarray  # ... and province code
    received: MonthCounts  # by received month
    resolved: MonthCounts  # by resolved month
