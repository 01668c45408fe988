"""`python -m etl load|history|undo`: exit codes, reports, and a load killed mid-way."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import duckdb
import pytest
from load_support import ETL, ROOT, past, run_etl, sha256, write_csv, write_xlsx

from etl.__main__ import main

H = ["period", "unit", "indicator", "value"]
P = past(2)


def cli(*args) -> int:
    try:
        return main(list(args))
    except SystemExit as exc:  # argparse usage errors
        return exc.code


def test_exit_codes_and_reports(tmp_path, warehouse_copy, capsys):
    good = write_csv(tmp_path / "good.csv", H, [[P, "Huế", "bts_stations", 5]])
    bad = write_csv(tmp_path / "bad.csv", H, [[P, "Huế", "bts_stations", 5], [P, "Huế", "stations_5g", "x"]])
    assert cli("load", str(bad), "--dry-run") == 1
    assert cli("load", str(good), "--dry-run") == 0
    assert cli("load", str(good)) == 0
    out = capsys.readouterr().out
    assert "LOADED as load 1" in out and "values changed:   1" in out and "demo values replaced 1" in out
    assert cli("load", str(good)) == 0
    assert "ALREADY LOADED as load 1" in capsys.readouterr().out
    assert cli("load", str(bad)) == 1
    out = capsys.readouterr().out
    assert "REJECTED" in out and "row 3, value, 'x'" in out
    report = tmp_path / "bad.rejections.csv"
    assert report.read_text(encoding="utf-8-sig").splitlines()[0] == \
        "row,column,value,code,reason_title,reason,suggestion,severity"
    assert cli("load", str(bad), "--accept-valid", "--report", str(tmp_path / "r.csv")) == 0
    assert (tmp_path / "r.csv").exists()
    # usage errors
    assert cli("load", str(tmp_path / "missing.csv")) == 2
    assert cli("load", str(good), "--period", "2025-7") == 2
    assert cli("load", str(good), "--kind", "nonsense") == 2
    two = write_xlsx(tmp_path / "two.xlsx", H, [[P, "Huế", "bts_stations", 1]],
                     extra_sheets={"B": (H, [[P, "Huế", "bts_stations", 2]])})
    assert cli("load", str(two)) == 2
    assert "--sheet" in capsys.readouterr().err
    assert cli("load", str(two), "--sheet", "B", "--json") == 0
    # history and undo
    assert cli("history") == 0
    assert "good.csv" in capsys.readouterr().out
    assert cli("undo", "1") == 0
    assert cli("undo", "1") == 1
    assert cli("undo", "0") == 1


def test_the_command_runs_as_a_program(tmp_path, warehouse_copy):
    good = write_csv(tmp_path / "good.csv", H, [[P, "Huế", "bts_stations", 5]])
    done = run_etl("load", str(good), "--uploader", "lan")
    assert done.returncode == 0, done.stderr
    assert "LOADED" in done.stdout
    assert run_etl("load", str(good), "--period", "bad").returncode == 2


@pytest.fixture
def big_export(tmp_path):
    from etl.load.samples import dossier_frame

    path = tmp_path / "big_dossiers.csv"
    dossier_frame(300_000, months=6, n_communes=3000, seed=3).to_csv(path, index=False)
    return path


def test_a_load_killed_at_any_point_leaves_the_last_good_warehouse(tmp_path, warehouse_copy, big_export):
    db = warehouse_copy
    before = sha256(db)
    env = dict(os.environ)
    for when in ("reading", "writing"):
        proc = subprocess.Popen([*ETL, "load", str(big_export), "--no-progress"], cwd=ROOT, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        if when == "reading":
            time.sleep(1.5)
        else:  # inside warehouse.updating(): the copy being written next to the published file
            while not list(db.parent.glob(db.name + ".tmp-*")) and time.monotonic() < deadline:
                if proc.poll() is not None:
                    break
                time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert proc.returncode == -signal.SIGKILL, f"the load finished before it was killed ({when})"
        assert sha256(db) == before, when
        with duckdb.connect(str(db), read_only=True) as con:
            assert con.execute("SELECT count(*) FROM observation").fetchall()[0][0] > 0
            assert con.execute("SELECT max(load_id) FROM meta.load").fetchall()[0][0] == 0
    # The next load cleans up after the killed one and succeeds.
    done = run_etl("load", str(big_export), timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert not list(db.parent.glob(db.name + ".tmp-*"))
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM observation WHERE load_id = 1").fetchall()[0][0] > 0


def test_a_reader_that_leaves_early_gets_no_traceback(tmp_path, warehouse_copy):
    """`python -m etl load FILE | head -1`: the pipe closes while the report is printed; the
    command stops quietly (exit 141, as a shell's own tools do) instead of a BrokenPipe traceback."""
    rows = [[P, "Huế", "bts_stations", f"x{i}"] for i in range(3000)]
    bad = write_csv(tmp_path / "bad.csv", H, rows)
    child = subprocess.Popen([*ETL, "load", str(bad), "--dry-run"], cwd=ROOT, env=os.environ.copy(),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    child.stdout.readline()
    child.stdout.close()  # what `head -1` does after its line
    errors = child.stderr.read().decode()
    assert child.wait(timeout=120) == 141
    assert "Traceback" not in errors and "BrokenPipeError" not in errors


# ----------------------------------------------------------------------------- --json, for programs

def _json(capsys, *args) -> tuple[int, dict]:
    code = cli(*args, "--json")
    return code, json.loads(capsys.readouterr().out)


def test_json_gives_one_document_whose_rejections_a_program_says_in_either_language(tmp_path, warehouse_copy,
                                                                                     capsys):
    """The Data refresh page reads this document (dashboard/refresh.py): the sentences' keys and
    values said with core.i18n give the same words as the loader's own Vietnamese."""
    from core import i18n
    from etl.load import plan_load
    from etl.load.rules.found import localised

    rows = [[P, "Huế", "bts_stations", 10 ** 26], [P, "Hue Xyz", "bts_stations", 5],
            [P, "Huế", "stations_5g", "x"], [P, "Huế", "delayed_tasks", 3]]
    bad = write_csv(tmp_path / "bad.csv", H, rows)
    code, doc = _json(capsys, "load", str(bad), "--dry-run", "--no-report", "--file-name", "báo cáo.csv",
                      "--uploader", "lan")
    assert code == doc["exit_code"] == 1
    assert (doc["status"], doc["file_name"], doc["uploader"], doc["load_id"]) == ("dry_run", "báo cáo.csv", "lan", None)
    assert (doc["rows_read"], doc["values_valid"], doc["errors"], doc["rows_rejected"]) == (4, 1, 3, 3)
    assert [r["code"] for r in doc["rejections"]] == ["implausible_value", "unknown_unit", "non_numeric"]
    assert set(doc["rejections"][0]) == {"row", "column", "value", "code", "severity", "reason", "suggestion",
                                         "reason_key", "suggestion_key", "params"}
    assert doc["rejections"][0]["params"] == {"value": 1e26, "bound": 100_000.0, "indicator": "bts_stations"}
    expected = localised(plan_load(bad).rejections, "vi")
    said = [(i18n.sentence(r["reason_key"], "vi", r["params"]),
             i18n.sentence(r["suggestion_key"], "vi", r["params"]) if r["suggestion_key"] else "")
            for r in doc["rejections"]]
    assert said == list(zip(expected.reason, expected.suggestion))
    assert said[0][0].startswith("1e+26 lớn hơn 100.000")
    assert (doc["changes_total"], doc["changes"][0]["unit"], doc["changes"][0]["new_value"]) == (1, "Huế (46)", 3.0)
    assert not (tmp_path / "bad.rejections.csv").exists()  # --no-report


def test_json_for_a_load_its_undo_notes_sheets_and_usage_errors(tmp_path, warehouse_copy, capsys):
    dossiers = ROOT / "data" / "templates" / "dossiers.csv"
    code, doc = _json(capsys, "load", str(dossiers), "--dry-run", "--no-report")
    assert {"key": "dossiers_counted", "counts": {"n": 3}} in doc["notes"]
    good = write_csv(tmp_path / "good.csv", H, [[P, "Huế", "bts_stations", 5]])
    code, doc = _json(capsys, "load", str(good))
    assert (code, doc["status"], doc["load_id"], doc["values_loaded"]) == (0, "loaded", 1, 1)
    assert (doc["message_key"], doc["message_values"]) == ("result_loaded", {"load_id": 1})
    code, doc = _json(capsys, "undo", "1", "--uploader", "lan")
    assert (code, doc["status"], doc["load_id"], doc["values_restored"],
            doc["values_removed"]) == (0, "undone", 1, 1, 0)
    code, doc = _json(capsys, "undo", "1")
    assert (code, doc["status"], doc["message"]) == (1, "refused", "load 1 is already undone")
    two = write_xlsx(tmp_path / "two.xlsx", H, [[P, "Huế", "bts_stations", 1]],
                     extra_sheets={"B": (H, [[P, "Huế", "bts_stations", 2]])})
    code, doc = _json(capsys, "load", str(two), "--dry-run")
    assert (code, doc["status"], doc["exit_code"], doc["choices"]) == (2, "usage_error", 2, ["Data", "B"])
    code, doc = _json(capsys, "sheets", str(two))
    assert (code, doc["sheets"]) == (0, [{"name": "Data", "visible": True}, {"name": "B", "visible": True}])


def test_json_says_a_damaged_warehouse_in_its_document(tmp_path, warehouse_copy, capsys):
    good = write_csv(tmp_path / "good.csv", H, [[P, "Huế", "bts_stations", 5]])
    warehouse_copy.write_bytes(warehouse_copy.read_bytes()[: warehouse_copy.stat().st_size // 2])
    code, doc = _json(capsys, "load", str(good), "--dry-run")
    assert (code, doc["status"], doc["exit_code"]) == (3, "warehouse_unreadable", 3)
