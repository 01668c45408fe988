"""Chart functions, without Streamlit: DataFrame in, plotly Figure out.

These tests read like the rules the charts follow: 34 provinces drawn offline with string
ids matching the GeoJSON, colours whose "good" end never changes with the indicator's
direction, bars in rank order with the target and national lines, and history before the
two-tier government (Jul 2025) drawn as re-based.
"""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

from charts import maps, rankings, theme, trends

ONLINE = {
    "code": "online_application_rate", "name_vi": "Tỷ lệ hồ sơ trực tuyến", "name_en": "Online application rate",
    "unit": "percent", "decimals": 2, "higher_is_better": True,
}
DELAYED = {
    "code": "delayed_tasks", "name_vi": "Nhiệm vụ chậm tiến độ", "name_en": "Delayed tasks",
    "unit": "count", "decimals": 0, "higher_is_better": False,
}
TARGET_90 = {"value": 90.0, "comparison": ">=", "deadline": "2025-12"}


@pytest.fixture(scope="module")
def geo_codes() -> list[str]:
    return maps.geojson_codes()


@pytest.fixture(scope="module")
def provinces(geo_codes) -> pd.DataFrame:
    """34 provinces ranked by a made-up value; Phú Thọ (25) 9th with 88.01, up 2 places."""
    names = {f["properties"]["code"]: f["properties"]["name"] for f in maps.provinces_geojson()["features"]}
    others = [c for c in geo_codes if c != "25"]
    values = {c: 95.0 - i * 0.9 for i, c in enumerate(others)}
    values["25"] = 88.01
    df = pd.DataFrame({"code": list(values), "value": list(values.values())})
    df["name"] = df["code"].map(names)
    df["rank"] = df["value"].rank(ascending=False, method="min").astype(int)
    df["n_ranked"] = 34
    df["rank_change"] = 0
    df.loc[df.code == "25", "rank_change"] = 2
    return df.sort_values("rank").reset_index(drop=True)


# ----------------------------------------------------------------------------- map


def test_map_draws_the_34_provinces_with_string_codes_matching_the_geojson(provinces, geo_codes):
    fig = maps.choropleth(provinces, indicator=ONLINE, lang="vi")
    choropleths = [t for t in fig.data if t.type == "choropleth"]
    assert len(choropleths) == 1
    trace = choropleths[0]
    assert trace.featureidkey == "properties.code"
    assert len(trace.locations) == 34
    assert all(isinstance(code, str) for code in trace.locations)
    assert set(trace.locations) == set(geo_codes)
    assert len(geo_codes) == 34


def test_map_needs_no_tiles_and_frames_vietnam(provinces):
    fig = maps.choropleth(provinces, indicator=ONLINE, lang="vi")
    assert {t.type for t in fig.data} <= {"choropleth", "scattergeo"}  # no mapbox / MapLibre
    assert fig.layout.geo.visible is False
    assert fig.layout.geo.fitbounds == "locations"
    assert fig.layout.geo.projection.type == "mercator"
    labels = next(t for t in fig.data if t.type == "scattergeo").text
    assert any("Hoàng Sa" in s for s in labels) and any("Trường Sa" in s for s in labels)


def test_map_hover_names_value_rank_and_change_in_the_readers_language(provinces):
    fig = maps.choropleth(provinces, indicator=ONLINE, lang="vi")
    trace = fig.data[0]
    hover = trace.customdata[list(trace.locations).index("25")][0]
    assert "Phú Thọ" in hover and "88,01 %" in hover and "9/34" in hover and "▲2" in hover
    hover_en = maps.choropleth(provinces, indicator=ONLINE, lang="en").data[0].customdata[
        list(trace.locations).index("25")][0]
    assert "88.01%" in hover_en and "Rank: 9/34" in hover_en


def test_provinces_without_data_are_still_drawn_grey(provinces):
    df = provinces.copy()
    df.loc[df.code.isin(["01", "79"]), ["value", "rank"]] = None
    fig = maps.choropleth(df, indicator=ONLINE, lang="vi")
    assert len(set(maps.locations(fig))) == 34
    grey = next(t for t in fig.data if t.type == "choropleth" and t.name == "no data")
    assert sorted(grey.locations) == ["01", "79"]
    assert grey.colorscale[0][1] == theme.MISSING


def test_highlighted_province_gets_a_thick_outline_on_top(provinces):
    fig = maps.choropleth(provinces, indicator=ONLINE, lang="vi", highlight="25")
    outline = fig.data[-2]
    assert outline.name == "highlight" and list(outline.locations) == ["25"]
    assert outline.marker.line.width > 3 and outline.marker.line.color == theme.HIGHLIGHT
    assert outline.colorscale[0][1] == "rgba(0,0,0,0)"  # transparent: the value colour shows
    assert "Phú Thọ" in outline.customdata[0][0]  # same hover as the province underneath
    assert fig.data[0].marker.line.width < 1


# ----------------------------------------------------------------------------- colours


def test_good_is_always_the_same_colour_whatever_the_direction(provinces):
    up = maps.choropleth(provinces, indicator=ONLINE, lang="vi").data[0].colorscale
    down = maps.choropleth(provinces, indicator=DELAYED, lang="vi").data[0].colorscale
    good, bad = theme.BAD_TO_GOOD[-1][1], theme.BAD_TO_GOOD[0][1]
    # Online rate: high values are good -> the top of the scale is the "good" colour.
    assert up[-1][1] == good and up[0][1] == bad
    # Delayed tasks (lower is better): the scale is reversed, low values get "good".
    assert down[0][1] == good and down[-1][1] == bad
    assert [c for _, c in down] == [c for _, c in reversed(up)]
    assert [p for p, _ in down] == sorted(p for p, _ in down)


def test_categorical_palette_is_okabe_ito():
    assert theme.CATEGORICAL[:3] == ["#0072B2", "#E69F00", "#009E73"]
    assert theme.change_colour(2) == theme.GOOD and theme.change_colour(-1) == theme.BAD
    assert theme.change_colour(0) == theme.NEUTRAL
    assert theme.FONT_SIZE >= 16  # readable on a projector


# ----------------------------------------------------------------------------- rankings


def test_ranking_bars_are_in_rank_order_best_on_top(provinces):
    shuffled = provinces.sample(frac=1, random_state=1)
    fig = rankings.ranking_bars(shuffled, indicator=ONLINE, lang="vi", highlight="25")
    bars = fig.data[0]
    assert bars.type == "bar" and bars.orientation == "h"
    assert list(bars.y)[:2] == [f"1. {provinces.name[0]}", f"2. {provinces.name[1]}"]
    assert list(bars.y)[8] == "9. Phú Thọ"
    assert fig.layout.yaxis.autorange == "reversed"
    colours = theme.marker_colours(bars.marker)
    assert colours[8] == theme.HIGHLIGHT and colours.count(theme.HIGHLIGHT) == 1
    assert set(colours) == {theme.BAR, theme.HIGHLIGHT}


def test_ranking_labels_show_value_and_rank_change(provinces):
    fig = rankings.ranking_bars(provinces, indicator=ONLINE, lang="vi")
    values = next(t for t in fig.data if t.name == "values")
    assert values.text[8].startswith("88,01 %") and "▲2" in values.text[8]
    en = rankings.ranking_bars(provinces, indicator=ONLINE, lang="en")
    assert next(t for t in en.data if t.name == "values").text[8].startswith("88.01%")


def test_ranking_has_target_and_national_reference_lines(provinces):
    fig = rankings.ranking_bars(
        provinces, indicator=ONLINE, lang="vi", national={"value": 76.05, "kind": "ratio"}, target=TARGET_90
    )
    shapes = {s.name: s for s in fig.layout.shapes}
    assert shapes["target"].x0 == 90.0 and shapes["target"].line.dash == "dash"
    assert shapes["national"].x0 == 76.05
    notes = {a.name: a.text for a in fig.layout.annotations}
    assert notes["national"] == "Cả nước: 76,05 %"
    assert notes["target"].startswith("Mục tiêu ≥ 90,00 %")


def test_median_reference_line_is_labelled_median(provinces):
    fig = rankings.ranking_bars(provinces, indicator=ONLINE, lang="en", national={"value": 80.0, "kind": "median"})
    assert {a.name: a.text for a in fig.layout.annotations}["national"].startswith("Median of provinces")


def test_movers_chart_shows_rises_then_falls():
    df = pd.DataFrame({
        "code": ["a", "b", "c", "d"], "name": ["A", "B", "C", "D"],
        "rank_start": [10, 5, 3, 20], "rank_end": [2, 5, 8, 21], "change": [8, 0, -5, -1],
    })
    fig = rankings.movers_chart(df, lang="vi", n=5)
    bars = fig.data[0]
    assert list(bars.y) == ["A", "D", "C"]  # rises (largest first), then falls (largest last)
    assert list(bars.x) == [8, -1, -5]
    assert theme.marker_colours(bars.marker) == [theme.GOOD, theme.BAD, theme.BAD]
    assert bars.text[0] == "▲8  (10 → 2)"


# ----------------------------------------------------------------------------- trends


@pytest.fixture(scope="module")
def series() -> tuple[pd.DataFrame, pd.DataFrame]:
    months = [f"{y}-{m:02d}" for y in (2024, 2025) for m in range(1, 13)]
    prov = pd.DataFrame({
        "period": months * 2, "code": ["25"] * 24 + ["01"] * 24, "name": ["Phú Thọ"] * 24 + ["Hà Nội"] * 24,
        "value": [50 + i for i in range(24)] + [1 + 4 * i for i in range(24)],
    })
    national = pd.DataFrame({"period": months, "value": [40 + i for i in range(24)], "kind": "ratio"})
    return prov, national


def test_months_before_jul_2025_are_drawn_as_rebased_history(series):
    prov, national = series
    fig = trends.trend_chart(prov, national, indicator=ONLINE, lang="vi", target=TARGET_90)
    history = [t for t in fig.data if t.meta and t.meta["segment"] == "rebased"]
    current = [t for t in fig.data if t.meta and t.meta["segment"] == "current"]
    assert {t.meta["series"] for t in history} == {"national", "25", "01"}
    for trace in history:
        assert trace.line.dash == "dot" and trace.opacity < 1
        assert all(x < "2025-07-01" for x in trace.x[:-1])
        assert trace.x[-1] == "2025-07-01"  # joins the first solid point
    for trace in current:
        assert trace.line.dash is None and trace.x[0] == "2025-07-01"
    band = next(s for s in fig.layout.shapes if s.name == "rebased")
    assert band.x0 == "2024-01-01" and band.x1 == "2025-07-01"


def test_trend_has_national_line_target_and_event_markers(series):
    prov, national = series
    events = pd.DataFrame({
        "date": ["2024-12-22", "2025-06-12", "2025-07-01"],
        "label_vi": ["Nghị quyết 57", "Sáp nhập", "Chính quyền hai cấp"],
        "label_en": ["Resolution 57", "Merger", "Two-tier government"],
    })
    fig = trends.trend_chart(prov, national, indicator=ONLINE, lang="en", target=TARGET_90, events=events)
    national_now = next(t for t in fig.data if t.meta["series"] == "national" and t.meta["segment"] == "current")
    assert national_now.name == "National" and national_now.line.color == theme.NATIONAL
    shapes = {s.name for s in fig.layout.shapes}
    assert {"target", "event:2024-12-22", "event:2025-06-12", "event:2025-07-01"} <= shapes
    assert "Two-tier government" in [a.text for a in fig.layout.annotations]
    assert fig.layout.xaxis.ticktext[0] == "Jan 2024"


def test_trend_can_start_at_the_two_tier_government(series):
    prov, national = series
    fig = trends.trend_chart(prov, national, indicator=ONLINE, lang="vi", start="2025-07")
    assert all(t.meta["segment"] == "current" for t in fig.data)
    assert "rebased" not in {s.name for s in fig.layout.shapes}
    assert fig.layout.xaxis.ticktext[0] == "T7/2025"


def test_spending_chart_compares_cumulative_planned_and_disbursed():
    df = pd.DataFrame({
        "period": ["2025-01", "2025-02", "2025-03"], "planned_cum": [100.0, 220.0, 330.0],
        "disbursed_cum": [50.0, 120.0, 200.0], "rate_cum": [50.0, 54.5454, 60.6061],
    })
    fig = trends.spending_chart(df, lang="vi", target_rate=95.0)
    by_series = {t.meta["series"]: t for t in fig.data}
    assert by_series["planned"].type == "bar" and list(by_series["planned"].y) == [100.0, 220.0, 330.0]
    assert by_series["disbursed"].type == "bar"
    assert by_series["rate"].yaxis == "y2"
    assert by_series["rate"].customdata[2][1] == "60,6 %"
    assert by_series["planned"].customdata[2][1] == "330,0 tỷ đồng"
    target = next(s for s in fig.layout.shapes if s.name == "target")
    assert target.y0 == 95.0 and target.yref == "y2"
    # Both axes say what they measure: the 95 % target is the rate's, not 95 tỷ đồng.
    assert fig.layout.yaxis.title.text == "tỷ đồng"
    assert fig.layout.yaxis2.title.text == "Tỷ lệ giải ngân lũy kế" and fig.layout.yaxis2.ticksuffix == " %"
    note = next(a for a in fig.layout.annotations if a.name == "target")
    assert note.text == "Mục tiêu tỷ lệ giải ngân 95 % (trục phải)" and note.yref == "y2"


def test_long_titles_take_two_short_lines_so_a_phone_shows_them_whole():
    wrap = theme.wrapped_title
    assert wrap("Kinh phí lũy kế năm 2025 · Phú Thọ") == "Kinh phí lũy kế năm 2025 · Phú Thọ"
    assert wrap("Tỷ lệ hồ sơ trực tuyến theo xã, phường · Phú Thọ · Tháng 9/2025") == \
        "Tỷ lệ hồ sơ trực tuyến theo xã, phường ·<br>Phú Thọ · Tháng 9/2025"
    assert wrap("Thay đổi thứ hạng từ Tháng 6/2025 đến Tháng 9/2025") == \
        "Thay đổi thứ hạng từ Tháng<br>6/2025 đến Tháng 9/2025"
    for title in ("Xếp hạng Sự cố an toàn thông tin trên 100.000 dân · Tháng 9/2025",
                  "Tỷ lệ hồ sơ trực tuyến theo tỉnh, thành phố · Tháng 9/2025"):
        assert max(len(line) for line in wrap(title).split("<br>")) <= theme.TITLE_CHARACTERS
    assert theme.base_layout(title="Tỷ lệ hồ sơ trực tuyến theo tỉnh, thành phố · Tháng 9/2025")["margin"]["t"] == 88


def test_chart_modules_do_not_import_streamlit():
    code = (
        "import sys; import charts.maps, charts.rankings, charts.trends, charts.theme; "
        "assert 'streamlit' not in sys.modules, 'charts imported streamlit'"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_the_archipelagos_are_visible_markers_in_their_provinces_colour(provinces):
    fig = maps.choropleth(provinces, indicator=ONLINE, lang="vi")
    islands = next(t for t in fig.data if t.name == "archipelagos")
    assert islands.mode == "markers+text" and islands.marker.size >= 10
    danang, khanhhoa = islands.customdata[:, 0]
    assert "Đà Nẵng" in danang and "Khánh Hòa" in khanhhoa  # hover: the owning province's value
    without_danang = provinces.assign(value=provinces["value"].where(provinces["code"] != "48"))
    grey = next(t for t in maps.choropleth(without_danang, indicator=ONLINE).data if t.name == "archipelagos")
    assert grey.marker.color[0] == theme.MISSING and grey.marker.color[1] != theme.MISSING


def test_a_shared_rank_reads_as_a_tie_on_both_bars_and_the_next_rank_skips(provinces):
    tied = provinces.copy()
    tied.loc[7, "value"] = tied.loc[8, "value"]  # 8th and Phú Thọ (9th) equal: both 8th, then 10th
    tied["rank"] = tied["value"].rank(ascending=False, method="min").astype(int)
    labels = list(rankings.ranking_bars(tied, indicator=ONLINE, lang="vi").data[0].y)
    assert labels[7].startswith("=8. ") and labels[8].startswith("=8. ") and labels[9].startswith("10. ")
    assert sum(label.startswith("=") for label in labels) == 2
