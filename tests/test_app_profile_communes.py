"""Pages 4–6 (Province profile, Communes, Data & methods) in Streamlit's AppTest against the
session warehouse. Values are checked against the warehouse with direct SQL: Phú Thọ 9th of
34 with 88,01 % in Sep 2025, the Decision 766 groups of the month's method (five, six from
Oct 2025) adding up to the total shown, 148
commune points on Phú Thọ's map, "quang dien" finding Xã Quảng Điền, filter counts, every
catalog indicator and every press fact agreeing (with demo data set to match, until real data
arrive), bad links warning without an exception.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from load_support import write_csv
from markdown_support import shown, shown_cells
from streamlit.testing.v1 import AppTest

from core import catalog as indicator_catalog
from dashboard import views_doc
from etl.load import apply_load, plan_load

ROOT = Path(__file__).resolve().parent.parent
PROFILE, COMMUNES, METHODS = "province", "communes", "data_methods"  # url paths


def run(page: str, **params: str) -> AppTest:
    """Open a permalink: ``/?page=<url path>&…`` opens that page with the other parameters,
    as ``/<url path>?…`` does in a browser (the page sees the link's values first)."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params["page"] = page
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def charts(at: AppTest) -> list[dict]:
    return [json.loads(el.proto.spec) for el in at.get("plotly_chart")]


def chart_titles(at: AppTest) -> list[str]:
    return [(c["layout"].get("title") or {}).get("text", "") for c in charts(at)]


def table(at: AppTest, column: str):
    """The first table shown with a column of that (translated) name."""
    return next(df.value for df in at.dataframe if column in df.value.columns)


def vi_number(text: str) -> float:
    """'73,15' / '1.234,5' / '+0,04' -> float (Vietnamese marks)."""
    return float(text.replace("−", "-").replace(".", "").replace(",", ".").split()[0])


@pytest.fixture(scope="module")
def sql(db):
    """Queries on the session's read-only connection (see tests/conftest.py)."""
    return lambda q, p=None: db.execute(q, p or []).fetchall()


# ----------------------------------------------------------------------------- province profile


def test_profile_of_phu_tho_shows_9th_of_34_and_88_01_percent(warehouse, sql):
    at = run(PROFILE, province="25", period="2025-09")
    assert at.title[0].value == "Hồ sơ tỉnh, thành phố"
    assert "Hồ sơ Phú Thọ" in [s.value for s in at.header]
    df = table(at, "Xu hướng 12 tháng")
    (n_indicators,), = sql(
        "SELECT count(DISTINCT indicator) FROM observation WHERE level = 'province' AND unit_code = '25' "
        "AND period BETWEEN '2024-10' AND '2025-09'"
    )
    later = set(indicator_catalog.by_role("index766").components) - set(
        indicator_catalog.index766_method("2025-09").codes)  # online payment: a 766 group from 2025-10
    published = [i for i in indicator_catalog.indicators().values() if "province" in i.levels and i.code not in later]
    assert later == {"index766_online_payment"}
    assert len(df) == n_indicators == len(published)  # every indicator published for provinces
    row = df[df["Chỉ tiêu"] == "Tỷ lệ hồ sơ trực tuyến"].iloc[0]
    assert (row["Giá trị"], row["Hạng"], row["Thay đổi hạng"]) == (pytest.approx(88.01, abs=0.005), 9, 2)
    said = shown_cells(next(d for d in at.dataframe if "Xu hướng 12 tháng" in d.value.columns))
    rate = said[said["Chỉ tiêu"] == "Tỷ lệ hồ sơ trực tuyến"].iloc[0]  # each row in its own unit
    assert (rate["Giá trị"], rate["Hạng"], rate["Thay đổi hạng"]) == ("88,01 %", "9/34", "▲2")
    assert rate["So với tháng trước"].endswith(" điểm %")
    bts = said[said["Chỉ tiêu"] == "Trạm phát sóng BTS"].iloc[0]
    assert "%" not in bts["Giá trị"] and "." in bts["Giá trị"]
    trend = row["Xu hướng 12 tháng"]  # (AppTest gives a styled table's list cells as their text)
    trend = json.loads(trend) if isinstance(trend, str) else list(trend)
    assert len(trend) == 12 and trend[-1] == pytest.approx(88.01)
    # every rank shown is the warehouse's rank
    ranks = dict(sql("SELECT indicator, rank FROM province_rank WHERE province_code = '25' AND period = '2025-09'"))
    names = dict(sql("SELECT name_vi, code FROM indicator"))
    shown = {names[n]: int(r) for n, r in zip(df["Chỉ tiêu"], df["Hạng"])}
    assert shown == ranks
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Tỷ lệ hồ sơ trực tuyến"] == "88,01 %"
    assert metrics["Xã, phường, đặc khu"] == "148"
    assert any("Tháng 9/2025" in c.value and "Nguồn" in c.value for c in at.caption)
    assert at.query_params["province"] == "25" and at.query_params["period"] == "2025-09"


def test_a_profile_mixing_real_and_demo_values_says_partly_demo(warehouse_copy, tmp_path):
    from etl.load import apply_load, plan_load

    report = tmp_path / "phu_tho_bts.csv"
    report.write_text("period,unit,indicator,value\n2025-09,Phú Thọ,bts_stations,10250\n", encoding="utf-8")
    assert apply_load(plan_load(report, db=warehouse_copy), db=warehouse_copy).status == "loaded"
    at = run(PROFILE, province="25", period="2025-09")
    caption = next(shown(c.value) for c in at.caption
                   if c.value.startswith("Nguồn") and "phu_tho_bts.csv (#1)" in shown(c.value))
    assert caption.endswith(" · một phần là số liệu minh họa")
    row = table(at, "Xu hướng 12 tháng").set_index("Chỉ tiêu").loc["Trạm phát sóng BTS"]
    assert row["Giá trị"] == 10250


def test_profile_in_english(warehouse):
    at = run(PROFILE, province="25", period="2025-09", lang="en")
    df = shown_cells(next(d for d in at.dataframe if "12-month trend" in d.value.columns))
    row = df[df["Indicator"] == "Online application rate"].iloc[0]
    assert (row["Value"], row["Rank"]) == ("88.01%", "9/34")
    assert "Profile of Phú Thọ" in [s.value for s in at.header]


def test_766_groups_add_up_to_the_total_shown_and_the_driver_is_named(warehouse, sql):
    at = run(PROFILE, province="25", period="2025-09")
    groups = table(at, "Tối đa")
    assert groups["Nhóm"].tolist() == [
        "Công khai, minh bạch", "Tiến độ giải quyết", "Số hóa hồ sơ", "Dịch vụ công trực tuyến",
        "Mức độ hài lòng", "Tổng",
    ]
    scores = [vi_number(s) for s in groups["Điểm"]]
    assert sum(scores[:5]) == pytest.approx(scores[5], abs=0.006)
    assert [vi_number(m) for m in groups["Tối đa"]] == [18, 20, 22, 22, 18, 100]
    (total, ), = sql("SELECT value FROM observation WHERE indicator = 'index766_total' AND unit_code = '25' "
                     "AND level = 'province' AND period = '2025-09'")
    assert scores[5] == pytest.approx(total)
    metric = {m.label: m.value for m in at.metric}["Chỉ số 766 (0–100)"]
    assert vi_number(metric) == pytest.approx(total)
    # waterfall: previous total + the five changes = this month's total
    waterfall = next(c for c in charts(at) if c["data"][0]["type"] == "waterfall")["data"][0]
    assert waterfall["measure"] == ["absolute"] + ["relative"] * 5 + ["total"]
    assert waterfall["y"][0] + sum(waterfall["y"][1:6]) == pytest.approx(waterfall["y"][6])
    assert waterfall["y"][6] == pytest.approx(total)
    # the sentence names the group whose change drove the total's change
    deltas = dict(sql(
        """SELECT c.indicator, c.value - p.value FROM observation c JOIN observation p
           ON p.indicator = c.indicator AND p.unit_code = c.unit_code AND p.level = c.level AND p.period = '2025-08'
           WHERE c.level = 'province' AND c.unit_code = '25' AND c.period = '2025-09'
             AND c.indicator LIKE 'index766_%' AND c.indicator <> 'index766_total'"""
    ))
    total_change = sum(deltas.values())
    driver = max((d for d in deltas.items() if (d[1] > 0) == (total_change > 0)), key=lambda d: abs(d[1]))[0]
    (driver_name,), = sql("SELECT name_vi FROM indicator WHERE code = ?", [driver])
    sentence = next(m.value for m in at.markdown if m.value.startswith("Chỉ số 766 của Phú Thọ"))
    assert ("giảm" if total_change < 0 else "tăng") in sentence
    assert driver_name.split("–")[1].strip() in sentence


def test_from_2025_11_the_profile_shows_the_six_groups_of_the_new_method(warehouse, sql):
    at = run(PROFILE, province="25", period="2025-11")
    groups = table(at, "Tối đa")
    assert groups["Nhóm"].tolist() == [
        "Công khai, minh bạch", "Tiến độ giải quyết", "Số hóa hồ sơ", "Dịch vụ công trực tuyến",
        "Thanh toán trực tuyến", "Mức độ hài lòng", "Tổng",
    ]
    assert [vi_number(m) for m in groups["Tối đa"]] == [18, 20, 22, 12, 10, 18, 100]
    stored = dict(sql("SELECT indicator, value FROM observation WHERE unit_code = '25' AND level = 'province' "
                      "AND period = '2025-11' AND indicator LIKE 'index766_%'"))
    scores = [vi_number(s) for s in groups["Điểm"]]
    assert scores[4] == pytest.approx(stored["index766_online_payment"]) and scores[6] == pytest.approx(
        stored["index766_total"])
    bars = next(c for c in charts(at) if c["layout"].get("barmode") == "overlay")["data"]
    assert bars[0]["x"] == [18, 20, 22, 12, 10, 18] and len(bars[1]["y"]) == 6
    waterfall = next(c for c in charts(at) if c["data"][0]["type"] == "waterfall")["data"][0]
    assert waterfall["measure"] == ["absolute"] + ["relative"] * 6 + ["total"]


def test_in_2025_10_the_profile_says_the_method_changed_and_draws_no_waterfall(warehouse):
    at = run(PROFILE, province="25", period="2025-10", lang="en")
    assert not [c for c in charts(at) if c["data"][0]["type"] == "waterfall"]
    sentence = next(m.value for m in at.markdown if m.value.startswith("Phú Thọ's Decision 766 index"))
    assert "From Oct 2025 the index follows a new method, 6 groups (online payment split out) (5 → 6 groups)" \
        in sentence and "Main driver" not in sentence
    changes = table(at, "Maximum")["Change (points)"].tolist()
    assert changes[3:5] == ["–", "–"] and "–" not in changes[:3]


def test_commune_map_has_148_points_over_the_province_outline(warehouse, sql):
    at = run(PROFILE, province="25", period="2025-09")
    (n,), = sql("SELECT count(*) FROM commune WHERE province_code = '25'")
    assert n == 148
    spec = next(c for c in charts(at) if any(t["type"] == "scattergeo" for t in c["data"]))
    points = sum(len(t["lat"]) for t in spec["data"] if t["type"] == "scattergeo")
    assert points == 148
    outline = next(t for t in spec["data"] if t["type"] == "choropleth")
    assert outline["locations"] == ["25"] and outline["geojson"]["features"][0]["properties"]["code"] == "25"
    geo = spec["layout"]["geo"]
    assert geo["fitbounds"] == "locations" and geo["visible"] is False
    assert "mapbox" not in spec["layout"] and "map" not in spec["layout"]
    index = next(i for i, c in enumerate(charts(at)) if c is not None and c["data"][0]["type"] == "choropleth")
    config = json.loads(at.get("plotly_chart")[index].proto.config)
    assert config["topojsonURL"] == "/app/static/topojson/"
    # the commune table: ranks within the province, as in commune_rank
    communes = table(at, "Hạng trong tỉnh")
    assert len(communes) == 148
    best = sql("SELECT c.name FROM commune_rank r JOIN commune c ON c.code = r.commune_code "
               "WHERE r.indicator = 'online_application_rate' AND r.period = '2025-09' AND r.province_code = '25' "
               "AND r.rank_in_province = 1")
    assert communes.iloc[0]["Tên"] == best[0][0] and communes.iloc[0]["Hạng trong tỉnh"] == 1
    shown = shown_cells(next(d for d in at.dataframe if "Hạng trong tỉnh" in d.value.columns))
    assert shown.iloc[0]["Hạng trong tỉnh"] == "1/148"


def test_profile_before_commune_data_explains_instead_of_an_empty_map(warehouse):
    at = run(PROFILE, province="25", period="2025-03")
    assert any("Tháng 7/2025" in i.value for i in at.info)
    assert not any(any(t["type"] == "scattergeo" for t in c["data"]) for c in charts(at))


def test_unknown_province_in_the_link_warns_and_falls_back(warehouse):
    at = run(PROFILE, province="99", period="2025-09")
    assert any("99" in w.value for w in at.warning)
    assert at.query_params["province"] != "99"
    assert table(at, "Xu hướng 12 tháng") is not None


# ----------------------------------------------------------------------------- communes


def test_search_without_diacritics_finds_xa_quang_dien(warehouse):
    at = run(COMMUNES, q="quang dien", period="2025-09")
    df = table(at, "Hạng toàn quốc")
    first = df.iloc[0]
    assert (first["Tên"], first["Tỉnh, thành phố"], first["Mã"]) == ("Xã Quảng Điền", "Huế", "19867")
    # the drill-down opens the best match, and the permalink says so
    assert any(m.value == "### Xã Quảng Điền" for m in at.markdown)
    assert at.query_params["commune"] == "19867" and at.query_params["q"] == "quang dien"
    detail = table(at, "Xu hướng 12 tháng")
    assert len(detail) == len([i for i in indicator_catalog.indicators().values() if "commune" in i.levels])
    assert detail.iloc[0]["Hạng trong tỉnh"].endswith("/40")


@pytest.mark.parametrize(
    "params, kinds, low, high, province",
    [
        ({}, ("xã", "phường", "đặc khu"), 0, 17, None),
        ({"kind": "phuong"}, ("phường",), 0, 17, None),
        ({"kind": "xa,dac_khu", "criteria": "16-17"}, ("xã", "đặc khu"), 16, 17, None),
        ({"criteria": "0-12", "in_province": "46"}, ("xã", "phường", "đặc khu"), 0, 12, "46"),
    ],
)
def test_filters_by_kind_and_criteria_count_like_sql(warehouse, sql, params, kinds, low, high, province):
    at = run(COMMUNES, period="2025-09", **params)
    (expected,), = sql(
        """SELECT count(*) FROM commune c LEFT JOIN observation k ON k.unit_code = c.code
           AND k.level = 'commune' AND k.indicator = 'dx_criteria_met' AND k.period = '2025-09'
           WHERE list_contains(?, c.kind) AND k.value BETWEEN ? AND ? AND (? IS NULL OR c.province_code = ?)""",
        [list(kinds), low, high, province, province],
    )
    assert len(table(at, "Hạng toàn quốc")) == expected
    count = next(m.value for m in at.markdown if "3.321 xã, phường, đặc khu phù hợp" in m.value)
    assert count.startswith(f"{expected:,}".replace(",", ".") + " trên 3.321")
    assert at.slider(key="w.criteria.slider").value == (low, high)
    if params == {}:
        assert expected == 3321


def test_commune_ranks_within_province_and_nationally(warehouse, sql):
    at = run(COMMUNES, period="2025-09", in_province="46", indicator="applications_received")
    numbers = table(at, "Hạng toàn quốc")  # numbers underneath: the national rank sorts 9, 10, 1.712
    assert numbers["Hạng toàn quốc"].is_monotonic_increasing and numbers["Hạng toàn quốc"].dtype == "Int64"
    df = shown_cells(next(d for d in at.dataframe if "Hạng toàn quốc" in d.value.columns))
    assert len(df) == 40
    rows = sql("SELECT c.name, r.rank_in_province, r.rank_national FROM commune_rank r JOIN commune c "
               "ON c.code = r.commune_code WHERE r.indicator = 'applications_received' AND r.period = '2025-09' "
               "AND r.province_code = '46' ORDER BY r.rank_national, c.name")
    assert df["Tên"].tolist() == [r[0] for r in rows]
    assert df["Hạng trong tỉnh"].tolist() == [f"{r[1]}/40" for r in rows]
    assert df["Hạng toàn quốc"].tolist() == [f"{r[2]:,}/3.321".replace(",", ".") for r in rows]  # "1.712/3.321"


def test_drill_down_from_a_permalink_shows_series_and_ranks(warehouse):
    at = run(COMMUNES, commune="19867", period="2025-09", indicator="online_application_rate")
    assert any(m.value == "### Xã Quảng Điền" for m in at.markdown)
    trend = next(c for c in charts(at) if any((t.get("meta") or {}).get("series") == "rank" for t in c["data"]))
    series = {t["meta"]["series"]: t for t in trend["data"]}
    assert len(series["commune"]["x"]) == 16  # Jul 2025 … Oct 2026
    assert set(series) == {"commune", "province", "rank"}
    assert trend["layout"]["yaxis2"]["range"][0] > trend["layout"]["yaxis2"]["range"][1]  # rank 1 on top


def test_unknown_commune_and_indicator_in_the_link_warn(warehouse):
    at = run(COMMUNES, commune="99999", indicator="bts_stations", q="zzzzqqq")
    warnings = shown(" ".join(w.value for w in at.warning))
    assert "99999" in warnings and "bts_stations" in warnings
    assert any("zzzzqqq" in i.value for i in at.info)


# ----------------------------------------------------------------------------- data & methods


def test_data_and_methods_lists_every_indicator_and_every_press_fact_agreeing(warehouse, sql):
    at = run(METHODS)
    catalog = table(at, "Công thức")
    codes = [c for (c,) in sql("SELECT code FROM indicator ORDER BY sort_order")]
    assert codes == list(indicator_catalog.indicators())  # every catalog entry, in catalog order
    assert catalog["Mã"].tolist() == codes
    rate = catalog[catalog["Mã"] == "online_application_rate"].iloc[0]
    assert rate["Công thức"] == "100 × Hồ sơ nộp trực tuyến / Hồ sơ tiếp nhận"
    assert rate["Mục tiêu quốc gia"] == "≥ 90,00 % (Tháng 12/2025)"
    assert catalog[catalog["Mã"] == "delayed_tasks"].iloc[0]["Chiều tốt"] == "Càng thấp càng tốt"

    facts = table(at, "Đối chiếu")
    ids = [i for (i,) in sql("SELECT id FROM press_fact ORDER BY fact_no, id")]
    assert facts["Mã"].tolist() == ids
    (n_checkable,), = sql('SELECT count(*) FROM press_fact WHERE "check" IS NOT NULL')
    assert (facts["Đối chiếu"] == "✓").sum() == n_checkable and n_checkable >= 30
    assert (facts["Đối chiếu"] == "✗").sum() == 0
    assert facts["Bài báo"].str.startswith("https://").all()
    phu_tho = facts[facts["Mã"] == "F01a"].iloc[0]
    assert phu_tho["Giá trị trong kho"] == "88,01 %" and "(kỳ ước định)" in phu_tho["Kỳ"]
    assert not at.error
    # Every agreement is with demo data set to match, except the commune counts and the
    # target, which are reference data; context rows have no value to qualify.
    basis = dict(zip(facts["Mã"], facts["Giá trị trong kho là"]))
    reference = {i for (i,) in sql("""SELECT id FROM press_fact WHERE "check" IN ('n_communes', 'target')""")}
    assert {basis[i] for i in reference} == {"số liệu thật"} and len(reference) == 4
    checked = set(facts.loc[facts["Đối chiếu"] == "✓", "Mã"])
    assert {basis[i] for i in checked - reference} == {"số liệu minh họa, đặt cho khớp"}
    assert {basis[i] for i in set(ids) - checked} == {""}
    summary = next(m.value for m in at.markdown if "khớp với số liệu minh họa" in m.value)
    assert f"Trong {n_checkable} số liệu khớp, **{n_checkable - 4} khớp với số liệu minh họa**" in summary


def test_data_and_methods_says_real_once_a_real_value_is_loaded_for_a_fact(warehouse_copy, tmp_path):
    """Phú Thọ's online rate (F01a: 88,01 %) and 5G stations (F03b: 170) arrive from a real
    report: F01a then agrees with real data, F03b (171) disagrees, and the rank (F01b) is still
    among demo values."""
    report = write_csv(tmp_path / "phu_tho.csv", ["period", "unit", "indicator", "value"],
                       [["2025-09", "Phú Thọ", "online_application_rate", 88.01],
                        ["2025-09", "Phú Thọ", "stations_5g", 171]])
    assert apply_load(plan_load(report, db=warehouse_copy), db=warehouse_copy).status == "loaded"
    for lang, fact_id, check, basis, real, demo in (
            ("vi", "Mã", "Đối chiếu", "Giá trị trong kho là", "số liệu thật", "số liệu minh họa, đặt cho khớp"),
            ("en", "Id", "Check", "Warehouse value is", "real", "demo, set to match")):
        facts = table(run(METHODS, lang=lang), check).set_index(fact_id)
        assert (facts.at["F01a", check], facts.at["F01a", basis]) == ("✓", real)
        assert (facts.at["F03b", check], facts.at["F03b", basis]) == ("✗", real)
        assert (facts.at["F01b", check], facts.at["F01b", basis]) == ("✓", demo)


def test_data_and_methods_says_how_much_is_demo_and_documents_sources_limits_and_views(warehouse, sql):
    at = run(METHODS, lang="en")
    (n,), = sql("SELECT count(*) FROM observation")
    (n_demo,), = sql("SELECT count(*) FROM observation WHERE is_demo")
    share = next(m.value for m in at.markdown if "observations" in m.value and "demo" in m.value)
    assert f"{n_demo:,} of {n:,}" in share
    sources = table(at, "Source id")
    assert set(sources["Source id"]) == {i for (i,) in sql("SELECT id FROM source")}
    assert sources["Loaded at"].str.match(r"\d{4}-\d\d-\d\d \d\d:\d\d").all()
    text = "\n".join(m.value for m in at.markdown)
    assert "Cần Thơ covers part of old Đồng Tháp" in text and "pre-2004" in text
    assert "never averaged" in text
    rebase = table(at, "Keeps 766 history")
    assert len(rebase) == 34 and (rebase["Keeps 766 history"] == "Yes").sum() == 11
    assert len(at.code) == len(views_doc.VIEWS) + 1
    assert [c.value for c in at.code][: len(views_doc.VIEWS)] == [v.example for v in views_doc.VIEWS]
