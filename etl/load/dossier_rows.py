"""Counting a dossier export row by row: any file, rejected rows included, each listed with
its row number (see :mod:`etl.load.dossiers` for the rules)."""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from core.resolver import ResolveError, UnitResolver
from etl.load.dossier_sql import (
    DUPLICATE_LIMIT,
    Counts,
    MonthCounts,
    advancement_sql,
    bool_sql,
    channel_sql,
    column_types,
    create_from_arrow,
    id_hash_sql,
    id_hashes,
    id_sql,
    is_typed_time,
    month_index,
    now_literal,
    numbered_parquet,
    quote,
    repeated_hashes,
    text,
    timestamp,
)
from etl.load.readers import FileRejected
from etl.load.rules import Said
from etl.load.rules import dossiers as D
from etl.load.rules import file as F
from etl.load.rules import units as U
from etl.load.rules.found import Found

DETAIL_LIMIT = 1_000_000  # rejected rows listed individually (all of them in practice)

TIME_PROBLEMS = ["bad_time:received_at", "future_time:received_at", "bad_time:due_at",
                 "bad_time:resolved_at", "resolved_before_received", "future_time:resolved_at"]

MONTH_BITS = 17  # year * 12 + month - 1 < 2**17 for any 4-digit year

NO_MONTH = (1 << MONTH_BITS) - 1


def _numbered_source(from_sql: str) -> str:
    """The source with a 1-based ``_row`` (Parquet's own row number; a window otherwise)."""
    scan = numbered_parquet(from_sql)
    if scan:
        return f"(SELECT file_row_number + 1 AS _row, * EXCLUDE (file_row_number) FROM {scan})"
    return f"(SELECT row_number() OVER () AS _row, * FROM {from_sql})"


def _flagged_sql(from_sql: str, m: dict[str, str], types: dict[str, str], now: dt.datetime) -> str:
    """Every row with its ``_row`` number, parsed values, raw text and first problem (or NULL).
    Used only to list rejected rows; the aggregation checks the same rules on packed keys."""
    t = column_types(m, types)
    paid, paid_bad = bool_sql(m.get("paid_online"), t["paid_online"])
    now_lit = now_literal(now)
    return f"""
        WITH src AS (
            SELECT _row,
                   {text(m["dossier_id"])} AS id,
                   {text(m["commune"])} AS commune_raw,
                   {text(m.get("province"))} AS province_raw,
                   {channel_sql(m["channel"])} AS channel,
                   {text(m["channel"])} AS channel_raw,
                   {timestamp(m["received_at"], t["received_at"])} AS received,
                   {text(m["received_at"])} AS received_raw,
                   {timestamp(m["due_at"], t["due_at"])} AS due,
                   {text(m["due_at"])} AS due_raw,
                   {timestamp(m["resolved_at"], t["resolved_at"])} AS resolved,
                   {text(m["resolved_at"])} AS resolved_raw,
                   {paid} AS paid_online,
                   {paid_bad} AS paid_bad,
                   {text(m.get("paid_online"))} AS paid_raw
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
    now_lit = now_literal(now)
    resolved_bad = "false" if is_typed_time(t["resolved_at"]) else \
        f"({text(m['resolved_at'])} IS NOT NULL AND resolved IS NULL)"
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
    return [quote(c) for c in dict.fromkeys(keys)]


def _aggregate_sql(from_sql: str, m: dict[str, str], types: dict[str, str], now: dt.datetime,
                   special: bool) -> str:
    """Pass 2: rows grouped by ``_hk`` (hash of the raw commune / channel / province / paid
    text, which rides along with ``any_value``) and ``_pk`` (time problem code, received
    month, resolved month and on-time flag packed in a BIGINT) — a few hundred thousand groups.
    ``_s`` is 1 for a row without an id, 2 for a row whose id hash repeats: those (~0.4 %) keep
    their id and times as group keys, to be de-duplicated afterwards by the most-advanced-row
    rule. ``special`` False: pass 1 found no repeated ids, so the ids are only checked for
    being empty."""
    t = column_types(m, types)
    raw = _raw_keys(m, types)
    ident = id_sql(m)
    resolved_raw = "" if is_typed_time(t["resolved_at"]) else f", {quote(m['resolved_at'])}"
    repeated = f"WHEN {id_hash_sql(m)} IN (SELECT h FROM _dossier_repeated) THEN 2 " if special else ""
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
                        ELSE ({month_index("received")}::BIGINT << {MONTH_BITS + 2})
                           | (coalesce({month_index("resolved")}, {NO_MONTH})::BIGINT << 2)
                           | CASE WHEN resolved <= due THEN 2 WHEN resolved IS NULL THEN 0 ELSE 1 END
                   END AS _pk
            FROM (
                SELECT *, {_time_problem_sql(m, t, now)} AS _tp,
                       CASE WHEN {text(m["dossier_id"])} IS NULL THEN 1 {repeated}ELSE 0 END AS _s
                FROM (SELECT {quote(m["dossier_id"])}, {", ".join(raw)}{resolved_raw},
                             {timestamp(m["received_at"], t["received_at"])} AS received,
                             {timestamp(m["due_at"], t["due_at"])} AS due,
                             {timestamp(m["resolved_at"], t["resolved_at"])} AS resolved
                      FROM {from_sql})
            )
        )
        GROUP BY ALL
    """


def _facts_sql(m: dict[str, str], types: dict[str, str]) -> str:
    """The groups of pass 2 decoded (problem, commune / province text, online, received and
    resolved month index, on_time, dossiers, rows, duplicated_ids, id); the rows of repeated
    ids counted once per (id, problem), by their most advanced row (as one fact with its id)."""
    t = column_types(m, types)
    raw = _raw_keys(m, types)
    _, paid_bad = bool_sql(m.get("paid_online"), t["paid_online"])
    problems = " ".join(f"WHEN {i + 1} THEN '{p}'" for i, p in enumerate(TIME_PROBLEMS))
    return f"""
        WITH combos AS (
            SELECT _hk, {text(m["commune"])} AS commune_raw,
                   {text(m.get("province"))} AS province_raw,
                   {channel_sql(m["channel"])} AS channel,
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
                               {advancement_sql("_received", "_due", "_resolved", "commune_raw", "province_raw",
                                                "channel = 'online'")}) AS d,
                       sum(_n) AS n
                FROM flagged WHERE _s = 2
                GROUP BY _id, problem
            )
        )
        SELECT * FROM facts
    """


def run_passes(con: duckdb.DuckDBPyConnection, from_sql: str, m: dict[str, str], types: dict[str, str],
                now: dt.datetime) -> None:
    """Passes 1 and 2 of the row-by-row path into the temp table ``_dossier_groups``."""
    repeated = repeated_hashes(id_hashes(con, from_sql, m))
    create_from_arrow(con, "_dossier_repeated", pa.table({"h": repeated}))
    con.execute(f"CREATE OR REPLACE TEMP TABLE _dossier_groups AS "
                f"{_aggregate_sql(from_sql, m, types, now, special=len(repeated) > 0)}")


def row_by_row_counts(con: duckdb.DuckDBPyConnection, from_sql: str, offset: int, mapping: dict[str, str],
                      types: dict[str, str], now: dt.datetime, resolver: UnitResolver,
                      province: str | None) -> Counts:
    """Any file, rejected rows included: passes 1 and 2 (``run_passes``) already ran; decode
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
        raise FileRejected(F.NO_DOSSIERS())

    # Resolve each distinct (commune, province) spelling once.
    pairs = con.execute("SELECT DISTINCT commune_raw, province_raw FROM _dossier_facts "
                        "WHERE problem IS NULL").fetchall()
    known, bad_pairs = [], {}
    for commune, prov in pairs:
        prov = prov if prov is not None else province
        try:
            res = resolver.commune(commune, prov)
            known.append((commune, None if prov is province else prov, res.code, res.province_code))
        except ResolveError as err:
            key = (commune, None if prov is province else prov)
            try:
                named = resolver.province(prov, allow_legacy=True) if prov is not None else None
            except ResolveError as province_err:  # the province column is at fault, not the commune
                bad_pairs[key] = ("province", prov, U.unknown_province(prov, province_err))
                continue
            bad_pairs[key] = ("commune", commune, U.commune_error(commune, err, named))
    create_from_arrow(con, "_dossier_codes", pa.table({
        "_u": pa.array(range(len(known)), pa.int64()),
        "commune_raw": pa.array([r[0] for r in known], pa.string()),
        "province_raw": pa.array([r[1] for r in known], pa.string())}))
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _dossier_counted AS
        SELECT c._u, f.*
        FROM _dossier_facts f JOIN _dossier_codes c
          ON f.problem IS NULL AND c.commune_raw = f.commune_raw
         AND c.province_raw IS NOT DISTINCT FROM f.province_raw
    """)
    received, resolved = (MonthCounts(*con.execute(sql).fetchnumpy().values()) for sql in (
        """SELECT _u, rm, sum(dossiers)::BIGINT, coalesce(sum(dossiers) FILTER (WHERE online), 0)::BIGINT
           FROM _dossier_counted GROUP BY ALL""",
        """SELECT _u, sm, sum(dossiers)::BIGINT, coalesce(sum(dossiers) FILTER (WHERE on_time), 0)::BIGINT
           FROM _dossier_counted WHERE sm IS NOT NULL GROUP BY ALL"""))
    duplicate_rows, duplicate_ids, dossiers = con.execute("""
        SELECT coalesce(sum(rows - dossiers), 0), coalesce(sum(duplicated_ids), 0), coalesce(sum(dossiers), 0)
        FROM _dossier_counted
    """).fetchall()[0]
    rows_rejected = rows_read - con.execute("SELECT coalesce(sum(rows), 0) FROM _dossier_counted").fetchall()[0][0]
    duplicates = con.execute(f"""
        SELECT id, rows FROM _dossier_counted WHERE rows > 1 AND id IS NOT NULL
        ORDER BY id LIMIT {DUPLICATE_LIMIT}
    """).fetchall() if duplicate_rows else []
    rejected = _details(con, _flagged_sql(from_sql, mapping, types, now), offset, bad_pairs) if rows_rejected \
        else Found()
    return Counts(int(rows_read), int(rows_rejected), int(dossiers), int(duplicate_rows), int(duplicate_ids),
                  duplicates, rejected, np.array([r[2] for r in known], dtype=object),
                  np.array([r[3] for r in known], dtype=object), received, resolved)


PROBLEMS = {  # the problems of _flagged_sql: its message and the column at fault (None: named by the problem)
    "missing_id": (D.MISSING_ID, "dossier_id"),
    "unknown_unit": (U.EMPTY_COMMUNE, "commune"),
    "bad_time": (D.NOT_A_TIME, None),
    "future_time": (D.FUTURE_TIME, None),
    "resolved_before_received": (D.RESOLVED_BEFORE_RECEIVED, "resolved_at"),
    "bad_channel": (D.BAD_CHANNEL, "channel"),
    "bad_bool": (D.BAD_BOOL, "paid_online"),
}


def _details(con: duckdb.DuckDBPyConnection, numbered: str, offset: int,
             bad_pairs: dict[tuple, tuple[str, str, Said]]) -> Found:
    """Second pass, only when rows were rejected: each with its row number (the line number
    for CSV, header = line 1) and the value at fault. ``bad_pairs``: (commune, province)
    spellings that name no commune -> (column at fault, its value, what is wrong)."""
    found = Found()
    said_of = list(bad_pairs.values())
    bad = pd.DataFrame([(c, p, i) for i, (c, p) in enumerate(bad_pairs)],
                       columns=["commune_raw", "province_raw", "pair"]).astype({"commune_raw": object,
                                                                                "province_raw": object})
    con.register("_bad_pairs", bad)
    try:
        rows = con.execute(f"""
            WITH n AS ({numbered})
            SELECT n._row, n.problem, n.id, n.commune_raw, n.channel_raw, n.received_raw, n.due_raw,
                   n.resolved_raw, n.paid_raw, b.pair
            FROM n
            LEFT JOIN _bad_pairs b ON n.problem IS NULL AND b.commune_raw = n.commune_raw
                 AND b.province_raw IS NOT DISTINCT FROM n.province_raw
            WHERE n.problem IS NOT NULL OR b.pair IS NOT NULL
            ORDER BY n._row LIMIT {DETAIL_LIMIT}
        """).fetchall()
    finally:
        con.unregister("_bad_pairs")
    raw_of = {"dossier_id": 2, "commune": 3, "channel": 4, "received_at": 5, "due_at": 6,
              "resolved_at": 7, "paid_online": 8}
    for r in rows:
        if r[1] is None:
            column, value, said = said_of[r[9]]
            found.add(said, r[0] + offset, column, value)
            continue
        code, _, column = r[1].partition(":")
        message, default_column = PROBLEMS[code]
        column = column or default_column
        value = r[raw_of[column]] if column in raw_of else None
        if code == "bad_time" and value is None:
            message = D.NO_TIME
        found.add(message(column=column), r[0] + offset, column, value)
    return found
