"""Pages 1–3 run in Streamlit's AppTest (no browser) against the session warehouse.

Each test opens a URL's worth of query parameters, runs the page and checks the values a
reader would see: Phú Thọ 9th of 34 with 88,01 % in Sep 2025, the written summary, bad
links, the language switch, permalinks.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from markdown_support import shown, shown_cells
from streamlit.testing.v1 import AppTest

from core import i18n

ROOT = Path(__file__).resolve().parent.parent
OVERVIEW, RANKINGS, TRENDS = "pages/1_overview.py", "pages/2_rankings.py", "pages/3_trends.py"


def run(script: str | None = None, **params: str) -> AppTest:
    """Open the app with query parameters (like a permalink), then the page script."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    if script and script != OVERVIEW:
        at.switch_page(script)
        at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def charts(at: AppTest) -> list[dict]:
    return [json.loads(el.proto.spec) for el in at.get("plotly_chart")]


def table(at: AppTest, index: int = 0):
    return at.dataframe[index].value


def shown_table(at: AppTest, index: int = 0) -> pd.DataFrame:
    """A table as the reader sees it: the text of its cells (the values stay numbers)."""
    return shown_cells(at.dataframe[index])


def leaderboard(at: AppTest, index: int = 0) -> pd.DataFrame:
    """The Overview's static five best / five worst table, as read (its Markdown escapes undone)."""
    return at.table[index].value.map(lambda cell: re.sub(r"\\(.)", r"\1", cell))


def text(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


# ----------------------------------------------------------------------------- rankings


def test_rankings_show_phu_tho_9th_of_34_with_88_01_percent(warehouse):
    at = run(RANKINGS, indicator="online_application_rate", period="2025-09", province="25")
    assert at.title[0].value == "Xếp hạng"
    df = shown_table(at)
    assert len(df) == 34
    row = df[df["Tỉnh, thành phố"] == "Phú Thọ"].iloc[0]
    assert row["Hạng"] == "9/34" and row["Giá trị"] == "88,01 %" and row["Thay đổi hạng"] == "▲2"
    assert row["Đạt mục tiêu"] == "Không"  # target ≥ 90 %
    assert df["Hạng"].tolist()[:3] == ["1/34", "2/34", "3/34"]
    numbers = table(at)  # underneath, numbers: sorting "Hạng" gives 1, 2, 3 … 10, 11
    assert numbers["Hạng"].tolist() == sorted(numbers["Hạng"].tolist()) and numbers["Hạng"].iloc[9] == 10
    assert numbers.loc[numbers["Tỉnh, thành phố"] == "Phú Thọ", "Giá trị"].iloc[0] == pytest.approx(88.01, abs=0.005)
    bars = charts(at)[0]
    assert bars["data"][0]["y"][8] == "9. Phú Thọ"
    shapes = {s["name"]: s for s in bars["layout"]["shapes"]}
    assert shapes["target"]["x0"] == 90.0 and "national" in shapes


def test_rankings_in_english_use_english_numbers_and_labels(warehouse):
    at = run(RANKINGS, indicator="online_application_rate", period="2025-09", lang="en")
    assert at.title[0].value == "Rankings"
    df = shown_table(at)
    row = df[df["Province"] == "Phú Thọ"].iloc[0]
    assert (row["Rank"], row["Value"], row["Rank change"]) == ("9/34", "88.01%", "▲2")
    assert at.selectbox(key="w.indicator").label == "Indicator"


def test_region_filter_keeps_national_ranks(warehouse):
    at = run(RANKINGS, indicator="online_application_rate", period="2025-09", region="tdmnpb")
    df = table(at)
    assert "Phú Thọ" in df["Tỉnh, thành phố"].tolist() and "Hà Nội" not in df["Tỉnh, thành phố"].tolist()
    assert set(df["Vùng"]) == {"Trung du và miền núi phía Bắc"}
    assert df[df["Tỉnh, thành phố"] == "Phú Thọ"]["Hạng"].iloc[0] == 9


def test_movers_over_a_span_of_months(warehouse):
    at = run(RANKINGS, indicator="online_application_rate", period="2025-09", span="1")
    movers = charts(at)[1]
    bars = movers["data"][0]
    assert "Phú Thọ" in bars["y"]
    i = bars["y"].index("Phú Thọ")
    assert bars["x"][i] == 2 and bars["text"][i] == "▲2  (11 → 9)"
    assert at.radio(key="w.span").value == 1


def test_delayed_tasks_rank_fewest_first_with_reversed_colours(warehouse):
    at = run(OVERVIEW, indicator="delayed_tasks", period="2025-09")
    values = [int(v) for v in leaderboard(at)["Giá trị"]]  # top 5
    assert values == sorted(values)
    ranks = leaderboard(at)["Hạng"].tolist()  # two provinces share the fewest: a tie says so
    assert ranks[:3] == ["1/34 (đồng hạng)", "1/34 (đồng hạng)", "3/34 (đồng hạng)"]
    rankings = run(RANKINGS, indicator="delayed_tasks", period="2025-09")
    ties = "Đồng hạng: các tỉnh có cùng giá trị có cùng hạng (1, 3, 6"
    assert any(c.value.startswith(ties) for c in rankings.caption)
    colours = charts(at)[0]["data"][0]["colorscale"]
    assert colours[0][1] == "#440154"  # "good" (dark) at the low end


def test_counts_are_compared_with_the_median_of_provinces_not_the_national_total(warehouse, db):
    """A national total (1.6 million applications) would squeeze 34 bars into 5 % of the axis
    and put every province about 1.6 million below it."""
    (median,) = db.execute(
        "SELECT median(value) FROM observation WHERE indicator = 'applications_received' "
        "AND level = 'province' AND period = '2025-09'").fetchone()
    at = run(RANKINGS, indicator="applications_received", period="2025-09")
    bars = charts(at)[0]
    line = next(s for s in bars["layout"]["shapes"] if s["name"] == "national")
    assert line["x0"] == pytest.approx(median)
    note = next(a["text"] for a in bars["layout"]["annotations"] if a["name"] == "national")
    assert note.startswith("Trung vị các tỉnh: ")
    xaxis = bars["layout"]["xaxis"]
    assert max(bars["data"][0]["x"]) > 0.8 * xaxis["range"][1]  # the bars fill the axis
    assert "nghìn" in " ".join(xaxis["ticktext"]) and not any("k" in t or "M" in t for t in xaxis["ticktext"])
    numbers = table(at)
    gaps = numbers["So với trung vị các tỉnh"]
    assert gaps.tolist() == pytest.approx((numbers["Giá trị"] - median).tolist())
    assert (gaps > 0).sum() == 17 and (gaps < 0).sum() == 17
    best = numbers.iloc[0]["Tỉnh, thành phố"]
    overview = run(OVERVIEW, indicator="applications_received", period="2025-09")
    sentences = text(overview)
    assert "cao hơn trung vị các tỉnh" in sentences and "mức chung cả nước" not in sentences
    assert {m.label: m.value for m in overview.metric}["Dẫn đầu"] == best


def test_a_count_per_1000_inhabitants_is_ranked_and_names_its_population_basis(warehouse, db):
    value, population, basis = db.execute(
        "SELECT o.value, p.population, p.population_basis FROM observation o JOIN province p ON p.code = o.unit_code "
        "WHERE o.indicator = 'applications_received' AND o.level = 'province' AND o.period = '2025-09' "
        "AND o.unit_code = '25'").fetchone()
    at = run(RANKINGS, indicator="applications_received", period="2025-09", per="1000")
    assert at.radio(key="w.per").value == "1000"
    numbers = table(at)
    phu_tho = numbers[numbers["Tỉnh, thành phố"] == "Phú Thọ"].iloc[0]
    assert phu_tho["Giá trị"] == pytest.approx(1000 * value / population)
    assert phu_tho["Dân số"] == population and phu_tho["Cơ sở dân số"] == basis
    assert numbers["Hạng"].tolist() == sorted(numbers["Hạng"].tolist())  # ranked per 1,000
    assert numbers.sort_values("Hạng")["Giá trị"].is_monotonic_decreasing
    assert shown_table(at).iloc[0]["Giá trị"].endswith(" /1.000 dân")
    bars = charts(at)[0]
    assert "trên 1.000 dân" in bars["layout"]["title"]["text"]
    line = next(s for s in bars["layout"]["shapes"] if s["name"] == "national")
    assert line["x0"] == pytest.approx(numbers["Giá trị"].median())
    note = shown(" ".join(c.value for c in at.caption))
    assert "xấp xỉ" in note and "nq202_2025 (23 tỉnh)" in note and "gso_pre_merger (11 tỉnh)" in note
    rate = run(RANKINGS, indicator="online_application_rate", period="2025-09", per="1000")
    assert not [r for r in rate.radio if r.key == "w.per"]  # rates are not divided by people


def test_after_a_load_the_movers_caption_says_partly_demo(warehouse_copy, tmp_path):
    from load_support import run_etl, write_csv

    from dashboard import db

    report = write_csv(tmp_path / "phu_tho.csv", ["period", "unit", "indicator", "value"],
                       [["2025-09", "Phú Thọ", "applications_received", 12345]])
    assert run_etl("load", str(report), "--db", str(warehouse_copy)).returncode == 0
    db.reset()
    at = run(RANKINGS, indicator="applications_received", period="2025-09", span="1")
    movers_caption = next(c.value for c in at.caption if "Tháng 8/2025 – Tháng 9/2025" in c.value)
    assert movers_caption.endswith(" · một phần là số liệu minh họa")
    db.reset()


def test_streamlits_own_widget_texts_are_said_in_the_readers_language(warehouse):
    for lang, words in (("vi", ["Không có kết quả", "Chọn tệp", "Tối đa 200 MB mỗi tệp · CSV, XLSX"]),
                        ("en", ["No results", "Choose a file", "Up to 200 MB per file"])):
        at = run(RANKINGS, lang=lang)
        style = " ".join(h.proto.body for h in at.get("html"))
        assert all(f'content: "{w}' in style for w in words), style
        assert '[role="listbox"][data-empty="true"]' in style and "stFileUploaderDropzoneInstructions" in style


def test_the_sources_table_speaks_the_readers_language(warehouse):
    for lang, licence, producer in (
        ("vi", "CC0 — dữ liệu tổng hợp, không phải số liệu chính thức", "Bộ sinh số liệu minh họa của DX dashboard"),
        ("en", "CC0 — synthetic, not official statistics", "DX dashboard demo generator"),
    ):
        at = run("pages/6_data_methods.py", lang=lang)
        t = i18n.translator(lang)
        sources = next(d.value for d in at.dataframe if t("methods.col_licence") in d.value.columns)
        demo = sources[sources[t("methods.col_source")] == "demo"].iloc[0]
        assert demo[t("methods.col_licence")] == licence and demo[t("methods.col_producer")].startswith(producer)
        natural_earth = sources[sources[t("methods.col_source")] == "natural-earth-admin1"].iloc[0]
        public_domain = "Phạm vi công cộng" if lang == "vi" else "Public domain"
        assert natural_earth[t("methods.col_licence")].startswith(public_domain)


# ----------------------------------------------------------------------------- overview


def test_overview_headlines_and_sentence_for_phu_tho(warehouse):
    at = run(OVERVIEW, indicator="online_application_rate", period="2025-09", province="25")
    assert at.title[0].value == "Tổng quan"
    sentences = text(at)
    assert "Phú Thọ xếp thứ 9/34 về tỷ lệ hồ sơ trực tuyến (88,01 %), tăng 2 bậc so với tháng trước." in sentences
    metrics = {m.label: m for m in at.metric}
    assert set(metrics) == {"Cả nước", "Số tỉnh đạt mục tiêu", "Dẫn đầu", "Cuối bảng"}
    national = metrics["Cả nước"].value
    assert national.endswith(" %") and "," in national
    assert metrics["Số tỉnh đạt mục tiêu"].value.endswith("/34")
    best = leaderboard(at, 0)
    worst = leaderboard(at, 1)
    assert metrics["Dẫn đầu"].value == best["Tỉnh, thành phố"].iloc[0] and best["Hạng"].iloc[0] == "1/34"
    assert metrics["Cuối bảng"].value == worst["Tỉnh, thành phố"].iloc[-1] and worst["Hạng"].iloc[-1] == "34/34"
    assert any("demo" in w.value.lower() or "minh họa" in w.value for w in at.warning)  # demo banner


def test_overview_national_value_is_the_ratio_of_summed_counts(warehouse, db):
    num, den = db.execute(
        "SELECT sum(numerator), sum(denominator) FROM observation WHERE indicator = "
        "'online_application_rate' AND level = 'province' AND period = '2025-09'"
    ).fetchone()
    at = run(OVERVIEW, indicator="online_application_rate", period="2025-09", lang="en")
    expected = f"{100 * num / den:,.2f}%"
    assert {m.label: m.value for m in at.metric}["National"] == expected


def test_overview_map_has_34_provinces_and_offline_config(warehouse):
    at = run(OVERVIEW, indicator="online_application_rate", period="2025-09", province="25")
    spec = charts(at)[0]
    trace = spec["data"][0]
    assert trace["type"] == "choropleth" and len(trace["locations"]) == 34
    assert all(isinstance(c, str) and len(c) == 2 for c in trace["locations"])
    config = json.loads(at.get("plotly_chart")[0].proto.config)
    assert config["topojsonURL"] == "/app/static/topojson/"
    assert config["displaylogo"] is False
    assert config["toImageButtonOptions"]["filename"] == "map_online_application_rate_2025-09"


def test_indices_show_the_median_not_a_total(warehouse):
    at = run(OVERVIEW, indicator="index766_total", period="2025-09")
    labels = [m.label for m in at.metric]
    assert "Trung vị 34 tỉnh" in labels and "Cả nước" not in labels
    assert "Trung vị các tỉnh" in text(at)


def test_bad_link_warns_and_falls_back_without_an_exception(warehouse):
    at = run(OVERVIEW, indicator="nope", province="99", period="1999-01")
    warnings = shown(" ".join(w.value for w in at.warning))
    assert "nope" in warnings and "99" in warnings and "1999-01" in warnings
    assert at.selectbox(key="w.indicator").value == "online_application_rate"
    assert at.query_params["indicator"] == "online_application_rate"  # the URL is repaired
    assert at.query_params["period"] == "2026-10"  # latest month
    assert at.query_params["province"] != "99"


def test_unknown_page_in_the_link_warns(warehouse):
    at = run(None, page="nope")
    assert any("nope" in w.value for w in at.warning)
    assert at.title[0].value == "Tổng quan"


def test_page_parameter_on_the_root_url_opens_that_page(warehouse):
    at = run(None, page="rankings", period="2025-09")
    assert at.title[0].value == "Xếp hạng"
    assert at.query_params["period"] == "2025-09"


def test_english_switch_changes_labels(warehouse):
    at = run(OVERVIEW, period="2025-09", province="25")
    assert at.selectbox(key="w.indicator").label == "Chỉ tiêu"
    at.radio(key="w.lang").set_value("en").run()
    assert not at.exception
    assert at.title[0].value == "Overview"
    assert at.selectbox(key="w.indicator").label == "Indicator"
    assert "Phú Thọ ranks 9/34 in online application rate (88.01%), up 2 places" in text(at)
    assert at.query_params["lang"] == "en"


def test_changing_a_filter_updates_the_permalink_which_restores_the_view(warehouse):
    at = run(RANKINGS, indicator="online_application_rate", period="2025-09")
    at.selectbox(key="w.indicator").set_value("on_time_rate").run()
    at.selectbox(key="w.region").set_value("dbscl").run()
    params = {k: at.query_params[k] for k in at.query_params}
    assert params["indicator"] == "on_time_rate" and params["region"] == "dbscl"
    shown = table(at)
    reopened = run(RANKINGS, **params)
    assert table(reopened).equals(shown)


def test_only_a_province_the_reader_picks_carries_to_other_pages(warehouse):
    """The Overview narrates the leader until the reader picks a province: that automatic
    pick is no highlight on Rankings and no series on Trends; an explicit pick is."""
    at = run(OVERVIEW, indicator="online_application_rate", period="2025-09")
    leader = leaderboard(at, 0)["Tỉnh, thành phố"].iloc[0]
    assert at.selectbox(key="w.province").value != "" and "province" not in at.query_params
    assert leader in text(at)
    at.switch_page(RANKINGS).run()
    assert at.selectbox(key="w.province").value == ""  # "(không)": nothing highlighted
    at.switch_page(TRENDS).run()
    assert at.multiselect(key="w.provinces").value == ["01", "79"]
    at.switch_page(OVERVIEW).run()
    at.selectbox(key="w.province").set_value("25").run()
    assert at.query_params["province"] == "25"
    at.switch_page(RANKINGS).run()
    assert at.selectbox(key="w.province").value == "25"
    fresh = run(OVERVIEW, indicator="online_application_rate", period="2025-09")
    fresh.selectbox(key="w.province").set_value("25").run()
    fresh.switch_page(TRENDS).run()
    assert fresh.multiselect(key="w.provinces").value == ["25"]


# ----------------------------------------------------------------------------- trends


def test_trends_compare_provinces_with_national_and_target(warehouse):
    at = run(TRENDS, indicator="online_application_rate", provinces="25,01")
    lines, spending = charts(at)
    names = {t["name"] for t in lines["data"]}
    assert {"Cả nước", "Phú Thọ", "Hà Nội"} <= names
    rebased = [t for t in lines["data"] if t["meta"]["segment"] == "rebased"]
    assert rebased and all(t["line"]["dash"] == "dot" for t in rebased)
    assert all(x <= "2025-07-01" for t in rebased for x in t["x"])
    shape_names = {s["name"] for s in lines["layout"]["shapes"]}
    assert {"target", "rebased", "event:2025-07-01"} <= shape_names
    assert "event:2025-10-01" not in shape_names  # the 766 method change is marked on 766 charts only
    assert any("tái tính" in c.value for c in at.caption)
    assert {t["meta"]["series"] for t in spending["data"]} == {"planned", "disbursed", "rate"}
    assert "đã giải ngân" in text(at)


def test_trends_mark_the_766_method_change_on_the_766_charts(warehouse, db):
    """The online public services group fell from 22 to 12 points in 2025-10, when the index
    moved to six groups: the chart marks the change of method there."""
    at = run(TRENDS, indicator="index766_online_service", provinces="25", history="0", lang="en")
    lines = charts(at)[0]
    marks = {s["name"] for s in lines["layout"]["shapes"]}
    notes = [a["text"] for a in lines["layout"]["annotations"] if a.get("name") == "event:2025-10-01"]
    assert "event:2025-10-01" in marks and notes == ["Decision 766 index: 6 groups (online payment split out)"]
    phu_tho = next(tr for tr in lines["data"] if tr["name"] == "Phú Thọ")
    values = dict(zip(phu_tho["x"], phu_tho["y"]))
    (sep,), (oct_,) = (db.execute("SELECT value FROM observation WHERE indicator = 'index766_online_service' "
                                  "AND unit_code = '25' AND level = 'province' AND period = ?", [p]).fetchone()
                       for p in ("2025-09", "2025-10"))
    assert values["2025-09-01"] == pytest.approx(sep) and values["2025-10-01"] == pytest.approx(oct_)
    assert oct_ <= 12 < sep


def test_trends_without_history_and_for_one_province_spending(warehouse):
    at = run(TRENDS, indicator="online_application_rate", provinces="25", history="0", year="2025", scope="25")
    lines, spending = charts(at)
    assert {t["meta"]["segment"] for t in lines["data"]} == {"current", "published"}  # the national 29/8 figure
    assert spending["layout"]["title"]["text"] == "Kinh phí lũy kế năm 2025 · Phú Thọ"
    assert len(spending["data"][0]["x"]) == 12
    rate = spending["data"][2]["customdata"][-1][1]
    assert rate.endswith(" %")


def test_trends_drop_unknown_provinces_from_the_link(warehouse):
    at = run(TRENDS, provinces="25,zz")
    assert any("zz" in w.value for w in at.warning)
    assert at.multiselect(key="w.provinces").value == ["25"]


@pytest.mark.parametrize("indicator", ["spending_disbursement_rate", "eid_level2_accounts", "procedures_total"])
def test_every_page_runs_for_other_indicators(warehouse, indicator):
    for page in (OVERVIEW, RANKINGS, TRENDS):
        at = run(page, indicator=indicator)
        assert at.selectbox(key="w.indicator").value == indicator
        assert charts(at)


def test_every_page_enters_app_py_shell_and_permalinks_match_file_names():
    """With a ``pages/`` folder, the first request after a server start to a page URL runs the
    page script alone (Streamlit's old multipage mode): each page must call
    ensure_app_shell() before rendering, and app.py's URL paths must equal the names
    Streamlit derives from the file names, so every permalink reaches its page."""
    import re as _re

    app_source = (ROOT / "app.py").read_text(encoding="utf-8")
    registered = dict(_re.findall(r'\("pages/(\d+_[a-z_]+)\.py", "([a-z_]+)"', app_source))
    scripts = sorted(p.stem for p in (ROOT / "pages").glob("*.py"))
    assert sorted(registered) == scripts and len(scripts) == 9
    for stem, url_path in registered.items():
        assert url_path == stem.split("_", 1)[1]
        source = (ROOT / "pages" / f"{stem}.py").read_text(encoding="utf-8")
        assert source.index("ensure_app_shell()") < source.index("\nimport streamlit")


def test_message_icons_come_from_the_bundled_icon_font():
    """Icons are Material Symbols, which Streamlit ships: an emoji icon shows as an empty box
    in a browser without an emoji font (Debian's Chromium here), e.g. on a meeting-room PC."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    sources = [root / "app.py", *sorted((root / "pages").glob("*.py")), *sorted((root / "dashboard").glob("*.py"))]
    emoji_icons = [f"{p.relative_to(root)}: {m.group(0)}" for p in sources
                   for m in re.finditer(r'(?<!page_)icon="(?!:material/)[^"]*"', p.read_text(encoding="utf-8"))]
    assert emoji_icons == []


def test_a_missing_page_file_stops_the_app_loudly(warehouse, tmp_path):
    """No page is left out of the navigation quietly: without pages/5_communes.py the app
    stops with Streamlit's page-not-found error naming the file (readers see only the generic
    box, as for any error: client.showErrorDetails; shown in full here to read it)."""
    import shutil

    from streamlit import config

    shutil.copyfile(ROOT / "app.py", tmp_path / "app.py")
    (tmp_path / "pages").mkdir()
    for page in (ROOT / "pages").glob("*.py"):
        if page.name != "5_communes.py":
            shutil.copyfile(page, tmp_path / "pages" / page.name)
    shown_to_readers = config.get_option("client.showErrorDetails")
    config.set_option("client.showErrorDetails", "full")
    try:
        at = AppTest.from_file(str(tmp_path / "app.py"), default_timeout=60)
        at.run()
    finally:
        config.set_option("client.showErrorDetails", shown_to_readers)
    assert len(at.exception) == 1
    assert at.exception[0].proto.type == "streamlit.errors.StreamlitPageNotFoundError"
    assert "5_communes.py" in at.exception[0].value
    assert not at.title  # nothing of a page was drawn


def _found(options: list[str], typed: str) -> list[str]:
    """What a picker's filter keeps: options holding the typed letters in order (case aside)."""
    def holds(option: str) -> bool:
        rest = iter(option.lower())
        return all(ch in rest for ch in typed.lower())
    return [o for o in options if holds(o)]


@pytest.mark.parametrize("typed, province", [("phu tho", "Phú Thọ"), ("hue", "Huế"), ("ho chi minh", "Hồ Chí Minh")])
def test_every_province_picker_finds_a_province_typed_without_diacritics(warehouse, typed, province):
    pickers = [
        (OVERVIEW, {}, lambda at: at.selectbox(key="w.province")),
        (RANKINGS, {}, lambda at: at.selectbox(key="w.province")),
        (TRENDS, {}, lambda at: at.multiselect(key="w.provinces")),
        ("pages/4_province.py", {}, lambda at: at.selectbox(key="w.province")),
        ("pages/5_communes.py", {}, lambda at: at.selectbox(key="w.in_province")),
    ]
    for page, params, picker in pickers:
        options = picker(run(page, **params)).options
        assert f"{province} ({typed.title()})" in _found(options, typed), page
        assert f"{province} ({typed.title()})" in _found(options, province), page  # as written too
