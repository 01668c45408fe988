"""Durability: the warehouse is the record of what was loaded, and nothing loses a load.

- a rebuild re-applies every load the warehouse records, or refuses and changes nothing;
  dropping a load is an explicit, recorded choice (``build --drop-load N``);
- a load into one warehouse (``--db``) never reaches another one's archive or record;
- a full disk (warehouse copy, raw archive, manifest) or a damaged warehouse gives one line
  of explanation, a non-zero exit, no traceback, no temporary file, and changes nothing;
- the recovery manifest rebuilds a lost warehouse, only when asked (docs/operations.md).
"""

from __future__ import annotations

import os
import random
import resource
import shlex
import shutil
import signal
import subprocess

import duckdb
import pytest
from load_support import ETL, ROOT, past, sha256, write_csv

from etl import build
from etl import warehouse as wh
from etl.__main__ import main
from etl.load import apply_load, history, plan_load, undo
from etl.load.apply import plan_replay

H = ["period", "unit", "indicator", "value"]
P = past(2)
DEMO = (0, "loaded", "etl/demo.py")


def cli(*args) -> int:
    try:
        return main(list(args))
    except SystemExit as exc:  # argparse usage errors
        return exc.code


def load(path, db=None):
    return apply_load(plan_load(path, db=db), db=db)


def record(db) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("SELECT load_id, status, file_name FROM meta.load ORDER BY load_id").fetchall()


def value(db, indicator, unit):
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("SELECT value, is_demo, load_id FROM observation WHERE indicator = ? AND unit_code = ? "
                           "AND period = ? AND level = 'province'", [indicator, unit, P]).fetchone()


def temp_files(db) -> list:
    return sorted(p.name for p in db.parent.glob(db.name + ".tmp-*"))


@pytest.fixture
def reports(tmp_path):
    """Two small report files for Huế (46): a.csv sets bts_stations, b.csv stations_5g."""
    return (write_csv(tmp_path / "a.csv", H, [[P, "Huế", "bts_stations", 111]]),
            write_csv(tmp_path / "b.csv", H, [[P, "Huế", "stations_5g", 7]]))


# --------------------------------------------------------------------------- whose load is it

def test_a_load_into_another_warehouse_never_reaches_the_configured_ones_record(
        tmp_path, warehouse, monkeypatch, reports):
    a, b = reports
    main_db = tmp_path / "main" / "warehouse.duckdb"
    elsewhere = tmp_path / "other" / "warehouse.duckdb"  # the same file name in another folder
    beside = tmp_path / "main" / "scratch.duckdb"  # another warehouse in the same folder
    for db in (main_db, elsewhere, beside):
        db.parent.mkdir(exist_ok=True)
        shutil.copyfile(warehouse, db)
    monkeypatch.setenv("DX_DB", str(main_db))
    monkeypatch.setenv("DX_RAW", str(main_db.parent / "raw"))

    assert cli("load", str(a)) == 0
    assert cli("load", str(b), "--db", str(elsewhere)) == 0
    assert cli("load", str(b), "--db", str(beside)) == 0
    build.build(verbose=False)

    assert record(main_db) == [DEMO, (1, "loaded", "a.csv")]
    assert value(main_db, "bts_stations", "46") == (111, False, 1)
    assert value(main_db, "stations_5g", "46")[1] is True  # still demo: the other warehouses' load stayed there
    assert record(elsewhere) == record(beside) == [DEMO, (1, "loaded", "b.csv")]
    # Files are archived next to the warehouse they were loaded into (DX_RAW is the configured
    # warehouse's archive only); each warehouse has its own recovery manifest.
    assert (elsewhere.parent / "raw" / f"{sha256(b)}.csv").is_file()
    assert [e["file_name"] for e in wh.read_manifest(main_db)] == ["a.csv"]
    assert [e["file_name"] for e in wh.read_manifest(elsewhere)] == ["b.csv"]
    assert [e["file_name"] for e in wh.read_manifest(beside)] == ["b.csv"]


# --------------------------------------------------------------------------- full disks

def _run_with_full_archive(archive, free_pages: int, *args: str, env: dict) -> tuple[subprocess.CompletedProcess, list]:
    """``python -m etl ARGS`` with the raw archive on its own 64 KiB tmpfs that has only
    ``free_pages`` pages (4 KiB) left, mounted in a private mount namespace (no root needed).
    Returns the result and what the archive held afterwards."""
    out = archive.parent / "archive-listing.txt"
    script = f"""
        set -e
        mkdir -p {shlex.quote(str(archive))}
        mount -t tmpfs -o size=64k tmpfs {shlex.quote(str(archive))}
        head -c $((65536 - {free_pages} * 4096)) /dev/zero > {shlex.quote(str(archive / 'filler'))}
        set +e
        "$@"
        code=$?
        ls -A {shlex.quote(str(archive))} > {shlex.quote(str(out))}
        exit $code
    """
    done = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", script, "sh", *ETL, *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    return done, out.read_text().split()


@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs unshare (util-linux) for a private tmpfs")
def test_a_full_archive_disk_loads_nothing_and_says_so_in_one_line(tmp_path, warehouse_copy, reports):
    """The tester's case (b): history said "loaded" but the manifest was never written, so the
    next rebuild dropped the load. Now the load is all or nothing, whichever write fails."""
    db, (a, _) = warehouse_copy, reports
    before = sha256(db)
    env = dict(os.environ, DX_DB=str(db), DX_RAW=str(tmp_path / "raw"))
    for free_pages, expected_listing in ((0, ["filler"]),  # no room for the file itself
                                         (1, ["filler", f"{sha256(a)}.csv"])):  # room for it, not the manifest
        done, listing = _run_with_full_archive(tmp_path / "raw", free_pages, "load", str(a), env=env)
        assert done.returncode == 3, done.stderr
        assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert done.stderr.startswith("error: could not write") and "No space left on device" in done.stderr
        assert sha256(db) == before and record(db) == [DEMO]
        assert temp_files(db) == [] and sorted(listing) == sorted(expected_listing)


def _limit_file_size():
    """A disk that refuses to grow any file past 1 MB (the warehouse is ≈ 23 MB): writes fail
    with EFBIG instead of killing the process."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))


def test_a_full_disk_while_writing_the_warehouse_changes_nothing_and_leaves_no_temp_file(
        tmp_path, warehouse_copy, reports):
    db, (a, _) = warehouse_copy, reports
    before = sha256(db)
    for args, code in ((["load", str(a)], 3), (["build"], 1)):
        done = subprocess.run([*ETL, *args], cwd=ROOT, capture_output=True, text=True, timeout=300,
                              preexec_fn=_limit_file_size)
        assert done.returncode == code, done.stderr
        assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert done.stderr.startswith("error: could not write") and "File too large" in done.stderr
        assert "nothing was changed" in done.stderr
        assert sha256(db) == before and temp_files(db) == []


# --------------------------------------------------------------------------- rebuilds keep loads

def test_a_rebuild_keeps_every_recorded_load_even_one_its_manifest_never_got(tmp_path, warehouse_copy, reports):
    db, (a, b) = warehouse_copy, reports
    kept = load(a, db)
    gone = load(b, db)
    undo(gone.load_id, db)
    # What a kill -9 between publishing and moving the manifest into place leaves behind:
    # the warehouse has the loads, the manifest does not.
    for manifest in (tmp_path / "raw").glob("*manifest*"):
        manifest.unlink()
    build.build(db, verbose=False)
    assert value(db, "bts_stations", "46") == (111, False, kept.load_id)
    assert value(db, "stations_5g", "46")[1] is True  # the undone load stays undone
    assert list(history(db).status) == ["loaded", "loaded", "undone"]
    assert load(a, db).status == "already_loaded"
    with wh.reading(db) as con:  # and the rebuild wrote the manifest again, in step
        assert wh.read_manifest(db) == wh.recorded_loads(con, "wh")


def test_a_rebuild_refuses_to_lose_a_load_until_staff_drop_it_explicitly(tmp_path, warehouse_copy, reports, capsys):
    db, (a, b) = warehouse_copy, reports
    first, second = load(a, db), load(b, db)
    missing = tmp_path / "raw" / f"{sha256(a)}.csv"
    missing.unlink()
    altered = tmp_path / "raw" / f"{sha256(b)}.csv"
    original = altered.read_bytes()
    altered.chmod(0o644)
    altered.write_bytes(original.replace(b",7", b",8"))
    before = sha256(db)

    assert cli("build") == 1
    err = capsys.readouterr().err
    assert f"load {first.load_id} (a.csv): archived file missing, expected at {missing}" in err
    assert f"load {second.load_id} (b.csv): archived file {altered} was altered" in err
    assert f"python -m etl build --drop-load {first.load_id} --drop-load {second.load_id}" in err
    assert sha256(db) == before and temp_files(db) == []

    altered.write_bytes(original)
    assert cli("build", "--drop-load", str(first.load_id)) == 0
    assert list(history(db).status) == ["loaded", "dropped", "loaded"]
    assert value(db, "bts_stations", "46")[1] is True  # back to demo, because staff said so
    assert value(db, "stations_5g", "46") == (7, False, second.load_id)
    # The drop is remembered: later rebuilds keep the record without needing the file.
    with wh.reading(db) as con:
        recorded = wh.recorded_loads(con, "wh")
    assert [r.plan is None for r in plan_replay(recorded, tmp_path / "raw")] == [True, False]
    # A load that re-reads differently (reference data or rules changed) is refused too.
    recorded[1]["rows_loaded"] = 5
    with pytest.raises(wh.RebuildRefused, match="now gives 1 values, not the 5 it loaded"):
        plan_replay(recorded, tmp_path / "raw")


def test_a_lost_warehouse_is_rebuilt_from_its_recovery_manifest_only_when_asked(
        tmp_path, warehouse_copy, reports, capsys):
    db, (a, b) = warehouse_copy, reports
    kept = load(a, db)
    undo(load(b, db).load_id, db)
    with wh.reading(db) as con:
        assert wh.read_manifest(db) == wh.recorded_loads(con, "wh")  # the manifest follows every change
    db.rename(db.with_name("lost.duckdb"))

    assert cli("build") == 1
    err = capsys.readouterr().err
    assert "there is no warehouse" in err and "--from-manifest" in err and "--force-new" in err
    assert not db.exists()
    assert cli("build", "--from-manifest") == 0
    assert list(history(db).status) == ["loaded", "loaded", "undone"]
    assert value(db, "bts_stations", "46") == (111, False, kept.load_id)


# --------------------------------------------------------------------------- damaged warehouses

def _foreign_duckdb(path):
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE something_else (x INTEGER)")


DAMAGE = {
    "truncated": lambda path: path.write_bytes(path.read_bytes()[: path.stat().st_size // 2]),
    "overwritten with garbage": lambda path: path.write_bytes(random.Random(14).randbytes(1 << 20)),
    "another DuckDB database": lambda path: (path.unlink(), _foreign_duckdb(path)),
}
COMMANDS = {  # arguments, exit code
    "load": (["load", "{file}"], 3),
    "load --dry-run": (["load", "{file}", "--dry-run"], 3),
    "history": (["history"], 3),
    "undo": (["undo", "1"], 3),
    "build": (["build"], 1),
    "ensure": (["ensure"], 1),
}


@pytest.fixture(params=list(DAMAGE))
def damaged(request, warehouse_copy):
    DAMAGE[request.param](warehouse_copy)
    return warehouse_copy


@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_damaged_warehouse_gets_one_line_and_is_left_as_it_is(command, damaged, reports, capsys):
    args, code = COMMANDS[command]
    before = sha256(damaged)
    assert cli(*[arg.format(file=reports[0]) for arg in args]) == code
    out, err = capsys.readouterr()
    assert out == "" and len(err.strip().splitlines()) == 1, err
    assert err.startswith(f"error: cannot read the warehouse {damaged}: ")
    assert sha256(damaged) == before and temp_files(damaged) == []


def test_the_programs_print_no_traceback_for_a_damaged_warehouse(warehouse_copy, reports):
    DAMAGE["overwritten with garbage"](warehouse_copy)
    for args in (["load", str(reports[0])], ["build"]):
        done = subprocess.run([*ETL, *args], cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert done.returncode in (1, 3) and "Traceback" not in done.stderr, done.stderr
        assert done.stderr == (f"error: cannot read the warehouse {warehouse_copy}: not a DuckDB database file"
                               + ("\n" if args[0] == "load" else
                                  ". It is the record of what was loaded, so it was not replaced: restore it from a "
                                  "backup, or move it aside and run `python -m etl build --from-manifest` "
                                  "(docs/operations.md)\n"))


def test_a_damaged_warehouse_is_moved_aside_by_staff_and_replaced_only_on_request(
        tmp_path, warehouse_copy, reports, capsys):
    db = warehouse_copy
    load(reports[0], db)
    DAMAGE["truncated"](db)
    damaged = db.read_bytes()
    assert cli("build", "--force-new") == 1  # never over an existing file
    assert "exists" in capsys.readouterr().err and db.read_bytes() == damaged
    db.rename(tmp_path / "warehouse.duckdb.damaged")
    assert cli("build", "--force-new") == 0
    assert record(db) == [DEMO] and wh.read_manifest(db) == []
