"""Similar provinces in the app (AppTest against the session warehouse): Phú Thọ's profile
names its 5 similar provinces with their distances and the month's values, and links to
each; Rankings with "compared with similar provinces" and Trends with "compare with similar
provinces" show exactly Phú Thọ and those 5; the earlier links keep working."""

from __future__ import annotations

import json
from pathlib import Path

from markdown_support import shown_cells
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
PEERS = ["Thanh Hóa", "Tuyên Quang", "Vĩnh Long", "Nghệ An", "An Giang"]  # tests/test_similar.py


def run(page: str, **params: str) -> AppTest:
    """Open a permalink ``/<page>?…`` (``?page=`` on the root URL)."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params["page"] = page
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def similar_table(at: AppTest):
    return next(df for df in at.dataframe if "Khoảng cách" in df.value.columns)


def test_the_profile_names_the_5_similar_provinces_nearest_first_with_distances_and_values(warehouse):
    at = run("province", province="25", period="2025-09")
    assert "Tỉnh, thành phố tương đồng" in [s.value for s in at.header]
    element = similar_table(at)
    df, cells = element.value, shown_cells(element)
    assert df["Tỉnh, thành phố"].tolist() == ["Phú Thọ (tỉnh đang xem)", *PEERS]
    assert cells["Khoảng cách"].tolist() == ["0,00", "1,20", "1,50", "1,51", "1,63", "1,76"]
    assert cells["Tỷ lệ hồ sơ trực tuyến"].tolist()[:2] == ["88,01 %", "89,02 %"]
    assert cells["Tỷ lệ phường"].tolist()[0] == "10,1 %"  # 15 of Phú Thọ's 148 communes are wards
    captions = [c.value for c in at.caption]
    assert "Tỷ lệ hồ sơ trực tuyến, Tháng 9/2025: trung vị 5 tỉnh tương đồng 83,15 %; Phú Thọ 88,01 %." in captions
    assert any("similar areas" in c and "Euclid" in c for c in captions)
    links = {link.proto.label: link.proto for link in at.get("page_link")}
    assert [links[f"Hồ sơ {name}"].query_string.split("&")[0] for name in PEERS] == [
        "province=38", "province=08", "province=86", "province=40", "province=91"]
    assert links["Hồ sơ Thanh Hóa"].page == "province"
    assert links["Xếp hạng Phú Thọ trong nhóm tương đồng"].query_string == (
        "indicator=online_application_rate&period=2025-09&region=similar&province=25&lang=vi")


def test_rankings_compared_with_similar_provinces_show_exactly_6_against_the_peers_median(warehouse):
    at = run("rankings", indicator="online_application_rate", period="2025-09", region="similar", province="25")
    df = at.dataframe[0].value
    assert sorted(df["Tỉnh, thành phố"]) == sorted(["Phú Thọ", *PEERS])
    assert df.set_index("Tỉnh, thành phố").loc["Phú Thọ", "Hạng"] == 9  # still its rank among the 34
    assert "So với trung vị nhóm tương đồng" in df.columns
    assert df.set_index("Tỉnh, thành phố").loc["An Giang", "So với trung vị nhóm tương đồng"] == 0  # the median
    bars = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert len(bars["data"][0]["y"]) == 6
    notes = [a["text"] for a in bars["layout"]["annotations"]]
    assert any(n.startswith("Trung vị nhóm tương đồng: 83,15") for n in notes)
    assert at.selectbox(key="w.region").value == "similar"


def test_rankings_with_the_peer_choice_but_no_province_say_to_pick_one_and_show_all_34(warehouse):
    at = run("rankings", indicator="online_application_rate", period="2025-09", region="similar")
    assert any("Làm nổi bật" in i.value for i in at.info)
    assert len(at.dataframe[0].value) == 34


def test_trends_compared_with_similar_provinces_draw_exactly_6_provinces(warehouse):
    at = run("trends", indicator="online_application_rate", compare="similar", province="25")
    lines = json.loads(at.get("plotly_chart")[0].proto.spec)
    provinces = {t["name"] for t in lines["data"] if t.get("meta", {}).get("segment") == "current"} - {"Cả nước"}
    assert provinces == {"Phú Thọ", *PEERS}
    assert at.radio(key="w.compare").value == "similar"


def test_links_made_before_the_peer_choice_open_as_before(warehouse):
    at = run("trends", indicator="online_application_rate", provinces="25,01")
    assert at.radio(key="w.compare").value == "chosen" and at.multiselect(key="w.provinces").value == ["25", "01"]
    at = run("rankings", indicator="online_application_rate", period="2025-09", region="tdmnpb", province="25")
    assert len(at.dataframe[0].value) == 9 and not at.info


def test_trends_peer_choice_without_a_province_shows_ha_noi_without_carrying_it_to_other_pages(warehouse):
    """With no province picked, Trends compares Hà Nội with its peers: the app's pick, which is
    neither written to the link nor a highlight on Rankings (dashboard/state.py)."""
    at = run("trends", indicator="online_application_rate", compare="similar")
    assert at.selectbox(key="w.province").value == "01" and "province" not in at.query_params
    assert any("Hải Phòng, Bắc Ninh, Ninh Bình, Cần Thơ, Đồng Tháp" in c.value for c in at.caption)
    at.switch_page("pages/2_rankings.py").run()
    assert at.selectbox(key="w.province").value == ""


def test_the_similar_provinces_speak_english(warehouse):
    at = run("province", province="01", period="2025-09", lang="en")
    assert "Similar provinces" in [s.value for s in at.header]
    df = next(df.value for df in at.dataframe if "Distance" in df.value.columns)
    assert df["Province"].tolist() == ["Hà Nội (this province)", "Hải Phòng", "Bắc Ninh", "Ninh Bình", "Cần Thơ",
                                       "Đồng Tháp"]


def test_the_peer_views_go_into_a_deck_as_the_pages_draw_them(warehouse):
    from dashboard.present import slides

    bars = slides.build("/rankings?indicator=online_application_rate&period=2025-09&region=similar&province=25"
                        "&chart=bars", "vi")
    assert len(bars.figure["data"][0]["y"]) == 6
    lines = slides.build("/trends?indicator=online_application_rate&compare=similar&province=25&chart=lines", "vi")
    drawn = {t["name"] for t in lines.figure["data"] if t.get("meta", {}).get("segment") == "current"} - {"Cả nước"}
    assert drawn == {"Phú Thọ", *PEERS}
