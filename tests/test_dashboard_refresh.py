"""dashboard/refresh.py: the upload page drives the loader through its command line in a
child process, so a loader that dies leaves the server running and says so plainly."""

from __future__ import annotations

import io
import os
import signal
from pathlib import Path

from dashboard import refresh

GOOD_CSV = "period,unit,indicator,value\n2025-09,Phú Thọ,applications_received,12345\n".encode()


def _children() -> list[int]:
    """The processes this test process started (from /proc: field 4 of stat is the parent)."""
    mine = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[1]) == os.getpid():
            mine.append(int(stat.parent.name))
    return mine


OPTIONS = {"kind": None, "period": None, "sheet": None, "province": None, "uploader": "lan"}


def _staged(tmp_path, monkeypatch, key: str) -> dict:
    """A good report staged as the page stages an upload, under this test's temp folder."""
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    return refresh.stage(io.BytesIO(GOOD_CSV), "phu_tho.csv", key)


def test_a_loader_killed_mid_check_gives_a_plain_failure(warehouse_copy, tmp_path, monkeypatch):
    staged = _staged(tmp_path, monkeypatch, "file-1")
    options = OPTIONS
    stages = []

    def kill_the_loader(stage, done, total):
        stages.append(stage)
        for pid in _children():
            os.kill(pid, signal.SIGKILL)

    died = refresh.check(staged, options, kill_the_loader)
    assert stages[:1] == ["checksum"]
    assert died == {"status": "failed", "exit_code": -signal.SIGKILL,
                    "message": f"the loader stopped (signal {int(signal.SIGKILL)}); nothing was loaded"}
    checked = refresh.check(staged, options)  # the caller goes on: the next check runs as ever
    assert (checked["status"], checked["values_valid"], checked["file_name"]) == ("dry_run", 1, "phu_tho.csv")
    assert refresh.loadable(checked, accept_valid=False)
    refresh.discard(staged)
    assert not Path(staged["dir"]).exists()


def test_a_command_the_loader_does_not_know_gives_a_plain_failure():
    assert refresh.run_etl(["no-such-command"]) == {
        "status": "failed", "exit_code": 2, "message": "the loader stopped (exit code 2); nothing was loaded"}


def test_a_progress_display_that_fails_stops_the_display_not_the_check(warehouse, tmp_path, monkeypatch):
    staged = _staged(tmp_path, monkeypatch, "file-2")
    options = OPTIONS
    calls = []

    def broken(stage, done, total):
        calls.append(stage)
        raise RuntimeError("the bar is gone")

    checked = refresh.check(staged, options, broken)
    assert calls == ["checksum"]
    assert (checked["status"], checked["exit_code"], checked["values_valid"]) == ("dry_run", 0, 1)
