"""The app core without a browser: formatting, translations, downloads, the warehouse
connection (picks up an atomically replaced file) and the national-value rules."""

from __future__ import annotations

import io
import re

import duckdb
import pandas as pd
import pytest

from core import fmt, i18n
from dashboard import db as app_db
from dashboard import downloads, narrative, queries
from etl import warehouse as wh

# ----------------------------------------------------------------------------- fmt


@pytest.mark.parametrize(
    "call, vi, en",
    [
        (lambda lang: fmt.percent(88.01, 2, lang), "88,01 %", "88.01%"),
        (lambda lang: fmt.number(1234567, 0, lang), "1.234.567", "1,234,567"),
        (lambda lang: fmt.value(1234.56, "bn_vnd", 1, lang), "1.234,6 tỷ đồng", "1,234.6 bn VND"),
        (lambda lang: fmt.month("2025-09", lang), "Tháng 9/2025", "Sep 2025"),
        (lambda lang: fmt.month_short("2025-12", lang), "T12/2025", "Dec 2025"),
        (lambda lang: fmt.change(88.01, 84.93, "percent", 2, lang), "+3,08 điểm %", "+3.08 pp"),
        (lambda lang: fmt.value(None, "percent", 2, lang), "–", "–"),
    ],
)
def test_numbers_and_months_are_written_in_the_readers_locale(call, vi, en):
    assert call("vi") == vi
    assert call("en") == en


def test_rank_changes_and_months_arithmetic():
    assert [fmt.rank_change(d) for d in (2, -1, 0, None)] == ["▲2", "▼1", "–", ""]
    assert fmt.rank(9, 34) == "9/34"
    assert fmt.rank(1712, 3321) == "1.712/3.321" and fmt.rank(1712, 3321, "en") == "1,712/3,321"
    assert [fmt.magnitude(v) for v in (750, 20_000, 1_500_000, 13_200_000_000)] == \
        ["750", "20 nghìn", "1,5 triệu", "13,2 tỷ"]
    assert fmt.add_months("2025-01", -1) == "2024-12"
    assert fmt.add_months("2025-09", 3) == "2025-12"
    assert fmt.plotly_separators("vi") == ",." and fmt.plotly_separators("en") == ".,"


# ----------------------------------------------------------------------------- i18n


def test_every_text_has_vietnamese_and_english():
    messages = i18n.messages()
    assert len(messages) > 100
    missing = [k for k, v in messages.items() if not v.get("vi") or not v.get("en")]
    assert missing == []
    assert i18n.t("nav.overview", "vi") == "Tổng quan"
    assert i18n.t("nav.overview", "en") == "Overview"


def test_translations_keep_full_vietnamese_diacritics():
    assert i18n.t("nav.rankings", "vi") == "Xếp hạng"
    sentence = i18n.t("overview.sentence_rank", "vi", name="Phú Thọ", rank=9, total=34,
                      indicator="tỷ lệ hồ sơ trực tuyến", value="88,01 %", movement="")
    assert sentence == "Phú Thọ xếp thứ 9/34 về tỷ lệ hồ sơ trực tuyến (88,01 %)."
    assert i18n.t("no.such.key", "vi") == "no.such.key"  # never raises


# ----------------------------------------------------------------------------- downloads


def test_downloads_neutralise_spreadsheet_formulas():
    df = pd.DataFrame({
        "Tỉnh": ["=HYPERLINK(\"http://x\")", "+1", "-2", "@SUM(A1)", "\tx", "\rx", "Phú Thọ", "a=b"],
        "value": [1.5, -2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0],
    })
    safe = downloads.neutralise(df)
    assert safe["Tỉnh"].tolist() == [
        "'=HYPERLINK(\"http://x\")", "'+1", "'-2", "'@SUM(A1)", "'\tx", "'\rx", "Phú Thọ", "a=b"
    ]
    assert safe["value"].tolist() == df["value"].tolist()  # numbers stay numbers (-2.0 too)
    csv = downloads.csv_bytes(df)
    assert csv.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads the Vietnamese correctly
    assert "'=HYPERLINK" in csv.decode("utf-8-sig")
    xlsx = pd.read_excel(io.BytesIO(downloads.xlsx_bytes(df, "Xếp hạng")), dtype=str, engine="calamine")
    assert xlsx["Tỉnh"].iloc[0] == "'=HYPERLINK(\"http://x\")"
    assert downloads.file_stem("Tỷ lệ hồ sơ trực tuyến", "2025-09") == "ty-le-ho-so-truc-tuyen_2025-09"


def test_downloaded_rankings_carry_numbers_and_say_what_they_are(warehouse):
    """The CSV is for programs ('.' decimals, rank and n apart); the Excel file has numbers
    with number formats (a rate as a share formatted '0.00%') and a second sheet."""
    import openpyxl

    from dashboard import tables, ui

    ind = queries.indicator("online_application_rate")
    values = queries.province_values("online_application_rate", "2025-09")
    table = tables.rankings_table(values, ind, queries.comparison_value("online_application_rate", "2025-09"),
                                  ui.national_target(ind), "vi")
    csv = pd.read_csv(io.BytesIO(downloads.csv_bytes(table)), encoding="utf-8-sig")
    assert pd.api.types.is_integer_dtype(csv["Hạng"]) and pd.api.types.is_integer_dtype(csv["Số tỉnh xếp hạng"])
    assert pd.api.types.is_float_dtype(csv["Giá trị"]) and pd.api.types.is_float_dtype(csv["So với cả nước"])
    phu_tho = csv[csv["Tỉnh, thành phố"] == "Phú Thọ"].iloc[0]
    assert (phu_tho["Hạng"], phu_tho["Số tỉnh xếp hạng"], phu_tho["Thay đổi hạng"]) == (9, 34, 2)
    assert phu_tho["Giá trị"] == pytest.approx(88.01, abs=0.005)
    about = pd.DataFrame({"Mục": ["Định nghĩa", "Đường dẫn"], "Nội dung": ["=1+1", "/rankings?indicator=x"]})
    book = openpyxl.load_workbook(io.BytesIO(downloads.xlsx_bytes(table, "xep-hang", about, "Thông tin")))
    assert book.sheetnames == ["xep-hang", "Thông tin"]
    sheet = book["xep-hang"]
    header = [c.value for c in sheet[1]]
    row = next(r for r in sheet.iter_rows(min_row=2) if r[header.index("Tỉnh, thành phố")].value == "Phú Thọ")
    rate = row[header.index("Giá trị")]
    assert rate.value == pytest.approx(0.8801, abs=5e-5) and rate.number_format == "0.00%"
    assert row[header.index("Hạng")].value == 9 and row[header.index("Số tỉnh xếp hạng")].value == 34
    assert row[header.index("So với cả nước")].number_format.startswith("+")
    assert [c.value for c in book["Thông tin"]["B"]][1:] == ["'=1+1", "/rankings?indicator=x"]  # inert


def test_a_downloaded_commune_table_has_ranks_and_their_n_as_numbers(warehouse):
    from dashboard import tables

    communes = pd.DataFrame({
        "code": ["00001", "00004"], "name": ["Phường Ba Đình", "Xã Lâm Thao"], "kind": ["phường", "xã"],
        "province_name": ["Hà Nội", "Phú Thọ"], "value": [88.012, 61.5], "rank_in_province": [1, 12],
        "n_in_province": [126, 148], "rank_national": [9, 1712], "n_national": [3321, 3321],
        "criteria_met": [15, 9],
    })
    table = tables.commune_table(communes, queries.indicator("online_application_rate"), "vi")
    csv = pd.read_csv(io.BytesIO(downloads.csv_bytes(table)), encoding="utf-8-sig")
    assert csv["Hạng toàn quốc"].tolist() == [9, 1712] and csv["Số xã cả nước"].tolist() == [3321, 3321]
    assert csv["Hạng trong tỉnh"].tolist() == [1, 12] and csv["Số xã trong tỉnh"].tolist() == [126, 148]
    assert csv["Giá trị"].tolist() == [88.012, 61.5]
    shown = tables.shown(table).to_html()
    assert "1/126" in shown and "12/148" in shown and "1.712/3.321" in shown and "88,01 %" in shown
    # Hundreds of communes: still numbers on screen (sorting the national rank gives 9, 1712).
    many = tables.commune_table(communes.loc[[0, 1] * 300].reset_index(drop=True),
                                queries.indicator("online_application_rate"), "vi")
    styled = tables.shown(many)
    assert styled.data["Hạng toàn quốc"].sort_values().unique().tolist() == [9, 1712]
    assert "12/148" in styled.to_html() and "1.712/3.321" in styled.to_html()


def test_the_profile_download_writes_each_row_in_its_own_unit(warehouse):
    """One column holds a rate, counts and amounts: in Excel the rate is a % share, a count
    a whole number with thousands."""
    import openpyxl

    from dashboard import tables

    table = tables.for_download(tables.profile_table(queries.province_profile("25", "2025-09"), "vi"))
    book = openpyxl.load_workbook(io.BytesIO(downloads.xlsx_bytes(table, "phu-tho")))
    sheet = book.active
    header = [c.value for c in sheet[1]]
    rows = {r[header.index("Chỉ tiêu")].value: r for r in sheet.iter_rows(min_row=2)}
    rate, count = rows["Tỷ lệ hồ sơ trực tuyến"], rows["Hồ sơ tiếp nhận"]
    value, delta = header.index("Giá trị"), header.index("So với tháng trước")
    assert rate[value].value == pytest.approx(0.8801, abs=5e-5) and rate[value].number_format == "0.00%"
    assert rate[delta].number_format == "+#,##0.00;-#,##0.00;#,##0.00"
    assert count[value].value == 80000 and count[value].number_format == "#,##0"
    assert rate[header.index("Hạng")].value == 9 and rate[header.index("Số tỉnh xếp hạng")].value == 34


def test_the_load_history_writes_row_counts_with_separators_and_keeps_them_numbers():
    from dashboard import tables

    history = pd.DataFrame({
        "load_id": [0], "kind": ["demo"], "file_name": ["etl/demo.py"], "status": ["loaded"],
        "rows_loaded": [662960], "rows_rejected": [0], "uploader": [""], "received_at": [None],
        "finished_at": [None], "undone_at": [None], "size_bytes": [None], "sha256": [None],
    })
    table = tables.load_history_table(history, "vi")
    column = i18n.t("refresh.col.rows_loaded", "vi")
    assert table[column].iloc[0] == 662960
    assert table.attrs["formats"][column](662960) == "662.960"
    csv = pd.read_csv(io.BytesIO(downloads.csv_bytes(table)), encoding="utf-8-sig")
    assert csv[column].iloc[0] == 662960


def test_the_excel_about_sheet_names_the_indicator_source_month_demo_and_link(warehouse):
    from dashboard import ui

    ind = queries.indicator("online_application_rate")
    about = ui.table_about(ind, "vi", period="2025-09", source_ids=["demo"], demo=[True, True], page="rankings")
    said = dict(zip(about["Mục"], about["Nội dung"]))
    assert said["Chỉ tiêu"] == ind["name_vi"] and said["Định nghĩa"] == ind["definition"]
    assert said["Kỳ"] == "2025-09" and said["Minh họa"] == "Có" and said["Đơn vị"] == "%"
    assert said["Đường dẫn"].endswith("/rankings?") and said["Nguồn"]


# ----------------------------------------------------------------------------- warehouse access


def test_queries_qualify_views_and_take_user_input_only_as_parameters():
    import inspect

    source = inspect.getsource(queries)
    assert "FROM wh." in source
    assert ".format(" not in source and 'f"""' not in source and "f'''" not in source


def test_a_replaced_warehouse_is_seen_on_the_next_query(warehouse_copy):
    app_db.reset()
    before = app_db.query("SELECT name_en FROM wh.region WHERE code = ?", ["dbsh"]).iloc[0, 0]
    assert before == "Red River Delta"
    cached_before = queries.regions()
    # The ETL's way: change a copy, then os.replace it over the published file.
    with wh.updating(warehouse_copy) as con:
        con.execute("UPDATE ref.region SET name_en = 'Red River Delta (renamed)' WHERE code = 'dbsh'")
    after = app_db.query("SELECT name_en FROM wh.region WHERE code = ?", ["dbsh"]).iloc[0, 0]
    assert after == "Red River Delta (renamed)"
    cached_after = queries.regions()  # the result cache is keyed on the file signature
    assert "Red River Delta (renamed)" in cached_after["name_en"].tolist()
    assert "Red River Delta (renamed)" not in cached_before["name_en"].tolist()
    app_db.reset()


def test_connection_is_read_only(warehouse):
    app_db.reset()
    with pytest.raises(duckdb.Error):
        app_db.query("CREATE TABLE wh.main.x AS SELECT 1")


def test_national_rate_is_ratio_of_sums_not_an_average_of_rates(db):
    num, den, mean = db.execute(
        """SELECT sum(numerator), sum(denominator), avg(value) FROM observation
           WHERE indicator = 'online_application_rate' AND level = 'province' AND period = '2025-09'"""
    ).fetchone()
    national = queries.national_value("online_application_rate", "2025-09")
    assert national["kind"] == "ratio"
    assert national["value"] == pytest.approx(100 * num / den)
    assert abs(national["value"] - mean) > 0.01  # the two really differ in the demo data


def test_sums_are_summed_and_indices_get_the_median(db):
    total, median = db.execute(
        """SELECT sum(value) FILTER (WHERE indicator = 'bts_stations'),
                  median(value) FILTER (WHERE indicator = 'index766_total')
           FROM observation WHERE level = 'province' AND period = '2025-09'"""
    ).fetchone()
    assert queries.national_value("bts_stations", "2025-09")["value"] == pytest.approx(total)
    index = queries.national_value("index766_total", "2025-09")
    assert index["kind"] == "median" and index["value"] == pytest.approx(median)


def test_phu_tho_is_9th_of_34_up_2_places_in_sep_2025(warehouse):
    values = queries.province_values("online_application_rate", "2025-09")
    row = values[values.code == "25"].iloc[0]
    assert (row["value"], row["rank"], row["n_ranked"], row["rank_change"]) == (88.01, 9, 34, 2)
    assert len(values) == 34


def test_narrative_sentence_for_phu_tho(warehouse):
    ind = queries.indicator("online_application_rate")
    row = queries.province_values("online_application_rate", "2025-09").set_index("code").loc["25"].to_dict()
    row["name"] = "Phú Thọ"
    assert narrative.province_sentence(row, ind, "vi", period="2025-09") == (
        "Phú Thọ xếp thứ 9/34 về tỷ lệ hồ sơ trực tuyến (88,01 %), tăng 2 bậc so với tháng trước."
    )
    assert narrative.province_sentence(row, ind, "en", period="2025-09") == (
        "Phú Thọ ranks 9/34 in online application rate (88.01%), up 2 places on the previous month."
    )
    assert narrative.meets(88.01, {"value": 90, "comparison": ">="}) is False
    assert narrative.meets(0, {"value": 0, "comparison": "<="}) is True


def test_the_rankings_table_is_written_in_the_readers_language(warehouse):
    from dashboard import tables, ui

    ind = queries.indicator("online_application_rate")
    values = queries.province_values("online_application_rate", "2025-09")
    national = queries.national_value("online_application_rate", "2025-09")
    for lang, value, region in (("vi", "88,01 %", "Trung du và miền núi phía Bắc"),
                                ("en", "88.01%", "Northern Midlands and Mountains")):
        table = tables.rankings_table(values, ind, national, ui.national_target(ind), lang)
        t = i18n.translator(lang)
        shown = tables.shown(table).data.assign(**{
            c: table[c].map(f) for c, f in table.attrs["formats"].items() if c in tables.shown(table).data})
        phu_tho = shown[shown[t("common.province")] == "Phú Thọ"].iloc[0]
        assert (phu_tho[t("common.rank")], phu_tho[t("common.value")], phu_tho[t("common.region")]) == \
            ("9/34", value, region)
        assert phu_tho[t("common.change")] == fmt.rank_change(2)
        assert phu_tho[t("common.meets_target")] == t("common.no")  # the national target is 90 %
        assert len(table) == 34


def test_the_meeting_tables_are_built_and_written_once_for_every_session(warehouse):
    """Rankings and the Overview's five best and worst: one table and Styler per arguments and
    warehouse file, whose cells are written once (Streamlit writes a Styler on every run)."""
    from dashboard import table_views

    table, styled = table_views.rankings("online_application_rate", "2025-09", "vi", "all", False)
    assert table_views.rankings("online_application_rate", "2025-09", "vi", "all", False)[1] is styled
    assert len(table) == 34 and "Hướng tới mục tiêu" in " ".join(table.columns)
    written = styled._translate(False, False)
    assert styled._translate(False, False) is written
    cells = {cell["display_value"] for row in written["body"] for cell in row if "display_value" in cell}
    assert {"9/34", "88,01 %"} <= cells
    top, bottom = table_views.top_and_bottom("online_application_rate", "2025-09", "en")
    assert len(top) == 5 and len(bottom) == 5 and top.iloc[0, 0] == r"1\/34"  # Markdown-escaped: reads 1/34
    assert table_views.top_and_bottom("online_application_rate", "2025-09", "en")[0] is top


def test_every_page_draws_its_figures_through_the_one_cache(warehouse):
    """Province profile and Communes figures are built once per arguments and warehouse file,
    as those of Overview, Rankings and Trends (dashboard/figures.py)."""
    from pathlib import Path

    from dashboard import figures

    made = figures.commune_map("25", "online_application_rate", "2025-09", "vi")
    assert figures.commune_map("25", "online_application_rate", "2025-09", "vi") is made
    assert made.layout.title.text.startswith("Tỷ lệ hồ sơ trực tuyến") and "Phú Thọ" in made.layout.title.text
    groups = figures.index766_groups("25", "2025-09", "en")
    assert figures.index766_groups("25", "2025-09", "en") is groups
    pages = Path(__file__).resolve().parent.parent / "pages"
    for page in pages.glob("*.py"):
        text = page.read_text(encoding="utf-8")
        drawn = re.findall(r"ui\.chart\(\s*([\w.]+)", text)
        made = re.findall(r"\bfig = ([\w.]+)", text)
        assert all(f == "fig" or f.startswith("figures.") for f in drawn), (page.name, drawn)
        assert all(f.startswith("figures.") for f in made), (page.name, made)
