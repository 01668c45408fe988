"""Raw dossier exports (one row per administrative dossier) -> commune- and province-month
indicators, aggregated in DuckDB straight from the CSV / Parquet file.

Columns (header names matched without case, diacritics or punctuation; Vietnamese synonyms
accepted): ``dossier_id, procedure_code, commune, channel, received_at, due_at,
resolved_at, paid_online`` and optionally ``province`` (to disambiguate commune names).

Rules (documented in docs/loading.md):
- ``applications_received`` / ``online_applications``: dossiers by the month they were
  received; ``applications_resolved`` / ``resolved_on_time``: dossiers by the month they were
  resolved (``resolved_at <= due_at`` is on time); the rates are 100 × their counts. Every
  commune present in the export gets a value (possibly 0) for every month the export spans;
  province values are the sums of their communes in the file.
- A dossier id that occurs more than once is counted once (its most advanced row: resolved
  before open, then the latest received, due and resolved times; equal times are settled by
  content, never by file order — :func:`etl.load.dossier_sql.advancement_sql`) and reported
  as a warning.
- A row is rejected for: missing id, unknown/ambiguous commune, missing or malformed
  received/due time, malformed resolved time, resolved before received, a time in the future,
  an unknown channel, a paid_online value that is not yes/no.

Speed: two paths with the same rules and results (a test compares them).
- A file with nothing to reject (the common case) is checked on summaries — min/max and null
  counts, which Parquet stores; the distinct channel, paid and commune spellings — while (for
  Parquet) a second connection already hashes the ids (32 bits) and sorts the hashes; then
  DuckDB counts every row by (commune index, month) in an array ("perfect hash"); only the rows
  whose id hash repeats (~0.4 %: repeats and hash twins) are read again, told apart by id text,
  and the losing copies are subtracted (:func:`clean_file_counts`).
- Any other file goes row by row: one pass does parsing, validation, de-duplication and the
  first aggregation; commune names are resolved afterwards on the few thousand distinct
  (commune, province) spellings; row numbers are computed only when there is something to
  report (:func:`row_by_row_counts`).

Both hand small counts by (commune spelling, month) to :func:`indicator_frame`, which sums
them into commune × month grids in numpy and writes the indicator rows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pandas as pd

from core import catalog
from core.resolver import UnitResolver
from etl import reference
from etl.load import values as V
from etl.load.dossier_clean import clean_file_counts
from etl.load.dossier_indicators import indicator_frame
from etl.load.dossier_rows import row_by_row_counts, run_passes
from etl.load.dossier_sql import (
    DOSSIER_COLUMNS,
    HEADER_KEYS,
    TIME_COLUMNS,
    describe,
    file_error,
    is_typed_time,
    map_columns,
    source_sql,
)
from etl.load.notes import Note
from etl.load.readers import FileRejected, header_key
from etl.load.rules import dossiers as D
from etl.load.rules.found import Found


def looks_like_dossiers(columns: list[str]) -> bool:
    names = {HEADER_KEYS.get(header_key(c)) for c in columns}
    return {"dossier_id", "received_at", "channel"} <= names


@dataclass
class DossierSummary:
    observations: pd.DataFrame  # level, unit_code, province_code, indicator, period, value, numerator, denominator
    rejections: pd.DataFrame  # etl.load.rules.found.COLUMNS: rejected rows, then warnings
    rows_read: int
    rows_rejected: int
    dossiers: int  # distinct valid dossiers counted
    duplicate_rows: int  # extra rows of duplicated ids (not counted)
    duplicate_ids: int
    columns: dict[str, str] = field(default_factory=dict)
    notes: list[Note] = field(default_factory=list)


_TEMP_TABLES = ("_dossier_repeated", "_dossier_groups", "_dossier_facts", "_dossier_codes", "_dossier_counted",
                "_dossier_units")

def summarise_dossiers(con: duckdb.DuckDBPyConnection, source: Any, *, province: str | None = None,
                       resolver: UnitResolver | None = None, now: dt.datetime | None = None,
                       progress=None, sheet: str | None = None, row_by_row: bool = False) -> DossierSummary:
    """Validate, de-duplicate and aggregate a dossier export (see the module docstring).
    ``row_by_row`` skips the clean-file fast path (the tests compare the two)."""
    now = now or dt.datetime.now()
    resolver = resolver or reference.resolver()
    con.execute("SET enable_progress_bar = false")
    from_sql, offset = source_sql(con, source, sheet)
    mapping, types = map_columns(describe(con, from_sql))
    attempts = [(from_sql, types)]
    if from_sql.startswith("read_csv(") and "all_varchar=true" in from_sql:
        # DuckDB's CSV reader parses the time columns natively (5x faster than parsing
        # text); the text reading runs only if a time value does not convert.
        text_cols = {mapping[c] for c in DOSSIER_COLUMNS if c in mapping and c not in TIME_COLUMNS}
        spec = "{" + ", ".join(f"'{c.replace(chr(39), chr(39) * 2)}': 'VARCHAR'" for c in sorted(text_cols)) + "}"
        typed = from_sql.replace("all_varchar=true", f"types={spec}")
        try:
            typed_types = dict(describe(con, typed))
            if all(is_typed_time(typed_types.get(mapping[c], "")) for c in TIME_COLUMNS if c in mapping):
                attempts.insert(0, (typed, typed_types))
        except FileRejected:
            pass
    try:
        counts = None
        if not row_by_row:
            for attempt_sql, attempt_types in attempts:
                try:
                    counts = clean_file_counts(con, attempt_sql, mapping, attempt_types, now, resolver, province)
                except duckdb.Error:
                    counts = None  # the row-by-row path reports what is wrong
                if counts is not None:
                    break
        if counts is None:
            for attempt, (attempt_sql, attempt_types) in enumerate(attempts):
                try:
                    run_passes(con, attempt_sql, mapping, attempt_types, now)
                    from_sql, types = attempt_sql, attempt_types
                    break
                except duckdb.Error as exc:
                    if attempt == len(attempts) - 1:
                        raise file_error(exc) from None
            counts = row_by_row_counts(con, from_sql, offset, mapping, types, now, resolver, province)
        if progress:
            progress("aggregated")
    finally:
        con.execute("; ".join(f"DROP TABLE IF EXISTS {table}" for table in _TEMP_TABLES))
    observations = indicator_frame(counts)
    rejections = counts.rejected
    _duplicate_warnings(rejections, counts.duplicates, counts.duplicate_ids)
    _partial_province_warnings(rejections, observations)
    notes = [Note("dossiers_counted", {"n": counts.dossiers})]
    if counts.duplicate_rows:
        notes.append(Note("duplicates_counted_once", {"rows": counts.duplicate_rows, "ids": counts.duplicate_ids}))
    return DossierSummary(observations, rejections.frame(), counts.rows_read, counts.rows_rejected, counts.dossiers,
                          counts.duplicate_rows, counts.duplicate_ids, mapping, notes)


def _duplicate_warnings(found: Found, duplicates: list[tuple[str, int]], duplicate_ids: int) -> None:
    """One warning per repeated id (a national year has ~100 k of them), and one line for the
    ids beyond the listing limit, so that no count is silently understated."""
    found.many([None] * len(duplicates), "dossier_id", [V.display(dossier_id) for dossier_id, _ in duplicates],
               D.DUPLICATE_DOSSIER, n=[int(n) for _, n in duplicates])
    if duplicate_ids > len(duplicates):
        found.add(D.DUPLICATES_NOT_LISTED(listed=len(duplicates), beyond=duplicate_ids - len(duplicates),
                                          total=duplicate_ids), None, "dossier_id", "")


def _partial_province_warnings(found: Found, observations: pd.DataFrame) -> None:
    """A warning per province whose communes the export covers only in part: its province
    values are the sum of the communes in the file, and replace the province's figures, which
    is right for a province's complete export and wrong for one commune's (the clerk decides)."""
    from etl.reference import provinces

    # Every commune counted has a dossiers-received value (0 included) for every month.
    received = catalog.by_dossier_count("received").code
    counted = observations.level.eq("commune") & observations.indicator.eq(received)
    communes = observations.loc[counted, ["unit_code", "province_code"]]
    covered = communes.drop_duplicates().province_code.value_counts()
    reference = provinces().set_index("code")
    partial = [(code, n, reference.n_communes[code], reference.name[code]) for code, n in covered.sort_index().items()
               if n < reference.n_communes[code]]
    found.many([None] * len(partial), "commune", [f"{name} ({code})" for code, _, _, name in partial],
               D.PARTIAL_PROVINCE, n=[int(n) for _, n, _, _ in partial], total=[int(t) for _, _, t, _ in partial],
               province=[name for *_, name in partial])


def aggregate_dossiers(con: duckdb.DuckDBPyConnection, source: Any, **options) -> pd.DataFrame:
    """Commune- and province-month indicators of a dossier export (CSV, Parquet or a
    DataFrame), computed in DuckDB on ``con``. Columns: level, unit_code, province_code,
    indicator, period, value, numerator, denominator. Rejected rows are left out; use
    :func:`summarise_dossiers` to see them."""
    return summarise_dossiers(con, source, **options).observations
