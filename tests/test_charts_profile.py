"""Chart functions of the Province profile and Communes pages (charts/profile.py,
charts/communes.py) and their table helpers (dashboard/tables.py), without Streamlit."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

from charts import communes as cc
from charts import maps, theme
from charts import profile as pc
from core import catalog, fmt
from dashboard import tables

RATE = {"code": "online_application_rate", "name_vi": "Tỷ lệ hồ sơ trực tuyến", "name_en": "Online application rate",
        "unit": "percent", "decimals": 2, "higher_is_better": True, "aggregation": "ratio"}
DELAYED = {"code": "delayed_tasks", "name_vi": "Nhiệm vụ chậm tiến độ", "name_en": "Delayed tasks",
           "unit": "count", "decimals": 0, "higher_is_better": False, "aggregation": "sum"}


def groups_frame() -> pd.DataFrame:
    """The five groups of a month of the first method (2025-09)."""
    return pd.DataFrame({
        "code": list(catalog.index766_method("2025-09").codes),
        "name_vi": ["766 – Công khai, minh bạch", "766 – Tiến độ giải quyết", "766 – Số hóa hồ sơ",
                    "766 – Dịch vụ công trực tuyến", "766 – Mức độ hài lòng"],
        "name_en": ["766 – Transparency", "766 – Progress", "766 – Digitisation", "766 – Online public services",
                    "766 – Satisfaction"],
        "value": [11.55, 13.16, 18.44, 17.71, 12.29],
        "prev_value": [11.51, 13.06, 18.68, 18.12, 12.41],
        "max_value": [18.0, 20.0, 22.0, 22.0, 18.0],
    }).assign(delta=lambda d: d["value"] - d["prev_value"])


def profile_rows(period: str, values: dict[str, tuple[float, float]]) -> pd.DataFrame:
    """Rows of queries.province_profile for the 766 indicators: code -> (value, prev_value)."""
    return pd.DataFrame([{"code": code, "name_vi": catalog.get(code).name_vi, "name_en": catalog.get(code).name_en,
                          "value": v, "prev_value": p, "max_value": catalog.get(code).max}
                         for code, (v, p) in values.items()])


def communes_frame(n: int = 6, missing: int = 1) -> pd.DataFrame:
    values = [50.0 + 8 * i for i in range(n)]
    for i in range(missing):
        values[i] = None
    return pd.DataFrame({
        "code": [f"{8000 + i:05d}" for i in range(n)],
        "name": [f"Xã {i}" for i in range(n)],
        "kind": ["xã"] * n,
        "lat": [21.0 + 0.05 * i for i in range(n)],
        "lon": [105.2 + 0.05 * i for i in range(n)],
        "value": values,
        "rank_in_province": [None if v is None else n - i for i, v in enumerate(values)],
        "n_in_province": [n - missing] * n,
        "size_value": [100.0 * (i + 1) for i in range(n)],
    })


# ----------------------------------------------------------------------------- 766


def test_waterfall_goes_from_last_months_total_through_the_groups_to_this_months():
    g = groups_frame()
    fig = pc.index766_waterfall(g, total=73.15, prev_total=73.78, period="2025-09", lang="vi")
    trace = fig.data[0]
    assert trace.type == "waterfall"
    assert list(trace.measure) == ["absolute"] + ["relative"] * 5 + ["total"]
    assert trace.y[0] + sum(trace.y[1:6]) == pytest.approx(trace.y[6]) == pytest.approx(73.15)
    assert trace.x[0] == "Tổng<br>T8/2025" and trace.x[-1] == "Tổng<br>T9/2025"
    assert list(trace.text) == ["73,78", "+0,04", "+0,10", "-0,24", "-0,41", "-0,12", "73,15"]
    assert trace.increasing.marker.color == theme.GOOD and trace.decreasing.marker.color == theme.BAD
    low, high = fig.layout.yaxis.range
    assert 0 < low < 73.15 < 73.78 < high <= 100  # zoomed so sub-point changes show
    en = pc.index766_waterfall(g, total=73.15, prev_total=73.78, period="2025-09", lang="en")
    assert en.data[0].x[0] == "Total<br>Aug 2025" and en.data[0].text[3] == "-0.24"
    # Readable at 1366 px: labels stay horizontal, in lines of at most 10 characters.
    assert fig.layout.xaxis.tickangle == 0
    assert max(len(line) for label in trace.x for line in label.split("<br>")) <= 12


def test_group_scores_are_drawn_against_their_maximum():
    fig = pc.index766_groups_chart(groups_frame(), lang="vi")
    maxima, scores = fig.data
    assert list(maxima.x) == [18, 20, 22, 22, 18]
    assert list(scores.x) == [11.55, 13.16, 18.44, 17.71, 12.29]
    assert scores.text[0] == "11,55 / 18" and scores.y[3] == "Dịch vụ công trực tuyến"


def test_a_month_of_the_six_group_method_shows_its_six_groups_with_their_maxima():
    """From 2025-10 online public services count 12 points and online payment 10: the bars,
    the table and the waterfall take the groups and maxima of the month's method."""
    six = {"index766_transparency": (15.6, 15.5), "index766_progress": (19.4, 19.3),
           "index766_digitisation": (20.8, 20.6), "index766_online_service": (8.5, 8.4),
           "index766_online_payment": (9.0, 8.8), "index766_satisfaction": (17.9, 17.8),
           "index766_total": (91.2, 90.4)}
    g = tables.index766_groups(profile_rows("2025-11", six), "2025-11")
    assert g["code"].tolist() == list(catalog.index766_method("2025-11").codes)
    assert g["max_value"].tolist() == [18, 20, 22, 12, 10, 18]
    assert g["delta"].round(2).tolist() == [0.1, 0.1, 0.2, 0.1, 0.2, 0.1]
    fig = pc.index766_groups_chart(g, lang="en")
    assert list(fig.data[0].x) == [18, 20, 22, 12, 10, 18] and fig.data[1].y[4] == "Online payment"
    assert fig.data[1].text[3] == "8.50 / 12"
    waterfall = pc.index766_waterfall(g, total=91.2, prev_total=90.4, period="2025-11", lang="vi").data[0]
    assert list(waterfall.measure) == ["absolute"] + ["relative"] * 6 + ["total"]
    shown = tables.index766_group_table(g, 91.2, 90.4, "vi")
    assert shown["Tối đa"].tolist() == ["18", "20", "22", "12", "10", "18", "100"]
    # the 22-point online group of a month of the first method is not one of them
    five = tables.index766_groups(profile_rows("2025-09", {**six, "index766_online_payment": (None, None)}),
                                  "2025-09")
    assert five["max_value"].tolist() == [18, 20, 22, 22, 18] and "index766_online_payment" not in set(five["code"])


def test_in_the_month_the_method_changed_no_group_change_is_compared():
    """2025-09 had five groups, 2025-10 six: only groups whose maximum stayed have a change,
    no driver is named, and the sentence says the method changed."""
    values = {"index766_transparency": (15.6, 15.5), "index766_progress": (19.4, 19.3),
              "index766_digitisation": (20.8, 20.6), "index766_online_service": (8.5, 17.9),
              "index766_online_payment": (9.0, None), "index766_satisfaction": (17.9, 17.8),
              "index766_total": (91.2, 91.1)}
    g = tables.index766_groups(profile_rows("2025-10", values), "2025-10")
    assert g["delta"].round(2).tolist()[:3] == [0.1, 0.1, 0.2] and g["delta"][3:5].isna().all()
    before, now = tables.index766_method_change("2025-10")
    assert (len(before.groups), len(now.groups)) == (5, 6) and tables.index766_method_change("2025-11") is None
    sentence = tables.index766_sentence(g, total=91.2, prev_total=91.1, name="Đồng Nai", period="2025-10", lang="vi")
    assert sentence == ("Chỉ số 766 của Đồng Nai tăng 0,10 điểm so với Tháng 9/2025 (91,10 → 91,20). Từ Tháng "
                        "10/2025, chỉ số tính theo phương pháp mới, 6 nhóm chỉ số (tách thanh toán trực tuyến) "
                        "(5 → 6 nhóm): thay đổi từng nhóm không so sánh được với tháng trước.")
    table = tables.index766_group_table(g, 91.2, 91.1, "en")
    assert table["Change (points)"].tolist() == ["+0.10", "+0.10", "+0.20", "–", "–", "+0.10", "+0.10"]


def test_driver_is_the_largest_change_in_the_direction_of_the_total():
    g = groups_frame()
    main = tables.driver(g)
    assert main["code"] == "index766_online_service" and main["total_delta"] == pytest.approx(-0.63)
    rising = g.assign(delta=[0.5, -0.9, 0.3, 0.2, 0.1])  # total +0.2: the biggest *rise* drove it
    assert tables.driver(rising)["code"] == "index766_transparency"
    assert tables.driver(g.assign(delta=[None] * 5)) is None
    sentence = tables.index766_sentence(g, total=73.15, prev_total=73.78, name="Phú Thọ", period="2025-09", lang="vi")
    assert sentence.startswith("Chỉ số 766 của Phú Thọ giảm 0,63 điểm so với Tháng 8/2025 (73,78 → 73,15).")
    assert "**Dịch vụ công trực tuyến** (-0,41 điểm)" in sentence
    no_prev = tables.index766_sentence(g.assign(prev_value=None), total=73.15, prev_total=None, name="Huế",
                                       period="2025-07", lang="en")
    assert "no Decision 766 index for Jun 2025" in no_prev


# ----------------------------------------------------------------------------- commune map


def test_commune_map_draws_one_point_per_commune_over_the_province_outline():
    df = communes_frame(6, missing=1)
    fig = pc.commune_map(df, indicator=RATE, province_code="25", lang="vi", title="t")
    outline = fig.data[0]
    assert outline.type == "choropleth" and list(outline.locations) == ["25"]
    assert outline.geojson["features"][0]["properties"]["code"] == "25"
    assert outline.featureidkey == maps.FEATURE_ID_KEY
    assert pc.commune_points(fig) == 6
    known = next(t for t in fig.data if t.meta and t.meta.get("role") == "communes")
    grey = next(t for t in fig.data if t.meta and t.meta.get("role") == "communes_missing")
    assert len(known.lat) == 5 and len(grey.lat) == 1 and grey.marker.color == theme.MISSING
    assert fig.layout.geo.fitbounds == "locations" and fig.layout.geo.visible is False
    assert not {"map", "mapbox"} & set(fig.to_plotly_json()["layout"])  # no tiles
    assert {t.type for t in fig.data} == {"choropleth", "scattergeo"}
    assert "Hạng trong tỉnh: 5/5" in known.customdata[0][0] and "58,00 %" in known.customdata[0][0]


def test_commune_map_colours_follow_the_indicators_direction_and_size_follows_applications():
    df = communes_frame(5, missing=0)
    up = pc.commune_map(df, indicator=RATE, province_code="46")
    down = pc.commune_map(df, indicator=DELAYED, province_code="46")
    scale_up = [tuple(s) for s in up.data[1].marker.colorscale]
    scale_down = [tuple(s) for s in down.data[1].marker.colorscale]
    assert scale_up[-1][1] == scale_down[0][1] == theme.BAD_TO_GOOD[-1][1]  # dark = good in both
    sizes = list(up.data[1].marker.size)
    assert sizes == sorted(sizes) and sizes[-1] == pc.POINT_MAX_PX
    # area, not diameter, is proportional to applications received
    assert (sizes[-1] / sizes[1]) ** 2 == pytest.approx(500 / 200, rel=0.01)


def test_every_province_has_an_outline_feature():
    codes = maps.geojson_codes()
    assert len(codes) == 34 and all(pc.province_feature(c) is not None for c in codes)
    assert pc.province_feature("99") is None


# ----------------------------------------------------------------------------- commune charts


def test_commune_trend_has_value_province_and_rank_panels():
    periods = [f"2025-{m:02d}" for m in range(7, 13)]
    series = pd.DataFrame({
        "period": periods, "value": [80.0, 82, 85, 84, 88, 90],
        "rank_in_province": [12, 10, 8, 9, 5, 3], "n_in_province": [40] * 6,
        "rank_national": [900, 800, 700, 750, 400, 300], "n_national": [3321] * 6,
    })
    province = pd.DataFrame({"period": periods, "value": [81.0, 83, 84, 86, 87, 89]})
    fig = cc.commune_trend(series, indicator=RATE, commune_name="Xã Quảng Điền", lang="vi",
                           province=province, province_name="Huế", period="2025-09")
    roles = {t.meta["series"]: t for t in fig.data}
    assert set(roles) == {"commune", "province", "rank"}
    assert roles["rank"].yaxis == "y2" and roles["province"].line.dash == "dash"
    assert fig.layout.yaxis2.range[0] > fig.layout.yaxis2.range[1]  # rank 1 on top
    assert "Hạng toàn quốc: 300/3.321" in roles["rank"].customdata[-1][0]
    assert roles["province"].name == "Huế (cả tỉnh)"
    assert fig.layout.shapes[0].x0 == "2025-09-01"  # the month chosen on the page
    without = cc.commune_trend(series, indicator=RATE, commune_name="X")
    assert {t.meta["series"] for t in without.data} == {"commune", "rank"}


def test_criteria_histogram_counts_each_number_of_criteria():
    fig = cc.criteria_histogram(pd.Series([17, 17, 16, 12, None, 0]), lang="en")
    bars = fig.data[0]
    assert list(bars.x) == list(range(18)) and sum(bars.y) == 5
    assert bars.y[17] == 2 and bars.y[0] == 1
    assert fig.layout.shapes[0].x0 == 17


def test_new_chart_and_table_modules_do_not_import_streamlit():
    code = (
        "import sys; import charts.profile, charts.communes, dashboard.tables, dashboard.views_doc; "
        "assert 'streamlit' not in sys.modules, 'imported streamlit'"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


# ----------------------------------------------------------------------------- tables


@pytest.mark.parametrize("unit, decimals", [("percent", 2), ("count", 0), ("bn_vnd", 1), ("score", 2), ("criteria", 0)])
@pytest.mark.parametrize("lang", ["vi", "en"])
def test_column_formatting_matches_fmt_value(unit, decimals, lang):
    values = [88.0149, 1234567.891, 0.0, -0.001, None, float("nan"), 17.0]
    assert tables.values_text(values, unit, decimals, lang).tolist() == [
        fmt.value(v, unit, decimals, lang) for v in values
    ]


def test_rank_columns():
    assert tables.ranks_text([9, None, 1], [34, 34, None]).tolist() == ["9/34", "–", "–"]
    assert tables.ranks_text(pd.Series([3], dtype="Int32"), pd.Series([3321], dtype="Int32")).tolist() == ["3/3.321"]
    assert tables.ranks_text([1712], [3321], "en").tolist() == ["1,712/3,321"]


def test_profile_table_rows_show_value_rank_change_and_trend():
    profile = pd.DataFrame([{
        "code": "online_application_rate", "name_vi": "Tỷ lệ hồ sơ trực tuyến", "name_en": "Online application rate",
        "unit": "percent", "decimals": 2, "topic": "public_services", "value": 88.01, "prev_value": 84.93,
        "rank": 9, "n_ranked": 34, "rank_change": 2, "trend": [80.52, 84.93, 88.01],
    }])
    table = tables.profile_table(profile, "vi")
    vi = table.iloc[0].to_dict()
    assert vi == {"Nhóm": "Dịch vụ công", "Chỉ tiêu": "Tỷ lệ hồ sơ trực tuyến", "Giá trị": 88.01,
                  "So với tháng trước": 3.08, "Hạng": 9, "Số tỉnh xếp hạng": 34, "Thay đổi hạng": 2,
                  "Xu hướng 12 tháng": [80.52, 84.93, 88.01]}
    html = tables.shown(table).to_html()  # as read on screen
    assert all(text in html for text in ("88,01 %", "+3,08 điểm %", "9/34", "▲2"))
    en = tables.profile_table(profile, "en")
    assert list(tables.for_download(en).columns) == ["Topic", "Indicator", "Value", "vs previous month", "Rank",
                                                     "Provinces ranked", "Rank change"]


def test_markdown_section_reads_one_section():
    text = "# T\n\n## Known defects (x)\n- a\n- b\n\n## Next\n- c\n"
    assert tables.markdown_section(text, "Known defects") == "- a\n- b"
    assert tables.markdown_section(text, "Missing") == ""


def test_offshore_archipelagos_go_to_a_framed_inset_so_the_mainland_stays_large():
    df = communes_frame(4, missing=0)
    df.loc[3, ["name", "lat", "lon"]] = ["Đặc khu Trường Sa", 9.71, 114.45]
    fig = pc.commune_map(df, indicator=RATE, province_code="56", lang="vi")
    outlines = [t for t in fig.data if t.type == "choropleth"]
    assert [t.geo for t in outlines] == ["geo", "geo2"]
    near_lons = [c[0] for poly in outlines[0].geojson["features"][0]["geometry"]["coordinates"] for c in poly[0]]
    far_lons = [c[0] for poly in outlines[1].geojson["features"][0]["geometry"]["coordinates"] for c in poly[0]]
    assert max(near_lons) < pc.OFFSHORE_LON < min(far_lons)
    points = {t.geo: list(t.lon) for t in fig.data if t.type == "scattergeo"}
    assert points["geo2"] == [114.45] and len(points["geo"]) == 3
    assert fig.layout.geo.domain.x[1] < fig.layout.geo2.domain.x[0]  # side by side, no overlap
    assert list(fig.layout.geo2.domain.x) == pc.INSET_DOMAIN["x"]
    assert fig.layout.annotations[0].text == "Đặc khu Trường Sa"
    assert sum(1 for t in fig.data if t.type == "scattergeo" and t.marker.showscale) == 1  # one colour bar
    plain = pc.commune_map(communes_frame(4, missing=0), indicator=RATE, province_code="25")
    assert "geo2" not in plain.to_plotly_json()["layout"]


def test_data_and_methods_give_the_766_total_as_one_sum_per_method():
    names = {code: i.name_en for code, i in catalog.indicators().items()}
    text = tables.formula_text({"code": catalog.by_role("index766").code}, names, "en")
    assert text == ("from Jun 2022: Transparency (18) + Progress (20) + Digitisation (22) + "
                    "Online public services (22) + Satisfaction (18); from Oct 2025: Transparency (18) + "
                    "Progress (20) + Digitisation (22) + Online public services (12) + Online payment (10) + "
                    "Satisfaction (18)")
