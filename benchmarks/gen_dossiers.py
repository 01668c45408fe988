"""Deterministic generator of administrative-dossier exports for the benchmarks and tests.

``generate(n)`` writes ``n`` dossier rows straight from DuckDB SQL to Parquet (``range()`` +
``hash()``-based pseudo-random columns; nothing is materialised in Python, so 100 M rows need
no more memory than 10 M). Files are cached under ``benchmarks/out/`` keyed by N and by
:data:`VERSION` (bump it whenever the generated content changes).

What the rows look like (one row per dossier, the columns of :data:`COLUMNS`):

- a year of months, 2025-11 … 2026-10 (all after the 2025 reform, all complete months);
- the receiving commune given by its GSO code, over the 3,321 real communes of
  :func:`etl.reference.communes`, with a skewed load (some communes receive ~6× the median);
- channel ``online`` / ``in_person`` / ``postal``: each commune has its own online share
  (35 %–98 %) rising ~1.5 points a month, postal ≈ 2 %;
- due time 1–20 days after receipt; ~3 % never resolved, others resolved on time with a
  per-commune probability (78 %–98 %) or up to 30 days late; a resolution after the export
  cut-off (2026-11-01) is left empty (open), so recent months have more open dossiers;
- ``paid_online`` true for ~55 % of online and ~4 % of other dossiers;
- ~0.1 % duplicate dossier ids: exact re-exported copies of an earlier row (within the
  previous ~1,000 rows), so every way of counting a duplicate once gives the same result.

Run ``python -m benchmarks.gen_dossiers 10000000`` to (re)generate one size and print the time.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import duckdb

VERSION = 1
OUT = Path(__file__).resolve().parent / "out"
COLUMNS = ["dossier_id", "procedure_code", "commune_code", "channel", "received_at", "due_at",
           "resolved_at", "paid_online"]
START = "2025-11-01"          # first month generated
CUTOFF = "2026-11-01"         # export time: nothing is resolved after it
DAYS = 365                    # 2025-11-01 .. 2026-10-31
DUP_EVERY = 1000              # ~1 row in DUP_EVERY is a copy of an earlier row
DUP_WINDOW = 997              # ... at most this many rows earlier


def _communes_frame():
    from etl import reference

    return reference.communes()[["code"]].copy()


def _u(seed_expr: str, salt: int) -> str:
    """SQL for a uniform double in [0, 1) from hash(seed, salt)."""
    return f"((hash({seed_expr}, {salt}) % 1000003)::DOUBLE / 1000003.0)"


def select_sql(n: int) -> str:
    """The SELECT producing the n rows in order (needs :func:`prepare` on the connection:
    per-commune lists in variables, looked up by index — no join, so no reordering)."""
    is_dup = lambda e: f"({e} >= {DUP_EVERY} AND hash({e}, 11) % {DUP_EVERY} = 0)"
    cand = f"(i - 1 - (hash(i, 12) % {DUP_WINDOW})::BIGINT)"
    return f"""
    WITH src AS (
        SELECT i,
               CASE WHEN {is_dup('i')} AND NOT {is_dup(cand)} THEN {cand} ELSE i END AS s
        FROM range({int(n)}) t(i)
    ), draws AS (
        SELECT i, s,
               floor(3321 * pow({_u('s', 1)}, 1.6))::INTEGER AS ci,
               {_u('s', 2)} AS u_time,
               {_u('s', 3)} AS u_channel,
               {_u('s', 4)} AS u_open,
               {_u('s', 5)} AS u_ontime,
               {_u('s', 6)} AS u_duration,
               {_u('s', 7)} AS u_paid,
               (1 + hash(s, 8) % 20)::INTEGER AS due_days,
               (hash(s, 9) % 2153)::INTEGER AS proc
        FROM src
    ), timed AS (
        SELECT d.*, c.code, c.online_share, c.on_time_share,
               TIMESTAMP '{START}' + to_seconds(floor(u_time * {DAYS} * 86400)::BIGINT) AS received_at
        FROM draws d JOIN gen_commune c USING (ci)
    ), chans AS (
        SELECT t.*,
               received_at + to_days(due_days) AS due_at,
               least(0.99, online_share + 0.015 * date_diff('month', TIMESTAMP '{START}', received_at))
                   AS p_online
        FROM timed t
    ), resolved AS (
        SELECT c.*,
               CASE WHEN u_channel < p_online THEN 'online'
                    WHEN u_channel < p_online + 0.02 THEN 'postal'
                    ELSE 'in_person' END AS channel,
               CASE WHEN u_open < 0.03 THEN NULL
                    WHEN u_ontime < on_time_share
                        THEN received_at + to_seconds(floor(u_duration * epoch(due_at - received_at))::BIGINT)
                    ELSE due_at + to_seconds(floor(60 + u_duration * 30 * 86400)::BIGINT) END AS resolved_raw
        FROM chans c
    )
    SELECT code || '-' || strftime(received_at, '%y%m%d') || '-' || lpad(s::VARCHAR, 9, '0') AS dossier_id,
           '1.00' || (1000 + proc)::VARCHAR AS procedure_code,
           code AS commune_code,
           channel,
           received_at,
           due_at,
           CASE WHEN resolved_raw < TIMESTAMP '{CUTOFF}' THEN resolved_raw END AS resolved_at,
           CASE WHEN channel = 'online' THEN u_paid < 0.55 ELSE u_paid < 0.04 END AS paid_online
    FROM resolved
    """


def prepare(con: duckdb.DuckDBPyConnection, communes=None) -> None:
    """Per-commune code, online share and on-time share as list variables on ``con``."""
    frame = _communes_frame() if communes is None else communes
    con.register("gen_commune_src", frame)
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE gen_commune AS
        SELECT (row_number() OVER (ORDER BY hash(code, 'order'), code) - 1)::INTEGER AS ci,
               code,
               0.35 + 0.63 * {_u("code", 21)} AS online_share,
               0.78 + 0.20 * {_u("code", 22)} AS on_time_share
        FROM gen_commune_src
        """
    )
    con.unregister("gen_commune_src")



def path_for(n: int, out: Path = OUT) -> Path:
    return out / f"dossiers_v{VERSION}_{n}.parquet"


def write(n: int, path: Path, *, threads: int = 2, memory_limit: str = "2GB",
          communes=None) -> float:
    """Write n rows to ``path`` (atomically); returns seconds taken."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    started = time.perf_counter()
    con = duckdb.connect(config={"threads": threads, "memory_limit": memory_limit,
                                 "preserve_insertion_order": True,
                                 "temp_directory": str(path.parent / ".duckdb_tmp")})
    try:
        con.execute("SET enable_progress_bar = false")
        prepare(con, communes)
        con.execute(f"COPY ({select_sql(n)}) TO '{tmp}' (FORMAT parquet, COMPRESSION snappy, "
                    "ROW_GROUP_SIZE 122880)")
    finally:
        con.close()
    os.replace(tmp, path)
    return time.perf_counter() - started


def generate(n: int, out: Path = OUT, *, force: bool = False, verbose: bool = True) -> Path:
    """Path of the cached file with n rows, generating it first if needed."""
    path = path_for(n, out)
    if path.exists() and not force:
        return path
    if verbose:
        print(f"generating {n:,} dossier rows -> {path} …", file=sys.stderr, flush=True)
    seconds = write(n, path)
    if verbose:
        size = path.stat().st_size / 1024 ** 2
        print(f"generated {n:,} rows in {seconds:.1f} s ({size:,.0f} MB)", file=sys.stderr, flush=True)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rows", type=int, nargs="?", default=10_000_000)
    parser.add_argument("--force", action="store_true", help="regenerate even if cached")
    args = parser.parse_args(argv)
    generate(args.rows, force=args.force)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
