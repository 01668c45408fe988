"""The limits of a load (docs/loading.md, "Validation and safety"): configurable bounds on what
a file may be, the child process that checks a file under a memory and time limit, the
capped archive of refused files, and the upload page's dry run that no file can crash."""

from __future__ import annotations

import json
import os
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from load_support import ROOT, past, write_csv, write_xlsx

from etl.load import limits, plan_load, preflight, sandbox
from etl.load.errors import FileRejected, UsageError
from etl.load.readers import _fill_merged

sys.path.insert(0, str(ROOT / "tests" / "fixtures" / "hostile"))

H = ["period", "unit", "indicator", "value"]
P = past(2)
ROWS = [[P, "Huế", "bts_stations", 5], [P, "Hà Nội", "bts_stations", 6], [P, "Cà Mau", "bts_stations", 7]]


def only_reason(plan) -> str:
    assert plan.fatal and len(plan.rejections) == 1, plan.rejections.to_dict("records")
    return plan.rejections.iloc[0].reason


def test_every_limit_has_a_default_and_an_environment_variable(monkeypatch):
    defaults = limits.current()
    assert (defaults.upload_mb, defaults.rows, defaults.columns, defaults.cells) == (200, 200_000, 500, 5_000_000)
    assert (defaults.check_memory_mb, defaults.check_seconds, defaults.cell_chars) == (4096, 600, 32_767)
    monkeypatch.setenv("DX_MAX_ROWS", "10")
    assert limits.current().rows == 10
    monkeypatch.setenv("DX_MAX_ROWS", "ten")
    with pytest.raises(UsageError, match="DX_MAX_ROWS must be a number"):
        limits.current()
    documented = (ROOT / "docs" / "loading.md").read_text(encoding="utf-8")
    assert all(f"`{variable}`" in documented for variable, _ in limits.SETTINGS.values())


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "parquet"])
def test_rows_columns_and_cells_beyond_the_limits_are_refused_before_validation(tmp_path, fmt, monkeypatch):
    frame = pd.DataFrame(ROWS, columns=H)
    path = tmp_path / f"report.{fmt}"
    {"csv": lambda: frame.to_csv(path, index=False), "parquet": lambda: frame.to_parquet(path),
     "xlsx": lambda: write_xlsx(path, H, ROWS)}[fmt]()
    assert plan_load(path).ok
    monkeypatch.setenv("DX_MAX_ROWS", "2")
    assert "DX_MAX_ROWS" in only_reason(plan_load(path))
    monkeypatch.delenv("DX_MAX_ROWS")
    monkeypatch.setenv("DX_MAX_COLUMNS", "3")
    assert "DX_MAX_COLUMNS" in only_reason(plan_load(path))
    monkeypatch.delenv("DX_MAX_COLUMNS")
    monkeypatch.setenv("DX_MAX_CELLS", "11")  # 3 rows (4 with the header) × 4 columns
    assert "DX_MAX_CELLS" in only_reason(plan_load(path))


def test_a_workbook_is_measured_unpacked(tmp_path, monkeypatch):
    """The size limit counts what a workbook unpacks to, not only its compressed bytes."""
    path = write_xlsx(tmp_path / "report.xlsx", H, ROWS * 300)
    unpacked = sum(i.file_size for i in zipfile.ZipFile(path).infolist())
    assert unpacked > 3 * path.stat().st_size
    monkeypatch.setenv("DX_MAX_UPLOAD_MB", str((path.stat().st_size + unpacked) / 2 / limits.MB))
    assert "the workbook unpacks to" in only_reason(plan_load(path))


def test_a_merged_range_reaching_far_beyond_the_data_is_cut_to_the_sheet():
    rows = [["Báo cáo", "", ""], ["period", "unit", "value"], [P, "Huế", 5]]
    _fill_merged(rows, [((0, 0), (0, 16_383)), ((2, 0), (1_048_575, 2))])
    assert [len(r) for r in rows] == [3, 3, 3] and rows[0] == ["Báo cáo"] * 3


def test_a_cell_far_away_is_found_whatever_the_markup(tmp_path):
    """The extent scan reads cells as the reader places them: by address, else next to the
    previous cell (empty cells included), in any attribute order or namespace prefix."""
    def extent(cells: str) -> preflight.Extent:
        return preflight.cell_extent(f"<sheetData>{cells}</sheetData>".encode(), "sheet")

    assert extent('<row r="1"><c r="A1"><v>1</v></c><c r="D7"><v>1</v></c></row>').last_column_cell == "D7"
    assert extent('<x:row r="3"><x:c s="1" t="n" r="B3"><x:v>1</x:v></x:c></x:row>').rows == 3
    far = extent('<row r="2"><c r="XFC2" s="1"/><c t="n"><v>1</v></c></row>')  # no address: after XFC2
    assert (far.columns, far.last_column_cell) == (16_384, "XFD2")
    quoted = extent('<row><c x="/>" r="AB9"><v>1</v></c></row>')  # '>' and '/' inside an attribute
    assert quoted.last_column_cell == "AB9"
    with pytest.raises(FileRejected, match="outside Excel's grid"):
        extent('<row><c r="XFE1"><v>1</v></c></row>')


def test_a_refused_file_is_archived_whole_only_up_to_the_limit(tmp_path, warehouse_copy, monkeypatch):
    from etl.load import apply_load

    monkeypatch.setenv("DX_REFUSED_ARCHIVE_MB", str(1000 / limits.MB))
    small = write_csv(tmp_path / "small.csv", H, [[P, "Nowhere", "bts_stations", 5]])
    big = write_csv(tmp_path / "big.csv", H, [[P, "Nowhere", "bts_stations", n] for n in range(500)])
    for path in (small, big):
        assert apply_load(plan_load(path)).status == "rejected"
    raw = Path(os.environ["DX_RAW"])
    log = [json.loads(line) for line in (raw / "rejected.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(e["file_name"], e["archived_whole"]) for e in log] == [("small.csv", True), ("big.csv", False)]
    assert (raw / log[0]["archived_name"]).read_bytes() == small.read_bytes()
    head = (raw / log[1]["archived_name"]).read_bytes()
    assert log[1]["archived_name"] == f"{log[1]['sha256']}.head.csv" and head == big.read_bytes()[:1000]


# --------------------------------------------------------------------------- the checking process

def test_the_check_runs_in_a_child_and_returns_the_plan(tmp_path, warehouse):
    path = write_csv(tmp_path / "good.csv", H, ROWS)
    stages = []
    plan = sandbox.plan_load(path, progress=lambda stage, done=None: stages.append(stage))
    assert plan.ok and len(plan.rows) == 3 and plan.summary["unit_examples"][0] == "Huế (46)"
    assert stages[0] == "checksum" and "validating" in stages


def test_a_child_out_of_memory_is_a_clean_rejection(monkeypatch):
    monkeypatch.setenv("DX_CHECK_MEMORY_MB", "1024")
    with pytest.raises(FileRejected, match=r"more memory than allowed .*DX_CHECK_MEMORY_MB") as caught:
        sandbox.call("builtins:bytearray", 3 * 1024 ** 3)
    assert caught.value.code == "too_demanding"


def test_the_excel_reader_aborting_is_a_clean_rejection(tmp_path):
    """Past the workbook checks, the reader's own abort ('memory allocation of … failed') still
    only ends the child: a workbook declaring 10¹² shared strings, opened without the checks."""
    from make_hostile import shared_string_bomb

    (path,) = shared_string_bomb(tmp_path)
    with pytest.raises(FileRejected, match="more memory than allowed"):
        sandbox.call("python_calamine:load_workbook", path)


def test_a_child_that_takes_too_long_is_stopped(monkeypatch):
    monkeypatch.setenv("DX_CHECK_SECONDS", "3")
    with pytest.raises(FileRejected, match=r"longer than 3 s.*DX_CHECK_SECONDS"):
        sandbox.call("time:sleep", 60)


def test_a_child_killed_by_a_signal_is_reported_not_raised():
    with pytest.raises(FileRejected, match=r"the reader stopped on this file \(signal SIGABRT\)"):
        sandbox.call("os:abort")


def test_a_usage_error_in_the_child_reaches_the_caller_with_its_choices(tmp_path):
    two = write_xlsx(tmp_path / "two.xlsx", H, ROWS, extra_sheets={"B": (H, ROWS)})
    with pytest.raises(UsageError, match="--sheet") as caught:
        sandbox.plan_load(two)
    assert caught.value.choices == ["Data", "B"]


# --------------------------------------------------------------------------- the upload page

@pytest.fixture
def staff_page(warehouse_copy, tmp_path, monkeypatch):
    """The Data refresh page, logged in as staff, uploads staged under tmp_path."""
    import tempfile

    from streamlit.testing.v1 import AppTest

    from core import i18n
    from dashboard import users

    monkeypatch.setenv("DX_USERS", str(tmp_path / "users.toml"))
    monkeypatch.setenv("DX_PBKDF2_ITERATIONS", "200000")
    users.add_user("lan", "staff password 57", "staff", tmp_path / "users.toml")
    (tmp_path / "uploads").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "uploads"))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params["page"] = "data_refresh"
    at.run()
    at.text_input(key="dx_login_name").input("lan")
    at.text_input(key="dx_login_password").input("staff password 57")
    next(b for b in at.button if b.label == i18n.t("auth.submit", "vi")).click()
    at.run()
    assert not at.exception and len(at.file_uploader) == 1
    return at


@pytest.mark.parametrize("builder, code", [("xfd_bomb", "too_large"), ("shared_string_bomb", "bad_format")])
def test_a_workbook_bomb_uploaded_to_the_page_is_refused_and_the_server_lives(staff_page, tmp_path, builder, code):
    """Staging (which lists the sheets) and the dry run read the workbook in the checking
    process: before, the first bomb killed the server at the dry run and the second at upload."""
    import make_hostile

    from core import i18n

    at = staff_page
    (path,) = getattr(make_hostile, builder)(tmp_path)
    at.file_uploader[0].upload(Path(path).name, Path(path).read_bytes(),
                               "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    at.run()
    assert not at.exception, at.exception
    next(b for b in at.button if b.key == "dx_refresh_dry_run").click()
    at.run()
    assert not at.exception, at.exception
    assert i18n.t("refresh.fatal", "vi") in "\n".join(e.value for e in at.error)
    shown = next(d.value for d in at.dataframe if i18n.t("refresh.col.code", "vi") in d.value.columns)
    assert list(shown[i18n.t("refresh.col.code", "vi")]) == [code]


def _small_stream_workbook(tmp_path: Path) -> tuple[Path, bytes]:
    """The .xls fixture rebuilt as Excel stores a small workbook: its workbook stream (2.6 KB)
    in the mini stream, beside a summary stream."""
    from make_hostile import XLS_REPORT, compound_file

    _, stream = preflight._compound_stream(XLS_REPORT.read_bytes(), limits.current())
    stream = stream[:stream.rfind(b"\x0a\x00\x00\x00") + 4]  # up to the EOF record (xlwt pads to 4 KB)
    data = compound_file({"Workbook": stream, "\x05SummaryInformation": b"\x01" * 200})
    path = tmp_path / "small_streams.xls"
    path.write_bytes(data)
    return path, data


def test_an_xls_with_its_workbook_in_the_mini_stream_passes_the_checks_and_loads(tmp_path):
    path, _ = _small_stream_workbook(tmp_path)
    plan = plan_load(path, period="2025-09")
    assert plan.ok and plan.summary["sheet"] == "Bao cao" and len(plan.rows) == 6


def test_an_xls_whose_sector_chain_loops_is_refused_before_the_reader_follows_it(tmp_path):
    import struct

    path, data = _small_stream_workbook(tmp_path)
    directory = struct.unpack_from("<I", data, 48)[0]
    looped = bytearray(data)
    struct.pack_into("<I", looped, 512 + 4 * directory, directory)  # the directory's next sector: itself
    path.write_bytes(bytes(looped))
    assert "cannot be read as an Excel workbook" in only_reason(plan_load(path, period="2025-09"))
