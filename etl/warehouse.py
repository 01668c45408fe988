"""The DuckDB warehouse: layers, the published SQL contract, and atomic replacement.

Layers (DuckDB schemas), like Our World in Data's etl:
- ``raw``   what arrived, as it arrived: reference package files and report files (checksum,
            size, uploader, time); the bytes of report files are kept in the raw archive
            folder next to the warehouse.
- ``clean`` validated rows: every version of every observation ever loaded
            (``clean.observation_history``, keyed by load id), the demo's pre-merger rows
            before re-basing (``clean.legacy_observation``), and quarantined rows.
- ``ref``   reference tables: geography, indicator catalog, targets, press facts, events,
            sources.
- ``pub``   what readers see: the current observation per (indicator, period, level, unit),
            ranks; recomputed by :func:`publish` after every change.
Views in ``main`` are the documented contract analysts query by name.

Every table is created by :data:`DDL` and nowhere else, and every insert names its columns
(``INSERT … BY NAME`` or a column list), so a column added or reordered here cannot shift
values into the wrong column.

Readers never see a half-built state: every change is written to a temporary copy in the
same folder and moved over the published file with ``os.replace`` (see :func:`updating`).

The warehouse is the record of what was loaded (``meta.load`` and ``raw.file``): a rebuild
replays those loads from the raw archive. Every change also rewrites the recovery manifest
(``paths.manifest_path``), a copy of that record kept in the raw archive for the day the
warehouse file itself is lost (docs/operations.md, "Backups").
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb

from core import paths
from core.schema import SCHEMA_VERSION

DUCKDB_CONFIG = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}

DDL = """
CREATE SCHEMA IF NOT EXISTS raw;
CREATE SCHEMA IF NOT EXISTS clean;
CREATE SCHEMA IF NOT EXISTS ref;
CREATE SCHEMA IF NOT EXISTS pub;
CREATE SCHEMA IF NOT EXISTS meta;

CREATE TABLE meta.build_info (key VARCHAR PRIMARY KEY, value VARCHAR);

-- One row per load: the demo generator is load 0, report files count up from 1.
CREATE TABLE meta.load (
    load_id       INTEGER PRIMARY KEY,
    kind          VARCHAR NOT NULL,         -- demo | report | legacy | dossiers | index766
    file_name     VARCHAR,
    sha256        VARCHAR,
    status        VARCHAR NOT NULL,         -- loaded | undone
    rows_read     BIGINT,
    rows_loaded   BIGINT,
    rows_rejected BIGINT,
    uploader      VARCHAR,
    options       VARCHAR,                  -- JSON of the command-line options
    started_at    TIMESTAMP,
    finished_at   TIMESTAMP,
    undone_at     TIMESTAMP
);

-- Files as received (bytes live in the raw archive folder under their checksum).
CREATE TABLE raw.file (
    load_id       INTEGER,
    file_name     VARCHAR,
    kind          VARCHAR,
    sha256        VARCHAR,
    size_bytes    BIGINT,
    uploader      VARCHAR,
    received_at   TIMESTAMP,
    archived_path VARCHAR
);

-- Reference package files as received (name, version, checksum).
CREATE TABLE raw.package_file (
    dataset    VARCHAR,
    package    VARCHAR,
    version    VARCHAR,
    path       VARCHAR,
    sha256     VARCHAR,
    loaded_at  TIMESTAMP
);

CREATE TABLE clean.observation_history (
    load_id     INTEGER NOT NULL,
    indicator   VARCHAR NOT NULL,
    period      VARCHAR NOT NULL,           -- YYYY-MM
    level       VARCHAR NOT NULL,           -- province | commune
    unit_code   VARCHAR NOT NULL,           -- GSO code
    value       DOUBLE,
    numerator   DOUBLE,
    denominator DOUBLE,
    source_id   VARCHAR NOT NULL,
    is_demo     BOOLEAN NOT NULL,
    note        VARCHAR
);

-- The demo's pre-merger (63-province) rows as generated, before etl/rebase.py re-based them.
CREATE TABLE clean.legacy_observation (
    load_id     INTEGER NOT NULL,
    indicator   VARCHAR NOT NULL,
    period      VARCHAR NOT NULL,           -- YYYY-MM
    legacy_code VARCHAR NOT NULL,           -- code of one of the 63 old provinces
    value       DOUBLE,
    numerator   DOUBLE,
    denominator DOUBLE,
    is_demo     BOOLEAN NOT NULL
);

CREATE TABLE clean.quarantine (
    load_id     INTEGER,
    row_number  BIGINT,
    column_name VARCHAR,
    value       VARCHAR,
    reason      VARCHAR,
    suggestion  VARCHAR
);

CREATE TABLE ref.region (code VARCHAR PRIMARY KEY, name_vi VARCHAR, name_en VARCHAR);
CREATE TABLE ref.province (
    code VARCHAR PRIMARY KEY, name VARCHAR, full_name VARCHAR, name_ascii VARCHAR, kind VARCHAR,
    region VARCHAR, lat DOUBLE, lon DOUBLE, area_km2 DOUBLE, n_communes INTEGER);
CREATE TABLE ref.commune (
    code VARCHAR PRIMARY KEY, name VARCHAR, name_ascii VARCHAR, kind VARCHAR, province_code VARCHAR,
    lat DOUBLE, lon DOUBLE, area_km2 DOUBLE);
CREATE TABLE ref.legacy_province (
    code VARCHAR PRIMARY KEY, name VARCHAR, full_name VARCHAR, name_ascii VARCHAR, province_code VARCHAR,
    lat DOUBLE, lon DOUBLE);
CREATE TABLE ref.indicator (
    code VARCHAR PRIMARY KEY, name_vi VARCHAR, name_en VARCHAR, unit VARCHAR, decimals INTEGER,
    higher_is_better BOOLEAN, aggregation VARCHAR, numerator VARCHAR, denominator VARCHAR,
    levels VARCHAR, topic VARCHAR, max_value DOUBLE, components VARCHAR, definition VARCHAR,
    definition_en VARCHAR, legal_basis VARCHAR, sort_order INTEGER, per_capita BOOLEAN);
CREATE TABLE ref.target (
    indicator VARCHAR, value DOUBLE, comparison VARCHAR, deadline VARCHAR, scope VARCHAR, basis VARCHAR);
-- The groups of each Decision 766 method with their maxima (data/meta/indicators.toml,
-- [[index766_method]]): which groups the index has in a month, and where the portal holds them.
CREATE TABLE ref.index766_group (
    valid_from VARCHAR NOT NULL, valid_to VARCHAR, method_vi VARCHAR NOT NULL, method_en VARCHAR NOT NULL,
    n_groups INTEGER NOT NULL, position INTEGER NOT NULL, indicator VARCHAR NOT NULL, max_value DOUBLE NOT NULL,
    portal_field VARCHAR NOT NULL, basis VARCHAR NOT NULL, PRIMARY KEY (valid_from, indicator));
CREATE TABLE ref.press_fact (
    id VARCHAR PRIMARY KEY, fact_no INTEGER, entity VARCHAR, unit_code VARCHAR, statement VARCHAR,
    statement_en VARCHAR, value DOUBLE, comparison VARCHAR, unit VARCHAR, period VARCHAR,
    period_is_approximate BOOLEAN, source_url VARCHAR, indicator VARCHAR, level VARCHAR,
    "check" VARCHAR);
-- Dated events drawn on time charts (data/meta/events.csv); topic: only on the charts of that
-- topic's indicators (NULL: on every chart).
CREATE TABLE ref.event (
    date DATE PRIMARY KEY, label_vi VARCHAR NOT NULL, label_en VARCHAR NOT NULL, kind VARCHAR NOT NULL,
    source_id VARCHAR NOT NULL, topic VARCHAR);
-- Population and natural area of the provinces with their sources (data/meta/population.csv,
-- etl/population.py): one primary row per province, plus disagreeing or superseded figures.
CREATE TABLE ref.population (
    province_code VARCHAR NOT NULL, province VARCHAR NOT NULL, population BIGINT, area_km2 DOUBLE,
    year INTEGER, basis VARCHAR NOT NULL, reference VARCHAR NOT NULL, source_url VARCHAR NOT NULL,
    quote VARCHAR, note VARCHAR, is_primary BOOLEAN NOT NULL, row_number INTEGER NOT NULL);
-- Published figures (data/meta/published.csv, etl/published.py): the list as it arrived (indicator,
-- province, period, value, unit, source_url, quote, note) and its curated columns. Never mixed into
-- clean or pub: published_check sets each beside the warehouse value of its province and month.
CREATE TABLE ref.published (
    id VARCHAR PRIMARY KEY, indicator VARCHAR NOT NULL, province VARCHAR NOT NULL, period VARCHAR NOT NULL,
    value DOUBLE NOT NULL, unit VARCHAR NOT NULL, source_url VARCHAR NOT NULL, quote VARCHAR, note VARCHAR,
    scope VARCHAR NOT NULL, province_code VARCHAR, as_of DATE, comparison VARCHAR NOT NULL,
    unit_code VARCHAR NOT NULL, name_vi VARCHAR NOT NULL, name_en VARCHAR NOT NULL, basis_vi VARCHAR NOT NULL,
    basis_en VARCHAR NOT NULL, comparable BOOLEAN NOT NULL, reason VARCHAR, decimals INTEGER NOT NULL,
    out_of DOUBLE, first_month VARCHAR, last_month VARCHAR, compares_with VARCHAR, measure VARCHAR NOT NULL,
    suffix_vi VARCHAR NOT NULL, suffix_en VARCHAR NOT NULL, row_number INTEGER NOT NULL);
CREATE TABLE ref.source (
    id VARCHAR PRIMARY KEY, producer VARCHAR, url VARCHAR, version VARCHAR, licence VARCHAR,
    checksum VARCHAR, loaded_at TIMESTAMP, description VARCHAR);

-- What readers see, recomputed by publish() from the clean layer.
CREATE TABLE pub.observation (
    indicator VARCHAR, period VARCHAR, level VARCHAR, unit_code VARCHAR, value DOUBLE, numerator DOUBLE,
    denominator DOUBLE, source_id VARCHAR, is_demo BOOLEAN, load_id INTEGER);
CREATE TABLE pub.province_rank (
    indicator VARCHAR, period VARCHAR, province_code VARCHAR, value DOUBLE, is_demo BOOLEAN, rank INTEGER,
    n_ranked INTEGER, rank_change INTEGER);
CREATE TABLE pub.commune_rank (
    indicator VARCHAR, period VARCHAR, commune_code VARCHAR, province_code VARCHAR, value DOUBLE,
    is_demo BOOLEAN, rank_in_province INTEGER, n_in_province INTEGER, rank_national INTEGER, n_national INTEGER);
"""

# Every checkable press fact against the published views: what they say (``observed``), whether
# it agrees with the fact, and whether that value is demo data (``is_demo``: the demo generator
# is set to match the press facts, so a demo agreement proves nothing about the world). The
# checks (``press_fact.check``; etl/facts.py refuses any other when the build reads the CSV):
#   value, month_at_least  the month's observation (month_at_least: a point-in-time count the
#                          monthly total must not contradict);
#   sum_since:YYYY-MM      the sum of the monthly values from that month to the fact's period;
#   ratio_over_span        100 * sum(numerator) / sum(denominator) over the span FIRST/LAST;
#   rank, n_ranked         the province's rank / the number ranked that month (demo if any
#                          ranked value is);
#   min_in_province        the lowest commune value of the province that month;
#   n_communes             the number of communes of the province (reference data, never demo);
#   target                 the indicator's national target in the catalog (never demo).
# Ranks, counts and targets must equal the fact; other checks compare with the fact's
# comparison (=: equal to 2 decimals). A check with no value in the warehouse disagrees.
FACT_CHECK_VIEW = """
CREATE OR REPLACE VIEW fact_check AS
WITH fact AS (
    SELECT id, "check", value, comparison, indicator, unit_code, level, period,
           CASE WHEN "check" LIKE 'sum_since:%' THEN substr("check", 11)
                ELSE string_split(period, '/')[1] END AS first_period,
           string_split(period, '/')[-1] AS last_period
    FROM press_fact WHERE "check" IS NOT NULL
), observed AS (
    SELECT f.id,
           CASE WHEN f."check" = 'ratio_over_span'
                THEN 100 * sum(o.numerator) / nullif(sum(o.denominator), 0)
                ELSE sum(o.value) END AS observed,
           bool_or(o.is_demo) AS is_demo
    FROM fact f
    JOIN observation o ON o.indicator = f.indicator AND o.unit_code = f.unit_code AND o.level = f.level
                      AND o.period BETWEEN f.first_period AND f.last_period
    WHERE f."check" IN ('value', 'month_at_least', 'ratio_over_span') OR f."check" LIKE 'sum_since:%'
    GROUP BY f.id, f."check"
    UNION ALL
    SELECT f.id, CASE f."check" WHEN 'rank' THEN r.rank ELSE r.n_ranked END, m.any_demo
    FROM fact f
    JOIN province_rank r ON r.indicator = f.indicator AND r.province_code = f.unit_code AND r.period = f.period
    JOIN (SELECT indicator, period, bool_or(is_demo) AS any_demo FROM province_rank GROUP BY ALL) m
      ON m.indicator = r.indicator AND m.period = r.period
    WHERE f."check" IN ('rank', 'n_ranked')
    UNION ALL
    SELECT f.id, min(o.value), bool_or(o.is_demo)
    FROM fact f
    JOIN commune c ON c.province_code = f.unit_code
    JOIN observation o ON o.unit_code = c.code AND o.level = 'commune' AND o.indicator = f.indicator
                      AND o.period = f.period
    WHERE f."check" = 'min_in_province'
    GROUP BY f.id
    UNION ALL
    SELECT f.id, count(c.code), FALSE
    FROM fact f LEFT JOIN commune c ON c.province_code = f.unit_code
    WHERE f."check" = 'n_communes'
    GROUP BY f.id
    UNION ALL
    SELECT f.id, min(t.value), FALSE
    FROM fact f
    JOIN target t ON t.indicator = f.indicator AND t.scope = 'national' AND t.deadline = f.period
                 AND t.comparison = f.comparison
    WHERE f."check" = 'target'
    GROUP BY f.id
)
SELECT f.id, f."check", f.comparison, f.value AS fact_value, o.observed,
       coalesce(CASE
           WHEN f."check" IN ('rank', 'n_ranked', 'n_communes', 'target') THEN abs(o.observed - f.value) < 1e-9
           WHEN f.comparison = '=' THEN round(o.observed, 2) = round(f.value, 2)
           WHEN f.comparison = '>' THEN o.observed > f.value
           WHEN f.comparison = '>=' THEN o.observed >= f.value
           WHEN f.comparison = '<' THEN o.observed < f.value
           WHEN f.comparison = '<=' THEN o.observed <= f.value
       END, FALSE) AS agrees,
       o.is_demo
FROM fact f LEFT JOIN observed o USING (id)
ORDER BY f.id;
"""

# Every published figure beside the warehouse value of the same province (or its communes, or the
# country), indicator and month (``warehouse_value``; NULL where the figure spans no single month or
# names no warehouse indicator), the difference, and whether that value is demo data. The value is
#   measure 'value', scope province   the province's observation;
#   measure 'rank'                    the province's rank among the 34 (demo if any ranked value is);
#   scope communes                    the sum over the province's communes (a rate: 100 * sum of
#                                     numerators / sum of denominators);
#   scope national                    the national value (summed counts, recomputed rates; indices
#                                     have no national value).
# ``agrees`` only for comparable figures (monthly values on the same basis): ranks equal, "=" equal
# at the published decimals, ">" / "<" as stated.
PUBLISHED_CHECK_VIEW = """
CREATE OR REPLACE VIEW published_check AS
WITH p AS (
    SELECT id, scope, province_code, compares_with AS indicator, measure, first_month AS period
    FROM ref.published WHERE first_month = last_month AND compares_with IS NOT NULL
), observed AS (
    SELECT p.id, o.value AS observed, o.is_demo
    FROM p JOIN observation o ON o.indicator = p.indicator AND o.level = 'province'
                             AND o.unit_code = p.province_code AND o.period = p.period
    WHERE p.scope = 'province' AND p.measure = 'value'
    UNION ALL
    SELECT p.id, r.rank, m.any_demo
    FROM p
    JOIN province_rank r ON r.indicator = p.indicator AND r.province_code = p.province_code AND r.period = p.period
    JOIN (SELECT indicator, period, bool_or(is_demo) AS any_demo FROM province_rank GROUP BY ALL) m
      ON m.indicator = r.indicator AND m.period = r.period
    WHERE p.measure = 'rank'
    UNION ALL
    SELECT p.id,
           CASE i.aggregation WHEN 'ratio' THEN 100 * sum(o.numerator) / nullif(sum(o.denominator), 0)
                              WHEN 'sum' THEN sum(o.value) END,
           bool_or(o.is_demo)
    FROM p
    JOIN indicator i ON i.code = p.indicator
    JOIN commune c ON c.province_code = p.province_code
    JOIN observation o ON o.indicator = p.indicator AND o.level = 'commune' AND o.unit_code = c.code
                      AND o.period = p.period
    WHERE p.scope = 'communes' AND p.measure = 'value'
    GROUP BY p.id, i.aggregation
    UNION ALL
    SELECT p.id,
           CASE i.aggregation WHEN 'ratio' THEN 100 * sum(o.numerator) / nullif(sum(o.denominator), 0)
                              WHEN 'sum' THEN sum(o.value) END,
           bool_or(o.is_demo)
    FROM p
    JOIN indicator i ON i.code = p.indicator
    JOIN observation o ON o.indicator = p.indicator AND o.level = 'province' AND o.period = p.period
    WHERE p.scope = 'national' AND p.measure = 'value'
    GROUP BY p.id, i.aggregation
)
SELECT f.id, f.scope, f.province_code, f.compares_with AS indicator, f.measure,
       CASE WHEN f.first_month = f.last_month THEN f.first_month END AS period,
       f.value AS published_value, f.comparison, o.observed AS warehouse_value,
       o.observed - f.value AS difference, o.is_demo, f.comparable, f.reason,
       CASE WHEN f.comparable AND o.observed IS NOT NULL THEN CASE
           WHEN f.measure = 'rank' THEN abs(o.observed - f.value) < 1e-9
           WHEN f.comparison = '=' THEN round(o.observed, f.decimals) = round(f.value, f.decimals)
           WHEN f.comparison = '>' THEN o.observed > f.value
           WHEN f.comparison = '<' THEN o.observed < f.value
       END END AS agrees
FROM ref.published f LEFT JOIN observed o USING (id)
ORDER BY f.row_number;
"""

# The documented contract (docs/sql-views.md). Extra columns may follow the required ones.
VIEWS = """
CREATE OR REPLACE VIEW province AS
    SELECT p.code, p.name, p.name_ascii, p.kind, p.region, p.lat, p.lon, p.area_km2, p.n_communes,
           p.full_name, pop.population, pop.year AS population_year, pop.basis AS population_basis
    FROM ref.province p
    LEFT JOIN ref.population pop ON pop.province_code = p.code AND pop.is_primary;
CREATE OR REPLACE VIEW population AS
    SELECT province_code, population, area_km2, year, basis, reference, source_url, is_primary, note,
           province, quote
    FROM ref.population ORDER BY NOT is_primary, province_code, row_number;
CREATE OR REPLACE VIEW commune AS
    SELECT code, name, name_ascii, kind, province_code, lat, lon, area_km2 FROM ref.commune;
CREATE OR REPLACE VIEW legacy_province AS
    SELECT code, name, province_code, full_name, name_ascii FROM ref.legacy_province;
CREATE OR REPLACE VIEW indicator AS
    SELECT code, name_vi, name_en, unit, decimals, higher_is_better, numerator, denominator,
           definition, definition_en, aggregation, levels, topic, max_value, components,
           legal_basis, sort_order, per_capita
    FROM ref.indicator;
CREATE OR REPLACE VIEW target AS SELECT * FROM ref.target;
CREATE OR REPLACE VIEW index766_group AS
    SELECT valid_from, valid_to, indicator, max_value, position, n_groups, portal_field, method_vi,
           method_en, basis
    FROM ref.index766_group ORDER BY valid_from, position;
CREATE OR REPLACE VIEW region AS SELECT * FROM ref.region;
CREATE OR REPLACE VIEW observation AS
    SELECT indicator, period, level, unit_code, value, numerator, denominator, source_id,
           is_demo, load_id
    FROM pub.observation;
CREATE OR REPLACE VIEW province_rank AS
    SELECT indicator, period, province_code, value, rank, n_ranked, rank_change, is_demo
    FROM pub.province_rank;
CREATE OR REPLACE VIEW commune_rank AS
    SELECT indicator, period, commune_code, province_code, value, rank_in_province,
           n_in_province, rank_national, n_national, is_demo
    FROM pub.commune_rank;
CREATE OR REPLACE VIEW press_fact AS
    SELECT id, entity, statement, value, unit, period, period_is_approximate, source_url,
           statement_en, comparison, unit_code, indicator, level, "check", fact_no
    FROM ref.press_fact;
CREATE OR REPLACE VIEW source AS
    SELECT id, producer, url, version, licence, checksum, loaded_at, description FROM ref.source;
CREATE OR REPLACE VIEW load_history AS
    SELECT * FROM meta.load ORDER BY load_id;
CREATE OR REPLACE VIEW event AS
    SELECT date, strftime(date, '%Y-%m') AS period, label_vi, label_en, kind, source_id, topic FROM ref.event;
CREATE OR REPLACE VIEW published AS
    SELECT id, scope, province_code, indicator, name_vi, name_en, period, as_of, value, comparison, unit_code,
           basis_vi, basis_en, comparable, reason, source_url, first_month, last_month, out_of, decimals,
           suffix_vi, suffix_en, compares_with, measure, province, unit, quote, note
    FROM ref.published ORDER BY row_number;
""" + FACT_CHECK_VIEW + PUBLISHED_CHECK_VIEW


class WarehouseError(Exception):
    """The warehouse cannot be read or written as asked. The message is one line for the user
    (commands print it without a traceback) and says what, if anything, changed."""


class WarehouseUnreadable(WarehouseError):
    """The file exists but is not a readable DX warehouse (truncated, overwritten, damaged)."""


class WriteFailed(WarehouseError):
    """Writing the warehouse copy, the raw archive or the manifest failed (disk full...)."""


class RebuildRefused(WarehouseError):
    """A rebuild would lose or change a recorded load, or was asked for something unsafe."""


class SchemaOutdated(WarehouseError):
    """The warehouse was built by an older version of the ETL: only a rebuild may change it."""


def _reason(exc: BaseException) -> str:
    """Why a read or write failed, in a few words and without the server's paths."""
    if isinstance(exc, OSError):
        return exc.strerror or type(exc).__name__
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    for pattern, reason in (
        ("not a valid DuckDB database file", "not a DuckDB database file"),
        ("Could not read enough bytes", "the file is truncated"),
        ("Corrupt database file", "the file is damaged (a block fails its checksum)"),
        ("does not exist", "not a DX warehouse (it has no load record)"),
    ):
        if pattern in message:
            return reason
    found = re.search(r"(No space left on device|File too large|Disk quota exceeded|Read-only file system"
                      r"|Permission denied|Input/output error)", message)
    if found:
        return found.group(1)
    return re.sub(r'"[^"]*"', "a file", message.removeprefix("IO Error: "))


def _is_damage(exc: BaseException) -> bool:
    """A DuckDB error that means the file cannot be read (rather than a bug in a query)."""
    return isinstance(exc, duckdb.Error) and any(
        marker in str(exc) for marker in ("Corrupt database file", "Could not read", "not a valid DuckDB database"))


STORAGE_ERRNOS = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT, errno.EROFS, errno.EIO}
STORAGE_MESSAGES = ("Could not write", "No space left on device", "File too large", "Disk quota exceeded",
                    "Read-only file system", "Could not fsync", "Could not truncate")


def _is_storage_failure(exc: BaseException) -> bool:
    """The disk refused a write (full, too large, read-only), whoever was writing."""
    if isinstance(exc, OSError):
        return exc.errno in STORAGE_ERRNOS
    return isinstance(exc, duckdb.Error) and any(marker in str(exc) for marker in STORAGE_MESSAGES)


def unreadable(path: Path, exc: BaseException) -> WarehouseUnreadable:
    return WarehouseUnreadable(f"cannot read the warehouse {path}: {_reason(exc)}")


def write_failed(what: str, exc: BaseException, outcome: str = "nothing was changed") -> WriteFailed:
    return WriteFailed(f"could not write {what} ({_reason(exc)}); {outcome}")


def connect(path: Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """A connection that never tries to download an extension (we run offline)."""
    con = duckdb.connect(str(path), read_only=read_only, config=DUCKDB_CONFIG)
    con.execute("SET enable_progress_bar = false")
    return con


def create_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(DDL)
    con.execute("INSERT INTO meta.build_info (key, value) VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])


def publish(con: duckdb.DuckDBPyConnection, touched: list[tuple[str, str, str]] | None = None) -> None:
    """Recompute what readers see from the clean layer (current values, then ranks).

    ``touched`` lists the (indicator, level, period) keys a change affected; only those (and
    what depends on them: rates of touched counts, the next month's rank change) are
    recomputed. ``None`` recomputes everything (a build).

    Current value: the newest load that is not undone wins, so a report file (load id > 0)
    supersedes demo data (load 0) for the same indicator, period, level and unit.
    A rate is re-derived from its current numerator and denominator counts whenever both
    exist and are at least as new as the rate row, so counts and rates always agree.
    """
    _define_scope(con, touched)
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE current_obs AS
        SELECT h.* FROM clean.observation_history h
        JOIN meta.load l USING (load_id)
        SEMI JOIN publish_inputs s USING (indicator, level, period)
        WHERE l.status = 'loaded'
        QUALIFY row_number() OVER (
            PARTITION BY indicator, period, level, unit_code ORDER BY load_id DESC) = 1
        """
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE derived_rates AS
        SELECT i.code AS indicator, n.period, n.level, n.unit_code,
               CASE WHEN d.value > 0 THEN 100.0 * n.value / d.value END AS value,
               n.value AS numerator, d.value AS denominator,
               CASE WHEN n.load_id >= d.load_id THEN n.source_id ELSE d.source_id END AS source_id,
               n.is_demo OR d.is_demo AS is_demo,
               greatest(n.load_id, d.load_id) AS load_id
        FROM ref.indicator i
        JOIN current_obs n ON n.indicator = i.numerator
        JOIN current_obs d ON d.indicator = i.denominator
             AND d.period = n.period AND d.level = n.level AND d.unit_code = n.unit_code
        WHERE i.aggregation = 'ratio'
        """
    )
    con.execute("DELETE FROM pub.observation o USING publish_scope s "
                "WHERE o.indicator = s.indicator AND o.level = s.level AND o.period = s.period")
    con.execute(
        """
        INSERT INTO pub.observation BY NAME
        WITH merged AS (
            SELECT c.indicator, c.period, c.level, c.unit_code,
                   coalesce(CASE WHEN r.load_id >= c.load_id THEN r.value END, c.value) AS value,
                   coalesce(CASE WHEN r.load_id >= c.load_id THEN r.numerator END, c.numerator) AS numerator,
                   coalesce(CASE WHEN r.load_id >= c.load_id THEN r.denominator END, c.denominator) AS denominator,
                   coalesce(CASE WHEN r.load_id >= c.load_id THEN r.source_id END, c.source_id) AS source_id,
                   coalesce(CASE WHEN r.load_id >= c.load_id THEN r.is_demo END, c.is_demo) AS is_demo,
                   greatest(c.load_id, coalesce(r.load_id, c.load_id)) AS load_id
            FROM current_obs c
            LEFT JOIN derived_rates r USING (indicator, period, level, unit_code)
            UNION ALL BY NAME
            SELECT r.* FROM derived_rates r
            ANTI JOIN current_obs c USING (indicator, period, level, unit_code)
        )
        SELECT m.* FROM merged m SEMI JOIN publish_scope s USING (indicator, level, period)
        WHERE m.value IS NOT NULL
        ORDER BY level, indicator, period, unit_code
        """
    )
    _publish_ranks(con)
    con.execute(VIEWS)


def _define_scope(con: duckdb.DuckDBPyConnection, touched: list[tuple[str, str, str]] | None) -> None:
    """publish_scope: keys to recompute; publish_inputs: keys whose rows they are built from."""
    if touched is None:
        con.execute("CREATE OR REPLACE TEMP TABLE touched AS "
                    "SELECT DISTINCT indicator, level, period FROM clean.observation_history")
    else:
        con.execute("CREATE OR REPLACE TEMP TABLE touched (indicator VARCHAR, level VARCHAR, period VARCHAR)")
        if touched:
            con.executemany("INSERT INTO touched (indicator, level, period) VALUES (?, ?, ?)",
                            [tuple(t) for t in touched])
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE publish_scope AS
        SELECT DISTINCT * FROM (
            SELECT indicator, level, period FROM touched
            UNION ALL
            SELECT i.code, t.level, t.period FROM touched t
            JOIN ref.indicator i ON t.indicator IN (i.numerator, i.denominator))
        """
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE publish_inputs AS
        SELECT DISTINCT * FROM (
            SELECT indicator, level, period FROM publish_scope
            UNION ALL
            SELECT unnest([i.numerator, i.denominator]), s.level, s.period FROM publish_scope s
            JOIN ref.indicator i ON i.code = s.indicator AND i.aggregation = 'ratio')
        """
    )


def _publish_ranks(con: duckdb.DuckDBPyConnection) -> None:
    """Ranks of the scope's (indicator, period) and, for rank_change, of the month after.

    Rank 1 is best by the indicator's direction; ties share the best rank (SQL RANK)."""
    con.execute("CREATE OR REPLACE TEMP MACRO best_first(higher_is_better, v) AS "
                "CASE WHEN higher_is_better THEN -v ELSE v END")
    con.execute("CREATE OR REPLACE TEMP MACRO shift_month(p, n) AS "
                "strftime(strptime(p || '-01', '%Y-%m-%d') + to_months(n), '%Y-%m')")
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE rank_scope AS
        SELECT DISTINCT indicator, level, period FROM (
            SELECT indicator, level, period FROM publish_scope
            UNION ALL
            SELECT indicator, level,
                   shift_month(period, 1)
            FROM publish_scope)
        """
    )
    con.execute("DELETE FROM pub.province_rank r USING rank_scope s "
                "WHERE s.level = 'province' AND r.indicator = s.indicator AND r.period = s.period")
    con.execute(
        """
        INSERT INTO pub.province_rank BY NAME
        WITH wanted AS (
            SELECT indicator, period FROM rank_scope WHERE level = 'province'
            UNION
            SELECT indicator,
                   shift_month(period, -1)
            FROM rank_scope WHERE level = 'province'),
        ranked AS (
            SELECT o.indicator, o.period, o.unit_code AS province_code, o.value, o.is_demo,
                   CAST(rank() OVER (PARTITION BY o.indicator, o.period
                                     ORDER BY best_first(i.higher_is_better, o.value))
                        AS INTEGER) AS rank,
                   CAST(count(*) OVER (PARTITION BY o.indicator, o.period) AS INTEGER) AS n_ranked
            FROM pub.observation o
            JOIN ref.indicator i ON i.code = o.indicator
            SEMI JOIN wanted w USING (indicator, period)
            WHERE o.level = 'province'
        )
        SELECT r.*, p.rank - r.rank AS rank_change
        FROM ranked r
        SEMI JOIN rank_scope s ON s.level = 'province' AND s.indicator = r.indicator AND s.period = r.period
        LEFT JOIN ranked p
          ON p.indicator = r.indicator AND p.province_code = r.province_code
         AND p.period = shift_month(r.period, -1)
        ORDER BY indicator, period, rank
        """
    )
    con.execute("DELETE FROM pub.commune_rank r USING publish_scope s "
                "WHERE s.level = 'commune' AND r.indicator = s.indicator AND r.period = s.period")
    con.execute(
        """
        INSERT INTO pub.commune_rank BY NAME
        SELECT o.indicator, o.period, o.unit_code AS commune_code, c.province_code, o.value, o.is_demo,
               CAST(rank() OVER (PARTITION BY o.indicator, o.period, c.province_code
                                 ORDER BY best_first(i.higher_is_better, o.value)) AS INTEGER) AS rank_in_province,
               CAST(count(*) OVER (PARTITION BY o.indicator, o.period, c.province_code) AS INTEGER) AS n_in_province,
               CAST(rank() OVER (PARTITION BY o.indicator, o.period
                                 ORDER BY best_first(i.higher_is_better, o.value)) AS INTEGER) AS rank_national,
               CAST(count(*) OVER (PARTITION BY o.indicator, o.period) AS INTEGER) AS n_national
        FROM pub.observation o
        JOIN ref.indicator i ON i.code = o.indicator
        JOIN ref.commune c ON c.code = o.unit_code
        SEMI JOIN publish_scope s USING (indicator, level, period)
        WHERE o.level = 'commune'
        ORDER BY indicator, period, province_code, rank_in_province
        """
    )


def _probe(con: duckdb.DuckDBPyConnection, schema: str = "") -> None:
    """Fail now, not half-way, if this is not a DX warehouse or its record cannot be read."""
    prefix = f"{schema}." if schema else ""
    for table in ("meta.build_info", "meta.load", "raw.file"):
        con.execute(f"SELECT count(*) FROM {prefix}{table}").fetchall()


@contextlib.contextmanager
def reading(path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only view of the published warehouse, attached as ``wh``; a fresh connection
    each time, so never a cached old snapshot. Raises FileNotFoundError when there is no
    file and :class:`WarehouseUnreadable` when it cannot be read, also when a damaged block
    is only met by a later query."""
    if not path.exists():
        raise FileNotFoundError(f"no warehouse at {path}: run `python -m etl build` first")
    con = duckdb.connect(config=DUCKDB_CONFIG)
    try:
        literal = str(path).replace("'", "''")
        try:
            con.execute(f"ATTACH '{literal}' AS wh (READ_ONLY)")
            _probe(con, "wh")
        except duckdb.Error as exc:
            raise unreadable(path, exc) from exc
        try:
            yield con
        except duckdb.Error as exc:
            if _is_damage(exc):
                raise unreadable(path, exc) from exc
            raise
    finally:
        con.close()


def schema_version(path: Path) -> int | None:
    """The schema version of an existing warehouse file (None if it records none).
    Raises :class:`WarehouseUnreadable` for a file that cannot be read."""
    with reading(path) as con:
        row = con.execute("SELECT value FROM wh.meta.build_info WHERE key = 'schema_version'").fetchone()
        return int(row[0]) if row else None


RECORD_TIMES = ("received_at", "started_at", "finished_at", "undone_at")


def recorded_loads(con: duckdb.DuckDBPyConnection, schema: str = "") -> list[dict]:
    """The load record: every load after the demo data (load id > 0), oldest first, with the
    file it came from. This is what a rebuild replays and what the recovery manifest holds;
    JSON-ready (times as ISO text, options as a dict). A rebuild runs it on the warehouse it
    replaces, so it must keep working on every older schema version."""
    prefix = f"{schema}." if schema else ""
    cursor = con.execute(f"""
        SELECT l.load_id, l.kind, l.file_name, l.sha256, l.status, l.options,
               coalesce(f.uploader, l.uploader) AS uploader, f.received_at, l.started_at,
               l.finished_at, l.undone_at, l.rows_read, l.rows_loaded, l.rows_rejected,
               f.size_bytes, f.archived_path
        FROM {prefix}meta.load l LEFT JOIN {prefix}raw.file f USING (load_id)
        WHERE l.load_id > 0 ORDER BY l.load_id
    """)
    keys = [column[0] for column in cursor.description]
    loads = []
    for row in cursor.fetchall():
        entry = dict(zip(keys, row))
        entry["options"] = json.loads(entry["options"] or "{}")
        for key in RECORD_TIMES:
            if entry[key] is not None:
                entry[key] = entry[key].isoformat(sep=" ")
        loads.append(entry)
    return loads


def read_manifest(path: Path) -> list[dict]:
    """The recovery copy of ``path``'s load record, for rebuilding a lost warehouse."""
    manifest = paths.manifest_path(path)
    if not manifest.exists():
        raise RebuildRefused(f"there is no recovery manifest {manifest}: nothing to recover {path.name} from")
    loads = []
    for number, line in enumerate(manifest.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            loads.append(json.loads(line))
        except json.JSONDecodeError:
            raise RebuildRefused(f"the recovery manifest {manifest} is damaged (line {number})") from None
    return sorted(loads, key=lambda entry: entry["load_id"])


def _write_manifest(con: duckdb.DuckDBPyConnection, target: Path) -> None:
    """The new state's load record, to ``target`` (a temporary name; fsynced)."""
    text = "".join(json.dumps(entry, ensure_ascii=False) + "\n" for entry in recorded_loads(con))
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "w", encoding="utf-8") as out:
        out.write(text)
        out.flush()
        os.fsync(out.fileno())


@contextlib.contextmanager
def writer_lock(path: Path) -> Iterator[None]:
    """One writer at a time (build, load, undo); readers are never blocked."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _temp_path(path: Path) -> Path:
    return path.with_name(f"{path.name}.tmp-{os.getpid()}")


def _discard(temp: Path) -> None:
    for leftover in (temp, temp.with_name(temp.name + ".wal")):
        leftover.unlink(missing_ok=True)


def _fsync_dir(directory: Path) -> None:
    handle = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def _commit_file(con: duckdb.DuckDBPyConnection, temp: Path, path: Path) -> None:
    con.execute("CHECKPOINT")
    con.close()
    with open(temp, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(temp, path)
    _fsync_dir(path.parent)


def _open_temp(path: Path, temp: Path, copy_existing: bool) -> duckdb.DuckDBPyConnection:
    """The temporary file to change: a copy of ``path`` or a new file (removed on failure)."""
    try:
        if copy_existing:
            shutil.copyfile(path, temp)
        con = connect(temp)
    except (OSError, duckdb.Error) as exc:
        _discard(temp)
        if copy_existing and _is_damage(exc):
            raise unreadable(path, exc) from exc
        raise write_failed(f"a working copy beside {path}", exc) from exc
    if copy_existing:
        try:
            _probe(con)
        except duckdb.Error as exc:
            con.close()
            _discard(temp)
            raise unreadable(path, exc) from exc
    return con


@contextlib.contextmanager
def _replacing(path: Path, copy_existing: bool) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to a temporary file beside ``path`` that replaces it only on success.

    Under the writer lock, the new state's recovery manifest is written to a temporary file
    before the warehouse is replaced and moved into place right after. A failure (disk full,
    a damaged file, an error of the caller) removes both temporary files and changes nothing.
    A kill leaves the published file untouched or, between the two moves, published beside
    the previous manifest (and stale ``*.tmp-PID`` files, removed by the next writer); the
    warehouse is the record a rebuild replays, so a stale manifest never drops a load.
    """
    manifest = paths.manifest_path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise write_failed(f"the warehouse folder {path.parent}", exc) from exc
    with writer_lock(path):
        for stale in [*path.parent.glob(path.name + ".tmp-*"), *manifest.parent.glob(manifest.name + ".tmp-*")]:
            stale.unlink(missing_ok=True)
        temp, manifest_temp = _temp_path(path), _temp_path(manifest)
        con = _open_temp(path, temp, copy_existing)
        try:
            yield con
            try:
                _write_manifest(con, manifest_temp)
            except OSError as exc:
                raise write_failed(f"the recovery manifest {manifest.name} in the raw archive", exc) from exc
            try:
                _commit_file(con, temp, path)
            except (OSError, duckdb.Error) as exc:
                raise write_failed(f"the new warehouse beside {path}", exc) from exc
        except BaseException as exc:
            with contextlib.suppress(Exception):
                con.close()
            _discard(temp)
            manifest_temp.unlink(missing_ok=True)
            if copy_existing and _is_damage(exc):
                raise unreadable(path, exc) from exc
            if _is_storage_failure(exc):
                raise write_failed(f"the new warehouse beside {path}", exc) from exc
            raise
        try:
            os.replace(manifest_temp, manifest)
            _fsync_dir(manifest.parent)
        except OSError as exc:
            raise write_failed(f"the recovery manifest {manifest.name} in the raw archive", exc,
                               f"{path} was updated; the next load, undo or build rewrites the manifest") from exc


@contextlib.contextmanager
def creating(path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """Build a new warehouse in a temporary file; it replaces ``path`` only on success."""
    with _replacing(path, copy_existing=False) as con:
        create_schema(con)
        yield con
        publish(con)


@contextlib.contextmanager
def updating(path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """Change a copy of the published warehouse; it replaces the original only on success.

    The app keeps reading the old file and sees the new one on its next query.
    """
    if not path.exists():
        raise FileNotFoundError(f"no warehouse at {path}: run `python -m etl build` first")
    with _replacing(path, copy_existing=True) as con:
        _require_current_schema(con, path)
        loads_before = dict(con.execute("SELECT load_id, status FROM meta.load").fetchall())
        yield con
        publish(con, _touched_by_loads(con, loads_before))


def _require_current_schema(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """A change to a warehouse of an older schema would publish into tables and views it lacks."""
    row = con.execute("SELECT value FROM meta.build_info WHERE key = 'schema_version'").fetchone()
    version = int(row[0]) if row else None
    if version != SCHEMA_VERSION:
        raise SchemaOutdated(
            f"{path} has schema {version}, this program writes schema {SCHEMA_VERSION}; nothing was changed. "
            "Run `python -m etl ensure` first (it rebuilds the warehouse and keeps every recorded load)")


def _touched_by_loads(con: duckdb.DuckDBPyConnection, loads_before: dict[int, str]) -> list[tuple[str, str, str]]:
    """Keys of the rows of loads that are new or changed status (loaded/undone) since ``loads_before``."""
    changed = [
        load_id
        for load_id, status in con.execute("SELECT load_id, status FROM meta.load").fetchall()
        if loads_before.get(load_id) != status
    ]
    if not changed:
        return []
    return con.execute(
        "SELECT DISTINCT indicator, level, period FROM clean.observation_history WHERE list_contains(?, load_id)",
        [changed],
    ).fetchall()


def default_path() -> Path:
    return paths.warehouse_path()
