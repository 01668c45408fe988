"""The command line of the monthly briefings, for scripts and a month's mailing:

    python -m dashboard.briefing --province 25 --period 2025-09 --format pdf --out phu-tho.pdf
    python -m dashboard.briefing --all --period 2025-09 --out briefings/ --lang en

``python -m etl briefing …`` runs this same command in a child process (the ETL never imports
the app). Without ``--format`` both formats; ``--out`` is a folder (default: the current one),
or a file name for one province in one format. Exit codes: 0 written, 2 a bad argument (the
reason on stderr), 3 no readable warehouse.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path

from core import catalog
from dashboard import db, queries
from dashboard.briefing import render


class Refused(ValueError):
    """An argument that names no briefing (the message says why)."""


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m dashboard.briefing",
                                description="Write a province's monthly briefing as Word and/or PDF.")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--province", metavar="CODE", help="two-digit province code, e.g. 25 (Phú Thọ)")
    which.add_argument("--all", action="store_true", help="every province, one file each")
    p.add_argument("--period", metavar="YYYY-MM", help="the month (default: the latest with data)")
    p.add_argument("--format", choices=render.FORMATS, help="one format (default: both)")
    p.add_argument("--out", type=Path, default=Path("."), help="a folder, or a file for one province and format")
    p.add_argument("--lang", choices=("vi", "en"), default="vi")
    p.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1),
                   help="processes for several provinces, each with its own Chromium (default: 2, or 1 on one core)")
    return p


def _is_file(out: Path) -> bool:
    return out.suffix.lower() in (".docx", ".pdf")


def _plan(args: argparse.Namespace) -> tuple[list[str], str, tuple[str, ...]]:
    periods = queries.periods(catalog.headline().code)
    period = args.period or periods[-1]
    if period not in periods:
        raise Refused(f"no data for period {period!r}; months with data: {periods[0]} … {periods[-1]}")
    known = queries.provinces()["code"].tolist()
    if args.province and args.province not in known:
        raise Refused(f"unknown province code {args.province!r} (two-digit GSO code, e.g. 25)")
    formats = (args.format,) if args.format else render.FORMATS
    if _is_file(args.out) and (args.all or len(formats) > 1 or args.out.suffix.lower() != f".{formats[0]}"):
        raise Refused(f"--out {args.out} is a file: give one --province and the matching --format "
                          "(or a folder)")
    return (known if args.all else [args.province]), period, formats


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if (refused := db.unusable_for_command_line()) is not None:
        return refused
    try:
        codes, period, formats = _plan(args)
    except Refused as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    jobs = max(1, min(args.jobs, len(codes)))
    if jobs == 1:
        written = write(codes, period=period, lang=args.lang, formats=formats, out=args.out)
    else:  # fresh processes (spawn): no warehouse connection or browser is shared across a fork
        with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            parts = pool.map(partial(write, period=period, lang=args.lang, formats=formats, out=args.out),
                             [codes[i::jobs] for i in range(jobs)])
            written = [line for part in parts for line in part]
    print("\n".join(written))
    print(f"{len(written)} files for {len(codes)} province(s), {period}, in {time.perf_counter() - started:.1f} s")
    return 0


def write(codes: list[str], *, period: str, lang: str, formats: tuple[str, ...], out: Path) -> list[str]:
    """Write the briefings of ``codes`` (one Chromium); one line per file written."""
    lines = []
    for brief, files in render.briefings(codes, period, lang, formats):
        for fmt, data in files.items():
            path = out if _is_file(out) else out / brief.file_name(fmt)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            lines.append(f"{path} ({len(data):,} bytes)")
    return lines
