"""Layouts staff actually send: wide reports, merged Excel headers, several sheets, title
rows, communes with their province, Vietnamese column names, legacy 63-province reports."""

from __future__ import annotations

import unicodedata

import openpyxl
import pytest
from load_support import both, past, write_csv, write_xlsx

from etl.load import UsageError, plan_load

P, Q = past(3), past(2)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_wide_report_with_period_option(tmp_path, fmt):
    header = ["STT", "Tỉnh/Thành phố", "bts_stations", "stations_5g", "Tỷ lệ hồ sơ trực tuyến"]
    rows = [[1, "Huế", "1.234", 12, "88,01"], [2, "Ha Noi", 5000, "", "90"]]
    p = plan_load(both(tmp_path, "wide", header, rows, fmt), period=P)
    assert p.ok, p.rejections.to_dict("records")
    assert p.layout == "wide" and p.values_read == 5  # the empty cell is no value
    got = p.rows.set_index(["unit_code", "indicator"]).value
    assert got["46", "bts_stations"] == 1234 and got["01", "online_application_rate"] == 90
    assert set(p.rows.period) == {P}


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_total_rows_are_checked_against_the_rows_and_not_loaded(tmp_path, fmt):
    """Vietnamese reports end with a 'Tổng cộng' row: it is no unit, so it is left out, and each
    of its counts is compared with the sum of the rows (a difference warns, it does not reject)."""
    header = ["STT", "Đơn vị", "Hồ sơ tiếp nhận", "Hồ sơ nộp trực tuyến", "Tỷ lệ hồ sơ trực tuyến"]
    rows = [[1, "Huế", "1.234", "1.100", "89,14"], [2, "Hà Nội", "2.000", "1.900", "95"],
            ["", "Tổng cộng", "3.234", "3.100", "92,83"]]
    p = plan_load(both(tmp_path, "total", header, rows, fmt), period=P)
    assert p.ok and p.errors.empty, p.rejections.to_dict("records")
    assert set(p.rows.unit_code) == {"46", "01"}
    warning = p.warnings.iloc[0]
    assert len(p.warnings) == 1 and warning.code == "total_mismatch"
    assert (warning.column, warning.value) == ("Hồ sơ nộp trực tuyến", "3.100")
    assert "the 2 rows above sum to 3,000" in warning.reason
    assert [str(n) for n in p.notes if n.key == "total_rows"] == [
        f"1 total row(s) not loaded (row {warning.row}…); 1 of 2 totals equal the sum of the rows"]
    # A file holding nothing but its total is empty.
    p = plan_load(both(tmp_path, "only_total", header, rows[2:], fmt), period=P)
    assert [r.code for r in p.errors.itertuples()] == ["empty_file"]


def test_wide_excel_with_merged_header_cells_and_title_rows(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws["A1"] = "BÁO CÁO CHUYỂN ĐỔI SỐ"
    ws.merge_cells("A1:E1")
    ws.append(["Tỉnh", "Kỳ báo cáo", "Hạ tầng", None, "Dịch vụ công"])
    ws.merge_cells("C2:D2")
    ws.append([None, None, "bts_stations", "stations_5g", "online_application_rate"])
    ws.merge_cells("A2:A3")
    ws.merge_cells("B2:B3")
    ws.append(["Huế", P, 100, 10, "50,5"])
    ws.append(["Cần Thơ", P, 200, 20, "60"])
    ws.append([None, Q, 210, 21, "61"])
    ws.merge_cells("A5:A6")  # the province cell merged over its two months
    wb.save(tmp_path / "merged.xlsx")
    p = plan_load(tmp_path / "merged.xlsx")
    assert p.ok, p.rejections.to_dict("records")
    assert len(p.rows) == 9
    assert set(p.rows[p.rows.period == Q].unit_code) == {"92"}


def test_several_sheets_need_sheet_unless_only_one_holds_data(tmp_path):
    header = ["period", "unit", "indicator", "value"]
    path = write_xlsx(tmp_path / "sheets.xlsx", header, [[P, "Huế", "bts_stations", 1]], sheet="Tháng 1",
                      extra_sheets={"Tháng 2": (header, [[Q, "Huế", "bts_stations", 2]]),
                                    "Ghi chú": (["Người lập"], [["Lan"]])})
    with pytest.raises(UsageError) as err:
        plan_load(path)
    assert err.value.choices == ["Tháng 1", "Tháng 2"]
    p = plan_load(path, sheet="Tháng 2")
    assert p.ok and p.rows.iloc[0].value == 2 and p.options["sheet"] == "Tháng 2"
    with pytest.raises(UsageError):
        plan_load(path, sheet="Tháng 3")
    single = write_xlsx(tmp_path / "one.xlsx", header, [[P, "Huế", "bts_stations", 1]],
                        extra_sheets={"Ghi chú": (["Người lập"], [["Lan"]])})
    assert plan_load(single).ok


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_commune_rows_with_province_column_nfd_and_no_diacritics(tmp_path, fmt):
    header = ["Kỳ", "Tỉnh", "Xã/Phường", "Chỉ tiêu", "Giá trị"]
    nfd = unicodedata.normalize("NFD", "Phường Hoàn Kiếm")
    rows = [[P, "Tây Ninh", "Tân Hòa", "applications_received", 10],
            [P, "Ha Noi", nfd, "applications_received", 20],
            [P, "Đồng Tháp", "xa tan hoa", "applications_received", 30]]
    p = plan_load(both(tmp_path, "communes", header, rows, fmt))
    assert p.ok, p.rejections.to_dict("records")
    assert set(p.rows.level) == {"commune"} and len(set(p.rows.unit_code)) == 3
    assert "00070" in set(p.rows.unit_code)


def test_commune_codes_title_line_and_semicolon_csv(tmp_path):
    path = tmp_path / "semi.csv"
    path.write_text(f"Báo cáo tháng;;;\n;;;\nperiod;unit;indicator;value\n{P};00070;applications_received;1.234\n",
                    encoding="utf-8")
    p = plan_load(path)
    assert p.ok and p.rows.iloc[0].unit_code == "00070" and p.rows.iloc[0].value == 1234
    assert p.rows.iloc[0].row == 4  # the CSV line number


def test_a_rate_with_counts_supplies_the_counts_and_must_agree_with_count_rows(tmp_path):
    header = ["period", "unit", "indicator", "value", "numerator", "denominator"]
    p = plan_load(write_csv(tmp_path / "a.csv", header, [[P, "Huế", "on_time_rate", "80", 80, 100]]))
    assert p.ok
    assert p.rows.set_index("indicator").value.to_dict() == {
        "on_time_rate": 80, "resolved_on_time": 80, "applications_resolved": 100}
    conflict = plan_load(write_csv(tmp_path / "b.csv", header, [[P, "Huế", "on_time_rate", "80", 80, 100],
                                                                  [P, "Huế", "applications_resolved", 90, "", ""]]))
    assert set(conflict.rejections.code) == {"conflicting_count"}
    # A rate without counts is checked against the file's own count rows.
    checked = plan_load(write_csv(tmp_path / "c.csv", header, [[P, "Huế", "on_time_rate", "70", "", ""],
                                                                 [P, "Huế", "applications_resolved", 100, "", ""],
                                                                 [P, "Huế", "resolved_on_time", 80, "", ""]]))
    assert set(checked.rejections.code) == {"rate_mismatch"}


# --------------------------------------------------------------------------- legacy (63 -> 34)

LH = ["period", "unit", "indicator", "value", "numerator", "denominator"]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_legacy_counts_are_summed_and_rates_recomputed(tmp_path, fmt):
    # Phú Thọ (25) = old Phú Thọ (25) + Vĩnh Phúc (26) + Hòa Bình (17).
    rows = [
        [P, "Phú Thọ", "bts_stations", 100, "", ""],
        [P, "Vĩnh Phúc", "bts_stations", 200, "", ""],
        [P, "Hòa Bình", "bts_stations", "1.000", "", ""],
        [P, "Phú Thọ", "online_application_rate", 50, 50, 100],
        [P, "Vinh Phuc", "online_application_rate", 90, 270, 300],
        [P, "Tỉnh Hòa Bình", "online_application_rate", 10, 10, 100],
        [P, "Thừa Thiên Huế", "online_application_rate", "77,7", "", ""],  # maps alone onto Huế: carried over
    ]
    p = plan_load(both(tmp_path, "legacy", LH, rows, fmt), kind="legacy")
    assert p.ok, p.rejections.to_dict("records")
    got = p.rows.set_index(["unit_code", "indicator"])
    assert got.value["25", "bts_stations"] == 1300
    assert got.value["25", "online_application_rate"] == pytest.approx(100 * 330 / 500)  # not mean(50, 90, 10)
    assert (got.numerator["25", "online_application_rate"],
            got.denominator["25", "online_application_rate"]) == (330, 500)
    assert got.value["25", "applications_received"] == 500 and got.value["25", "online_applications"] == 330
    assert got.value["46", "online_application_rate"] == pytest.approx(77.7)
    assert set(p.rows.level) == {"province"}


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_legacy_rate_without_counts_of_a_merged_province_is_rejected(tmp_path, fmt):
    rows = [[P, "Phú Thọ", "online_application_rate", 50, "", ""],
            [P, "Vĩnh Phúc", "online_application_rate", 90, "", ""],
            [P, "Hòa Bình", "online_application_rate", 10, "", ""]]
    p = plan_load(both(tmp_path, "legacy", LH, rows, fmt), kind="legacy")
    lines = p.rejections[p.rejections.code == "rebase_rate_without_counts"]
    assert len(lines) == 3 and not p.ok
    assert "numerator" in lines.iloc[0].suggestion
    # The report shows each unit as the file spelled it, and the old province it was read as.
    assert list(lines.value) == ["Phú Thọ", "Vĩnh Phúc", "Hòa Bình"]
    assert "old province Vĩnh Phúc (26)" in lines.iloc[1].reason


def test_legacy_rate_whose_counts_are_separate_rows_is_rebased(tmp_path):
    rows = []
    for name, online, received in [("Phú Thọ", 5, 10), ("Vĩnh Phúc", 6, 10), ("Hòa Bình", 9, 10)]:
        rows += [[P, name, "online_application_rate", 100 * online / received, "", ""],
                 [P, name, "online_applications", online, "", ""], [P, name, "applications_received", received, "", ""]]
    p = plan_load(write_csv(tmp_path / "legacy.csv", LH, rows), kind="legacy")
    assert p.ok, p.rejections.to_dict("records")
    assert p.rows.set_index("indicator").value["online_application_rate"] == pytest.approx(100 * 20 / 30)


def test_legacy_sum_needs_every_old_province(tmp_path):
    p = plan_load(write_csv(tmp_path / "l.csv", LH, [[P, "Vĩnh Phúc", "bts_stations", 200, "", ""]]), kind="legacy")
    assert set(p.rejections.code) == {"rebase_incomplete"}
    assert p.rejections.iloc[0].value == "Vĩnh Phúc"
    assert "(missing: Hòa Bình (17), Phú Thọ (25))" in p.rejections.iloc[0].reason


@pytest.mark.parametrize("name", ["report_long", "report_wide", "legacy_report", "dossiers"])
@pytest.mark.parametrize("ext", ["csv", "xlsx"])
def test_every_template_loads_cleanly(name, ext, tmp_path):
    from etl.load.templates import FOLDER, write_templates

    write_templates(tmp_path)
    fresh = tmp_path / f"{name}.{ext}"
    assert fresh.read_bytes()[:2] == (FOLDER / f"{name}.{ext}").read_bytes()[:2]  # committed copy exists
    p = plan_load(fresh, kind="legacy" if name == "legacy_report" else None)
    assert p.ok and p.errors.empty, p.rejections.to_dict("records")
    # The dossier template is a three-row sample of two provinces: it is flagged as partial.
    assert set(p.warnings.code) == ({"partial_province"} if name == "dossiers" else set())
