"""Raw dossier exports (one row per administrative dossier) -> commune- and province-month
indicators, aggregated in DuckDB straight from the CSV / Parquet file.

Columns (header names matched without case, diacritics or punctuation; Vietnamese synonyms
accepted): ``dossier_id, procedure_code, commune, channel, received_at, due_at,
resolved_at, paid_online`` and optionally ``province`` (to disambiguate commune names).

Rules (documented in data/templates/README.md):
- ``applications_received`` / ``online_applications``: dossiers by the month they were
  received; ``applications_resolved`` / ``resolved_on_time``: dossiers by the month they were
  resolved (``resolved_at <= due_at`` is on time); the rates are 100 × their counts. Every
  commune present in the export gets a value (possibly 0) for every month the export spans;
  province values are the sums of their communes in the file.
- A dossier id that occurs more than once is counted once (its most advanced row: resolved
  before open, then latest received) and reported as a warning.
- A row is rejected for: missing id, unknown/ambiguous commune, missing or malformed
  received/due time, malformed resolved time, resolved before received, a time in the future,
  an unknown channel, a paid_online value that is not yes/no.

Speed: one pass over the file does parsing, validation, de-duplication (a GROUP BY on the
dossier id) and the first aggregation; commune names are resolved afterwards on the few
thousand distinct (commune, province) spellings. Row numbers are computed only when there
is something to report.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from etl.load import validate as VAL
from etl.load.readers import FileRejected, header_key
from etl.resolver import ResolveError, UnitResolver

DETAIL_LIMIT = 1_000_000  # rejected rows listed individually (all of them in practice)
DUPLICATE_LIMIT = 10_000  # duplicate ids listed individually

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
_BY_KEY = {k: name for name, keys in DOSSIER_COLUMNS.items() for k in keys}

CHANNELS = {
    "online": ["online", "truc tuyen", "dvc", "dich vu cong", "internet", "web", "portal", "cong dvc",
               "dvctt", "truc tuyen toan trinh", "truc tuyen mot phan"],
    "in_person": ["in person", "in_person", "in-person", "inperson", "truc tiep", "offline", "counter",
                  "tai quay", "mot cua", "bo phan mot cua", "direct"],
    "postal": ["postal", "post", "mail", "buu chinh", "buu dien", "buu chinh cong ich", "bccI".lower()],
}

INDICATORS = ["applications_received", "online_applications", "applications_resolved", "resolved_on_time",
              "online_application_rate", "on_time_rate"]


def looks_like_dossiers(columns: list[str]) -> bool:
    names = {_BY_KEY.get(header_key(c)) for c in columns}
    return {"dossier_id", "received_at", "channel"} <= names


@dataclass
class DossierSummary:
    observations: pd.DataFrame  # level, unit_code, province_code, indicator, period, value, numerator, denominator
    rejections: pd.DataFrame  # validate.REJECTION_COLUMNS (+ duplicate warnings)
    rows_read: int
    rows_rejected: int
    dossiers: int  # distinct valid dossiers counted
    duplicate_rows: int  # extra rows of duplicated ids (not counted)
    duplicate_ids: int
    columns: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- source

def _source_sql(con: duckdb.DuckDBPyConnection, source: Any, sheet: str | None = None) -> tuple[str, int]:
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
    if head.startswith(b"PK\x03\x04"):
        from etl.load.readers import choose_sheet, read_excel_grid

        grid = read_excel_grid(path, choose_sheet(path, sheet))
        rows = [r for r in grid.rows if any(v not in ("", None) for v in r)]
        if not rows:
            raise FileRejected("empty_file", "the workbook has no rows", "export the dossiers again")
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


def _describe(con: duckdb.DuckDBPyConnection, from_sql: str) -> list[tuple[str, str]]:
    try:
        return [(r[0], r[1]) for r in con.execute(f"DESCRIBE SELECT * FROM {from_sql}").fetchall()]
    except duckdb.Error as exc:
        raise _file_error(exc) from None


def _file_error(exc: Exception) -> FileRejected:
    text = str(exc)
    if "unicode" in text.lower() or "utf-8" in text.lower():
        return FileRejected("encoding", "the file is not UTF-8 encoded",
                            "export the dossiers as UTF-8 CSV (or Parquet)")
    first = text.splitlines()[0] if text else type(exc).__name__
    return FileRejected("bad_format", f"the file cannot be read: {first}",
                        "export the dossiers again as CSV (UTF-8, comma separated) or Parquet")


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _ts(col: str | None, typ: str) -> str:
    """A timestamp from a column: typed columns as they are; text as ISO first (fast), then
    the Vietnamese day-first spellings, only for the rows ISO did not parse."""
    if col is None:
        return "NULL::TIMESTAMP"
    q = _quote(col)
    if typ.startswith("TIMESTAMP") or typ == "DATE":
        return f"{q}::TIMESTAMP"
    v = f"{q}::VARCHAR"
    return (f"coalesce(try_cast({v} AS TIMESTAMP), "
            f"CASE WHEN {v} <> '' THEN try_strptime(trim({v}), ['%d/%m/%Y %H:%M:%S', '%d/%m/%Y %H:%M', '%d/%m/%Y', "
            f"'%d-%m-%Y %H:%M:%S', '%d-%m-%Y', '%Y/%m/%d %H:%M:%S', '%Y/%m/%d']) END)")


def _text(col: str | None) -> str:
    return "NULL::VARCHAR" if col is None else f"nullif({_quote(col)}::VARCHAR, '')"


def _channel_sql(col: str) -> str:
    """Channel names: the three canonical spellings directly, anything else normalised."""
    raw = f"{_quote(col)}::VARCHAR"
    key = f"replace(strip_accents(lower(trim({raw}))), 'đ', 'd')"
    parts = [f"WHEN {key} IN ({', '.join(repr(v) for v in values)}) THEN '{name}'"
             for name, values in CHANNELS.items()]
    return (f"CASE WHEN {raw} = 'online' THEN 'online' WHEN {raw} = 'in person' THEN 'in_person' "
            f"WHEN {raw} = 'postal' THEN 'postal' " + " ".join(parts) + " END")


def _bool_sql(col: str | None, typ: str) -> tuple[str, str]:
    """(value expression, is-bad expression)."""
    if col is None:
        return "false", "false"
    q = _quote(col)
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
        canonical = _BY_KEY.get(header_key(name))
        if canonical and canonical not in mapping:
            mapping[canonical] = name
    missing = [c for c in REQUIRED if c not in mapping]
    if missing:
        raise FileRejected(
            "missing_column",
            f"required dossier column(s) missing: {', '.join(missing)} (found: {', '.join(types)})",
            "use the header of data/templates/dossiers.csv: " + ", ".join(DOSSIER_COLUMNS),
            column=", ".join(missing))
    return mapping, types


# --------------------------------------------------------------------------- row checks

TIME_COLUMNS = ("received_at", "due_at", "resolved_at")
TIME_PROBLEMS = ["bad_time:received_at", "future_time:received_at", "bad_time:due_at",
                 "bad_time:resolved_at", "resolved_before_received", "future_time:resolved_at"]
MONTH_BITS = 17  # year * 12 + month - 1 < 2**17 for any 4-digit year
NO_MONTH = (1 << MONTH_BITS) - 1


def _now_lit(now: dt.datetime) -> str:
    return f"TIMESTAMP '{now:%Y-%m-%d %H:%M:%S}'"


def _typed_time(typ: str) -> bool:
    return typ.startswith("TIMESTAMP") or typ == "DATE"


def _column_types(m: dict[str, str], types: dict[str, str]) -> dict[str, str]:
    return {c: types[m[c]] if c in m else "VARCHAR" for c in DOSSIER_COLUMNS}


def _month(col: str) -> str:
    return f"(year({col}) * 12 + month({col}) - 1)"


def _numbered_source(from_sql: str) -> str:
    """The source with a 1-based ``_row`` (Parquet's own row number; a window otherwise)."""
    if from_sql.startswith("read_parquet(") and from_sql.endswith(")"):
        scan = from_sql[:-1] + ", file_row_number=true)"
        return f"(SELECT file_row_number + 1 AS _row, * EXCLUDE (file_row_number) FROM {scan})"
    return f"(SELECT row_number() OVER () AS _row, * FROM {from_sql})"


def _flagged_sql(from_sql: str, m: dict[str, str], types: dict[str, str], now: dt.datetime) -> str:
    """Every row with its ``_row`` number, parsed values, raw text and first problem (or NULL).
    Used only to list rejected rows; the aggregation checks the same rules on packed keys."""
    t = _column_types(m, types)
    paid, paid_bad = _bool_sql(m.get("paid_online"), t["paid_online"])
    now_lit = _now_lit(now)
    return f"""
        WITH src AS (
            SELECT _row,
                   {_text(m["dossier_id"])} AS id,
                   {_text(m["commune"])} AS commune_raw,
                   {_text(m.get("province"))} AS province_raw,
                   {_channel_sql(m["channel"])} AS channel,
                   {_text(m["channel"])} AS channel_raw,
                   {_ts(m["received_at"], t["received_at"])} AS received,
                   {_text(m["received_at"])} AS received_raw,
                   {_ts(m["due_at"], t["due_at"])} AS due,
                   {_text(m["due_at"])} AS due_raw,
                   {_ts(m["resolved_at"], t["resolved_at"])} AS resolved,
                   {_text(m["resolved_at"])} AS resolved_raw,
                   {paid} AS paid_online,
                   {paid_bad} AS paid_bad,
                   {_text(m.get("paid_online"))} AS paid_raw
            FROM {_numbered_source(from_sql)}
        )
        SELECT *,
            CASE
                WHEN id IS NULL THEN 'missing_id'
                WHEN commune_raw IS NULL THEN 'unknown_unit'
                WHEN received IS NULL THEN 'bad_time:received_at'
                WHEN received > {now_lit} THEN 'future_time:received_at'
                WHEN due IS NULL THEN 'bad_time:due_at'
                WHEN resolved_raw IS NOT NULL AND resolved IS NULL THEN 'bad_time:resolved_at'
                WHEN resolved < received THEN 'resolved_before_received'
                WHEN resolved > {now_lit} THEN 'future_time:resolved_at'
                WHEN channel IS NULL THEN 'bad_channel'
                WHEN paid_bad THEN 'bad_bool'
            END AS problem
        FROM src
    """


def _time_problem_sql(m: dict[str, str], t: dict[str, str], now: dt.datetime) -> str:
    """The time checks of :func:`_flagged_sql`, same order, as a code 0..6 (0 = none). A typed
    resolved column is never malformed, so its text is not built."""
    now_lit = _now_lit(now)
    resolved_bad = "false" if _typed_time(t["resolved_at"]) else \
        f"({_text(m['resolved_at'])} IS NOT NULL AND resolved IS NULL)"
    return f"""CASE
        WHEN received IS NULL THEN 1
        WHEN received > {now_lit} THEN 2
        WHEN due IS NULL THEN 3
        WHEN {resolved_bad} THEN 4
        WHEN resolved < received THEN 5
        WHEN resolved > {now_lit} THEN 6
        ELSE 0
    END"""


def _raw_keys(m: dict[str, str], types: dict[str, str]) -> list[str]:
    """Source columns grouped raw (normalised afterwards on their distinct values)."""
    keys = [m["commune"], m["channel"]]
    if "province" in m:
        keys.append(m["province"])
    if "paid_online" in m and types[m["paid_online"]] != "BOOLEAN":
        keys.append(m["paid_online"])
    return [_quote(c) for c in dict.fromkeys(keys)]


# --------------------------------------------------------------------------- the passes

def _id_sql(m: dict[str, str]) -> str:
    return f"{_quote(m['dossier_id'])}::VARCHAR"


def _id_hashes(con: duckdb.DuckDBPyConnection, from_sql: str, m: dict[str, str]) -> np.ndarray:
    """Pass 1, the id column only: ``hash(id)`` of every row into numpy (no hash table over
    10 M strings: repeats are found by sorting, see :func:`_repeats`)."""
    table = con.sql(f"SELECT hash({_id_sql(m)}) AS h FROM {from_sql}").to_arrow_table()
    return table.column(0).to_numpy() if table.num_rows else np.zeros(0, np.uint64)


def _missing_id_hashes(con: duckdb.DuckDBPyConnection) -> np.ndarray:
    """The hashes of a missing id (NULL or '')."""
    return np.array(con.execute("SELECT hash(NULL::VARCHAR), hash(''::VARCHAR)").fetchall()[0], np.uint64)


def _repeats(hashes: np.ndarray, missing: np.ndarray) -> tuple[np.ndarray, int]:
    """(the id hashes that occur more than once, missing ids excluded; the number of rows
    whose id is missing). A sorted copy, compared with its neighbour."""
    ordered = np.sort(hashes)
    n_missing = int(sum(np.searchsorted(ordered, v, "right") - np.searchsorted(ordered, v, "left")
                        for v in missing))
    repeated = np.unique(ordered[1:][ordered[1:] == ordered[:-1]])
    return repeated[~np.isin(repeated, missing)], n_missing


def _aggregate_sql(from_sql: str, m: dict[str, str], types: dict[str, str], now: dt.datetime,
                   special: bool) -> str:
    """Pass 2: rows grouped by ``_hk`` (hash of the raw commune / channel / province / paid
    text, which rides along with ``any_value``) and ``_pk`` (time problem code, received
    month, resolved month and on-time flag packed in a BIGINT) — a few hundred thousand groups.
    ``_s`` is 1 for a row without an id, 2 for a row whose id hash repeats: those (~0.2 %) keep
    their id and times as group keys, to be de-duplicated afterwards by the most-advanced-row
    rule. ``special`` False: pass 1 found no repeated ids, so the ids are only checked for
    being empty."""
    t = _column_types(m, types)
    raw = _raw_keys(m, types)
    ident = _id_sql(m)
    resolved_raw = "" if _typed_time(t["resolved_at"]) else f", {_quote(m['resolved_at'])}"
    repeated = f"WHEN hash({ident}) IN (SELECT h FROM _dossier_repeated) THEN 2 " if special else ""
    return f"""
        SELECT _s, _hk, _pk, _id, _received, _due, _resolved,
               {", ".join(f"any_value({c}) AS {c}" for c in raw)}, count(*)::BIGINT AS _n
        FROM (
            SELECT {", ".join(raw)}, hash({", ".join(raw)}) AS _hk, _s,
                   CASE WHEN _s = 2 THEN {ident} END AS _id,
                   CASE WHEN _s = 2 THEN received END AS _received,
                   CASE WHEN _s = 2 THEN due END AS _due,
                   CASE WHEN _s = 2 THEN resolved END AS _resolved,
                   CASE WHEN _s = 1 THEN 0
                        WHEN _tp > 0 THEN _tp::BIGINT << {2 * MONTH_BITS + 2}
                        ELSE ({_month("received")}::BIGINT << {MONTH_BITS + 2})
                           | (coalesce({_month("resolved")}, {NO_MONTH})::BIGINT << 2)
                           | CASE WHEN resolved <= due THEN 2 WHEN resolved IS NULL THEN 0 ELSE 1 END
                   END AS _pk
            FROM (
                SELECT *, {_time_problem_sql(m, t, now)} AS _tp,
                       CASE WHEN {_text(m["dossier_id"])} IS NULL THEN 1 {repeated}ELSE 0 END AS _s
                FROM (SELECT {_quote(m["dossier_id"])}, {", ".join(raw)}{resolved_raw},
                             {_ts(m["received_at"], t["received_at"])} AS received,
                             {_ts(m["due_at"], t["due_at"])} AS due,
                             {_ts(m["resolved_at"], t["resolved_at"])} AS resolved
                      FROM {from_sql})
            )
        )
        GROUP BY ALL
    """


def _facts_sql(m: dict[str, str], types: dict[str, str]) -> str:
    """The groups of pass 2 decoded (problem, commune / province text, online, received and
    resolved month index, on_time, dossiers, rows, duplicated_ids, id); the rows of repeated
    ids counted once per (id, problem), by their most advanced row (as one fact with its id)."""
    t = _column_types(m, types)
    raw = _raw_keys(m, types)
    _, paid_bad = _bool_sql(m.get("paid_online"), t["paid_online"])
    problems = " ".join(f"WHEN {i + 1} THEN '{p}'" for i, p in enumerate(TIME_PROBLEMS))
    return f"""
        WITH combos AS (
            SELECT _hk, {_text(m["commune"])} AS commune_raw,
                   {_text(m.get("province"))} AS province_raw,
                   {_channel_sql(m["channel"])} AS channel,
                   {paid_bad} AS paid_bad
            FROM (SELECT DISTINCT _hk, {", ".join(raw)} FROM _dossier_groups)
        ),
        decoded AS (
            SELECT g._s, g._n, g._id, g._received, g._due, g._resolved,
                   c.commune_raw, c.province_raw, c.channel, c.paid_bad,
                   g._pk >> {2 * MONTH_BITS + 2} AS tp,
                   (g._pk >> {MONTH_BITS + 2}) & {NO_MONTH} AS rm,
                   (g._pk >> 2) & {NO_MONTH} AS sm,
                   g._pk & 3 AS ot
            FROM _dossier_groups g JOIN combos c USING (_hk)
        ),
        flagged AS (
            SELECT *, CASE
                    WHEN _s = 1 THEN 'missing_id'
                    WHEN commune_raw IS NULL THEN 'unknown_unit'
                    WHEN tp > 0 THEN CASE tp {problems} END
                    WHEN channel IS NULL THEN 'bad_channel'
                    WHEN paid_bad THEN 'bad_bool'
                END AS problem
            FROM decoded
        ),
        facts AS (
            SELECT problem, commune_raw, province_raw, channel = 'online' AS online, rm,
                   CASE WHEN sm <> {NO_MONTH} THEN sm END AS sm,
                   CASE WHEN ot > 0 THEN ot = 2 END AS on_time,
                   CASE WHEN _s = 1 THEN 1 ELSE _n END AS dossiers, _n AS rows,
                   0::BIGINT AS duplicated_ids, NULL::VARCHAR AS id
            FROM flagged WHERE _s <> 2
            UNION ALL
            SELECT problem, d.commune_raw, d.province_raw, d.online, d.rm, d.sm, d.on_time,
                   1, n, (n > 1)::BIGINT, id
            FROM (
                SELECT _id AS id, problem,
                       arg_max(struct_pack(commune_raw, province_raw, online := channel = 'online', rm,
                                           sm := CASE WHEN sm <> {NO_MONTH} THEN sm END,
                                           on_time := CASE WHEN ot > 0 THEN ot = 2 END),
                               (_resolved IS NOT NULL, _received, _due)) AS d,
                       sum(_n) AS n
                FROM flagged WHERE _s = 2
                GROUP BY _id, problem
            )
        )
        SELECT * FROM facts
    """


def _run_passes(con: duckdb.DuckDBPyConnection, from_sql: str, m: dict[str, str], types: dict[str, str],
                now: dt.datetime) -> None:
    """Passes 1 and 2 of the row-by-row path into the temp table ``_dossier_groups``."""
    repeated, _ = _repeats(_id_hashes(con, from_sql, m), _missing_id_hashes(con))
    _create_from_arrow(con, "_dossier_repeated", pa.table({"h": repeated}))
    con.execute(f"CREATE OR REPLACE TEMP TABLE _dossier_groups AS "
                f"{_aggregate_sql(from_sql, m, types, now, special=len(repeated) > 0)}")


def _create_from_arrow(con: duckdb.DuckDBPyConnection, name: str, table: pa.Table) -> None:
    con.register(f"{name}_arrow", table)
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM {name}_arrow")
    finally:
        con.unregister(f"{name}_arrow")


@dataclass
class _Counts:
    """What either path hands to the indicator step (besides the temp tables
    ``_dossier_received`` and ``_dossier_resolved``: unit_code, province_code, m, two counts)."""
    rows_read: int
    rows_rejected: int
    dossiers: int
    duplicate_rows: int
    duplicate_ids: int
    duplicates: list[tuple[str, int]]  # (id, rows), at most DUPLICATE_LIMIT
    lines: list[dict]  # rejected rows


# --------------------------------------------------------------------------- row by row

def _row_by_row_counts(con: duckdb.DuckDBPyConnection, from_sql: str, offset: int, mapping: dict[str, str],
                       types: dict[str, str], now: dt.datetime, resolver: UnitResolver,
                       province: str | None) -> _Counts:
    """Any file, rejected rows included: passes 1 and 2 (``_run_passes``) already ran; decode
    the groups, resolve communes, count, and list every rejected row with its number."""
    raw = _raw_keys(mapping, types)
    collided = con.execute(f"SELECT count(*) FROM (SELECT _hk FROM _dossier_groups GROUP BY _hk "
                           f"HAVING count(DISTINCT ({', '.join(raw)})) > 1)").fetchall()[0][0]
    if collided:  # two spellings with one 64-bit hash: never seen, never silent
        raise RuntimeError("hash collision between commune/channel spellings")
    con.execute(f"CREATE OR REPLACE TEMP TABLE _dossier_facts AS {_facts_sql(mapping, types)}")
    con.execute("DROP TABLE _dossier_groups")
    rows_read = con.execute("SELECT coalesce(sum(rows), 0) FROM _dossier_facts").fetchall()[0][0]
    if rows_read == 0:
        raise FileRejected("empty_file", "the export has a header but no dossiers", "export the dossiers again")

    # Resolve each distinct (commune, province) spelling once.
    pairs = con.execute("SELECT DISTINCT commune_raw, province_raw FROM _dossier_facts "
                        "WHERE problem IS NULL").fetchall()
    resolved, bad_pairs = [], {}
    for commune, prov in pairs:
        prov = prov if prov is not None else province
        try:
            res = resolver.commune(commune, prov)
            resolved.append((commune, None if prov is province else prov, res.code, res.province_code))
        except ResolveError as err:
            code, reason, suggestion = VAL.UnitLookup._commune_error(
                commune, err, _maybe_province(resolver, prov))[1:]
            bad_pairs[(commune, None if prov is province else prov)] = (code, reason, suggestion)
    columns = ["commune_raw", "province_raw", "unit_code", "province_code"]
    _create_from_arrow(con, "_dossier_codes", pa.table(
        {c: pa.array([r[i] for r in resolved], pa.string()) for i, c in enumerate(columns)}))
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _dossier_counted AS
        SELECT c.unit_code, c.province_code, f.*
        FROM _dossier_facts f JOIN _dossier_codes c
          ON f.problem IS NULL AND c.commune_raw = f.commune_raw
         AND c.province_raw IS NOT DISTINCT FROM f.province_raw
    """)
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _dossier_received AS
        SELECT unit_code, province_code, rm AS m, sum(dossiers) AS received,
               coalesce(sum(dossiers) FILTER (WHERE online), 0) AS online
        FROM _dossier_counted GROUP BY ALL
    """)
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _dossier_resolved AS
        SELECT unit_code, province_code, sm AS m, sum(dossiers) AS resolved,
               coalesce(sum(dossiers) FILTER (WHERE on_time), 0) AS on_time
        FROM _dossier_counted WHERE sm IS NOT NULL GROUP BY ALL
    """)
    duplicate_rows, duplicate_ids, dossiers = con.execute("""
        SELECT coalesce(sum(rows - dossiers), 0), coalesce(sum(duplicated_ids), 0), coalesce(sum(dossiers), 0)
        FROM _dossier_counted
    """).fetchall()[0]
    rows_rejected = rows_read - con.execute("SELECT coalesce(sum(rows), 0) FROM _dossier_counted").fetchall()[0][0]
    duplicates = con.execute(f"""
        SELECT id, rows FROM _dossier_counted WHERE rows > 1 AND id IS NOT NULL
        ORDER BY id LIMIT {DUPLICATE_LIMIT}
    """).fetchall() if duplicate_rows else []
    lines = _details(con, _flagged_sql(from_sql, mapping, types, now), offset, bad_pairs) if rows_rejected else []
    return _Counts(int(rows_read), int(rows_rejected), int(dossiers), int(duplicate_rows), int(duplicate_ids),
                   duplicates, lines)


# --------------------------------------------------------------------------- clean files

PERFECT_HASH_BITS = 20  # commune index and month packed this small are counted in an array, not a hash table


def _clean_file_counts(con: duckdb.DuckDBPyConnection, from_sql: str, m: dict[str, str], types: dict[str, str],
                       now: dt.datetime, resolver: UnitResolver, province: str | None) -> _Counts | None:
    """The fast path for the common case, a file with nothing to reject; ``None`` as soon as
    some row would be (the row-by-row path then lists them). Every rule of the row-by-row
    path is checked, on what is cheap to check: the file's min/max and null counts (Parquet
    keeps them), the distinct channel / paid / commune spellings (a few thousand), one count
    of resolved-before-received rows. Then:

    - pass 1 hashes the ids; a thread sorts them and fetches only the rows whose id hash
      repeats (~0.2 %), while DuckDB counts **all** rows by (commune spelling, month) — the
      commune spelling joined to a small index, so the count is an array lookup;
    - the repeated rows are de-duplicated by their id text (most advanced row wins, then the
      last in the file), and the rows that lose are subtracted from the counts.
    """
    t = _column_types(m, types)
    if not all(_typed_time(t[c]) for c in TIME_COLUMNS):
        return None
    received, due, resolved = (_ts(m[c], t[c]) for c in TIME_COLUMNS)
    rows_read, clean_times = con.execute(f"""
        SELECT count(*), count({received}) = count(*) AND count({due}) = count(*)
               AND coalesce(max({received}) <= {_now_lit(now)}, true)
               AND coalesce(max({resolved}) <= {_now_lit(now)}, true)
        FROM {from_sql}""").fetchall()[0]
    if not rows_read or not clean_times:
        return None
    online = _online_filter(con, from_sql, m)
    if online is None or not _paid_values_clean(con, from_sql, m, t):
        return None
    keys = [m["commune"]] + ([m["province"]] if "province" in m else [])
    if not _index_communes(con, from_sql, keys, resolver, province):
        return None

    missing = _missing_id_hashes(con)
    repeated_columns = ", ".join([f"{_id_sql(m)} AS _id", *map(_quote, dict.fromkeys(keys + [m["channel"]])),
                                  *(_quote(m[c]) for c in TIME_COLUMNS)])

    def find_repeated(reader: duckdb.DuckDBPyConnection) -> tuple[int, pa.Table | None]:
        """(rows without an id, the rows whose id hash repeats, in file order)."""
        with _unordered(reader):  # hashing does not depend on row order
            hashes = _id_hashes(reader, from_sql, m)
        repeated, n_missing = _repeats(hashes, missing)
        del hashes
        if n_missing or not len(repeated):
            return n_missing, None
        reader.register("_dossier_repeated_arrow", pa.table({"h": repeated}))
        try:
            return 0, reader.sql(f"SELECT {repeated_columns} FROM {from_sql} "
                                 f"WHERE hash({_id_sql(m)}) IN (SELECT h FROM _dossier_repeated_arrow)"
                                 ).to_arrow_table()
        finally:
            reader.unregister("_dossier_repeated_arrow")

    # A file's ids are read by a second connection while this one counts; a registered frame
    # is visible to its own connection only, so it waits.
    beside = not from_sql.startswith("_dossier_frame")
    with ThreadPoolExecutor(1) as pool, _unordered(con, perfect_hash_bits=PERFECT_HASH_BITS):
        cursor = con.cursor() if beside else None
        try:
            found = pool.submit(find_repeated, cursor) if beside else None
            backwards = _count_by_month(con, from_sql, m, t, online, "_dossier_c")
            found = found.result() if beside else None
        finally:
            if cursor is not None:
                cursor.close()
    n_missing, repeated_rows = found or find_repeated(con)
    if n_missing or backwards:
        return None

    duplicates, duplicate_ids, duplicate_rows = [], 0, 0
    if repeated_rows is not None:
        order = pa.array(np.arange(repeated_rows.num_rows))
        _create_from_arrow(con, "_dossier_repeated_rows", repeated_rows.append_column("_order", order))
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE _dossier_losers AS
            SELECT * FROM (
                SELECT *, row_number() OVER (PARTITION BY _id ORDER BY {resolved} IS NOT NULL DESC,
                                             {received} DESC, {due} DESC, _order DESC) AS _rank
                FROM _dossier_repeated_rows)
            WHERE _rank > 1""")
        duplicate_rows, duplicate_ids = con.execute(
            "SELECT count(*), count(DISTINCT _id) FROM _dossier_losers").fetchall()[0]
        duplicates = con.execute(f"SELECT _id, count(*) + 1 FROM _dossier_losers GROUP BY _id "
                                 f"ORDER BY _id LIMIT {DUPLICATE_LIMIT}").fetchall()
        _count_by_month(con, "_dossier_losers", m, t, online, "_dossier_l")
    else:
        for table in ("_dossier_l_received", "_dossier_l_resolved"):
            con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS "
                        f"SELECT * FROM _dossier_c_{table.rsplit('_', 1)[1]} LIMIT 0")
    for kind, extra in (("received", "online"), ("resolved", "on_time")):
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE _dossier_{kind} AS
            SELECT u.unit_code, u.province_code, c.m,
                   sum(c.n - coalesce(l.n, 0)) AS {kind}, sum(c.{extra} - coalesce(l.{extra}, 0)) AS {extra}
            FROM _dossier_c_{kind} c JOIN _dossier_unit_codes u USING (_idx)
            LEFT JOIN _dossier_l_{kind} l USING (_idx, m)
            GROUP BY ALL HAVING sum(c.n - coalesce(l.n, 0)) > 0""")
    return _Counts(int(rows_read), 0, int(rows_read - duplicate_rows), int(duplicate_rows), int(duplicate_ids),
                   duplicates, [])


@contextlib.contextmanager
def _unordered(con: duckdb.DuckDBPyConnection, perfect_hash_bits: int | None = None):
    """Queries on ``con`` that need not keep the file's row order (10 % cheaper), optionally
    with group keys up to ``perfect_hash_bits`` counted in an array; the settings are restored."""
    names = ["preserve_insertion_order"] + (["perfect_ht_threshold"] if perfect_hash_bits else [])
    before = con.execute("SELECT " + ", ".join(f"current_setting('{n}')" for n in names)).fetchall()[0]
    con.execute("SET preserve_insertion_order = false" +
                (f"; SET perfect_ht_threshold = {perfect_hash_bits}" if perfect_hash_bits else ""))
    try:
        yield con
    finally:
        con.execute("; ".join(f"SET {n} = {str(v).lower()}" for n, v in zip(names, before)))


def _online_filter(con: duckdb.DuckDBPyConnection, from_sql: str, m: dict[str, str]) -> str | None:
    """A SQL condition true for online rows, written on the file's own channel spellings;
    ``None`` when some spelling is not a channel."""
    channels = con.execute(f"SELECT _raw::VARCHAR, {_channel_sql('_raw')} FROM "
                           f"(SELECT DISTINCT {_quote(m['channel'])} AS _raw FROM {from_sql})").fetchall()
    if any(name is None for _, name in channels):
        return None
    spellings = [raw.replace("'", "''") for raw, name in channels if name == "online"]
    return f"{_quote(m['channel'])}::VARCHAR IN ({', '.join(f'{chr(39)}{s}{chr(39)}' for s in spellings)})" \
        if spellings else "false"


def _paid_values_clean(con: duckdb.DuckDBPyConnection, from_sql: str, m: dict[str, str], t: dict[str, str]) -> bool:
    if "paid_online" not in m or t["paid_online"] == "BOOLEAN":
        return True
    column = _quote(m["paid_online"])
    _, bad = _bool_sql(m["paid_online"], t["paid_online"])
    return not con.execute(f"SELECT bool_or({bad}) FROM (SELECT DISTINCT {column} FROM {from_sql})").fetchall()[0][0]


def _index_communes(con: duckdb.DuckDBPyConnection, from_sql: str, keys: list[str], resolver: UnitResolver,
                    province: str | None) -> bool:
    """``_dossier_units``: each distinct (commune, province) spelling, typed as in the file, with a
    dense ``_idx``; ``_dossier_unit_codes``: its unit. False when a spelling does not resolve."""
    quoted = ", ".join(map(_quote, keys))
    con.execute(f"CREATE OR REPLACE TEMP TABLE _dossier_units AS SELECT (row_number() OVER () - 1)::INTEGER "
                f"AS _idx, * FROM (SELECT DISTINCT {quoted} FROM {from_sql})")
    spellings = con.execute(f"SELECT _idx, {_text(keys[0])}, "
                            f"{_text(keys[1]) if len(keys) > 1 else 'NULL'} FROM _dossier_units").fetchall()
    codes = []
    for idx, commune, prov in spellings:
        if commune is None:
            return False
        try:
            unit = resolver.commune(commune, prov if prov is not None else province)
        except ResolveError:
            return False
        codes.append((idx, unit.code, unit.province_code))
    _create_from_arrow(con, "_dossier_unit_codes", pa.table({
        "_idx": pa.array([c[0] for c in codes], pa.int32()),
        "unit_code": pa.array([c[1] for c in codes], pa.string()),
        "province_code": pa.array([c[2] for c in codes], pa.string())}))
    return True


def _count_by_month(con: duckdb.DuckDBPyConnection, relation: str, m: dict[str, str], t: dict[str, str],
                    online: str, prefix: str) -> int:
    """``{prefix}_received`` (_idx, m, n, online) and ``{prefix}_resolved`` (_idx, m, n, on_time)
    of every row of ``relation``; returns the number of rows resolved before they were received."""
    received, due, resolved = (_ts(m[c], t[c]) for c in TIME_COLUMNS)
    keys = [m["commune"]] + ([m["province"]] if "province" in m else [])
    join = " AND ".join(f"u.{_quote(k)} IS NOT DISTINCT FROM s.{_quote(k)}" if i else f"u.{_quote(k)} = s.{_quote(k)}"
                        for i, k in enumerate(keys))
    source = f"{relation} AS s JOIN _dossier_units AS u ON {join}"
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {prefix}_received AS
        SELECT u._idx, {_month(received)} AS m, count(*) AS n, count(*) FILTER (WHERE {online}) AS online
        FROM {source} GROUP BY ALL""")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {prefix}_resolved AS
        SELECT u._idx, {_month(resolved)} AS m, count(*) AS n,
               count(*) FILTER (WHERE {resolved} <= {due}) AS on_time,
               count(*) FILTER (WHERE {resolved} < {received}) AS backwards
        FROM {source} WHERE {resolved} IS NOT NULL GROUP BY ALL""")
    return con.execute(f"SELECT coalesce(sum(backwards), 0) FROM {prefix}_resolved").fetchall()[0][0]


# --------------------------------------------------------------------------- indicators

# The commune- and province-month indicators from the two small count tables (in no particular
# order: sorting 240 k rows would cost more than the rest of this step).
INDICATORS_SQL = """
    WITH months AS (
        SELECT range AS m FROM range(
            (SELECT min(m) FROM (SELECT m FROM _dossier_received UNION ALL SELECT m FROM _dossier_resolved)),
            (SELECT max(m) + 1 FROM (SELECT m FROM _dossier_received UNION ALL SELECT m FROM _dossier_resolved)))
    ),
    communes AS (
        SELECT DISTINCT unit_code, province_code FROM _dossier_received
        UNION SELECT DISTINCT unit_code, province_code FROM _dossier_resolved
    ),
    grid AS (
        SELECT c.unit_code, c.province_code, printf('%04d-%02d', mo.m // 12, mo.m % 12 + 1) AS period,
               coalesce(r.received, 0) AS received, coalesce(r.online, 0) AS online,
               coalesce(s.resolved, 0) AS resolved, coalesce(s.on_time, 0) AS on_time
        FROM communes c CROSS JOIN months mo
        LEFT JOIN _dossier_received r ON r.unit_code = c.unit_code AND r.m = mo.m
        LEFT JOIN _dossier_resolved s ON s.unit_code = c.unit_code AND s.m = mo.m
    ),
    both_levels AS (
        SELECT 'commune' AS level, unit_code, province_code, period, received, online, resolved, on_time
        FROM grid
        UNION ALL
        SELECT 'province', province_code, province_code, period,
               sum(received), sum(online), sum(resolved), sum(on_time)
        FROM grid GROUP BY province_code, period
    )
    SELECT level, unit_code, province_code, indicator, period,
           value::DOUBLE AS value, numerator::DOUBLE AS numerator, denominator::DOUBLE AS denominator
    FROM (
        SELECT level, unit_code, province_code, period, 'applications_received' AS indicator,
               received AS value, NULL AS numerator, NULL AS denominator FROM both_levels
        UNION ALL SELECT level, unit_code, province_code, period, 'online_applications',
               online, NULL, NULL FROM both_levels
        UNION ALL SELECT level, unit_code, province_code, period, 'applications_resolved',
               resolved, NULL, NULL FROM both_levels
        UNION ALL SELECT level, unit_code, province_code, period, 'resolved_on_time',
               on_time, NULL, NULL FROM both_levels
        UNION ALL SELECT level, unit_code, province_code, period, 'online_application_rate',
               100.0 * online / received, online, received FROM both_levels WHERE received > 0
        UNION ALL SELECT level, unit_code, province_code, period, 'on_time_rate',
               100.0 * on_time / resolved, on_time, resolved FROM both_levels WHERE resolved > 0
    )
"""

_TEMP_TABLES = ("_dossier_repeated", "_dossier_groups", "_dossier_facts", "_dossier_codes", "_dossier_counted",
                "_dossier_units", "_dossier_unit_codes", "_dossier_repeated_rows", "_dossier_losers",
                "_dossier_c_received", "_dossier_c_resolved", "_dossier_l_received", "_dossier_l_resolved",
                "_dossier_received", "_dossier_resolved")


def summarise_dossiers(con: duckdb.DuckDBPyConnection, source: Any, *, province: str | None = None,
                       resolver: UnitResolver | None = None, now: dt.datetime | None = None,
                       progress=None, sheet: str | None = None, row_by_row: bool = False) -> DossierSummary:
    """Validate, de-duplicate and aggregate a dossier export (see the module docstring).
    ``row_by_row`` skips the clean-file fast path (the tests compare the two)."""
    now = now or dt.datetime.now()
    resolver = resolver or UnitResolver.default()
    con.execute("SET enable_progress_bar = false")
    from_sql, offset = _source_sql(con, source, sheet)
    mapping, types = map_columns(_describe(con, from_sql))
    attempts = [(from_sql, types)]
    if from_sql.startswith("read_csv(") and "all_varchar=true" in from_sql:
        # DuckDB's CSV reader parses the time columns natively (5x faster than parsing
        # text); the text reading runs only if a time value does not convert.
        text_cols = {mapping[c] for c in DOSSIER_COLUMNS if c in mapping and c not in TIME_COLUMNS}
        spec = "{" + ", ".join(f"'{c.replace(chr(39), chr(39) * 2)}': 'VARCHAR'" for c in sorted(text_cols)) + "}"
        typed = from_sql.replace("all_varchar=true", f"types={spec}")
        try:
            typed_types = dict(_describe(con, typed))
            if all(_typed_time(typed_types.get(mapping[c], "")) for c in TIME_COLUMNS if c in mapping):
                attempts.insert(0, (typed, typed_types))
        except FileRejected:
            pass
    try:
        counts = None
        if not row_by_row:
            for source_sql, source_types in attempts:
                try:
                    counts = _clean_file_counts(con, source_sql, mapping, source_types, now, resolver, province)
                except duckdb.Error:
                    counts = None  # the row-by-row path reports what is wrong
                if counts is not None:
                    break
        if counts is None:
            for attempt, (source_sql, source_types) in enumerate(attempts):
                try:
                    _run_passes(con, source_sql, mapping, source_types, now)
                    from_sql, types = source_sql, source_types
                    break
                except duckdb.Error as exc:
                    if attempt == len(attempts) - 1:
                        raise _file_error(exc) from None
            counts = _row_by_row_counts(con, from_sql, offset, mapping, types, now, resolver, province)
        if progress:
            progress("aggregated")
        observations = con.sql(INDICATORS_SQL).to_arrow_table().to_pandas()
    finally:
        for table in _TEMP_TABLES:
            con.execute(f"DROP TABLE IF EXISTS {table}")
    lines = counts.lines
    for dossier_id, n in counts.duplicates:
        lines.append(VAL.rejection(None, "dossier_id", dossier_id, "duplicate_dossier",
                                   f"occurs {int(n)} times; counted once (its most advanced row: "
                                   "resolved before open, then latest received)",
                                   "remove the repeated rows from the export", severity="warning"))
    rejections = pd.DataFrame(lines, columns=VAL.REJECTION_COLUMNS) if lines else VAL.empty_rejections()
    rejections["row"] = pd.to_numeric(rejections.row, errors="coerce").astype("Int64")
    notes = [f"{counts.dossiers:,} distinct dossiers counted"]
    if counts.duplicate_rows:
        notes.append(f"{counts.duplicate_rows:,} duplicate rows of {counts.duplicate_ids:,} dossier ids counted once")
    return DossierSummary(observations, rejections, counts.rows_read, counts.rows_rejected, counts.dossiers,
                          counts.duplicate_rows, counts.duplicate_ids, mapping, notes)


def _maybe_province(resolver: UnitResolver, prov: Any):
    if prov is None:
        return None
    try:
        return resolver.province(prov, allow_legacy=True)
    except ResolveError:
        return None


_PROBLEM_TEXT = {
    "missing_id": ("dossier_id", "the dossier id is empty", "every row needs its dossier id"),
    "unknown_unit": ("commune", "the receiving commune is empty", "name the commune (code or name)"),
    "bad_time": (None, "not a date-time", "write times as YYYY-MM-DD HH:MM:SS or DD/MM/YYYY HH:MM"),
    "future_time": (None, "the time is in the future", "check the year; exports cover past dossiers"),
    "resolved_before_received": ("resolved_at", "resolved before it was received",
                                 "check the two times (day and month swapped?)"),
    "bad_channel": ("channel", "unknown channel", "use online, in person or postal"),
    "bad_bool": ("paid_online", "not a yes/no value", "use true/false, 1/0 or có/không"),
}


def _details(con: duckdb.DuckDBPyConnection, numbered: str, offset: int, bad_pairs: dict) -> list[dict]:
    """Second pass, only when rows were rejected: each with its row number (the line number
    for CSV, header = line 1) and the value at fault."""
    lines = []
    if True:
        if bad_pairs:
            bad = pd.DataFrame([(c, p, *v) for (c, p), v in bad_pairs.items()],
                               columns=["commune_raw", "province_raw", "code", "reason", "suggestion"])
        else:
            bad = pd.DataFrame({c: pd.Series(dtype=object) for c in
                                ["commune_raw", "province_raw", "code", "reason", "suggestion"]})
        con.register("_bad_pairs", bad.astype(object))
        try:
            rows = con.execute(f"""
                WITH n AS ({numbered})
                SELECT n._row, n.problem, n.id, n.commune_raw, n.channel_raw, n.received_raw, n.due_raw,
                       n.resolved_raw, n.paid_raw, b.code, b.reason, b.suggestion
                FROM n
                LEFT JOIN _bad_pairs b ON n.problem IS NULL AND b.commune_raw = n.commune_raw
                     AND b.province_raw IS NOT DISTINCT FROM n.province_raw
                WHERE n.problem IS NOT NULL OR b.code IS NOT NULL
                ORDER BY n._row LIMIT {DETAIL_LIMIT}
            """).fetchall()
        finally:
            con.unregister("_bad_pairs")
        raw_of = {"dossier_id": 2, "commune": 3, "channel": 4, "received_at": 5, "due_at": 6,
                  "resolved_at": 7, "paid_online": 8}
        for r in rows:
            if r[1] is None:
                lines.append(VAL.rejection(r[0] + offset, "commune", r[3], r[9], r[10], r[11]))
                continue
            code, _, column = r[1].partition(":")
            default_col, reason, suggestion = _PROBLEM_TEXT[code]
            column = column or default_col
            value = r[raw_of[column]] if column in raw_of else None
            if code in ("bad_time", "future_time") and value is None:
                reason = "empty"
            lines.append(VAL.rejection(r[0] + offset, column, value, code, f"{column}: {reason}", suggestion))
    return lines


def aggregate_dossiers(con: duckdb.DuckDBPyConnection, source: Any, **options) -> pd.DataFrame:
    """Commune- and province-month indicators of a dossier export (CSV, Parquet or a
    DataFrame), computed in DuckDB on ``con``. Columns: level, unit_code, province_code,
    indicator, period, value, numerator, denominator. Rejected rows are left out; use
    :func:`summarise_dossiers` to see them."""
    return summarise_dossiers(con, source, **options).observations
