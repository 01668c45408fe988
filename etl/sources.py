"""The sources table: every dataset in the warehouse with producer, version, licence,
checksum and load time (data/meta/sources.toml plus one row per loaded report file)."""

from __future__ import annotations

import tomllib
from datetime import datetime
from importlib import metadata

import pandas as pd

from core import paths
from etl.reference import PACKAGE_FILES, sha256_file

SOURCES_FILE = paths.META / "sources.toml"


def _checksum(target: str) -> str:
    if target.startswith("package:"):
        return PACKAGE_FILES[target.removeprefix("package:")].sha256
    return sha256_file(paths.ROOT / target)


def sources_frame(loaded_at: datetime) -> pd.DataFrame:
    rows = []
    for entry in tomllib.loads(SOURCES_FILE.read_text(encoding="utf-8"))["source"]:
        version = metadata.version(entry["version_of"]) if "version_of" in entry else entry["version"]
        rows.append(
            {
                "id": entry["id"],
                "producer": entry["producer"],
                "url": entry["url"],
                "version": version,
                "licence": entry["licence"],
                "checksum": _checksum(entry["checksum_of"]),
                "loaded_at": loaded_at,
                "description": entry["description"],
            }
        )
    return pd.DataFrame(rows)


def package_files_frame(loaded_at: datetime) -> pd.DataFrame:
    """Reference package files as received (the raw layer of the reference geography)."""
    return pd.DataFrame(
        [
            {
                "dataset": dataset,
                "package": f.package,
                "version": f.version,
                "path": f.path.name,
                "sha256": f.sha256,
                "loaded_at": loaded_at,
            }
            for dataset, f in PACKAGE_FILES.items()
        ]
    )
