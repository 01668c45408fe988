"""Raw dossier exports -> commune- and province-month indicators (DuckDB)."""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd
import pytest
from load_support import past

from etl.load import aggregate_dossiers, plan_load, summarise_dossiers
from etl.load.samples import dossier_frame

A, B = past(2), past(1)  # two past months
HEADER = ["dossier_id", "procedure_code", "commune", "channel", "received_at", "due_at", "resolved_at", "paid_online"]


def export(rows):
    return pd.DataFrame(rows, columns=HEADER)


def small():
    # Hoàn Kiếm (00070, Hà Nội) and Thuận An (19900, Huế)
    return export([
        ["D1", "1.1", "00070", "online", f"{A}-03 09:00:00", f"{A}-10 17:00:00", f"{A}-09 10:00:00", "true"],
        ["D2", "1.1", "Phường Hoàn Kiếm", "in person",
         f"{A}-05 09:00:00", f"{A}-06 17:00:00", f"{B}-02 10:00:00", "false"],
        ["D3", "1.2", "hoan kiem", "Trực tuyến", f"{B}-01 08:00:00", f"{B}-20 17:00:00", "", "có"],
        ["D4", "1.2", "19900", "postal", f"{B}-11 08:00:00", f"{B}-12 17:00:00", f"{B}-12 16:00:00", "0"],
        ["D4", "1.2", "19900", "postal", f"{B}-11 08:00:00", f"{B}-12 17:00:00", f"{B}-12 16:00:00", "0"],  # duplicate
    ])


def obs(frame, level, unit, indicator, period):
    hit = frame[(frame.level == level) & (frame.unit_code == unit) & (frame.indicator == indicator)
                & (frame.period == period)]
    return None if hit.empty else hit.iloc[0].value


@pytest.mark.parametrize("fmt", ["csv", "parquet", "xlsx"])
def test_counts_rates_months_and_duplicates(tmp_path, fmt):
    path = tmp_path / f"dossiers.{fmt}"
    frame = small()
    if fmt == "csv":
        frame.to_csv(path, index=False)
    elif fmt == "parquet":
        frame.to_parquet(path, index=False)
    else:
        frame.to_excel(path, index=False)
    s = summarise_dossiers(duckdb.connect(), path)
    o = s.observations
    assert s.rows_read == 5 and s.dossiers == 4 and s.duplicate_rows == 1 and s.rows_rejected == 0
    assert obs(o, "commune", "00070", "applications_received", A) == 2
    assert obs(o, "commune", "00070", "online_applications", A) == 1
    assert obs(o, "commune", "00070", "online_application_rate", A) == 50
    assert obs(o, "commune", "00070", "applications_resolved", A) == 1  # D2 resolved next month
    assert obs(o, "commune", "00070", "resolved_on_time", B) == 0  # D2 was late
    assert obs(o, "commune", "00070", "applications_received", B) == 1  # D3, still open
    assert obs(o, "commune", "19900", "applications_received", A) == 0  # zero-filled month
    assert obs(o, "commune", "19900", "on_time_rate", B) == 100
    assert obs(o, "province", "01", "applications_received", A) == 2
    assert obs(o, "province", "46", "applications_received", B) == 1  # the duplicate counted once
    dup = s.rejections[s.rejections.code == "duplicate_dossier"]
    assert len(dup) == 1 and dup.iloc[0].value == "D4" and dup.iloc[0].severity == "warning"


@pytest.mark.parametrize("row_by_row", [False, True])
def test_repeated_ids_beyond_the_listing_limit_are_counted_in_one_more_line(tmp_path, monkeypatch, row_by_row):
    from etl.load import dossier_clean, dossier_rows

    for module in (dossier_clean, dossier_rows):
        monkeypatch.setattr(module, "DUPLICATE_LIMIT", 2)
    path = tmp_path / "three_repeats.parquet"
    dossier_frame(300, duplicates=3).to_parquet(path, index=False)
    s = summarise_dossiers(duckdb.connect(), path, row_by_row=row_by_row)
    assert (s.duplicate_ids, s.duplicate_rows) == (3, 3)
    lines = s.rejections.code.value_counts().to_dict()
    assert lines["duplicate_dossier"] == 2 and lines["duplicates_not_listed"] == 1
    more = s.rejections[s.rejections.code == "duplicates_not_listed"].iloc[0]
    assert more.reason.startswith("repeated ids beyond the 2 listed: 1 (3 in all)") and more.severity == "warning"


def test_an_export_covering_part_of_a_province_is_flagged_but_loads(tmp_path):
    """Province values of a dossier export are the sums of its communes: right for a province's
    complete export, wrong for one commune's, so the clerk is warned (not stopped)."""
    from etl.reference import communes, provinces

    path = tmp_path / "two_communes.csv"
    small().to_csv(path, index=False)
    p = plan_load(path)
    assert p.ok and p.errors.empty
    partial = p.warnings[p.warnings.code == "partial_province"].set_index("value")
    total = provinces().set_index("code").n_communes
    assert list(partial.index) == ["Hà Nội (01)", "Huế (46)"]
    assert f"from 1 of the {total['01']:,} communes of Hà Nội" in partial.reason["Hà Nội (01)"]

    code = total.idxmin()  # the province with the fewest communes, every one of them in the file
    whole = [[f"W{i}", "1", unit, "online", f"{A}-03 09:00:00", f"{A}-10 17:00:00", "", "false"]
             for i, unit in enumerate(communes().query("province_code == @code").code)]
    export(whole).to_csv(path, index=False)
    p = plan_load(path)
    assert p.ok and "partial_province" not in set(p.warnings.code)
    assert obs(p.rows, "province", code, "applications_received", A) == total[code]


def test_load_notes_read_in_either_language():
    from etl.load.notes import Note

    note = Note("duplicates_counted_once", {"rows": 10_209, "ids": 10_206})
    assert str(note) == "10,209 duplicate rows of 10,206 dossier ids counted once"
    assert note.text("vi", lambda n: f"{n:,}".replace(",", ".")) == \
        "10.209 dòng lặp lại của 10.206 mã hồ sơ, mỗi mã chỉ tính một lần"


def test_bad_rows_are_rejected_with_their_line_numbers(tmp_path):
    frame = pd.concat([small(), export([
        ["", "1", "00070", "online", f"{A}-01 08:00:00", f"{A}-02 08:00:00", "", "false"],
        ["E2", "1", "Xã Tân Hòa", "online", f"{A}-01 08:00:00", f"{A}-02 08:00:00", "", "false"],
        ["E3", "1", "00070", "fax", f"{A}-01 08:00:00", f"{A}-02 08:00:00", "", "false"],
        ["E4", "1", "00070", "online", "yesterday", f"{A}-02 08:00:00", "", "false"],
        ["E5", "1", "00070", "online", f"{A}-09 08:00:00", f"{A}-12 08:00:00", f"{A}-02 08:00:00", "false"],
        ["E6", "1", "00070", "online", f"{dt.date.today().year + 1}-01-01 08:00:00", f"{A}-12 08:00:00", "", "false"],
        ["E7", "1", "00070", "online", f"{A}-01 08:00:00", f"{A}-02 08:00:00", "", "perhaps"],
    ])])
    path = tmp_path / "bad.csv"
    frame.to_csv(path, index=False)
    p = plan_load(path)
    assert p.kind == "dossiers" and not p.ok and p.rows_rejected == 7
    errors = p.errors.set_index("row")
    assert errors.code.to_dict() == {7: "missing_id", 8: "ambiguous_unit", 9: "bad_channel", 10: "bad_time",
                                     11: "resolved_before_received", 12: "future_time", 13: "bad_bool"}
    assert "Tây Ninh" in errors.suggestion[8]
    # The 4 valid dossiers are still aggregated (loadable with --accept-valid).
    assert obs(p.rows, "province", "01", "applications_received", A) == 2


def test_province_column_resolves_commune_names(tmp_path):
    frame = export([["X1", "1", "Tân Hòa", "online", f"{A}-03 09:00:00", f"{A}-10 17:00:00", "", "false"]])
    frame["province"] = "Tây Ninh"
    o = aggregate_dossiers(duckdb.connect(), frame)
    assert set(o[o.level == "province"].unit_code) == {"80"}


def test_an_unknown_province_is_reported_on_the_province_column(tmp_path):
    frame = export([["X1", "1", "Xã Ba Vì", "online", f"{A}-03 09:00:00", f"{A}-10 17:00:00", "", "false"],
                    ["X2", "1", "Phường Hoàn Kiếm", "online", f"{A}-03 09:00:00", f"{A}-10 17:00:00", "", "false"]])
    frame["province"] = ["Hà Tây", "Hà Nội"]  # Hà Tây joined Hà Nội in 2008: not one of the 63 either
    path = tmp_path / "old_province.csv"
    frame.to_csv(path, index=False)
    p = plan_load(path)
    line = p.errors.iloc[0]
    assert len(p.errors) == 1 and (line.row, line.column, line.value, line.code) == (2, "province", "Hà Tây",
                                                                                       "unknown_province")
    assert line.reason == "unknown province 'Hà Tây'" and line.suggestion.startswith("closest: ")


def test_vietnamese_day_first_times_and_headers(tmp_path):
    path = tmp_path / "vi.csv"
    path.write_text(
        "Mã hồ sơ,Mã thủ tục,Xã,Kênh nộp,Ngày tiếp nhận,Ngày hẹn trả,Ngày trả kết quả,Thanh toán trực tuyến\n"
        f"V1,1,00070,Trực tuyến,03/{A[5:]}/{A[:4]} 09:00,10/{A[5:]}/{A[:4]} 17:00,05/{A[5:]}/{A[:4]} 10:00,có\n",
        encoding="utf-8-sig")
    s = summarise_dossiers(duckdb.connect(), path)
    assert s.rows_rejected == 0
    assert obs(s.observations, "commune", "00070", "on_time_rate", A) == 100


def test_csv_and_parquet_agree_on_a_larger_export(tmp_path):
    frame = dossier_frame(20_000, months=3, n_communes=50, duplicates=30)
    frame.to_csv(tmp_path / "d.csv", index=False)
    frame.to_parquet(tmp_path / "d.parquet", index=False)
    a, b = (aggregate_dossiers(duckdb.connect(), tmp_path / name)
            .sort_values(["level", "indicator", "period", "unit_code"], ignore_index=True)
            for name in ("d.csv", "d.parquet"))
    pd.testing.assert_frame_equal(a, b)
    received = a[(a.level == "province") & (a.indicator == "applications_received")].value.sum()
    assert received == 20_000


def test_missing_required_column(tmp_path):
    path = tmp_path / "d.csv"
    small().drop(columns=["due_at"]).to_csv(path, index=False)
    p = plan_load(path, kind="dossiers")
    assert p.fatal and set(p.rejections.code) == {"missing_column"}
