"""Published figures (data/meta/published.csv, etl/published.py): the 129 figures news sites and
provincial portals published for July–December 2025 are checked and held beside the monthly
values, never in them; the 25 that are monthly values on a warehouse indicator's basis anchor the
demo, which agrees with each one the catalog can hold; the profile, Trends and Data & methods
show them in the product's words with their sources (docs/data.md, "Published figures")."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from core import catalog
from etl import published

ROOT = Path(__file__).resolve().parent.parent
FIGURES = published.published_frame()
# Month-end 766 snapshots (29/8, 31/7, 30/11: totals, groups, ranks), Lào Cai's July dossiers and
# Huế's July commune-level dossiers and rate (docs/data.md gives the rule for each kind).
COMPARABLE = ["P008", "P009", "P010", "P011", "P012", "P013", "P014", "P015", "P016", "P017", "P018", "P019",
              "P055", "P056", "P057", "P058", "P059", "P060", "P061", "P062", "P076", "P077", "P123", "P125",
              "P126"]
# The online-services group of the 766 index out of 22 (the 5-group method of July and August 2025).
ONLINE_SERVICES = ["P012", "P059"]


# ----------------------------------------------------------------------------- the list


def test_the_list_holds_129_figures_each_with_an_address_a_quote_and_a_known_indicator():
    assert len(FIGURES) == 129 and FIGURES["id"].tolist() == [f"P{n:03d}" for n in range(1, 130)]
    assert FIGURES["source_url"].str.match(r"https?://").all() and (FIGURES["quote"] != "").all()
    known = set(catalog.indicators()) | set(published.spec()["indicator"]) | {published.OTHER}
    assert set(FIGURES["indicator"]) <= known
    assert FIGURES.groupby("indicator").size().to_dict() == {
        "applications_received": 9, "dti_total": 6, "index766_digitisation": 8, "index766_online_service": 7,
        "index766_progress": 9, "index766_satisfaction": 10, "index766_total": 18, "index766_transparency": 9,
        "online_application_rate": 8, "online_applications": 2, "other": 25, "rank_766": 18}


@pytest.mark.parametrize("row_id, written, scope, code", [
    ("P021", "Dong Nai", "province", "75"),
    ("P018", "Đồng Nai", "province", "75"),
    ("P086", "Hanoi (commune level)", "communes", "01"),
    ("P096", "Thừa Thiên Huế (Huế)", "province", "46"),
    ("P116", "Dak Lak (ダクラク省)", "province", "66"),
    ("P082", "Ho Chi Minh City", "province", "79"),
    ("P098", "Thành phố Hồ Chí Minh", "province", "79"),
    ("P121", "Tay Ninh (Provincial Public Service Center only)", "part", "80"),
    ("P020", "Toàn quốc (34 tỉnh)", "national", None),
    ("P099", "Toàn quốc (cấp tỉnh, bình quân)", "national", None),
])
def test_provinces_as_written_resolve_to_their_codes(row_id, written, scope, code):
    row = FIGURES.set_index("id").loc[row_id]
    assert (row["province"], row["scope"]) == (written, scope)
    assert (None if pd.isna(row["province_code"]) else row["province_code"]) == code


@pytest.mark.parametrize("row_id, note_or_quote, as_of", [
    ("P001", "as of 25-7-2025; 5-group method", date(2025, 7, 25)),
    ("P008", "as of 29/8/2025; rank 1/34", date(2025, 8, 29)),
    ("P021", "as of 2025-08-25", date(2025, 8, 25)),
    ("P029", "meeting on December 15 (2025); figure as reported then", date(2025, 12, 15)),
    ("P037", "weekly; week ending 2025-12-08; 1st for 12th consecutive week", date(2025, 12, 8)),
    ("P124", "corroborates baodongnai (as of 25/8)", date(2025, 8, 25)),
    ("P088", "cumulative 2025-07-01..2025-09-23", date(2025, 9, 23)),
    ("P055", "By the end of July 31, 2025, Lao Cai province achieved 78.96 points", date(2025, 7, 31)),
])
def test_the_as_of_date_is_the_one_its_source_states(row_id, note_or_quote, as_of):
    row = FIGURES.set_index("id").loc[row_id]
    assert note_or_quote in row["note"] or note_or_quote in row["quote"]
    assert row["as_of"] == as_of and as_of in published.stated_dates(note_or_quote, 2025)


def test_figures_without_a_stated_date_have_none():
    undated = FIGURES.set_index("id").loc[["P048", "P063", "P069", "P082", "P089"]]
    assert undated["as_of"].isna().all()


def test_periods_are_read_as_months():
    assert published.period_months("2025-08") == ("2025-08", "2025-08")
    assert published.period_months("2025-Q3") == ("2025-07", "2025-09")
    assert published.period_months("2025-07..2025-09") == ("2025-07", "2025-09")
    assert published.period_months("2024") == ("2024-01", "2024-12")
    assert published.period_months("") == (None, None)
    for bad in ("2025-13", "Q3 2025", "2025-09..2025-07"):
        with pytest.raises(ValueError):
            published.period_months(bad)


def test_the_comparable_figures_are_monthly_values_on_a_warehouse_indicators_basis():
    comparable = FIGURES[FIGURES["comparable"]]
    assert comparable["id"].tolist() == COMPARABLE
    assert (comparable["first_month"] == comparable["last_month"]).all()
    assert set(comparable["scope"]) == {"province", "communes"} and comparable["reason"].isna().all()
    # 766 figures only when dated on the month's last snapshot
    index = comparable[comparable["unit"].str.startswith(("points", "rank"))]
    assert {d.isoformat() for d in index["as_of"]} == {"2025-07-31", "2025-08-29", "2025-11-30"}
    reasons = FIGURES.loc[~FIGURES["comparable"], "reason"].value_counts().to_dict()
    assert reasons == {"weekly_snapshot": 28, "date_unstated": 23, "no_indicator": 21, "date_inferred": 6,
                       "cumulative": 6, "span_unstated": 4, "annual": 4, "quarterly": 3, "single_day": 2,
                       "estimate": 2, "part_of_province": 2, "part_month": 1, "year_to_date": 1, "pre_merger": 1}


def test_the_lists_own_indicators_are_not_catalog_codes():
    """Once the 766 method change puts index766_online_service in the catalog, its entry in
    published.toml is to go (the catalog's is used meanwhile)."""
    assert not set(published.spec()["indicator"]) & set(catalog.indicators())


@pytest.mark.parametrize("column, value, message", [
    ("source_url", "ftp://example.org/x", "row P001, column source_url ('ftp://example.org/x'): not an http(s)"),
    ("indicator", "index766_speed", "row P001, column indicator ('index766_speed'): neither a catalog"),
    ("period", "2025-13", "row P001, column period ('2025-13'): not YYYY"),
    ("unit_code", "parsecs", "row P001, column unit_code ('parsecs'): not a unit"),
    ("province_code", "01", "row P001, column province_code ('01'): 'Quảng Trị' is province 44"),
    ("as_of", "2025-07-26", "row P001, column as_of ('2025-07-26'): not stated by the note or quote"),
    ("reason", "", "row P001, column comparable ('false'): true, or false with a reason"),
    ("value", "77,65", "row P001, column value ('77,65'): not a number"),
])
def test_a_faulty_row_stops_the_build_naming_row_and_column(tmp_path, monkeypatch, column, value, message):
    frame = pd.read_csv(published.PUBLISHED_FILE, dtype=str, keep_default_na=False)
    frame.loc[0, column] = value
    broken = tmp_path / "published.csv"
    frame.to_csv(broken, index=False)
    monkeypatch.setattr(published, "PUBLISHED_FILE", broken)
    with pytest.raises(published.PublishedError) as raised:
        published.published_frame()
    assert str(raised.value).startswith(f"published.csv {message}")


# ----------------------------------------------------------------------------- the warehouse


def test_all_129_figures_load_with_their_source_basis_and_date(db):
    assert db.execute("SELECT count(*) FROM published").fetchone()[0] == 129
    row = db.execute("SELECT value, as_of, basis_en, source_url, quote FROM published WHERE id = 'P008'").fetchone()
    assert row[:3] == (86.97, date(2025, 8, 29), "Decision 766 index, 5-group method, month-end snapshot, 29/8/2025")
    assert row[3].startswith("https://dantri.com.vn/") and row[4] == "Tổng điểm của UBND tỉnh Thái Nguyên là 86,97"


def test_published_figures_are_never_monthly_values_or_ranks(db):
    sources = {s for (s,) in db.execute("SELECT DISTINCT source_id FROM observation").fetchall()}
    assert sources == {"demo"}
    # Quảng Trị's weekly 77.65 of 25/7 (not comparable) stays out of the month's value and rank
    (value,), = db.execute("SELECT value FROM province_rank WHERE indicator = 'index766_total' "
                             "AND province_code = '44' AND period = '2025-07'").fetchall()
    assert value != 77.65
    (n,), = db.execute("SELECT count(*) FROM province_rank WHERE indicator = 'index766_total' "
                       "AND period = '2025-08'").fetchall()
    assert n == 34


def test_every_comparable_figure_agrees_with_the_demo_within_its_rounding(db):
    checks = db.execute("SELECT id, published_value, warehouse_value, agrees, is_demo FROM published_check "
                        "WHERE comparable ORDER BY id").df().set_index("id")
    assert checks.index.tolist() == COMPARABLE
    assert checks["agrees"].all() and checks["is_demo"].all(), checks[~checks["agrees"]]
    assert checks.loc[ONLINE_SERVICES, "warehouse_value"].tolist() == [17.49, 15.41]
    assert checks.loc["P062", "warehouse_value"] == 52273  # "nearly 53,340": 2 % inside the bound
    assert checks.loc["P126", "warehouse_value"] == pytest.approx(91.17, abs=0.005)  # Huế's communes, summed


def test_the_online_services_group_is_the_published_rest_of_its_total(db):
    """Total and four groups anchored, and the fifth published too: the month's groups add up."""
    total = catalog.by_role("index766")
    anchored = ["index766_transparency", "index766_progress", "index766_satisfaction", "index766_digitisation"]
    for row_id, province, period in zip(ONLINE_SERVICES, ("19", "15"), ("2025-08", "2025-07")):
        (rest,), = db.execute(
            "SELECT sum(value) FROM observation WHERE level = 'province' AND unit_code = ? AND period = ? "
            "AND list_contains(?, indicator) AND NOT list_contains(?, indicator)",
            [province, period, list(total.components), anchored]).fetchone(),
        assert rest == pytest.approx(FIGURES.set_index("id").loc[row_id, "value"])


def test_the_month_end_ranking_of_august_2025_is_the_published_top_five(db):
    top = db.execute("SELECT province_code, value FROM province_rank WHERE indicator = 'index766_total' "
                     "AND period = '2025-08' ORDER BY rank LIMIT 5").fetchall()
    assert top == [("19", 86.97), ("44", 86.56), ("38", 86.51), ("75", 86.13), ("42", 84.85)]


def test_ha_noi_history_before_the_new_system_reads_as_normal_online_services(db):
    """The July 2025 "< 1 %" (first days of the commune-level system) is met in its own month only."""
    rates = dict(db.execute("SELECT period, value FROM observation WHERE indicator = 'online_application_rate' "
                            "AND level = 'province' AND unit_code = '01' AND period <= '2025-07'").fetchall())
    history = [rates[p] for p in sorted(rates) if p < "2025-07"]
    assert len(history) == 18 and min(history) > 30 and rates["2025-07"] < 1


def test_the_check_sets_other_figures_beside_the_same_months_value_for_reference(db):
    rows = db.execute("SELECT id, warehouse_value, difference, agrees FROM published_check "
                      "WHERE id IN ('P001', 'P020', 'P088', 'P095')").df().set_index("id")
    (qt_july,), = db.execute("SELECT value FROM observation WHERE indicator = 'index766_total' "
                             "AND level = 'province' AND unit_code = '44' AND period = '2025-07'").fetchone(),
    assert rows.loc["P001", "warehouse_value"] == qt_july
    assert rows.loc["P001", "difference"] == pytest.approx(qt_july - 77.65)
    (national,), = db.execute("SELECT 100 * sum(numerator) / sum(denominator) FROM observation WHERE "
                              "indicator = 'online_application_rate' AND level = 'province' AND period = '2025-08'"
                              ).fetchone(),
    assert rows.loc["P020", "warehouse_value"] == pytest.approx(national)
    assert pd.isna(rows.loc["P088", "warehouse_value"]) and pd.isna(rows.loc["P095", "warehouse_value"])
    assert rows["agrees"].isna().all()  # not comparable: no verdict


# ----------------------------------------------------------------------------- the pages


def run(page: str, **params: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params["page"] = page
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def shown_table(at: AppTest, column: str):
    """The first table with that column, and its column settings."""
    element = next(df for df in at.dataframe if column in df.value.columns)
    return element.value, json.loads(element.proto.columns)


def test_dong_nai_profile_shows_its_published_figures_in_its_words_with_links(warehouse):
    at = run("province", province="75", period="2025-09")
    assert "Số liệu đã công bố" in [s.value for s in at.header]
    table, settings = shown_table(at, "Cơ sở")
    assert settings["Nguồn"]["type_config"]["type"] == "link"
    assert len(table) == (FIGURES["province_code"] == "75").sum() == 14
    row = table[table["Giá trị công bố"] == "86,13/100 điểm"].iloc[0]
    assert (row["Số liệu"], row["Kỳ"], row["Ngày số liệu"]) == (
        "Chỉ số phục vụ người dân, doanh nghiệp (QĐ 766)", "Tháng 8/2025", "29/8/2025")
    assert row["Cơ sở"] == "Chỉ số 766, phương pháp 5 nhóm, ảnh chụp cuối tháng, 29/8/2025"
    assert row["Nguồn"].startswith("https://dantri.com.vn/")
    assert "4/34" in table["Giá trị công bố"].tolist() and "35,7 %" in table["Giá trị công bố"].tolist()
    assert not table["Số liệu"].isin(FIGURES["quote"]).any()  # the source phrase is for checking only


def test_phu_tho_profile_shows_its_press_facts_with_links_in_english(warehouse):
    at = run("province", province="25", period="2025-09", lang="en")
    table, settings = shown_table(at, "Basis")
    assert settings["Source"]["type_config"]["type"] == "link"
    assert set(table["Kind"]) == {"Press fact"} and len(table) == 18
    row = table[table["Figure"] == "Phú Thọ's online-application rate reached 88.01 %"].iloc[0]
    assert (row["Published value"], row["Period"]) == ("88.01%", "Sep 2025")
    assert row["Source"].startswith("https://www.vietnamplus.vn/")


def test_trends_mark_published_figures_as_published_on_their_date(warehouse):
    at = run("trends", indicator="index766_total", provinces="75,19")
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    marks = next(trace for trace in spec["data"] if (trace.get("meta") or {}).get("series") == "published")
    assert marks["name"] == "Số liệu đã công bố" and marks["mode"] == "markers"
    points = dict(zip(marks["meta"]["ids"], zip(marks["x"], marks["y"], (c[0] for c in marks["customdata"]))))
    x, y, hover = points["P018"]
    assert x.startswith("2025-08-") and x > "2025-08-01" and y == 86.13  # inside August, beside its own point
    assert "như đã công bố, 29/8/2025: 86,13/100 điểm" in hover and "<b>Đồng Nai</b>" in hover
    assert set(points) == set(FIGURES.loc[(FIGURES["indicator"] == "index766_total")
                                          & FIGURES["province_code"].isin(["75", "19"])
                                          & (FIGURES["period"].str.len() == 7), "id"])


def test_trends_mark_the_national_figure_in_english(warehouse):
    at = run("trends", indicator="online_application_rate", provinces="46", lang="en")
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    marks = next(trace for trace in spec["data"] if (trace.get("meta") or {}).get("series") == "published")
    hovers = dict(zip(marks["meta"]["ids"], (c[0] for c in marks["customdata"])))
    assert "<b>Whole country</b><br>as published, 29/8/2025: 66.47%" in hovers["P020"]
    assert "as published, 31/7/2025: 91.17%" in hovers["P126"]


def test_data_and_methods_sets_each_figure_beside_the_warehouse_with_the_difference(warehouse, db):
    at = run("data_methods")
    table, settings = shown_table(at, "Chênh lệch (kho − công bố)")
    assert len(table) == 129 and settings["Nguồn"]["type_config"]["type"] == "link"
    rows = table.set_index("Mã")
    assert rows.loc["P008", "Giá trị công bố"] == rows.loc["P008", "Giá trị trong kho (cùng tháng)"] == "86,97/100 điểm"
    assert rows.loc["P008", "Chênh lệch (kho − công bố)"] == "±0,00 điểm"
    assert rows.loc["P008", "Giá trị trong kho là"] == "số liệu minh họa, đặt cho khớp"
    assert rows.loc["P008", "So sánh được?"] == "Có: giá trị tháng, cùng cơ sở · khớp ✓"
    (qt_july,), = db.execute("SELECT value FROM observation WHERE indicator = 'index766_total' "
                             "AND level = 'province' AND unit_code = '44' AND period = '2025-07'").fetchone(),
    assert rows.loc["P001", "Chênh lệch (kho − công bố)"] == f"{qt_july - 77.65:+.2f} điểm".replace(".", ",")
    assert rows.loc["P001", "Giá trị trong kho là"] == "số liệu minh họa"
    assert rows.loc["P001", "So sánh được?"] == "Ảnh chụp tuần giữa tháng, không phải giá trị cuối tháng"
    assert rows.loc["P020", "Tỉnh, thành"] == "Cả nước" and rows.loc["P020", "Chênh lệch (kho − công bố)"].endswith(
        "điểm %")
    summary = next(m.value for m in at.markdown if "số liệu đã công bố (view" in m.value)
    assert "**25 là giá trị tháng cùng cơ sở**" in summary and "**25 khớp**, 0 không khớp" in summary
    assert any("không kéo lùi về trước" in m.value for m in at.markdown)
    assert not at.error
