"""Helpers for the tests of etl.load: real files (CSV and .xlsx) written to tmp_path."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import subprocess
import sys
from pathlib import Path

import openpyxl

ROOT = Path(__file__).resolve().parent.parent
ETL = [sys.executable, "-m", "etl"]


def past(months: int = 1) -> str:
    """The month ``months`` before the current one (tests never depend on the date)."""
    today = dt.date.today()
    y, m = today.year, today.month - months
    while m <= 0:
        y, m = y - 1, m + 12
    return f"{y:04d}-{m:02d}"


def future(months: int = 1) -> str:
    today = dt.date.today()
    y, m = today.year, today.month + months
    while m > 12:
        y, m = y + 1, m - 12
    return f"{y:04d}-{m:02d}"


def write_csv(path: Path, header: list, rows: list[list], encoding: str = "utf-8") -> Path:
    with open(path, "w", newline="", encoding=encoding) as out:
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_xlsx(path: Path, header: list, rows: list[list], title: str | None = None, sheet: str = "Data",
               extra_sheets: dict | None = None, merges: list[str] = ()) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = sheet
    if title:
        ws.append([title])
        ws.append([])
    ws.append(header)
    for row in rows:
        ws.append(row)
    for rng in merges:
        ws.merge_cells(rng)
    for name, (h, r) in (extra_sheets or {}).items():
        other = wb.create_sheet(name)
        other.append(h)
        for row in r:
            other.append(row)
    wb.save(path)
    return path


def both(tmp_path: Path, name: str, header: list, rows: list[list], fmt: str) -> Path:
    """The same table as CSV or as .xlsx (with a title row above the header)."""
    if fmt == "csv":
        return write_csv(tmp_path / f"{name}.csv", header, rows)
    return write_xlsx(tmp_path / f"{name}.xlsx", header, rows, title="Báo cáo số liệu chuyển đổi số")


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def run_etl(*args: str, env: dict | None = None, timeout: int = 120) -> subprocess.CompletedProcess:
    import os

    full_env = dict(os.environ, **(env or {}))
    return subprocess.run([*ETL, *args], cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=timeout)


def codes(plan) -> set[str]:
    return set(plan.rejections.code)
