"""Counting a dossier export with nothing to reject, fast: every rule is checked on
summaries first, and the path steps aside (returns ``None``) as soon as a row would be
rejected (see :mod:`etl.load.dossiers` for the rules)."""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from core.resolver import ResolveError, UnitResolver
from etl.load.dossier_sql import (
    DUPLICATE_LIMIT,
    TIME_COLUMNS,
    Counts,
    MonthCounts,
    advancement_sql,
    bool_sql,
    channel_sql,
    column_types,
    hash_column,
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
    unit_columns,
)
from etl.load.rules.found import Found

PERFECT_HASH_BITS = 20  # commune index and month packed this small are counted in an array, not a hash table


class Checked(NamedTuple):
    """What the checks of a clean file learn on the way."""
    rows: int
    online: str  # SQL condition for an online row, on the file's own channel spellings
    unit_codes: np.ndarray  # commune code of each commune spelling (``_dossier_units._idx``)
    province_codes: np.ndarray


def clean_file_counts(con: duckdb.DuckDBPyConnection, from_sql: str, m: dict[str, str], types: dict[str, str],
                      now: dt.datetime, resolver: UnitResolver, province: str | None) -> Counts | None:
    """The fast path for the common case, a file with nothing to reject; ``None`` as soon as
    some row would be (the row-by-row path then lists them). Every rule of the row-by-row
    path is checked, on what is cheap to check: the file's min/max and null counts (Parquet
    keeps them; a missing id is a null or a minimum of ''), the distinct channel / paid /
    commune spellings (a few thousand), one count of resolved-before-received rows. Then:

    - a second connection hashes the ids, sorts the hashes and fetches only the rows whose
      id hash repeats (~0.4 %: true repeats and different ids sharing a 32-bit hash), while
      this one counts **all** rows by (commune spelling, month) — the spelling joined to a
      small index, so the count is an array lookup. For Parquet the second connection starts
      before the checks (they read only statistics and dictionaries, and would leave a core
      idle) and is interrupted if a check fails;
    - the repeated rows are de-duplicated by their id text (the most advanced row wins, see
      :func:`advancement_sql`), and the rows that lose are subtracted from the counts.
    """
    t = column_types(m, types)
    if not all(is_typed_time(t[c]) for c in TIME_COLUMNS):
        return None
    keys = unit_columns(m)
    repeated_columns = ", ".join([f"{id_sql(m)} AS _id", *map(quote, dict.fromkeys(keys + [m["channel"]])),
                                  *(quote(m[c]) for c in TIME_COLUMNS)])
    numbered = numbered_parquet(from_sql)
    stopped = threading.Event()

    def find_repeated(reader: duckdb.DuckDBPyConnection, rows: int) -> pa.Table | None:
        """The rows whose id hash repeats, or None. A Parquet file is read back by row
        position, anything else by id hash (hashing every id again costs more than looking
        the positions up)."""
        with _unordered(reader):  # neither pass depends on row order
            if numbered:
                position = "file_row_number" + ("::UINTEGER" if rows < 2 ** 32 else "")
                ids = reader.sql(f"SELECT {id_hash_sql(m)} AS h, {position} AS r FROM {numbered}").to_arrow_table()
                hashes = hash_column(ids)
            else:
                ids, hashes = None, id_hashes(reader, from_sql, m)
            repeated = repeated_hashes(hashes)
            del hashes
            if not len(repeated) or stopped.is_set():
                return None
            if ids is not None:
                return _read_back(reader, f"""
                    SELECT {repeated_columns} FROM {numbered}
                    WHERE file_row_number IN (SELECT r FROM _dossier_ids_arrow
                                              WHERE h IN (SELECT h FROM _dossier_repeated_arrow))""",
                                  _dossier_ids_arrow=ids, _dossier_repeated_arrow=pa.table({"h": repeated}))
        return _read_back(reader, f"SELECT {repeated_columns} FROM {from_sql} WHERE {id_hash_sql(m)} "
                                  "IN (SELECT h FROM _dossier_repeated_arrow)",
                          _dossier_repeated_arrow=pa.table({"h": repeated}))

    def stop(reader: duckdb.DuckDBPyConnection | None) -> None:
        """Ends a pass still running (after a failed check or an error; harmless after success)."""
        stopped.set()
        if reader is not None:
            reader.interrupt()

    # A file's ids are read by a second connection while this one counts; a registered frame
    # is visible to its own connection only, so it waits. (Leaving the stack stops the
    # thread's query if it still runs, waits for the thread, then closes its connection.)
    beside = not from_sql.startswith("_dossier_frame")
    with contextlib.ExitStack() as stack:
        cursor = stack.enter_context(contextlib.closing(con.cursor())) if beside else None
        pool = stack.enter_context(ThreadPoolExecutor(1))
        stack.callback(stop, cursor)
        found = None
        if beside and numbered:  # the row count is in the file's metadata
            found = pool.submit(find_repeated, cursor, con.execute(f"SELECT count(*) FROM {from_sql}").fetchall()[0][0])
        checked = _clean_spellings(con, from_sql, m, t, now, resolver, keys, province)
        if checked is None:
            return None
        if beside and found is None:
            found = pool.submit(find_repeated, cursor, checked.rows)
        with _unordered(con, perfect_hash_bits=PERFECT_HASH_BITS):
            received, resolved = (con.sql(sql).fetchnumpy()
                                  for sql in _month_counts_sql(from_sql, m, t, checked.online).values())
        if resolved["backwards"].sum():  # a row resolved before it was received: step aside now
            return None
        repeated_rows = found.result() if beside else find_repeated(con, checked.rows)
    losers = _losers(con, repeated_rows, m, t, checked.online) if repeated_rows is not None else None
    received = MonthCounts(received["_idx"], received["m"], received["n"], received["k"])
    resolved = MonthCounts(resolved["_idx"], resolved["m"], resolved["n"], resolved["k"])
    duplicates, duplicate_ids, duplicate_rows = [], 0, 0
    if losers is not None:
        repeats = pd.Series(losers["_id"]).value_counts().sort_index()
        duplicate_rows, duplicate_ids = len(losers["_id"]), len(repeats)
        duplicates = list(zip(repeats.index[:DUPLICATE_LIMIT], repeats.to_numpy()[:DUPLICATE_LIMIT] + 1))
        # The losing copies are subtracted: negative entries, summed with the counts.
        was_resolved = losers["sm"] >= 0
        received = _minus(received, losers["_idx"], losers["rm"], losers["online"])
        resolved = _minus(resolved, losers["_idx"][was_resolved], losers["sm"][was_resolved],
                          losers["on_time"][was_resolved])
    return Counts(int(checked.rows), 0, int(checked.rows - duplicate_rows), int(duplicate_rows), int(duplicate_ids),
                  duplicates, Found(), checked.unit_codes, checked.province_codes, received, resolved)


def _minus(counts: MonthCounts, unit: np.ndarray, month: np.ndarray, subset: np.ndarray) -> MonthCounts:
    return MonthCounts(np.concatenate([counts.unit, unit]), np.concatenate([counts.month, month]),
                       np.concatenate([counts.n, np.full(len(unit), -1)]),
                       np.concatenate([counts.k, -subset.astype(np.int64)]))


def _losers(con: duckdb.DuckDBPyConnection, repeated_rows: pa.Table, m: dict[str, str], t: dict[str, str],
            online: str) -> dict[str, np.ndarray] | None:
    """The rows of repeated ids that are not counted (all but the most advanced version of each
    id, :func:`advancement_sql`): id, commune spelling index, received month, online, resolved
    month (-1 when open) and on time; ``None`` when the repeated hashes were all different ids."""
    received, due, resolved = (timestamp(m[c], t[c]) for c in TIME_COLUMNS)
    advancement = advancement_sql(received, due, resolved, text(m["commune"]), text(m.get("province")),
                                  f"({online})")
    losers = _read_back(con, f"""
        SELECT s._id, u._idx, {month_index(received)} AS rm, ({online}) AS online,
               coalesce({month_index(resolved)}, -1) AS sm, coalesce({resolved} <= {due}, false) AS on_time
        FROM (SELECT *, row_number() OVER (PARTITION BY _id ORDER BY {advancement} DESC) AS _rank
              FROM _dossier_repeated_rows) AS s
        JOIN _dossier_units AS u ON {_unit_join(unit_columns(m))}
        WHERE _rank > 1""", _dossier_repeated_rows=repeated_rows)
    if not losers.num_rows:
        return None
    return {name: losers.column(name).to_numpy(zero_copy_only=False) for name in losers.column_names}


def _read_back(reader: duckdb.DuckDBPyConnection, sql: str, **tables: pa.Table) -> pa.Table:
    """``sql``, which reads the Arrow ``tables`` by their names, as Arrow."""
    for name, table in tables.items():
        reader.register(name, table)
    try:
        return reader.sql(sql).to_arrow_table()
    finally:
        for name in tables:
            reader.unregister(name)


def _clean_spellings(con: duckdb.DuckDBPyConnection, from_sql: str, m: dict[str, str], t: dict[str, str],
                     now: dt.datetime, resolver: UnitResolver, keys: list[str],
                     province: str | None) -> Checked | None:
    """The file's rows, online condition and commune spellings when no id or time is missing,
    no time is in the future, and every channel, paid and commune spelling is valid — all
    answered from the file's statistics and distinct values; ``None`` otherwise."""
    received, due, resolved = (timestamp(m[c], t[c]) for c in TIME_COLUMNS)
    ident = quote(m["dossier_id"])  # an id is missing when NULL or '' (only text can be '')
    no_empty_id = f"coalesce(min({ident}) <> '', true)" if t["dossier_id"] == "VARCHAR" else "true"
    rows, clean_times, every_id = con.execute(f"""
        SELECT count(*), count({received}) = count(*) AND count({due}) = count(*)
               AND coalesce(max({received}) <= {now_literal(now)}, true)
               AND coalesce(max({resolved}) <= {now_literal(now)}, true),
               count({ident}) = count(*) AND {no_empty_id}
        FROM {from_sql}""").fetchall()[0]
    if not rows or not clean_times or not every_id:
        return None
    online = _online_filter(con, from_sql, m)
    if online is None or not _paid_values_clean(con, from_sql, m, t):
        return None
    units = _index_communes(con, from_sql, keys, resolver, province)
    if units is None:
        return None
    return Checked(rows, online, *units)


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
    channels = con.execute(f"SELECT _raw::VARCHAR, {channel_sql('_raw')} FROM "
                           f"(SELECT DISTINCT {quote(m['channel'])} AS _raw FROM {from_sql})").fetchall()
    if any(name is None for _, name in channels):
        return None
    spellings = [raw.replace("'", "''") for raw, name in channels if name == "online"]
    return f"{quote(m['channel'])}::VARCHAR IN ({', '.join(f'{chr(39)}{s}{chr(39)}' for s in spellings)})" \
        if spellings else "false"


def _paid_values_clean(con: duckdb.DuckDBPyConnection, from_sql: str, m: dict[str, str], t: dict[str, str]) -> bool:
    if "paid_online" not in m or t["paid_online"] == "BOOLEAN":
        return True
    column = quote(m["paid_online"])
    _, bad = bool_sql(m["paid_online"], t["paid_online"])
    return not con.execute(f"SELECT bool_or({bad}) FROM (SELECT DISTINCT {column} FROM {from_sql})").fetchall()[0][0]


def _index_communes(con: duckdb.DuckDBPyConnection, from_sql: str, keys: list[str], resolver: UnitResolver,
                    province: str | None) -> tuple[np.ndarray, np.ndarray] | None:
    """``_dossier_units``: each distinct (commune, province) spelling, typed as in the file, with a
    dense ``_idx``; returned: the commune and province code of each ``_idx``, or ``None`` when a
    spelling does not resolve."""
    quoted = ", ".join(map(quote, keys))
    con.execute(f"CREATE OR REPLACE TEMP TABLE _dossier_units AS SELECT (row_number() OVER () - 1)::INTEGER "
                f"AS _idx, * FROM (SELECT DISTINCT {quoted} FROM {from_sql})")
    spellings = con.execute(f"SELECT _idx, {text(keys[0])}, "
                            f"{text(keys[1]) if len(keys) > 1 else 'NULL'} FROM _dossier_units").fetchall()
    unit_codes, province_codes = (np.empty(len(spellings), dtype=object) for _ in range(2))
    for idx, commune, prov in spellings:
        if commune is None:
            return None
        try:
            unit = resolver.commune(commune, prov if prov is not None else province)
        except ResolveError:
            return None
        unit_codes[idx], province_codes[idx] = unit.code, unit.province_code
    return unit_codes, province_codes


def _unit_join(keys: list[str]) -> str:
    """Rows ``s`` to their spelling ``u`` in ``_dossier_units`` (the province may be missing)."""
    return " AND ".join(f"u.{quote(k)} IS NOT DISTINCT FROM s.{quote(k)}" if i else f"u.{quote(k)} = s.{quote(k)}"
                        for i, k in enumerate(keys))


def _month_counts_sql(relation: str, m: dict[str, str], t: dict[str, str], online: str) -> dict[str, str]:
    """Two counts of the rows of ``relation`` by commune index and month: ``received`` (_idx, m,
    n, k = online) and ``resolved`` (_idx, m, n, k = on time, backwards = resolved before received)."""
    received, due, resolved = (timestamp(m[c], t[c]) for c in TIME_COLUMNS)
    source = f"{relation} AS s JOIN _dossier_units AS u ON {_unit_join(unit_columns(m))}"
    return {
        "received": f"""SELECT u._idx, {month_index(received)} AS m, count(*) AS n,
                               count(*) FILTER (WHERE {online}) AS k
                        FROM {source} GROUP BY ALL""",
        "resolved": f"""SELECT u._idx, {month_index(resolved)} AS m, count(*) AS n,
                               count(*) FILTER (WHERE {resolved} <= {due}) AS k,
                               count(*) FILTER (WHERE {resolved} < {received}) AS backwards
                        FROM {source} WHERE {resolved} IS NOT NULL GROUP BY ALL""",
    }
