"""Specification of core.resolver on the real reference data (34 provinces, 3,321 communes,
63 legacy provinces). Expected values are GSO codes from the `vietnam-provinces` package."""

from __future__ import annotations

import re
import unicodedata

import numpy as np
import pandas as pd
import pytest

from core.names import COMMUNE_PREFIXES, split_prefix, strip_diacritics, tone_key
from core.resolver import ALIASES_CSV, Resolved, ResolveError, UnitResolver
from etl import reference

LABEL = re.compile(r"^.+ \(\d{2} [^()]+\)$")  # "Xã Quảng Điền (46 Huế)"


@pytest.fixture(scope="module")
def r() -> UnitResolver:
    return reference.resolver()


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


def raises(fn, *args, **kwargs) -> ResolveError:
    with pytest.raises(ResolveError) as info:
        fn(*args, **kwargs)
    error = info.value
    assert "\n" not in str(error)
    return error


# ----------------------------------------------------------------------------- provinces


@pytest.mark.parametrize(
    "text", ["25", 25, np.int64(25), 25.0, "25.0", " 25 ", "Phú Thọ", "phu tho", "Tỉnh Phú Thọ", nfd("Phú Thọ"),
             nfd("Tỉnh Phú Thọ"), "PHU THO", "  phú   THỌ ", "Tinh Phu Tho", "t. Phú Thọ"]
)
def test_province_spellings(r, text):
    got = r.province(text)
    assert (got.code, got.name, got.level, got.province_code) == ("25", "Phú Thọ", "province", "25")


def test_a_units_peoples_committee_names_the_unit(r):
    """The portal's 766 rankings name units by their People's Committee (UBND)."""
    for text in ("UBND tỉnh Phú Thọ", "Ủy ban nhân dân tỉnh Phú Thọ", "ubnd Tinh Phu Tho", nfd("UBND Tỉnh Phú Thọ")):
        assert r.province(text).code == "25", text
    assert r.province("UBND Thành phố Huế").code == "46"
    assert r.commune("UBND xã Quảng Điền").name == "Xã Quảng Điền"
    assert r.commune("Ủy ban nhân dân phường Thuận An", province="Huế").name == "Phường Thuận An"
    assert raises(r.province, "UBND").reason == "unknown"  # nothing after it: no unit


def test_matched_by_reports_how(r):
    assert r.province(25).matched_by == "code"
    assert r.province("Tỉnh Phú Thọ").matched_by == "name"
    assert r.province(nfd("Phú Thọ")).matched_by == "name"
    assert r.province("phú thọ").matched_by == "tone"
    assert r.province("Phu Tho").matched_by == "ascii"
    assert r.province("Khánh Hoà").matched_by == "tone"  # official spelling is "Khánh Hòa"
    assert r.province("TP.HCM").matched_by == "alias"


@pytest.mark.parametrize(
    "text", ["TP. Hồ Chí Minh", "Thành phố Hồ Chí Minh", "Ho Chi Minh", "TP.HCM", "TP HCM", "TPHCM",
             "HCM", "hcmc", "Ho Chi Minh City", "Tp.Hồ Chí Minh", "Thanh pho Ho Chi Minh", 79]
)
def test_ho_chi_minh(r, text):
    assert r.province(text).code == "79"
    assert r.legacy_province(text).code == "79"  # legacy reports abbreviate it the same way


@pytest.mark.parametrize("text, code", [("BRVT", "77"), ("Bắc Cạn", "06"), ("Tỉnh Bắc Cạn", "06"),
                                        ("Đắc Lắc", "66"), ("Đắc Nông", "67")])
def test_older_spellings_and_abbreviations_of_old_provinces(r, text, code):
    assert r.legacy_province(text).code == code


def test_thua_thien_hue_is_an_older_name_of_hue(r):
    # vietnamadminunits names old province 46 "Thành phố Huế"; the alias file adds its
    # name before 2025-01-01. Huế was not merged, so province() accepts it outright.
    for text in ("Thừa Thiên Huế", "Tỉnh Thừa Thiên Huế", "Thua Thien - Hue", "Thừa Thiên–Huế"):
        got = r.province(text)
        assert (got.code, got.legacy_code) == ("46", "46")
    old = r.legacy_province("Thừa Thiên Huế")
    assert (old.code, old.level, old.province_code) == ("46", "legacy_province", "46")
    assert r.province("Huế").code == "46"
    assert r.province("Thành phố Huế").matched_by == "name"


def test_merged_legacy_province(r):
    old = r.legacy_province("Vĩnh Phúc")
    assert (old.code, old.name, old.level, old.province_code) == ("26", "Vĩnh Phúc", "legacy_province", "25")
    assert r.legacy_province(26) == r.legacy_province("26")
    assert r.legacy_province("Tỉnh Vinh Phuc").code == "26"

    error = raises(r.province, "Vĩnh Phúc")
    assert error.reason == "legacy"
    assert error.candidates == ["Phú Thọ (25)"]
    assert "Phú Thọ" in str(error) and "allow_legacy" in str(error)

    got = r.province("Vĩnh Phúc", allow_legacy=True)
    assert (got.code, got.level, got.legacy_code) == ("25", "province", "26")


@pytest.mark.parametrize("text", ["Hoà Bình", "Hòa Bình", nfd("Hoà Bình"), "Tỉnh Hoà Bình", "hoa binh"])
def test_hoa_binh_tone_placement(r, text):
    old = r.legacy_province(text)
    assert (old.code, old.province_code) == ("17", "25")
    assert raises(r.province, text).reason == "legacy"


@pytest.mark.parametrize(
    "text", ["Bà Rịa - Vũng Tàu", "Ba Ria–Vung Tau", "Tỉnh Bà Rịa - Vũng Tàu", "Bà Rịa–Vũng Tàu",
             "Ba Ria Vung Tau", "BÀ RỊA-VŨNG TÀU"]
)
def test_ba_ria_vung_tau(r, text):
    old = r.legacy_province(text)
    assert (old.code, old.name, old.province_code) == ("77", "Bà Rịa - Vũng Tàu", "79")
    assert r.province(text, allow_legacy=True).code == "79"


def test_old_codes_are_never_current_codes(r):
    # Codes were reused: old 24 = Bắc Giang, current 24 = Bắc Ninh (old 27); old 15 = Yên
    # Bái, current 15 = Lào Cai (old 10). province() reads codes as current only.
    assert r.province(24).name == "Bắc Ninh"
    assert r.legacy_province(24).name == "Bắc Giang"
    assert r.legacy_province("Lào Cai").code == "10"
    assert r.province("Lào Cai").code == "15"
    error = raises(r.province, "26")
    assert error.reason == "unknown" and "Vĩnh Phúc" in error.candidates[0]


def test_any_province(r):
    assert r.any_province("Phú Thọ").level == "province"
    assert r.any_province("24").name == "Bắc Ninh"
    got = r.any_province("Vĩnh Phúc")
    assert (got.level, got.code, got.province_code) == ("legacy_province", "26", "25")
    assert r.any_province(26).level == "legacy_province"
    assert raises(r.any_province, "Atlantis").reason == "unknown"


def test_unknown_province_lists_close_candidates(r):
    error = raises(r.province, "Tỉnh Atlantis")
    assert error.reason == "unknown" and isinstance(error.candidates, list)
    assert error.value == "Tỉnh Atlantis"
    error = raises(r.province, "Phu Tho0")
    assert error.candidates[0] == "Phú Thọ (25)"
    assert "Phú Thọ (25)" in str(error)
    assert raises(r.province, "Phú Thoo").candidates[0] == "Phú Thọ (25)"
    # A wrong tone mark is only a diacritics difference: it resolves, reported as 'ascii'.
    assert r.province("Phú Thợ").matched_by == "ascii"


@pytest.mark.parametrize("value", [None, float("nan"), pd.NA, "", "   "])
def test_empty_values(r, value):
    assert raises(r.province, value).reason == "unknown"
    assert raises(r.commune, value).reason == "unknown"


def test_every_province_resolves_to_itself(r):
    for row in reference.provinces().itertuples():
        for text in (row.code, int(row.code), row.name, row.full_name, row.name_ascii, nfd(row.full_name)):
            assert r.province(text).code == row.code, text


def test_every_legacy_province_resolves_to_itself(r):
    legacy = reference.legacy_provinces()
    assert len(legacy) == 63 and legacy.province_code.nunique() == 34
    for row in legacy.itertuples():
        for text in (row.code, row.name, row.full_name, row.name_ascii):
            got = r.legacy_province(text)
            assert (got.code, got.province_code) == (row.code, row.province_code), text
        # through province(): the new province, or a 'legacy' error naming it
        try:
            outcome = r.province(row.name).code
        except ResolveError as error:
            outcome = (error.reason, error.candidates[0][-4:])
        assert outcome in (row.province_code, ("legacy", f"({row.province_code})")), row.name


def test_province_keys_are_unique():
    for frame in (reference.provinces(), reference.legacy_provinces()):
        assert not frame.name.map(tone_key).duplicated().any()
        assert not frame.name_ascii.str.lower().str.replace(r"[^a-z]", "", regex=True).duplicated().any()


def test_alias_file_is_small_and_valid(r):
    aliases = pd.read_csv(ALIASES_CSV, dtype=str, keep_default_na=False)
    assert list(aliases.columns[:3]) == ["alias", "level", "code"]
    assert len(aliases) <= 20  # a few well-known spellings, not a fuzzy matcher
    for row in aliases.itertuples():
        method = r.province if row.level == "province" else r.legacy_province
        assert method(row.alias).code == row.code


# ----------------------------------------------------------------------------- communes


def test_commune_with_province(r):
    got = r.commune("quang dien", province="Huế")
    assert (got.code, got.name, got.level, got.province_code, got.matched_by) == (
        "19867", "Xã Quảng Điền", "commune", "46", "ascii",
    )
    for province in ("46", 46, "Thành phố Huế", "Thừa Thiên Huế", r.province("Huế")):
        assert r.commune("Xã Quảng Điền", province).code == "19867"


def test_commune_unique_name_without_province(r):
    got = r.commune("Xã Quảng Điền")
    assert (got.code, got.province_code, got.matched_by) == ("19867", "46", "name")
    assert r.commune(nfd("xã quảng điền")).code == "19867"
    assert r.commune("Xa Quang Dien").code == "19867"  # prefix typed without diacritics


def test_commune_by_code(r):
    for text in ("00070", 70, "70", 70.0):
        got = r.commune(text)
        assert (got.code, got.name, got.matched_by) == ("00070", "Phường Hoàn Kiếm", "code")
    assert r.commune(70, province="Hà Nội").code == "00070"
    error = raises(r.commune, 70, province="Huế")
    assert error.reason == "not_in_province" and error.candidates == ["Phường Hoàn Kiếm (01 Hà Nội)"]
    assert raises(r.commune, "99999").reason == "unknown"


def test_ambiguous_commune_needs_a_province(r):
    error = raises(r.commune, "Tân An")
    assert error.reason == "ambiguous"
    assert len(error.candidates) == 10
    assert all(LABEL.match(c) for c in error.candidates)
    assert "Xã Tân An (91 An Giang)" in error.candidates
    assert "province" in str(error)
    assert r.commune("Tân An", province="An Giang").name == "Xã Tân An"
    # the prefix narrows a cross-province ambiguity but does not settle it
    error = raises(r.commune, "Phường Hòa Bình")
    assert error.candidates == ["Phường Hòa Bình (25 Phú Thọ)", "Phường Hoà Bình (31 Hải Phòng)",
                                "Phường Hòa Bình (79 Hồ Chí Minh)"]


def test_commune_in_the_wrong_province(r):
    error = raises(r.commune, "Xã Quảng Điền", province="Phú Thọ")
    assert error.reason == "not_in_province"
    assert error.candidates == ["Xã Quảng Điền (46 Huế)"]
    assert "Huế" in str(error)
    error = raises(r.commune, "Tân An", province="Huế")
    assert error.reason == "not_in_province" and len(error.candidates) == 10


def test_legacy_province_narrows_to_the_new_one(r):
    # Vĩnh Phúc is now part of Phú Thọ (25): its communes are looked up in 25.
    got = r.commune("Phường Vĩnh Phúc", province="Vĩnh Phúc")
    assert got.province_code == "25"


def test_punctuation_variants(r):
    got = r.commune("Xã Chân Mây - Lăng Cô")
    assert (got.code, got.name) == ("20152", "Xã Chân Mây – Lăng Cô")
    assert r.commune("chan may lang co", "Huế").code == "20152"
    got = r.commune("Ea M'Droh")
    assert (got.code, got.name) == ("24286", "Xã Ea M’Droh")
    assert r.commune("Xã Cư M'gar", "Đắk Lắk").code == "24280"
    assert r.commune("Phường Văn Miếu – Quốc Tử Giám").code == "00196"


def test_tone_placement_in_commune_names(r):
    # "Xã Hoà An" (08) and "Xã Hòa An" (04, 92): same tone key, different provinces
    assert r.commune("Xã Hòa An", "Tuyên Quang").name == "Xã Hoà An"
    assert r.commune("Xã Hoà An", "Cao Bằng").name == "Xã Hòa An"
    assert r.commune("Xã Hoà An", "Cao Bằng").matched_by == "tone"
    assert raises(r.commune, "Hoa An").reason == "ambiguous"


def test_prefix_kind_breaks_ties(r):
    # Thanh Hóa has "Phường Đông Tiến" and "Xã Đồng Tiến": one ascii key, two kinds.
    assert r.commune("Phuong Dong Tien", "Thanh Hóa").name == "Phường Đông Tiến"
    assert r.commune("Xã Dong Tien", "Thanh Hóa").name == "Xã Đồng Tiến"
    error = raises(r.commune, "Dong Tien", "Thanh Hóa")
    assert error.reason == "ambiguous" and len(error.candidates) == 2
    # Quảng Ngãi: "Xã Ba Tô" and "Xã Ba Tơ" differ only in diacritics.
    assert r.commune("Xã Ba Tơ", 51).code == "21484"
    assert raises(r.commune, "xa ba to", 51).reason == "ambiguous"


def test_prefix_kind_tie_break_when_both_kinds_share_a_name():
    # No province has "Xã X" and "Phường X" with one tone key today; the rule is still kept.
    provinces = reference.provinces().head(1)
    code = provinces.code.iloc[0]
    communes = pd.DataFrame(
        {"code": ["90001", "90002"], "name": ["Xã Mới", "Phường Mới"], "name_ascii": ["Xa Moi", "Phuong Moi"],
         "kind": ["xã", "phường"], "province_code": [code, code], "lat": [0, 0], "lon": [0, 0],
         "area_km2": [1, 1]}
    )
    legacy = reference.legacy_provinces().query("province_code == @code")
    no_aliases = pd.DataFrame(columns=["alias", "level", "code"])
    small = UnitResolver(provinces, communes, legacy, aliases=no_aliases)
    assert small.commune("Phường Mới").code == "90002"
    assert small.commune("xa moi", code).code == "90001"
    assert raises(small.commune, "Mới").reason == "ambiguous"


def test_names_that_start_with_a_prefix_word(r):
    # Real names begin with "Phương", "Xa": the whole text is tried before a bare prefix.
    assert r.commune("Phuong Liet").name == "Phường Phương Liệt"
    assert r.commune("Phuong Phuong Liet").name == "Phường Phương Liệt"
    assert r.commune("Xa Dung").name == "Xã Xa Dung"
    assert r.commune("xa xa dung").name == "Xã Xa Dung"


def test_unknown_commune_suggests(r):
    error = raises(r.commune, "Quang Dienn", province="Huế")
    assert error.reason == "unknown" and error.candidates[0] == "Xã Quảng Điền (46 Huế)"
    error = raises(r.commune, "Xã Quảng Điềnn")
    assert error.candidates[0] == "Xã Quảng Điền (46 Huế)"
    assert len(error.candidates) <= 5
    assert raises(r.commune, "Xã Atlantis", "Huế").reason == "unknown"


def test_every_commune_resolves_to_itself(r):
    communes = reference.communes()
    assert len(communes) == 3321
    for row in communes.itertuples():
        assert r.commune(row.name, row.province_code).code == row.code
        assert r.commune(row.code).code == row.code
        assert r.commune(int(row.code), row.province_code).code == row.code
    # Diacritics-free names resolve within their province except where two names of one
    # province differ only in diacritics (10 pairs; the prefix separates 2 of them:
    # Phường Đông Tiến / Xã Đồng Tiến, Phường Mỹ Tho / Xã Mỹ Thọ).
    frame = r.communes_frame(communes.name_ascii, communes.province_code)
    assert (frame.code == communes.code)[frame.error.isna()].all()
    assert frame.reason.fillna("").value_counts().to_dict() == {"": 3305, "ambiguous": 16}
    assert raises(r.commune, "Xa Thanh An", 79).candidates == ["Xã Thanh An (79 Hồ Chí Minh)",
                                                              "Xã Thạnh An (79 Hồ Chí Minh)"]
    assert r.commune("Thanh An", 79).name == "Xã Thanh An"  # exact spelling of a name without marks


def test_duplicated_commune_names():
    communes = reference.communes()
    rest = communes.name.map(lambda n: tone_key(split_prefix(n, COMMUNE_PREFIXES)[1]))
    per_name = communes.groupby(rest).province_code.nunique()
    # Names without the prefix that occur in more than one province (the brief expected
    # 238; vietnam-provinces 2025.10.1 gives 314, of which 246 also share the prefix).
    assert (per_name > 1).sum() == 314
    assert (communes.groupby(communes.name.map(tone_key)).province_code.nunique() > 1).sum() == 246
    assert per_name.max() == 10  # "Tân An"
    # ... but within one province a tone key is unique (so (province, name) identifies)
    assert not pd.Series(list(zip(communes.province_code, rest))).duplicated().any()


def test_resolving_duplicated_names_needs_the_province(r):
    communes = reference.communes()
    frame = r.communes_frame(communes.name)
    # the prefix settles "Xã X" (one province) vs "Phường X" (another): a full name is
    # ambiguous exactly when another unit has the same full name
    assert frame.reason.fillna("").value_counts().to_dict() == {"": 2745, "ambiguous": 576}
    assert (frame.reason == "ambiguous").equals(communes.name.map(tone_key).duplicated(keep=False))


# ----------------------------------------------------------------------------- bulk


def test_communes_frame(r):
    names = pd.Series(["quang dien", "Tân An", "Xã Quảng Điền", None, 70, "Atlantis"], index=list("abcdef"))
    provinces = pd.Series(["Huế", None, "Phú Thọ", "Huế", None, "Huế"], index=list("abcdef"))
    frame = r.communes_frame(names, provinces)
    assert list(frame.index) == list("abcdef")
    assert frame.code.tolist() == ["19867", None, None, None, "00070", None]
    assert frame.reason.tolist() == [None, "ambiguous", "not_in_province", "unknown", None, "unknown"]
    assert frame.matched_by.tolist() == ["ascii", None, None, None, "code", None]
    assert frame.error.notna().tolist() == [False, True, True, True, False, True]

    provinces = r.provinces_frame(pd.Series(["Phú Thọ", "Vĩnh Phúc", 79, "x"]))
    assert provinces.code.tolist() == ["25", None, "79", None]
    assert provinces.reason.tolist() == [None, "legacy", None, "unknown"]
    assert r.provinces_frame(pd.Series(["Vĩnh Phúc"]), allow_legacy=True).legacy_code.tolist() == ["26"]


def test_bulk_resolution_finds_100_000_commune_names_written_two_ways(r):
    """Half the names as written, half in capitals without diacritics: more than 99 % resolve,
    each to the commune it was drawn from. (Speed is for `python -m benchmarks`, never here.)"""
    communes = reference.communes()
    rng = np.random.default_rng(0)
    rows = communes.iloc[rng.integers(0, len(communes), 100_000)].reset_index(drop=True)
    names = rows.name.where(rows.index % 2 == 0, rows.name_ascii.str.upper())
    frame = r.communes_frame(names, rows.province_code)
    assert frame.error.isna().mean() > 0.99
    assert (frame.code == rows.code)[frame.error.isna()].all()


# ----------------------------------------------------------------------------- search


def test_search_communes(r):
    hits = r.search_communes("quang dien")
    assert hits.iloc[0][["code", "name", "province_name", "rank"]].tolist() == ["19867", "Xã Quảng Điền", "Huế", 0]
    assert list(hits.columns) == ["code", "name", "kind", "province_code", "province_name", "rank"]
    assert hits["rank"].is_monotonic_increasing
    assert r.search_communes("Xã Quảng Điền").iloc[0].code == "19867"
    assert r.search_communes("xa quang dien").iloc[0].code == "19867"
    assert r.search_communes("quangdien").iloc[0].code == "19867"
    assert r.search_communes("quang dien hue").code.tolist() == ["19867"]
    # word-prefix matches rank before substrings
    hits = r.search_communes("hoa binh", limit=50)
    assert set(hits[hits["rank"] == 0].code) == {"04795", "11533", "27211", "29830", "31891"}
    assert len(r.search_communes("tan", limit=7)) == 7
    assert r.search_communes("00070").iloc[0]["name"] == "Phường Hoàn Kiếm"
    assert r.search_communes("").empty and r.search_communes("zzzqqq").empty


def test_strip_diacritics_search_agrees_with_names():
    # sanity check of the data the search runs on: every name has a diacritics-free form
    communes = reference.communes()
    assert (communes.name.map(strip_diacritics) == communes.name_ascii).all()


def test_resolved_is_frozen(r):
    got = r.province("Huế")
    assert isinstance(got, Resolved)
    with pytest.raises(AttributeError):
        got.code = "00"  # type: ignore[misc]
    assert reference.resolver() is r
