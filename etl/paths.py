"""Where things live. `DX_DB` overrides the warehouse path (tests build into temp dirs)."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
META = DATA / "meta"
GEO = DATA / "geo"
PROVINCES_GEOJSON = GEO / "provinces_34.geojson"


def warehouse_path() -> Path:
    return Path(os.environ.get("DX_DB", DATA / "warehouse.duckdb")).resolve()


def raw_archive_dir() -> Path:
    """Raw files kept exactly as received, next to the warehouse they were loaded into."""
    return Path(os.environ.get("DX_RAW", warehouse_path().parent / "raw")).resolve()
