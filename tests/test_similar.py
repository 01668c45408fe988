"""Similar provinces (core/similar.py): nearest neighbours on standardised context. On a
constructed context the answer is known (a near twin is neighbour 1, distances are symmetric,
a province is never its own neighbour, ties go to the lower code); on the real warehouse
Phú Thọ's and Hà Nội's five are named."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from core import similar

EQUAL = similar.Scheme(neighbours=5, region=1.0, features=tuple((f, 1.0) for f in similar.FEATURES),
                       ward_share_unit="percent")


def context(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["code", "population", "area_km2", "n_communes", "ward_share", "region"])


SEVEN = context([
    ("01", 8_000_000, 3_000, 120, 0.40, "north"),
    ("02", 7_900_000, 3_100, 118, 0.39, "north"),  # Hà Nội's near twin
    ("03", 1_000_000, 9_000, 50, 0.05, "north"),
    ("04", 1_100_000, 9_500, 52, 0.06, "north"),
    ("05", 4_000_000, 6_000, 100, 0.20, "south"),
    ("06", 4_000_000, 6_000, 100, 0.20, "south"),  # identical to 05
    ("07", 14_000_000, 6_500, 160, 0.65, "south"),
])


def test_a_near_twin_is_neighbour_1_and_a_province_is_never_its_own_neighbour():
    found = similar.neighbours(SEVEN, "01", EQUAL)
    assert found["code"].tolist()[0] == "02"
    assert "01" not in found["code"].tolist()
    assert len(found) == 5 and found["order"].tolist() == [1, 2, 3, 4, 5]
    assert found["distance"].is_monotonic_increasing


def test_distances_are_symmetric_and_zero_only_on_the_diagonal_or_for_identical_provinces():
    d = similar.distances(SEVEN, EQUAL)
    assert (d.to_numpy() == d.to_numpy().T).all()
    assert (d.to_numpy().diagonal() == 0).all()
    assert d.loc["05", "06"] == 0
    assert d.loc["01", "02"] < d.loc["01", "03"]


def test_identical_provinces_tie_and_the_lower_code_goes_first():
    found = similar.neighbours(SEVEN, "07", EQUAL)
    tied = found[found["code"].isin(["05", "06"])]
    assert tied["distance"].nunique() == 1
    assert tied["code"].tolist() == ["05", "06"]


def test_a_different_region_adds_its_weight_to_the_squared_distance():
    pair = context([("01", 1e6, 1e3, 10, 0.1, "a"), ("02", 1e6, 1e3, 10, 0.1, "b"),
                    ("03", 2e6, 2e3, 20, 0.2, "a")])
    assert similar.distances(pair, EQUAL).loc["01", "02"] == 1.0
    assert similar.neighbours(pair, "01", EQUAL)["code"].tolist()[0] == "02"
    # 03 is 3/√2 standard deviations away on each of the 4 features: a squared distance of 18
    assert round(similar.distances(pair, EQUAL).loc["01", "03"] ** 2, 9) == 18
    heavy = dataclasses.replace(EQUAL, neighbours=1, region=20.0)
    assert similar.neighbours(pair, "01", heavy)["code"].tolist() == ["03"]  # the region now outweighs the rest


def test_a_feature_weighted_0_is_left_out():
    only_size = dataclasses.replace(EQUAL, neighbours=1, region=0.0, features=(
        ("log_population", 1.0), ("log_area", 0.0), ("communes", 0.0), ("ward_share", 0.0)))
    # 05 and 07 differ in everything but region; by population alone 01 (8 m) is nearest 07 (14 m)
    assert similar.neighbours(SEVEN, "07", only_size)["code"].tolist() == ["01"]


def test_the_scheme_file_weighs_every_feature_and_names_five_neighbours():
    how = similar.scheme()
    assert how.neighbours == 5 and how.region == 1.0 and how.ward_share_unit == "percent"
    assert dict(how.features) == dict.fromkeys(similar.FEATURES, 1.0)


def test_a_scheme_file_that_forgets_a_feature_is_refused(tmp_path):
    path = tmp_path / "similar.toml"
    path.write_text('neighbours = 5\nregion = 1.0\n[features]\nlog_population = 1.0\n', encoding="utf-8")
    with pytest.raises(ValueError, match="must weigh exactly"):
        similar.scheme(path)


# ----------------------------------------------------------------------------- the real warehouse


@pytest.fixture(scope="module")
def real(db) -> pd.DataFrame:
    """The context as dashboard.queries.similar_context reads it."""
    return db.execute(
        "SELECT p.code, p.population, p.area_km2, p.n_communes, p.region, "
        "count(c.code) FILTER (WHERE c.kind = 'phường') / count(c.code) AS ward_share "
        "FROM province p JOIN commune c ON c.province_code = p.code GROUP BY ALL ORDER BY p.code"
    ).df()


def test_the_context_covers_34_provinces_with_their_wards(real):
    assert len(real) == 34 and real.notna().all().all()
    hanoi = real.set_index("code").loc["01"]
    assert hanoi["n_communes"] == 126 and round(hanoi["ward_share"], 4) == round(51 / 126, 4)


def test_phu_tho_is_most_like_thanh_hoa_tuyen_quang_vinh_long_nghe_an_an_giang(real):
    found = similar.neighbours(real, "25")
    assert found["code"].tolist() == ["38", "08", "86", "40", "91"]
    assert found["distance"].round(2).tolist() == [1.2, 1.5, 1.51, 1.63, 1.76]


def test_ha_noi_is_most_like_hai_phong_bac_ninh_ninh_binh_can_tho_dong_thap(real):
    assert similar.neighbours(real, "01")["code"].tolist() == ["31", "24", "37", "92", "82"]


def test_every_province_has_five_neighbours_and_the_whole_table_is_symmetric(real):
    d = similar.distances(real)
    assert (d.to_numpy() == d.to_numpy().T).all()
    for code in real["code"]:
        found = similar.neighbours(real, code)
        assert len(found) == 5 and code not in found["code"].tolist()
