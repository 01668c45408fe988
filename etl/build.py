"""`python -m etl build`: reference geography, catalog, facts, demo data -> warehouse.

The whole warehouse is written to a temporary file and moved over the published one, so
an app reading it never sees a half-built state. Loaded report files are re-applied from
the raw archive afterwards, so a rebuild never loses real data.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pandas as pd

from etl import catalog, demo, facts, reference, sources, warehouse


def _insert(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame) -> None:
    con.register("incoming", frame)
    con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM incoming")
    con.unregister("incoming")


def load_reference(con: duckdb.DuckDBPyConnection, loaded_at: datetime) -> None:
    _insert(con, "raw.package_file", sources.package_files_frame(loaded_at))
    _insert(con, "ref.region", pd.read_csv(reference.paths.META / "regions.csv", dtype=str))
    _insert(con, "ref.province", reference.provinces())
    _insert(con, "ref.commune", reference.communes())
    _insert(con, "ref.legacy_province", reference.legacy_provinces().drop(columns="n_communes"))
    _insert(con, "ref.indicator", catalog.catalog_frame())
    _insert(con, "ref.target", catalog.targets_frame())
    _insert(con, "ref.press_fact", facts.facts_frame())
    _insert(con, "ref.source", sources.sources_frame(loaded_at))


def load_demo(con: duckdb.DuckDBPyConnection, loaded_at: datetime) -> demo.DemoData:
    data = demo.generate()
    con.execute(
        "INSERT INTO meta.load (load_id, kind, file_name, status, rows_read, rows_loaded, rows_rejected, "
        "uploader, started_at, finished_at) VALUES (0, 'demo', 'etl/demo.py', 'loaded', ?, ?, 0, 'build', ?, ?)",
        [len(data.observations), len(data.observations), loaded_at, loaded_at],
    )
    rows = data.observations.assign(load_id=0, source_id=demo.SOURCE_ID, is_demo=True, note=None)
    _insert(con, "clean.observation_history", rows)
    con.register("legacy_rows", data.legacy)
    con.execute(
        "CREATE TABLE clean.legacy_observation AS "
        "SELECT 0 AS load_id, indicator, period, legacy_code, value, numerator, denominator, TRUE AS is_demo "
        "FROM legacy_rows"
    )
    con.unregister("legacy_rows")
    return data


def build(path: Path | None = None, verbose: bool = True) -> dict:
    """Build the warehouse at ``path`` (default data/warehouse.duckdb or $DX_DB)."""
    path = path or warehouse.default_path()
    started = time.perf_counter()
    loaded_at = datetime.now(timezone.utc).replace(tzinfo=None)
    stats: dict = {}
    with warehouse.creating(path) as con:
        load_reference(con, loaded_at)
        data = load_demo(con, loaded_at)
        stats["demo_rows"] = len(data.observations)
        stats["legacy_rows_not_rebased"] = len(data.not_rebased)
        suspicious = reference.suspicious_areas()
        stats["suspicious_areas"] = [f"{r.code} {r.name}: {r.area_km2} km²" for r in suspicious.itertuples()]
        replay = _replay_hook()
        if replay is not None:
            stats["replayed_loads"] = replay(con)
    stats["seconds"] = round(time.perf_counter() - started, 2)
    stats["path"] = str(path)
    if verbose:
        _report(stats)
    return stats


def _replay_hook():
    """Re-apply archived report loads (etl.load), when that package is present."""
    try:
        from etl.load.archive import replay_archive
    except ImportError:
        return None
    return replay_archive


def _report(stats: dict) -> None:
    print(f"Warehouse written to {stats['path']} in {stats['seconds']} s")
    print(f"  demo observations: {stats['demo_rows']:,}")
    print(f"  legacy rows the re-basing rules refused (indices of merged provinces): "
          f"{stats['legacy_rows_not_rebased']:,}")
    if stats.get("replayed_loads"):
        print(f"  report loads re-applied from the raw archive: {stats['replayed_loads']}")
    if stats["suspicious_areas"]:
        print("  suspicious commune areas in vietnamadminunits (kept, reported):")
        for line in stats["suspicious_areas"]:
            print(f"    {line}")


def ensure(path: Path | None = None) -> bool:
    """Build only if the warehouse is missing or has an older schema. Returns True if built."""
    path = path or warehouse.default_path()
    if warehouse.schema_version(path) == warehouse.SCHEMA_VERSION:
        print(f"Warehouse {path} is up to date (schema {warehouse.SCHEMA_VERSION}).")
        return False
    build(path)
    return True
