"""Where things live. `DX_DB` overrides the warehouse path (tests build into temp dirs),
`DX_CATALOG` the indicator catalog (a test adds a throwaway indicator to a copy)."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
META = DATA / "meta"
GEO = DATA / "geo"
PROVINCES_GEOJSON = GEO / "provinces_34.geojson"


def catalog_file() -> Path:
    return _resolved(os.environ.get("DX_CATALOG") or str(META / "indicators.toml"))


def warehouse_path() -> Path:
    return _resolved(os.environ.get("DX_DB") or str(DATA / "warehouse.duckdb"))


@cache
def _resolved(path: str) -> Path:
    """An absolute path, resolved once per spelling: every page run asks for the catalog and
    the warehouse a hundred times, and each resolve costs filesystem calls (~50 µs)."""
    return Path(path).resolve()


def raw_archive_dir(warehouse: str | Path | None = None) -> Path:
    """Raw files kept exactly as received, in ``raw/`` next to the warehouse they were loaded
    into (``warehouse``, default the configured one).

    ``DX_RAW`` moves the archive of the configured warehouse (``DX_DB`` or the default) only:
    a warehouse named explicitly (``--db OTHER``) keeps its archive next to itself, so a load
    into OTHER never writes into the configured warehouse's archive.
    """
    target = Path(warehouse).resolve() if warehouse is not None else warehouse_path()
    if os.environ.get("DX_RAW") and target == warehouse_path():
        return Path(os.environ["DX_RAW"]).resolve()
    return target.parent / "raw"


def manifest_path(warehouse: str | Path | None = None) -> Path:
    """The recovery copy of a warehouse's load record, in its raw archive and named after it
    (two warehouses in one folder share the archived files, never the manifest)."""
    target = Path(warehouse).resolve() if warehouse is not None else warehouse_path()
    return raw_archive_dir(target) / f"{target.name}.manifest.jsonl"
