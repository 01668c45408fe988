"""Hostile files given to ``python -m etl load`` (issue #14): each is refused with a one-line
reason and exit 1 (rejected) or 2 (usage error) — never a traceback, an abort (134) or a kill
(137) — the check stays under 1 GB of memory, and the warehouse stays byte for byte as it was.

The files are generated into a temp folder from the table in
tests/fixtures/hostile/make_hostile.py. Each case runs as a real program twice (``--dry-run``
and a real load) against its own copy of the session warehouse; the cases run four at a time.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from load_support import ETL, ROOT

sys.path.insert(0, str(ROOT / "tests" / "fixtures" / "hostile"))
from make_hostile import CASES, PAYLOADS, PROTECTED, Case

MODES = ("--dry-run", "load")
MEMORY_BOUND_KB = 1024 * 1024  # 1 GB: generous; the bombs used to need 5 GB to 512 GB
TIMEOUT_S = 180


@dataclass
class Run:
    exit_code: int
    stdout: str
    stderr: str
    max_rss_kb: int  # the command and the process it checks the file in, whichever peaked higher


# Runs the command and reports its exit code and the peak memory of its process tree. A child's
# ru_maxrss starts at its parent's size at fork (Linux keeps the high-water mark across exec), so
# a small process in between keeps pytest's own memory out of the measure.
MEASURE = """
import json, resource, subprocess, sys
done = subprocess.run(sys.argv[2:], stdin=subprocess.DEVNULL, timeout=float(sys.argv[1]) - 5)
print(json.dumps([done.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss]), file=sys.stderr)
"""


def run_measured(args: list[str], env: dict) -> Run:
    """``python -m etl load ARGS`` as a program, with the peak memory of it and its children."""
    done = subprocess.run([sys.executable, "-c", MEASURE, str(TIMEOUT_S), *ETL, "load", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=TIMEOUT_S)
    stderr, _, last = done.stderr.rstrip("\n").rpartition("\n")
    exit_code, max_rss_kb = json.loads(last)
    return Run(exit_code, done.stdout, stderr + "\n" if stderr else "", max_rss_kb)


def fingerprint(db: Path) -> str:
    return hashlib.sha256(db.read_bytes()).hexdigest()


@dataclass
class Outcome:
    folder: Path
    runs: dict[str, Run]
    before: str
    after: str


@pytest.fixture(scope="module")
def outcomes(warehouse, tmp_path_factory) -> dict[str, Outcome]:
    """Every case built and run in both modes, each case on its own warehouse copy."""
    root = tmp_path_factory.mktemp("hostile")

    def run_case(case: Case) -> Outcome:
        folder = root / case.name
        folder.mkdir()
        db = folder / "warehouse.duckdb"
        shutil.copyfile(warehouse, db)
        env = dict(os.environ, DX_DB=str(db), DX_RAW=str(folder / "raw"))
        args = case.build(folder)
        before = fingerprint(db)
        runs = {mode: run_measured(args + (["--dry-run"] if mode == "--dry-run" else []), env) for mode in MODES}
        return Outcome(folder, runs, before, fingerprint(db))

    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(zip([c.name for c in CASES], pool.map(run_case, CASES)))


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
@pytest.mark.parametrize("mode", MODES)
def test_a_hostile_file_is_refused_in_one_line_and_changes_nothing(outcomes, case, mode):
    outcome = outcomes[case.name]
    run = outcome.runs[mode]
    shown = f"exit {run.exit_code}\n--- stdout\n{run.stdout[-3000:]}\n--- stderr\n{run.stderr[-3000:]}"
    assert run.exit_code == case.exit_code, shown
    assert "Traceback" not in run.stdout + run.stderr, shown
    assert "\x1b" not in run.stdout + run.stderr and "\x07" not in run.stdout + run.stderr, shown
    if case.exit_code == 2:
        assert run.stderr.count("\n") == 1 and case.reason in run.stderr and not run.stdout, shown
    else:
        assert f"[{case.reason}]" in run.stdout, shown  # "Problems by reason: … [code]"
        assert ("DRY RUN" if mode == "--dry-run" else "REJECTED") in run.stdout, shown
    assert run.max_rss_kb < MEMORY_BOUND_KB, f"{run.max_rss_kb / 1024:,.0f} MB"
    assert outcome.after == outcome.before


def test_repeated_rows_are_each_reported_with_a_few_of_the_others(outcomes):
    """20,000 identical rows: one line each, naming five of the other rows and how many more."""
    folder = outcomes["repeated_rows"].folder
    with open(folder / "repeated_rows.rejections.csv", encoding="utf-8-sig") as handle:
        lines = list(csv.DictReader(handle))
    assert len(lines) == 20_000 and {line["code"] for line in lines} == {"duplicate"}
    assert lines[0]["row"] == "2" and lines[0]["reason"] == \
        "the same unit, indicator and period is also in row(s) 3, 4, 5, 6, 7 and 19,994 more"
    assert lines[-1]["reason"].endswith("row(s) 2, 3, 4, 5, 6 and 19,994 more")


def test_the_rejection_report_carries_formulas_and_markdown_as_inert_text(outcomes):
    folder = outcomes["payloads"].folder
    with open(folder / "payloads.rejections.csv", encoding="utf-8-sig", newline="") as handle:
        cells = [cell for row in csv.reader(handle) for cell in row]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")], cells
    for key, payload in PAYLOADS.items():
        if key == "markdown":  # inert in a spreadsheet as it is
            assert payload in cells
        else:  # the unit cell (and the value "-2+3"), with the apostrophe that keeps it text
            assert f"'{payload}" in cells, key


def test_a_link_at_the_report_path_is_not_written_through(outcomes):
    folder = outcomes["report_symlink"].folder
    assert (folder / PROTECTED).read_text(encoding="utf-8") == "do not overwrite\n"
    assert (folder / "bad_value.rejections.csv").is_symlink()


def test_a_refused_file_is_archived_and_logged(outcomes):
    """Refused files are kept for the audit trail (whole when small, see test_load_apply)."""
    raw = outcomes["xfd_bomb"].folder / "raw"
    assert len(list(raw.glob("*.xlsx"))) == 1
    assert (raw / "rejected.jsonl").read_text(encoding="utf-8").count("\n") == 1
