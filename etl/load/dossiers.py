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


def _repeated_hashes(con: duckdb.DuckDBPyConnection, from_sql: str, m: dict[str, str]) -> np.ndarray:
    """Pass 1, the id column only: ``hash(id)`` of every row into numpy, sorted in two halves
    (one per core); returns the hashes that occur more than once (missing ids — NULL or '' —
    excluded: pass 2 tells them apart by their text). No hash table over 10 M strings."""
    ident = _id_sql(m)
    missing = np.array(con.execute(f"SELECT hash(NULL::VARCHAR), hash(''::VARCHAR)").fetchall()[0], np.uint64)
    table = con.sql(f"SELECT hash({ident}) AS h FROM {from_sql}").to_arrow_table()
    h = table.column(0).to_numpy()
    del table
    if not len(h):
        return np.zeros(0, np.uint64)
    top = (h >> np.uint64(63)).astype(bool)
    parts = [h[top], h[~top]]  # a repeated hash is within one part
    del h, top
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda a: a.sort(), parts))
    repeated = []
    for part in parts:
        same = part[1:] == part[:-1]
        repeated.append(np.unique(part[1:][same]))
    repeated = np.concatenate(repeated)
    return repeated[~np.isin(repeated, missing)]


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
    """Passes 1 and 2 into the temp table ``_dossier_groups``."""
    repeated = _repeated_hashes(con, from_sql, m)
    con.register("_dossier_repeated_arrow", pa.table({"h": repeated}))
    try:
        con.execute("CREATE OR REPLACE TEMP TABLE _dossier_repeated AS SELECT h FROM _dossier_repeated_arrow")
    finally:
        con.unregister("_dossier_repeated_arrow")
    con.execute(f"CREATE OR REPLACE TEMP TABLE _dossier_groups AS "
                f"{_aggregate_sql(from_sql, m, types, now, special=len(repeated) > 0)}")


# The commune- and province-month indicators from the decoded facts (small tables).
INDICATORS_SQL = """
    WITH counted AS (
        SELECT c.unit_code, c.province_code, f.*
        FROM _dossier_facts f JOIN _dossier_codes c
          ON f.problem IS NULL AND c.commune_raw = f.commune_raw
         AND c.province_raw IS NOT DISTINCT FROM f.province_raw
    ),
    received AS (
        SELECT unit_code, province_code, rm AS m, sum(dossiers) AS received,
               coalesce(sum(dossiers) FILTER (WHERE online), 0) AS online
        FROM counted GROUP BY ALL
    ),
    resolved AS (
        SELECT unit_code, province_code, sm AS m, sum(dossiers) AS resolved,
               coalesce(sum(dossiers) FILTER (WHERE on_time), 0) AS on_time
        FROM counted WHERE sm IS NOT NULL GROUP BY ALL
    ),
    months AS (
        SELECT range AS m FROM range(
            (SELECT min(m) FROM (SELECT m FROM received UNION ALL SELECT m FROM resolved)),
            (SELECT max(m) + 1 FROM (SELECT m FROM received UNION ALL SELECT m FROM resolved)))
    ),
    communes AS (SELECT DISTINCT unit_code, province_code FROM counted),
    grid AS (
        SELECT c.unit_code, c.province_code, printf('%04d-%02d', mo.m // 12, mo.m % 12 + 1) AS period,
               coalesce(r.received, 0) AS received, coalesce(r.online, 0) AS online,
               coalesce(s.resolved, 0) AS resolved, coalesce(s.on_time, 0) AS on_time
        FROM communes c CROSS JOIN months mo
        LEFT JOIN received r ON r.unit_code = c.unit_code AND r.m = mo.m
        LEFT JOIN resolved s ON s.unit_code = c.unit_code AND s.m = mo.m
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
    ORDER BY level, indicator, period, unit_code
"""

_TEMP_TABLES = ("_dossier_repeated", "_dossier_groups", "_dossier_facts", "_dossier_codes")


def summarise_dossiers(con: duckdb.DuckDBPyConnection, source: Any, *, province: str | None = None,
                       resolver: UnitResolver | None = None, now: dt.datetime | None = None,
                       progress=None, sheet: str | None = None) -> DossierSummary:
    """Validate, de-duplicate and aggregate a dossier export (see the module docstring)."""
    now = now or dt.datetime.now()
    resolver = resolver or UnitResolver.default()
    con.execute("SET enable_progress_bar = false")
    from_sql, offset = _source_sql(con, source, sheet)
    mapping, types = map_columns(_describe(con, from_sql))
    attempts = [(from_sql, types)]
    if from_sql.startswith("read_csv(") and "all_varchar=true" in from_sql:
        # Fast path: DuckDB's CSV reader parses the time columns natively (5x faster than
        # parsing text); the text path below runs only if a time value does not convert.
        text_cols = {mapping[c] for c in DOSSIER_COLUMNS if c in mapping and c not in TIME_COLUMNS}
        spec = "{" + ", ".join(f"'{c.replace(chr(39), chr(39) * 2)}': 'VARCHAR'" for c in sorted(text_cols)) + "}"
        fast = from_sql.replace("all_varchar=true", f"types={spec}")
        try:
            fast_types = dict(_describe(con, fast))
            if all(_typed_time(fast_types.get(mapping[c], "")) for c in TIME_COLUMNS if c in mapping):
                attempts.insert(0, (fast, fast_types))
        except FileRejected:
            pass
    try:
        for attempt, (source_sql, source_types) in enumerate(attempts):
            try:
                _run_passes(con, source_sql, mapping, source_types, now)
                from_sql, types = source_sql, source_types
                break
            except duckdb.Error as exc:
                if attempt == len(attempts) - 1:
                    raise _file_error(exc) from None
        if progress:
            progress("aggregated")
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
        codes = pa.table({c: pa.array([r[i] for r in resolved], pa.string()) for i, c in enumerate(columns)})
        con.register("_dossier_codes_arrow", codes)
        try:
            con.execute("CREATE OR REPLACE TEMP TABLE _dossier_codes AS SELECT * FROM _dossier_codes_arrow")
        finally:
            con.unregister("_dossier_codes_arrow")
        rows_rejected, duplicate_rows, duplicate_ids, dossiers = con.execute("""
            SELECT coalesce(sum(f.rows) FILTER (WHERE c.unit_code IS NULL), 0),
                   coalesce(sum(f.rows - f.dossiers) FILTER (WHERE c.unit_code IS NOT NULL), 0),
                   coalesce(sum(f.duplicated_ids) FILTER (WHERE c.unit_code IS NOT NULL), 0),
                   coalesce(sum(f.dossiers) FILTER (WHERE c.unit_code IS NOT NULL), 0)
            FROM _dossier_facts f LEFT JOIN _dossier_codes c
              ON f.problem IS NULL AND c.commune_raw = f.commune_raw
             AND c.province_raw IS NOT DISTINCT FROM f.province_raw
        """).fetchall()[0]
        observations = con.sql(INDICATORS_SQL).to_arrow_table().to_pandas()
        duplicates = con.execute(f"""
            SELECT f.id, f.rows FROM _dossier_facts f JOIN _dossier_codes c
              ON f.problem IS NULL AND c.commune_raw = f.commune_raw
             AND c.province_raw IS NOT DISTINCT FROM f.province_raw
            WHERE f.rows > 1 AND f.id IS NOT NULL
            ORDER BY f.id LIMIT {DUPLICATE_LIMIT}
        """).fetchall() if duplicate_rows else []
        lines = []
        if rows_rejected:
            lines = _details(con, _flagged_sql(from_sql, mapping, types, now), offset, bad_pairs)
    finally:
        for table in _TEMP_TABLES:
            con.execute(f"DROP TABLE IF EXISTS {table}")
    for dossier_id, n in duplicates:
        lines.append(VAL.rejection(None, "dossier_id", dossier_id, "duplicate_dossier",
                                   f"occurs {int(n)} times; counted once (its most advanced row: "
                                   "resolved before open, then latest received)",
                                   "remove the repeated rows from the export", severity="warning"))
    rejections = pd.DataFrame(lines, columns=VAL.REJECTION_COLUMNS) if lines else VAL.empty_rejections()
    rejections["row"] = pd.to_numeric(rejections.row, errors="coerce").astype("Int64")
    notes = [f"{int(dossiers):,} distinct dossiers counted"]
    if duplicate_rows:
        notes.append(f"{int(duplicate_rows):,} duplicate rows of {int(duplicate_ids):,} dossier ids counted once")
    return DossierSummary(observations, rejections, int(rows_read), int(rows_rejected), int(dossiers),
                          int(duplicate_rows), int(duplicate_ids), mapping, notes)


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
