"""Every rejection reason, each with a real file in CSV and in .xlsx (title rows included)."""

from __future__ import annotations

import pytest
from load_support import both, codes, future, past, write_csv, write_xlsx

from etl.load import plan_load

H = ["period", "unit", "indicator", "value", "numerator", "denominator"]
FORMATS = ["csv", "xlsx"]
P = past(2)


def plan(tmp_path, rows, fmt, header=H, warehouse=None, **options):
    return plan_load(both(tmp_path, "report", header, rows, fmt), db=warehouse, **options)


def only(plan, code):
    """The rejection lines of one reason; the file is refused as a whole (not ok)."""
    assert not plan.ok
    lines = plan.rejections[plan.rejections.code == code]
    assert len(lines), plan.rejections.to_dict("records")
    return lines


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_valid_file_passes(tmp_path, fmt, warehouse):
    p = plan(tmp_path, [[P, "Huế", "bts_stations", "1.234", "", ""],
                        [P, "Thanh pho Ha Noi", "online_application_rate", "88,01", "8801", "10000"]], fmt,
             warehouse=warehouse)
    assert p.ok and p.rejections.empty
    assert set(p.rows.indicator) == {"bts_stations", "online_application_rate", "online_applications",
                                     "applications_received"}
    assert p.rows.set_index("indicator").value["bts_stations"] == 1234


@pytest.mark.parametrize("fmt", FORMATS)
def test_unknown_unit_lists_closest_names(tmp_path, fmt):
    lines = only(plan(tmp_path, [[P, "Hue Xyz", "bts_stations", 5, "", ""]], fmt), "unknown_unit")
    assert lines.iloc[0].column == "unit" and lines.iloc[0].value == "Hue Xyz"
    assert "closest" in lines.iloc[0].suggestion
    lines = only(plan(tmp_path, [[P, "Ha Noii", "bts_stations", 5, "", ""]], fmt), "unknown_unit")
    assert "Hà Nội" in lines.iloc[0].suggestion
    row = 2 if fmt == "csv" else 4  # the CSV line / the spreadsheet row (title + blank above)
    assert lines.iloc[0].row == row


@pytest.mark.parametrize("fmt", FORMATS)
def test_ambiguous_commune_is_rejected_with_its_candidates(tmp_path, fmt):
    lines = only(plan(tmp_path, [[P, "Xã Tân Hòa", "applications_received", 5, "", ""]], fmt), "ambiguous_unit")
    assert "Tây Ninh" in lines.iloc[0].suggestion and "Đồng Tháp" in lines.iloc[0].suggestion
    # ... and resolves once the province is named (column or --province).
    ok = plan(tmp_path, [[P, "Xã Tân Hòa", "applications_received", 5, "", ""]], fmt, province="Tây Ninh")
    assert ok.ok and ok.rows.iloc[0].level == "commune"
    # When the file's other units all lie in a province holding that name, the suggestion says so.
    lines = only(plan(tmp_path, [[P, "Phường Việt Trì", "applications_received", 5, "", ""],
                                 [P, "Xã Thanh Sơn", "applications_received", 5, "", ""]], fmt), "ambiguous_unit")
    assert lines.iloc[0].suggestion.startswith("the file's other units are all in Phú Thọ: name that province")


@pytest.mark.parametrize("fmt", FORMATS)
def test_commune_not_in_the_stated_province(tmp_path, fmt):
    header = ["period", "province", "commune", "indicator", "value"]
    lines = only(plan(tmp_path, [[P, "Huế", "Phường Hoàn Kiếm", "applications_received", 5]], fmt, header=header),
                 "not_in_province")
    assert "Hà Nội" in lines.iloc[0].suggestion


@pytest.mark.parametrize("fmt", FORMATS)
def test_unknown_province_of_a_commune_names_the_closest_once(tmp_path, fmt):
    header = ["period", "province", "commune", "indicator", "value"]
    lines = only(plan(tmp_path, [[P, "Hà Tây", "Xã Ba Vì", "applications_received", 5]], fmt, header=header),
                 "unknown_province")
    line = lines.iloc[0]
    assert (line.column, line.value, line.reason) == ("province", "Hà Tây", "unknown province 'Hà Tây'")
    assert line.suggestion.startswith("closest: Hà Nam") and "closest" not in line.reason


@pytest.mark.parametrize("fmt", FORMATS)
def test_unknown_indicator(tmp_path, fmt):
    lines = only(plan(tmp_path, [[P, "Huế", "bts_station", 5, "", ""]], fmt), "unknown_indicator")
    assert "bts_stations" in lines.iloc[0].suggestion
    # A near miss of a Vietnamese name is matched on the names too, in a value or a wide header.
    lines = only(plan(tmp_path, [[P, "Huế", "Hồ sơ trực tuyến", 5, "", ""]], fmt), "unknown_indicator")
    assert lines.iloc[0].suggestion.startswith("did you mean Hồ sơ nộp trực tuyến (online_applications)")
    lines = only(plan(tmp_path, [[P, "Huế", 5, 5]], fmt, header=["period", "unit", "bts_stations", "Số trạm 5G"]),
                 "unknown_indicator")
    assert lines.iloc[0].column == "Số trạm 5G" and "Trạm 5G (stations_5g)" in lines.iloc[0].suggestion


@pytest.mark.parametrize("fmt", FORMATS)
def test_malformed_and_future_periods(tmp_path, fmt):
    p = plan(tmp_path, [["2025-13", "Huế", "bts_stations", 5, "", ""], ["Q3 2025", "Huế", "bts_stations", 5, "", ""],
                        [future(1), "Huế", "bts_stations", 5, "", ""]], fmt)
    assert len(only(p, "bad_period")) == 2
    assert len(only(p, "future_period")) == 1


@pytest.mark.parametrize("fmt", FORMATS)
def test_non_numeric_value(tmp_path, fmt):
    lines = only(plan(tmp_path, [[P, "Huế", "bts_stations", "12 trạm", "", ""]], fmt), "non_numeric")
    assert lines.iloc[0].value == "12 trạm"


@pytest.mark.parametrize("fmt", FORMATS)
def test_negative_count(tmp_path, fmt):
    only(plan(tmp_path, [[P, "Huế", "bts_stations", -3, "", ""]], fmt), "negative_count")


@pytest.mark.parametrize("fmt", FORMATS)
def test_rate_outside_0_100(tmp_path, fmt):
    lines = only(plan(tmp_path, [[P, "Huế", "on_time_rate", "8801", "", ""]], fmt), "rate_out_of_range")
    assert "decimal separator" in lines.iloc[0].suggestion


@pytest.mark.parametrize("fmt", FORMATS)
def test_numerator_greater_than_denominator(tmp_path, fmt):
    only(plan(tmp_path, [[P, "Huế", "on_time_rate", 50, 120, 100]], fmt), "numerator_gt_denominator")


@pytest.mark.parametrize("fmt", FORMATS)
def test_value_disagreeing_with_its_numerator_and_denominator(tmp_path, fmt):
    lines = only(plan(tmp_path, [[P, "Huế", "on_time_rate", "90,5", 80, 100]], fmt), "rate_mismatch")
    assert "80" in lines.iloc[0].reason
    # Rounded to the published decimals is not a disagreement.
    assert plan(tmp_path, [[P, "Huế", "on_time_rate", "33,33", 1, 3]], fmt).ok


@pytest.mark.parametrize("fmt", FORMATS)
def test_duplicate_unit_indicator_period_in_the_file(tmp_path, fmt):
    lines = only(plan(tmp_path, [[P, "Huế", "bts_stations", 5, "", ""],
                                 [P, "Thừa Thiên Huế", "bts_stations", 6, "", ""]], fmt), "duplicate")
    assert len(lines) == 2


@pytest.mark.parametrize("fmt", FORMATS)
def test_empty_file(tmp_path, fmt):
    p = plan(tmp_path, [], fmt)
    assert p.fatal and codes(p) == {"empty_file"}
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    assert codes(plan_load(empty)) == {"empty_file"}


def test_wrong_encoding_is_rejected_with_a_suggestion(tmp_path):
    path = write_csv(tmp_path / "cp1258.csv", H, [[P, "Cà Mau", "bts_stations", 5, "", ""]], encoding="cp1258")
    p = plan_load(path)
    assert p.fatal and codes(p) == {"encoding"}
    assert "UTF-8" in p.rejections.iloc[0].suggestion
    # UTF-8 with BOM and UTF-16 with BOM are fine.
    for encoding in ("utf-8-sig", "utf-16"):
        ok = write_csv(tmp_path / f"{encoding}.csv", H, [[P, "Hà Nội", "bts_stations", 5, "", ""]], encoding=encoding)
        assert plan_load(ok).ok, encoding


@pytest.mark.parametrize("fmt", FORMATS)
def test_file_too_large_for_the_configured_limit(tmp_path, fmt, monkeypatch):
    monkeypatch.setenv("DX_MAX_UPLOAD_MB", "0.0001")
    p = plan(tmp_path, [[P, "Huế", "bts_stations", 5, "", ""]] * 20, fmt)
    assert p.fatal and codes(p) == {"too_large"}
    assert "DX_MAX_UPLOAD_MB" in p.rejections.iloc[0].suggestion


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_merged_old_province_in_a_current_report_points_to_legacy(tmp_path, fmt):
    lines = only(plan(tmp_path, [[P, "Vĩnh Phúc", "bts_stations", 5, "", ""]], fmt), "legacy_unit")
    assert "--kind legacy" in lines.iloc[0].suggestion


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_problem_of_a_row_is_reported_with_row_column_value_reason_suggestion(tmp_path, fmt):
    p = plan(tmp_path, [[P, "Nowhere", "nothing", "abc", "", ""]], fmt)
    assert {"unknown_unit", "unknown_indicator", "non_numeric"} <= codes(p)
    assert list(p.rejections.columns)[:6] == ["row", "column", "value", "code", "reason", "suggestion"]
    assert p.rows_rejected == 1


def test_an_xlsx_with_a_text_formatted_number_and_a_date_period(tmp_path):
    import datetime as dt

    year, month = map(int, P.split("-"))
    path = write_xlsx(tmp_path / "dates.xlsx", H,
                      [[dt.date(year, month, 1), "Huế", "bts_stations", "1.234", None, None]])
    p = plan_load(path)
    assert p.ok and p.rows.iloc[0].period == P and p.rows.iloc[0].value == 1234


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_count_above_its_plausible_maximum(tmp_path, fmt):
    """Counts and amounts are bounded by plausible_max in data/meta/indicators.toml (an extra
    digit, a national total in a unit's row), numerators and denominators of rates included."""
    lines = only(plan(tmp_path, [[P, "Huế", "bts_stations", 10 ** 26, "", ""]], fmt), "implausible_value")
    assert lines.iloc[0].column == "value"
    assert lines.iloc[0].reason == ("1e+26 is more than 100,000, the most one unit can report "
                                    "for bts_stations in a month")
    lines = only(plan(tmp_path, [[P, "Huế", "online_application_rate", 50, 10_000_000, 20_000_000]], fmt),
                 "implausible_value")
    assert lines.iloc[0].column == "denominator" and "applications_received" in lines.iloc[0].reason
    assert plan(tmp_path, [[P, "Huế", "bts_stations", 100_000, "", ""]], fmt).ok  # the bound itself loads


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_commune_value_before_the_communes_existed(tmp_path, fmt):
    """Communes exist from 2025-07 (valid_from in data/meta/indicators.toml); the 34 provinces'
    series go back further (re-based and restated months), so a province value for 2024 loads."""
    lines = only(plan(tmp_path, [["2023-05", "Phường Việt Trì", "applications_received", 5, "", ""]], fmt),
                 "before_unit_existed")
    assert (lines.iloc[0].column, lines.iloc[0].value) == ("period", "2023-05")
    assert lines.iloc[0].reason == ("2023-05 is before 2025-07: "
                                    "the communes of the two-tier local government exist from 2025-07")
    assert plan(tmp_path, [["2025-07", "Phường Việt Trì", "applications_received", 5, "", ""],
                           ["2024-06", "Phú Thọ", "delayed_tasks", 3, "", ""]], fmt).ok


def test_a_duplicate_line_names_a_few_of_the_other_rows(tmp_path):
    rows = [[P, "Huế", "bts_stations", n, "", ""] for n in range(9)]
    lines = only(plan(tmp_path, rows, "csv"), "duplicate")
    assert list(lines.reason[:2]) == [
        "the same unit, indicator and period is also in row(s) 3, 4, 5, 6, 7 and 3 more",
        "the same unit, indicator and period is also in row(s) 2, 4, 5, 6, 7 and 3 more"]
    assert lines.reason.iloc[-1] == "the same unit, indicator and period is also in row(s) 2, 3, 4, 5, 6 and 3 more"


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_empty_value_in_a_long_report_is_a_missing_value(tmp_path, fmt):
    """(It used to stop the check with an AttributeError.)"""
    lines = only(plan(tmp_path, [[P, "Huế", "bts_stations", "", "", ""], [P, "Huế", "stations_5g", 5, "", ""]], fmt),
                 "missing_value")
    assert (lines.iloc[0].column, lines.iloc[0].reason) == ("value", "the value is empty")
