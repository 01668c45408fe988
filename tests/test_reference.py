"""Reference geography: what the registry packages give, joined and checked."""

import pandas as pd
import pytest

from etl import reference


def test_34_provinces_with_official_codes_and_6_cities():
    provinces = reference.provinces()
    assert len(provinces) == 34
    assert provinces.code.str.fullmatch(r"\d{2}").all()
    named = dict(zip(provinces.code, provinces.name))
    assert named["25"] == "Phú Thọ" and named["01"] == "Hà Nội" and named["46"] == "Huế"
    assert (provinces.kind == "city").sum() == 6
    assert provinces.region.notna().all() and provinces.region.nunique() == 6


def test_3321_communes_all_with_centroids_inside_vietnam():
    communes = reference.communes()
    assert len(communes) == 3321
    assert communes.code.is_unique and communes.code.str.fullmatch(r"\d{5}").all()
    assert set(communes.kind) == {"xã", "phường", "đặc khu"}
    assert communes.lat.between(8.0, 23.5).all() and communes.lon.between(102.0, 117.5).all()


def test_commune_counts_match_the_press():
    counts = reference.provinces().set_index("code").n_communes
    assert counts.sum() == 3321
    assert counts["25"] == 148  # Phú Thọ: 148 communes/wards on its e-document system (F04a)
    assert counts["01"] == 126  # Hà Nội: 126 communes/wards (F15a)
    assert counts["46"] == 40  # Huế: 40 commune-level service centres (F21a)


def test_63_legacy_provinces_each_map_into_one_current_province():
    legacy = reference.legacy_provinces()
    assert len(legacy) == 63 and legacy.code.is_unique
    assert set(legacy.province_code) == set(reference.provinces().code)
    members = legacy.groupby("province_code").code.apply(sorted).to_dict()
    assert members["25"] == ["17", "25", "26"]  # Hòa Bình + Phú Thọ + Vĩnh Phúc
    assert members["79"] == ["74", "77", "79"]  # Bình Dương + Bà Rịa - Vũng Tàu + TP HCM
    assert sum(len(m) == 1 for m in members.values()) == 11  # provinces left unchanged


def test_suspicious_areas_are_reported_not_hidden():
    flagged = reference.suspicious_areas()
    assert {"06187", "28435"} <= set(flagged.code)  # 0 km² in the package
    assert len(flagged) < 30


def test_join_fails_loudly_when_a_commune_has_no_centroid(monkeypatch):
    broken = pd.DataFrame(
        {"provinceCode": ["01"], "ward": ["Phường Không Có"], "wardLat": [21.0], "wardLon": [105.8],
         "wardAreaKm2": [1.0]}
    )
    monkeypatch.setattr(reference, "_vau", lambda sql: broken)
    reference.communes.cache_clear()
    try:
        with pytest.raises(reference.ReferenceError_, match="no centroid"):
            reference.communes()
    finally:
        reference.communes.cache_clear()
