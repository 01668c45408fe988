"""Excel 97–2003 workbooks (.xls), still common in provincial offices, load like .xlsx: the
fixtures in tests/fixtures/ were written by xlwt (see make_xls.py there)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from etl.load import plan_load

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def fixture(tmp_path: Path, name: str) -> Path:
    """A copy, so that the rejection report is written beside the copy."""
    return Path(shutil.copy(FIXTURES / name, tmp_path / name))


def test_a_report_xls_with_title_rows_a_merged_header_and_a_total_row(tmp_path):
    p = plan_load(fixture(tmp_path, "phu_tho_report_2025-09.xls"), period="2025-09")
    assert p.ok and p.rejections.empty, p.rejections.to_dict("records")
    assert (p.fmt, p.layout, p.summary["sheet"]) == ("xls", "wide", "Bao cao")  # the instructions sheet is skipped
    got = p.rows.set_index(["unit_code", "indicator"]).value
    assert got["08716", "applications_received"] == 1234 and got["08716", "online_applications"] == 1100  # "1.100"
    assert got["08716", "online_application_rate"] == pytest.approx(89.14)  # "89,14"
    assert got["07900", "online_application_rate"] == 95
    assert set(p.rows.unit_code) == {"08716", "07900"}  # not the 'Tổng cộng' row…
    assert [str(n) for n in p.notes] == ["1 total row(s) not loaded (row 8…); 2 of 2 totals equal the sum of the rows"]


def test_a_dossier_export_xls_with_date_cells(tmp_path):
    p = plan_load(fixture(tmp_path, "phu_tho_dossiers_2025-09.xls"))
    assert p.ok and p.errors.empty and (p.kind, p.fmt) == ("dossiers", "xls")
    got = p.rows[p.rows.level == "commune"].set_index(["unit_code", "indicator"]).value
    assert got["07900", "applications_received"] == 2 and got["07900", "online_applications"] == 1
    assert got["07900", "on_time_rate"] == 50  # H1 on time, H2 resolved two days late
    assert got["08716", "applications_received"] == 1 and got["08716", "applications_resolved"] == 0


def test_an_office_file_that_is_no_workbook_is_rejected_with_what_to_do(tmp_path):
    fake = tmp_path / "report.xls"
    fake.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(4000))
    p = plan_load(fake, period="2025-09")
    assert p.fatal and list(p.errors.code) == ["bad_format"]
    assert "cannot be read as an Excel workbook" in p.errors.iloc[0].reason
    assert "save as" in p.errors.iloc[0].suggestion


def test_a_damaged_xlsx_is_rejected_not_a_traceback(tmp_path):
    damaged = tmp_path / "report.xlsx"
    damaged.write_bytes(b"PK\x03\x04" + b"not a zip archive" * 100)
    p = plan_load(damaged, period="2025-09")
    assert p.fatal and list(p.errors.code) == ["bad_format"]
    assert "cannot be read as an Excel workbook" in p.errors.iloc[0].reason
