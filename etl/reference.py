"""Reference geography from the registry packages (never hand-typed).

- ``vietnam-provinces``: GSO codes and official names of the 34 provinces and 3,321
  communes (the authority for codes and names).
- ``vietnamadminunits`` (MIT): commune centroids and areas, the 63 pre-merger provinces
  and the 63 -> 34 mapping. Its commune codes disagree with GSO for ~114 units, so it is
  joined on (province code, tone-normalised name), never on commune code.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import sqlite3
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import Path

import pandas as pd
import vietnam_provinces

from core import paths
from core.names import COMMUNE_PREFIXES, nfc, split_prefix, strip_diacritics, tone_key
from core.resolver import UnitResolver

VP_JSON = vietnam_provinces.NESTED_DIVISIONS_JSON_PATH
# Its data folder, found without importing the package (its parser takes ~0.5 s to import,
# which every `python -m etl` start, and so every check from Data refresh, would pay).
VAU_DIR = Path(importlib.util.find_spec("vietnamadminunits").origin).parent / "data"
VAU_DB = VAU_DIR / "dataset.db"
VAU_CONVERTER = VAU_DIR / "converter_2025.json"

KIND_BY_DIVISION = {"thành phố trung ương": "city", "tỉnh": "province"}
FULL_PREFIX = {"city": "Thành phố", "province": "Tỉnh"}


class ReferenceError_(RuntimeError):
    """The two packages disagree in a way the build must not paper over."""


@dataclass(frozen=True)
class PackageFile:
    """A file a registry package ships, with the checksum recorded in `source`."""

    package: str
    path: Path

    @property
    def version(self) -> str:
        return metadata.version(self.package)

    @property
    def sha256(self) -> str:
        return sha256_file(self.path)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


PACKAGE_FILES = {
    "vietnam-provinces": PackageFile("vietnam-provinces", VP_JSON),
    "vietnamadminunits": PackageFile("vietnamadminunits", VAU_DB),
    "vietnamadminunits-converter": PackageFile("vietnamadminunits", VAU_CONVERTER),
}


def _vau(sql: str) -> pd.DataFrame:
    with sqlite3.connect(f"file:{VAU_DB}?mode=ro", uri=True) as con:
        return pd.read_sql_query(sql, con)


def _short_province_name(full: str) -> str:
    for prefix in ("Thành phố ", "Tỉnh "):
        if full.startswith(prefix):
            return full[len(prefix):]
    return full


@cache
def _gso_divisions() -> list[dict]:
    return json.loads(VP_JSON.read_text(encoding="utf-8"))


def _commune_match_key(province_code: str, name: str) -> tuple[str, str]:
    kind, rest = split_prefix(name, COMMUNE_PREFIXES)
    return province_code, (kind or "") + "|" + tone_key(rest)


@cache
def communes() -> pd.DataFrame:
    """3,321 communes: GSO code and name, kind, province, centroid and area."""
    rows = []
    for province in _gso_divisions():
        province_code = f"{province['code']:02d}"
        for ward in province["wards"]:
            rows.append(
                {
                    "code": f"{ward['code']:05d}",
                    "name": nfc(ward["name"]),
                    "kind": ward["division_type"],
                    "province_code": province_code,
                }
            )
    gso = pd.DataFrame(rows)
    vau = _vau("SELECT provinceCode, ward, wardLat, wardLon, wardAreaKm2 FROM admin_units")
    vau["key"] = [_commune_match_key(p, w) for p, w in zip(vau.provinceCode, vau.ward)]
    gso["key"] = [_commune_match_key(p, n) for p, n in zip(gso.province_code, gso.name)]
    if vau.key.duplicated().any() or gso.key.duplicated().any():
        raise ReferenceError_("commune names are not unique within a province")
    merged = gso.merge(vau[["key", "wardLat", "wardLon", "wardAreaKm2"]], on="key", how="left")
    missing = merged[merged.wardLat.isna()]
    if len(missing):
        raise ReferenceError_(
            f"{len(missing)} communes have no centroid in vietnamadminunits: "
            + ", ".join(f"{r.code} {r.name}" for r in missing.head(10).itertuples())
        )
    merged = merged.rename(columns={"wardLat": "lat", "wardLon": "lon", "wardAreaKm2": "area_km2"})
    merged["name_ascii"] = merged.name.map(strip_diacritics)
    return merged[["code", "name", "name_ascii", "kind", "province_code", "lat", "lon", "area_km2"]]


@cache
def provinces() -> pd.DataFrame:
    """34 provinces with kind, region (data/meta), centroid, area and commune count."""
    rows = []
    for province in _gso_divisions():
        kind = KIND_BY_DIVISION[province["division_type"]]
        name = _short_province_name(nfc(province["name"]))
        rows.append(
            {
                "code": f"{province['code']:02d}",
                "name": name,
                "full_name": f"{FULL_PREFIX[kind]} {name}",
                "name_ascii": strip_diacritics(name),
                "kind": kind,
            }
        )
    frame = pd.DataFrame(rows)
    regions = pd.read_csv(paths.META / "province_regions.csv", dtype=str)
    frame = frame.merge(regions, on="code", how="left", validate="one_to_one")
    if frame.region.isna().any():
        raise ReferenceError_(f"no region for {list(frame[frame.region.isna()].code)}")
    centroids = _vau(
        "SELECT DISTINCT provinceCode AS code, provinceLat AS lat, provinceLon AS lon FROM admin_units"
    )
    frame = frame.merge(centroids, on="code", how="left", validate="one_to_one")
    stats = communes().groupby("province_code").agg(area_km2=("area_km2", "sum"), n_communes=("code", "size"))
    frame = frame.merge(stats, left_on="code", right_index=True, how="left")
    frame["area_km2"] = frame.area_km2.round(1)
    return frame[
        ["code", "name", "full_name", "name_ascii", "kind", "region", "lat", "lon", "area_km2", "n_communes"]
    ]


@cache
def legacy_provinces() -> pd.DataFrame:
    """The 63 pre-merger provinces, the new province each became part of, and how many
    communes each had before the 2025 reform (a size measure for the demo generator)."""
    legacy = _vau(
        "SELECT provinceCode AS code, province AS full_name, provinceKey AS key, "
        "provinceLat AS lat, provinceLon AS lon, count(*) AS n_communes "
        "FROM admin_units_legacy GROUP BY 1, 2, 3, 4, 5"
    )
    new_keys = _vau("SELECT DISTINCT provinceKey AS new_key, provinceCode AS province_code FROM admin_units")
    mapping = json.loads(VAU_CONVERTER.read_text(encoding="utf-8"))["DICT_PROVINCE"]
    old_to_new = {old: new for new, olds in mapping.items() for old in olds}
    legacy["new_key"] = legacy.key.map(old_to_new)
    legacy = legacy.merge(new_keys, on="new_key", how="left")
    if legacy.province_code.isna().any() or len(legacy) != 63:
        raise ReferenceError_("the 63 -> 34 mapping is incomplete")
    legacy["full_name"] = legacy.full_name.map(nfc)
    legacy["name"] = legacy.full_name.map(_short_province_name)
    legacy["name_ascii"] = legacy.name.map(strip_diacritics)
    return legacy.sort_values("code")[
        ["code", "name", "full_name", "name_ascii", "province_code", "lat", "lon", "n_communes"]
    ].reset_index(drop=True)


def suspicious_areas(frame: pd.DataFrame | None = None) -> pd.DataFrame:
    """Communes whose area is implausible for their kind, reported by the build (not hidden).

    A ward (phường) over 200 km², or any unit over 1,500 km² or under 0.1 km², is flagged.
    """
    frame = communes() if frame is None else frame
    flagged = frame[
        ((frame.kind == "phường") & (frame.area_km2 > 200))
        | (frame.area_km2 > 1500)
        | (frame.area_km2 < 0.1)
    ]
    return flagged


@cache
def resolver() -> UnitResolver:
    """The name resolver over the reference units (built once per process, ~1.5 s)."""
    return UnitResolver(provinces(), communes(), legacy_provinces())
