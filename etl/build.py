"""`python -m etl build`: reference geography, catalog, facts, events, demo data -> warehouse.

The whole warehouse is written to a temporary file and moved over the published one, so
an app reading it never sees a half-built state. The existing warehouse is the record of
what was loaded: its loads are re-applied from the raw archive, and a build that cannot
re-apply one of them refuses (nothing changes) rather than quietly dropping it. The ways
out are explicit (docs/operations.md, "Backups"):

- ``--drop-load N``    rebuild without load N (kept in the record as ``dropped``);
- ``--from-manifest``  no warehouse file: rebuild its loads from the recovery manifest;
- ``--force-new``      no warehouse file: start afresh, without the loads the manifest lists.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd

from core import catalog, paths
from etl import demo, events, facts, population, published, reference, sources, warehouse
from etl.load.apply import apply_replay, plan_replay


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
    _insert(con, "ref.index766_group", catalog.index766_groups_frame())
    _insert(con, "ref.press_fact", facts.facts_frame())
    _insert(con, "ref.published", published.published_frame())
    _insert(con, "ref.event", events.events_frame())
    _insert(con, "ref.source", sources.sources_frame(loaded_at))
    population.load(con)


def load_demo(con: duckdb.DuckDBPyConnection, loaded_at: datetime) -> demo.DemoData:
    data = demo.generate()
    con.execute(
        "INSERT INTO meta.load (load_id, kind, file_name, status, rows_read, rows_loaded, rows_rejected, "
        "uploader, started_at, finished_at) VALUES (0, 'demo', 'etl/demo.py', 'loaded', ?, ?, 0, 'build', ?, ?)",
        [len(data.observations), len(data.observations), loaded_at, loaded_at],
    )
    rows = data.observations.assign(load_id=0, source_id=demo.SOURCE_ID, is_demo=True, note=None)
    _insert(con, "clean.observation_history", rows)
    _insert(con, "clean.legacy_observation", data.legacy.assign(load_id=0, is_demo=True))
    return data


def build(path: Path | None = None, verbose: bool = True, *, from_manifest: bool = False,
          force_new: bool = False, drop_loads: tuple[int, ...] = ()) -> dict:
    """Build the warehouse at ``path`` (default data/warehouse.duckdb or $DX_DB), keeping its
    recorded loads. Raises :class:`etl.warehouse.WarehouseError` (nothing changed) when the
    existing warehouse cannot be read or a recorded load cannot be re-applied."""
    path = path or warehouse.default_path()
    started = time.perf_counter()
    loaded_at = datetime.now(UTC).replace(tzinfo=None)
    stats: dict = {}
    with warehouse.creating(path) as con:  # holds the writer lock: no load slips in meanwhile
        recorded, stats["record"] = _record_to_keep(path, from_manifest, force_new)
        replays = plan_replay(recorded, paths.raw_archive_dir(path), drop_loads)
        load_reference(con, loaded_at)
        data = load_demo(con, loaded_at)
        stats["demo_rows"] = len(data.observations)
        stats["legacy_rows_not_rebased"] = len(data.not_rebased)
        stats["demo_without_spec"] = list(data.without_spec)
        suspicious = reference.suspicious_areas()
        stats["suspicious_areas"] = [f"{r.code} {r.name}: {r.area_km2} km²" for r in suspicious.itertuples()]
        stats["replayed_loads"] = apply_replay(con, replays)
        stats["dropped_now"] = [r.entry["load_id"] for r in replays if r.drop_now]
    stats["seconds"] = round(time.perf_counter() - started, 2)
    stats["path"] = str(path)
    if verbose:
        _report(stats)
    return stats


def _record_to_keep(path: Path, from_manifest: bool, force_new: bool) -> tuple[list[dict], str]:
    """The loads the new warehouse must keep, and where they were read from."""
    if path.exists():
        if from_manifest or force_new:
            raise warehouse.RebuildRefused(
                f"{path} exists: --from-manifest and --force-new only build where there is no warehouse "
                "(move it aside first; docs/operations.md)")
        try:
            with warehouse.reading(path) as con:
                return warehouse.recorded_loads(con, "wh"), "the warehouse"
        except warehouse.WarehouseUnreadable as exc:
            raise warehouse.WarehouseUnreadable(
                f"{exc}. It is the record of what was loaded, so it was not replaced: restore it from a "
                "backup, or move it aside and run `python -m etl build --from-manifest` (docs/operations.md)"
            ) from exc
    if force_new:
        return [], "nothing (--force-new)"
    if from_manifest:
        return warehouse.read_manifest(path), "the recovery manifest"
    manifest = paths.manifest_path(path)
    if manifest.exists() and manifest.read_text(encoding="utf-8").strip():
        raise warehouse.RebuildRefused(
            f"there is no warehouse at {path}, but its recovery manifest lists loads: rebuild them with "
            "`python -m etl build --from-manifest`, or start without them with `python -m etl build --force-new` "
            "(docs/operations.md)")
    return [], "nothing (new warehouse)"


def _report(stats: dict) -> None:
    print(f"Warehouse written to {stats['path']} in {stats['seconds']} s")
    print(f"  demo observations: {stats['demo_rows']:,}")
    print(f"  legacy rows the re-basing rules refused (indices of merged provinces): "
          f"{stats['legacy_rows_not_rebased']:,}")
    if stats["demo_without_spec"]:
        print(f"  catalog indicators without a demo spec (data/meta/demo.toml), so no demo values: "
              f"{', '.join(stats['demo_without_spec'])}")
    if stats.get("replayed_loads"):
        print(f"  loads re-applied from the raw archive (as recorded in {stats['record']}): {stats['replayed_loads']}")
    if stats.get("dropped_now"):
        print(f"  loads dropped now (kept in the history as dropped): {', '.join(map(str, stats['dropped_now']))}")
    if stats["suspicious_areas"]:
        print("  suspicious commune areas in vietnamadminunits (kept, reported):")
        for line in stats["suspicious_areas"]:
            print(f"    {line}")


def ensure(path: Path | None = None) -> bool:
    """Build only if the warehouse is missing or has an older schema. Returns True if built.
    A file that cannot be read is never built over: :func:`build` refuses it."""
    path = path or warehouse.default_path()
    if path.exists():
        try:
            version = warehouse.schema_version(path)
        except warehouse.WarehouseUnreadable:
            version = None
        if version == warehouse.SCHEMA_VERSION:
            print(f"Warehouse {path} is up to date (schema {warehouse.SCHEMA_VERSION}).")
            return False
    build(path)
    return True
