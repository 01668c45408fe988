"""The Data refresh page (pages/7_data_refresh.py) through AppTest: login, roles,
lockout, upload → dry run → confirm → the warehouse changes, rejection report, undo."""

from __future__ import annotations

import tempfile
from pathlib import Path

import duckdb
import pytest
from markdown_support import shown
from streamlit.testing.v1 import AppTest

from core import i18n, paths
from dashboard import users
from etl.reference import provinces

ROOT = Path(__file__).resolve().parent.parent
PAGE = "pages/7_data_refresh.py"
STAFF, STAFF_PW = "lan", "staff password 57"
VIEWER, VIEWER_PW = "minh", "viewer password 57"
GOOD_CSV = "period,unit,indicator,value\n2025-09,Phú Thọ,applications_received,12345\n".encode()
BAD_CSV = (
    "period,unit,indicator,value\n"
    "2025-09,Phú Thọ,applications_received,abc\n"
    "2025-09,Tỉnh Không Có,applications_received,5\n"
).encode()
KEY = ("applications_received", "2025-09", "province", "25")  # Phú Thọ


def vi(key: str, **values) -> str:
    return i18n.t(key, "vi", **values)


@pytest.fixture
def app_env(warehouse_copy, tmp_path, monkeypatch) -> Path:
    """A private warehouse, and a users file with one staff and one viewer user."""
    path = tmp_path / "users.toml"
    monkeypatch.setenv("DX_USERS", str(path))
    monkeypatch.setenv("DX_PBKDF2_ITERATIONS", "200000")
    monkeypatch.setenv("DX_LOGIN_MAX_FAILURES", "3")
    monkeypatch.setenv("DX_LOGIN_LOCK_SECONDS", "900")
    users.add_user(STAFF, STAFF_PW, "staff", path)
    users.add_user(VIEWER, VIEWER_PW, "viewer", path)
    uploads = tmp_path / "uploads"  # the page's staged uploads, not /tmp
    uploads.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(uploads))
    return warehouse_copy


def open_page() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params["page"] = "data_refresh"  # the root URL opens ?page=... directly
    at.run()
    assert not at.exception, at.exception
    assert any(h.value == vi("refresh.title") for h in at.title), [h.value for h in at.title]
    return at


def button(at: AppTest, label_key: str):
    label = vi(label_key)
    matches = [b for b in at.button if b.label == label]
    assert matches, f"no button {label!r}: {[b.label for b in at.button]}"
    return matches[0]


def login(at: AppTest, name: str, password: str) -> AppTest:
    at.text_input(key="dx_login_name").input(name)
    at.text_input(key="dx_login_password").input(password)
    button(at, "auth.submit").click()
    at.run()
    assert not at.exception, at.exception
    return at


def texts(elements) -> str:
    """The elements' text as a reader sees it."""
    return shown("\n".join(str(e.value) for e in elements))


def observation(db: Path) -> tuple[float, bool, int]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(
            "SELECT value, is_demo, load_id FROM observation WHERE indicator = ? AND period = ? "
            "AND level = ? AND unit_code = ?", list(KEY)).fetchone()
    finally:
        con.close()


def frame(at: AppTest, column_key: str):
    """The shown table that has the column ``column_key`` (in Vietnamese)."""
    column = vi(column_key)
    frames = [d.value for d in at.dataframe if column in d.value.columns]
    assert frames, f"no table with a column {column!r}"
    return frames[0]


def dashboard_value(indicator: str = KEY[0], period: str = KEY[1], code: str = KEY[3]) -> tuple[float, bool]:
    """What the dashboard's (cached) query layer returns for the key."""
    from dashboard import queries

    frame = queries.province_values(indicator, period)
    row = frame[frame["code"] == code].iloc[0]
    return float(row["value"]), bool(row["is_demo"])


def controls(at: AppTest) -> dict:
    return {
        "uploaders": len(at.file_uploader),
        "checkboxes": len(at.checkbox),
        "buttons": [b.label for b in at.button],
    }


def test_anonymous_sees_only_the_login_form(app_env):
    at = open_page()
    assert at.text_input(key="dx_login_name") is not None
    assert at.text_input(key="dx_login_password").proto.type == at.text_input(
        key="dx_login_password").proto.PASSWORD
    assert controls(at) == {"uploaders": 0, "checkboxes": 0, "buttons": [vi("auth.submit")]}
    assert not at.dataframe  # no history either


def test_no_users_explains_how_to_create_one(warehouse_copy, tmp_path, monkeypatch):
    monkeypatch.setenv("DX_USERS", str(tmp_path / "none.toml"))
    at = open_page()
    assert "python -m dashboard users add" in texts(at.info)
    assert controls(at)["uploaders"] == 0 and not at.text_input
    everything = " ".join(str(e.value) for e in [*at.info, *at.markdown, *at.caption, *at.error, *at.warning])
    assert str(tmp_path) not in everything and "users.toml" not in everything  # no server path


def test_staff_can_download_every_template(app_env):
    at = login(open_page(), STAFF, STAFF_PW)
    buttons = [b for b in at.get("download_button") if b.proto.id and "template" in b.proto.id]
    names = sorted(b.proto.label for b in buttons)
    assert names == sorted(p.name for p in (paths.DATA / "templates").iterdir() if p.suffix != ".md")
    assert "report_long.csv" in names and "index766_portal.json" in names


INVALID = vi("auth.invalid", n=3, minutes=15)  # app_env: 3 failures lock for 900 s


def test_wrong_password_and_lockout(app_env):
    at = open_page()
    login(at, STAFF, "not the password")
    assert texts(at.error) == INVALID
    assert controls(at)["uploaders"] == 0
    login(at, "nobody", STAFF_PW)
    assert texts(at.error) == INVALID
    login(at, STAFF, "still wrong")
    login(at, STAFF, "wrong again")  # third failure for 'lan' -> locked
    assert texts(at.error) == INVALID
    login(at, STAFF, STAFF_PW)  # the right password no longer helps while locked
    assert texts(at.error) == INVALID
    assert controls(at)["uploaders"] == 0
    assert users.get_user(STAFF).is_locked()
    users.unlock(STAFF)
    login(at, STAFF, STAFF_PW)
    assert controls(at)["uploaders"] == 1


def test_viewer_sees_no_controls(app_env):
    at = open_page()
    login(at, VIEWER, VIEWER_PW)
    assert vi("refresh.viewer_denied") in texts(at.warning)
    assert controls(at) == {"uploaders": 0, "checkboxes": 0, "buttons": [vi("auth.logout")]}
    assert not at.dataframe
    button(at, "auth.logout").click()
    at.run()
    assert at.text_input(key="dx_login_name") is not None


def test_staff_loads_a_valid_report_and_undoes_it(app_env):
    db = app_env
    demo_value, is_demo, load_id = observation(db)
    assert is_demo and load_id == 0 and demo_value != 12345
    assert dashboard_value() == (demo_value, True)  # primes the query cache
    at = open_page()
    login(at, STAFF, STAFF_PW)
    assert controls(at)["uploaders"] == 1
    at.file_uploader[0].upload("phu_tho_2025-09.csv", GOOD_CSV, "text/csv")
    at.run()
    assert not at.exception, at.exception
    assert vi("refresh.confirm") not in controls(at)["buttons"]  # a dry run comes first
    button(at, "refresh.dry_run").click()
    at.run()
    assert not at.exception, at.exception
    assert vi("refresh.all_valid", valid="1") in texts(at.success)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics[vi("refresh.m.values_valid")] == "1"
    assert metrics[vi("refresh.m.rows_rejected")] == "0"
    assert observation(db)[0] == demo_value  # a dry run writes nothing
    confirm = button(at, "refresh.confirm")
    assert not confirm.disabled
    confirm.click()
    at.run()
    assert not at.exception, at.exception
    success = texts(at.success)
    assert "#1" in success and "phu_tho_2025-09.csv" in success, success
    value, is_demo, load_id = observation(db)
    assert (value, is_demo, load_id) == (12345, False, 1)
    assert dashboard_value() == (12345, False)  # the next query sees the new warehouse
    from dashboard import queries
    assert queries.source_names()["load:1"] == "phu_tho_2025-09.csv (#1)"  # the dashboards' "Source:" caption
    assert controls(at)["uploaders"] == 1 and not at.file_uploader[0].value  # uploader emptied
    # History: the load with its uploader (the logged-in user), size and checksum; the raw file kept.
    history = frame(at, "refresh.col.load_id")
    newest = history.iloc[0]
    assert newest[vi("refresh.col.load_id")] == 1 and newest[vi("refresh.col.uploader")] == STAFF
    con = duckdb.connect(str(db), read_only=True)
    try:
        raw = con.execute("SELECT file_name, sha256, size_bytes, uploader, received_at, archived_path "
                          "FROM raw.file WHERE load_id = 1").fetchone()
    finally:
        con.close()
    assert raw[0] == "phu_tho_2025-09.csv" and raw[2] == len(GOOD_CSV) and raw[3] == STAFF and raw[4]
    assert Path(raw[5]).read_bytes() == GOOD_CSV
    # Undo, with a confirmation step.
    at.button(key="dx_refresh_undo_1").click()
    at.run()
    assert observation(db)[2] == 1  # not yet: asks first
    assert vi("refresh.undo_confirm_text", load_id=1, file="phu_tho_2025-09.csv") in texts(at.warning)
    at.button(key="dx_refresh_undo_yes").click()
    at.run()
    assert not at.exception, at.exception
    assert vi("refresh.undone", load_id=1, file="phu_tho_2025-09.csv", restored="1", removed="0") in texts(at.success)
    assert observation(db) == (demo_value, True, 0)
    assert dashboard_value() == (demo_value, True)
    status = frame(at, "refresh.col.load_id").iloc[0][vi("refresh.col.status")]
    assert status == vi("refresh.status_undone")


def test_dry_run_lists_new_values_next_to_replaced_demo_values(app_env):
    """A value the warehouse does not hold yet has no old value and no demo flag (a bug once
    crashed this table on the missing flag)."""
    at = open_page()
    login(at, STAFF, STAFF_PW)
    at.file_uploader[0].upload("two.csv", GOOD_CSV + "2024-06,Phú Thọ,delayed_tasks,3\n".encode(), "text/csv")
    at.run()
    button(at, "refresh.dry_run").click()
    at.run()
    assert not at.exception, at.exception
    changes = frame(at, "refresh.col.old_is_demo").set_index(vi("refresh.col.period"))
    assert changes[vi("refresh.col.old_is_demo")].to_dict() == {"2025-09": vi("common.yes"), "2024-06": ""}
    assert changes[vi("refresh.col.new_value")].to_dict() == {"2025-09": 12345, "2024-06": 3}


def test_dossier_export_dry_run_speaks_vietnamese(app_env):
    """The notes and the partial-province warning of a dossier export, in the reader's language."""
    at = open_page()
    login(at, STAFF, STAFF_PW)
    template = ROOT / "data" / "templates" / "dossiers.csv"
    at.file_uploader[0].upload("dossiers.csv", template.read_bytes(), "text/csv")
    at.run()
    button(at, "refresh.dry_run").click()
    at.run()
    assert not at.exception, at.exception
    captions = texts(at.caption)
    assert "· " + vi("refresh.note.dossiers_counted", n="3") in captions
    assert "distinct dossiers" not in captions
    warnings = frame(at, "refresh.col.suggestion")
    partial = warnings[warnings[vi("refresh.col.code")] == "partial_province"]
    assert set(partial[vi("refresh.col.value")]) == {"Huế (46)", "Tây Ninh (80)"}
    assert set(partial[vi("refresh.col.problem")]) == {vi("reason.partial_province.title")}
    communes = provinces().set_index("code").n_communes
    assert set(partial[vi("refresh.col.reason")]) == {
        f"tệp xuất có hồ sơ của 1 trong số {communes[code]} xã, phường của {name}: số liệu cấp tỉnh chỉ là tổng "
        "của các xã này" for code, name in (("46", "Huế"), ("80", "Tây Ninh"))}
    assert set(partial[vi("refresh.col.suggestion")]) == {vi("reason.partial_province.suggestion")}
    assert set(partial[vi("refresh.col.severity")]) == {vi("refresh.severity_warning")}
    assert not button(at, "refresh.confirm").disabled  # a warning does not stop the load
    assert "#### " + vi("refresh.warnings_title") in texts(at.markdown)


def test_an_old_excel_xls_report_is_checked_and_loaded(app_env):
    at = open_page()
    login(at, STAFF, STAFF_PW)
    xls = ROOT / "tests" / "fixtures" / "phu_tho_report_2025-09.xls"
    at.file_uploader[0].upload(xls.name, xls.read_bytes(), "application/vnd.ms-excel")
    at.run()
    at.text_input(key="dx_refresh_period").input("2025-09")
    at.run()
    button(at, "refresh.dry_run").click()
    at.run()
    assert not at.exception, at.exception
    assert vi("refresh.all_valid", valid="6") in texts(at.success)
    button(at, "refresh.confirm").click()
    at.run()
    assert not at.exception, at.exception
    assert "phu_tho_report_2025-09.xls" in texts(at.success)
    assert frame(at, "refresh.col.load_id").iloc[0][vi("refresh.col.load_id")] == 1


def test_invalid_file_shows_the_rejection_report_and_loads_nothing(app_env):
    db = app_env
    before = observation(db)
    at = open_page()
    login(at, STAFF, STAFF_PW)
    at.file_uploader[0].upload("bad.csv", BAD_CSV, "text/csv")
    at.run()
    button(at, "refresh.dry_run").click()
    at.run()
    assert not at.exception, at.exception
    assert "#### " + vi("refresh.rejections_title") in texts(at.markdown)
    rejections = frame(at, "refresh.col.suggestion")
    assert set(rejections[vi("refresh.col.code")]) >= {"non_numeric", "unknown_unit"}
    bad_value = rejections[rejections[vi("refresh.col.code")] == "non_numeric"].iloc[0]
    assert bad_value[vi("refresh.col.row")] == 2 and bad_value[vi("refresh.col.value")] == "abc"
    assert bad_value[vi("refresh.col.column")] == "value"
    # Reasons and suggestions in the reader's language (the stored English is for the command line).
    assert bad_value[vi("refresh.col.problem")] == vi("reason.non_numeric.title")
    assert bad_value[vi("refresh.col.reason")] == "value không phải là số"
    assert bad_value[vi("refresh.col.suggestion")] == vi("reason.non_numeric.suggestion")
    unknown = rejections[rejections[vi("refresh.col.code")] == "unknown_unit"].iloc[0]
    assert unknown[vi("refresh.col.reason")] == "không rõ tỉnh 'Tỉnh Không Có'"
    assert unknown[vi("refresh.col.suggestion")] == "kiểm tra chính tả hoặc dùng mã đơn vị"  # no name is close
    csv_buttons = [d for d in at.get("download_button") if "CSV" in d.proto.label]
    assert csv_buttons  # the rejection report (and the history) as CSV
    assert button(at, "refresh.confirm").disabled
    assert observation(db) == before
    # Ticking "load the valid rows" does not help when no row is valid.
    at.checkbox(key="dx_refresh_accept_valid").check()
    at.run()
    assert button(at, "refresh.confirm").disabled
    assert observation(db) == before
    history = frame(at, "refresh.col.load_id")
    assert list(history[vi("refresh.col.load_id")]) == [0]


def test_accept_valid_loads_the_valid_rows_and_quarantines_the_rest(app_env):
    db = app_env
    mixed = GOOD_CSV + "2025-09,Hà Nội,applications_received,-7\n".encode()
    at = open_page()
    login(at, STAFF, STAFF_PW)
    at.file_uploader[0].upload("mixed.csv", mixed, "text/csv")
    at.run()
    button(at, "refresh.dry_run").click()
    at.run()
    assert button(at, "refresh.confirm").disabled  # all-or-nothing by default
    at.checkbox(key="dx_refresh_accept_valid").check()
    at.run()
    assert vi("refresh.has_errors_accept", rows="1", valid="1") in texts(at.warning)
    button(at, "refresh.confirm").click()
    at.run()
    assert not at.exception, at.exception
    assert "#1" in texts(at.success)
    assert observation(db) == (12345, False, 1)
    con = duckdb.connect(str(db), read_only=True)
    try:
        quarantined = con.execute("SELECT row_number, column_name, value FROM clean.quarantine "
                                  "WHERE load_id = 1").fetchall()
    finally:
        con.close()
    assert (3, "value", "-7") in quarantined


def test_excel_sheet_choice(app_env):
    import io

    import openpyxl

    book = openpyxl.Workbook()
    first = book.active
    first.title = "Tháng 9"
    second = book.create_sheet("Tháng 8")
    for sheet, (period, value) in ((first, ("2025-09", 12345)), (second, ("2025-08", 999))):
        sheet.append(["period", "unit", "indicator", "value"])
        sheet.append([period, "Phú Thọ", "applications_received", value])
    buffer = io.BytesIO()
    book.save(buffer)
    at = open_page()
    login(at, STAFF, STAFF_PW)
    at.file_uploader[0].upload("two-sheets.xlsx", buffer.getvalue(),
                               "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    at.run()
    assert not at.exception, at.exception
    choice = at.selectbox(key="dx_refresh_sheet")
    assert choice.options == [vi("refresh.sheet_auto"), "Tháng 9", "Tháng 8"]
    button(at, "refresh.dry_run").click()
    at.run()
    assert "Tháng 9" in texts(at.error) and "Tháng 8" in texts(at.error)  # which sheet?
    at.selectbox(key="dx_refresh_sheet").select("Tháng 9")
    at.run()
    button(at, "refresh.dry_run").click()
    at.run()
    assert vi("refresh.all_valid", valid="1") in texts(at.success)
    button(at, "refresh.confirm").click()
    at.run()
    assert observation(app_env) == (12345, False, 1)


def test_the_portals_766_table_of_a_province_is_checked_and_loaded(app_env):
    """The JSON the National Public Service Portal answers with, for Phú Thọ's own units: its
    month and province given on the page; its 17 departments are counted, its communes loaded."""
    at = open_page()
    login(at, STAFF, STAFF_PW)
    table = ROOT / "data" / "templates" / "index766_communes_phu_tho.json"
    at.file_uploader[0].upload(table.name, table.read_bytes(), "application/json")
    at.run()
    at.text_input(key="dx_refresh_period").input("2025-09")
    at.selectbox(key="dx_refresh_province").select("25")
    at.run()
    button(at, "refresh.dry_run").click()
    at.run()
    assert not at.exception, at.exception
    assert vi("refresh.all_valid", valid="888") in texts(at.success)
    captions = texts(at.caption)
    assert "· " + vi("refresh.note.index766_skipped", n="17", row="10") in captions
    assert vi("refresh.kind_index766") in captions
    button(at, "refresh.confirm").click()
    at.run()
    assert not at.exception, at.exception
    with duckdb.connect(str(app_env), read_only=True) as con:
        assert con.execute("SELECT count(DISTINCT unit_code) FROM observation WHERE NOT is_demo AND level = 'commune' "
                           "AND period = '2025-09' AND indicator = 'index766_total'").fetchone()[0] == 148
