"""Command line: ``python -m etl load|history|undo|sheets`` (also ``python -m etl.load ...``).

Exit codes (README "Loading data"):
  0  loaded (or already loaded: nothing to do; or a dry run that found no problem)
  1  rejected: nothing was loaded (or a dry run found problems; or undo refused)
  2  usage error: bad option, missing file, several sheets and no --sheet, no warehouse
  3  the warehouse cannot be read (truncated, overwritten, damaged) or the warehouse, raw
     archive or manifest cannot be written (disk full): nothing was loaded or undone
     (one line says why; docs/operations.md)
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path

from core import i18n, paths
from etl import warehouse
from etl.load.errors import UsageError

LARGE_FILE_BYTES = 5 * 1024 * 1024
PROGRESS_SECONDS = 0.2
# C0 controls but tab and newline, DEL and C1: what a terminal could take as a command (colours,
# title, clipboard) when a cell, a sheet or a file name carries it.
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _say(text: str, err: bool = False) -> None:
    """Print for a terminal: control characters from the file shown as '?', never obeyed."""
    print(_CONTROLS.sub("?", str(text)), file=sys.stderr if err else sys.stdout)


class _Progress:
    """A tqdm bar on stderr through the stages of a load (only for large files or --progress)."""

    STAGES = ("checksum", "reading", "validating", "aggregated", "writing", "publishing")

    def __init__(self, enabled: bool, size: int):
        self.bar = None
        if enabled:
            from tqdm import tqdm

            self.bar = tqdm(total=size, unit="B", unit_scale=True, desc="checksum", file=sys.stderr,
                            leave=False, dynamic_ncols=True)
        self.size = size
        self.stage = "checksum"

    def __call__(self, stage: str, done: int | None = None, total: int | None = None) -> None:
        if self.bar is None:
            return
        if stage == "checksum" and done is not None:
            self.bar.n = min(done, self.size)
            self.bar.refresh()
            return
        if stage != self.stage:
            self.stage = stage
            self.bar.set_description(stage)
            self.bar.n = self.size
            self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


class _JsonProgress:
    """Progress for a program (``--json --progress``): one JSON line per step on stderr,
    ``{"stage": ..., "done": ..., "total": ...}``, at most every :data:`PROGRESS_SECONDS` within a stage."""

    def __init__(self, size: int):
        self.size = size
        self.stage = None
        self.said = 0.0

    def __call__(self, stage: str, done: int | None = None, total: int | None = None) -> None:
        now = time.monotonic()
        if stage == self.stage and now - self.said < PROGRESS_SECONDS:
            return
        self.stage, self.said = stage, now
        line = {"stage": stage, "done": done, "total": self.size if stage == "checksum" else total}
        print(json.dumps(line), file=sys.stderr, flush=True)

    def close(self) -> None:
        pass


def _progress(args, size: int):
    if args.json:
        return _JsonProgress(size) if args.progress else _Progress(False, size)
    show = args.progress or (sys.stderr.isatty() and size >= LARGE_FILE_BYTES)
    return _Progress(bool(show) and not args.no_progress, size)


def _print_json(document: dict) -> None:
    """One JSON document on stdout, every non-ASCII character escaped (so nothing from a
    file can reach a terminal as a control sequence, and nothing is altered)."""
    print(json.dumps(document, ensure_ascii=True, default=str))


def _failed(args, status: str, exit_code: int, message: str, **extra) -> int:
    """A command that stopped: one line on stderr, or with ``--json`` one JSON document
    (status, exit_code, message, and e.g. the valid ``choices``) on stdout."""
    if getattr(args, "json", False):
        _print_json({"status": status, "exit_code": exit_code, "message": message, **extra})
    else:
        _say(f"{'refused' if status == 'refused' else 'error'}: {message}", err=True)
    return exit_code


def _report_path(args, file: Path) -> Path:
    if args.report:
        return Path(args.report)
    candidate = file.with_name(file.stem + ".rejections.csv")
    if os.access(file.parent, os.W_OK):
        return candidate
    return Path.cwd() / candidate.name


def _warehouse_failure(exc: warehouse.WarehouseError, args=None) -> int:
    status = "write_failed" if isinstance(exc, warehouse.WriteFailed) else "warehouse_unreadable"
    return _failed(args, status, 3, str(exc))


def _check_readable(db: str | None) -> None:
    """Refuse a damaged warehouse before reading a possibly large file (a missing one is
    fine for a dry run, and reported by the load itself)."""
    path = Path(db).resolve() if db else paths.warehouse_path()
    if path.exists():
        with warehouse.reading(path):
            pass


def cmd_load(args: argparse.Namespace) -> int:
    """The file is read and checked in a child process with a memory and time limit
    (:mod:`etl.load.sandbox`), as on the upload page: no file can make this command abort."""
    from etl.load import limits, sandbox

    file = Path(args.file)
    try:
        _check_readable(args.db)
    except warehouse.WarehouseError as exc:
        return _warehouse_failure(exc, args)
    try:
        info = limits.regular_file(file)
        report_path = limits.report_target(_report_path(args, file))
    except UsageError as exc:
        return _failed(args, "usage_error", 2, str(exc), choices=exc.choices)
    progress = _progress(args, info.st_size)
    try:
        plan = sandbox.plan_load(file, kind=args.kind, period=args.period, sheet=args.sheet, province=args.province,
                                 uploader=args.uploader, file_name=args.file_name, db=args.db, progress=progress)
        from etl.load import apply as A

        if args.dry_run:
            result = A.LoadResult("dry_run", plan)
        else:
            result = A.apply_load(plan, accept_valid=args.accept_valid, db=args.db, progress=progress)
    except UsageError as exc:
        progress.close()
        return _failed(args, "usage_error", 2, str(exc), choices=exc.choices)
    except warehouse.WarehouseError as exc:
        progress.close()
        return _warehouse_failure(exc, args)
    except sandbox.CheckFailed as exc:
        progress.close()
        return _failed(args, "failed", 1, f"{exc} (nothing was loaded)")
    progress.close()
    from etl.load import report as R

    summary = result.summary
    report_file = None
    if len(plan.rejections) and not args.no_report:
        try:
            report_file = R.write_rejections_csv(plan.rejections, report_path, args.lang)
        except (UsageError, OSError) as exc:
            _say(f"error: cannot write the rejection report: {exc}", err=True)
    if args.json:
        document = R.load_document(result, result.exit_code)
        if report_file is not None:
            document["report"] = str(report_file)
        _print_json(document)
    else:
        _say(R.summary_text(summary, args.lang))
        if len(plan.rejections):
            _say("")
            _say(R.rejections_text(plan.rejections, lang=args.lang))
            if report_file is not None:
                _say("\n" + i18n.sentence("load_report.report_file", args.lang, {"path": report_file}))
        if result.status == "rejected" and not plan.fatal and len(plan.rows):
            _say("\n" + i18n.sentence("load_report.valid_rows", args.lang, {"n": len(plan.rows)}))
    return result.exit_code


def cmd_sheets(args: argparse.Namespace) -> int:
    """The worksheets of a workbook, read in the checking child (:func:`etl.load.sandbox.excel_sheets`)."""
    from etl.load import sandbox
    from etl.load.errors import FileRejected

    try:
        sheets = sandbox.excel_sheets(Path(args.file))
    except UsageError as exc:
        return _failed(args, "usage_error", 2, str(exc), choices=exc.choices)
    except (FileRejected, sandbox.CheckFailed) as exc:
        return _failed(args, "rejected", 1, str(exc))
    if args.json:
        _print_json({"status": "ok", "exit_code": 0,
                     "sheets": [{"name": name, "visible": visible} for name, visible in sheets]})
    else:
        for name, visible in sheets:
            _say(name if visible else f"{name}  (hidden)")
    return 0


def cmd_history(args: argparse.Namespace) -> int:
    from etl.load import apply as A
    from etl.load import report as R

    try:
        frame = A.history(args.db)
    except FileNotFoundError as exc:
        return _failed(args, "usage_error", 2, str(exc))
    except warehouse.WarehouseError as exc:
        return _warehouse_failure(exc, args)
    if args.limit:
        frame = frame.tail(args.limit)
    if args.json:
        _say(frame.to_json(orient="records", date_format="iso", force_ascii=False, indent=2))
    else:
        _say(R.history_text(frame))
    return 0


def cmd_undo(args: argparse.Namespace) -> int:
    from etl.load import apply as A
    from etl.load import report as R

    try:
        result = A.undo(args.load_id, db=args.db, user=args.uploader)
    except A.UndoError as exc:
        return _failed(args, "refused", 1, str(exc))
    except FileNotFoundError as exc:
        return _failed(args, "usage_error", 2, str(exc))
    except warehouse.WarehouseError as exc:
        return _warehouse_failure(exc, args)
    if args.json:
        _print_json({"status": "undone", "exit_code": 0, **R.plain_value(result.summary)})
    else:
        _say(R.undo_text(result))
    return 0


def _db(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", help="warehouse file (default: $DX_DB or data/warehouse.duckdb)")


def _configure_load(p: argparse.ArgumentParser) -> None:
    p.description = ("Validate a file and load it (all-or-nothing unless --accept-valid). "
                     "Exit codes: 0 loaded or already loaded, 1 rejected (nothing loaded), 2 usage error, "
                     "3 warehouse unreadable or disk full (nothing loaded).")
    p.add_argument("file", help="CSV, Excel (.xlsx, .xls), Parquet or JSON (the portal's 766 table) file")
    p.add_argument("--kind", choices=["report", "legacy", "dossiers", "index766"],
                   help="report (34 provinces / communes), legacy (63 old provinces, re-based), "
                        "dossiers (raw export), index766 (the National Public Service Portal's Decision 766 "
                        "table, JSON or its Excel copy); default: from the file (JSON or the portal's headings: "
                        "index766; a dossier header: dossiers; else report)")
    p.add_argument("--period", help="YYYY-MM for files without a period column (the portal's 766 table: its month)")
    p.add_argument("--sheet", help="worksheet to read (Excel files with several sheets)")
    p.add_argument("--province", help="province of the communes in the file (when it has no province column; "
                                      "the portal's table of one province's units)")
    p.add_argument("--dry-run", action="store_true", help="check only; write nothing")
    p.add_argument("--accept-valid", action="store_true",
                   help="load the valid rows and quarantine the rejected ones")
    p.add_argument("--uploader", help="who is loading (default: $DX_UPLOADER or the login name)")
    p.add_argument("--report", help="where to write the rejection CSV (default: FILE.rejections.csv)")
    p.add_argument("--file-name", help="the file's name as received, when FILE is a copy (default: FILE's name)")
    p.add_argument("--json", action="store_true",
                   help="print one JSON document for programs: status, exit_code, message, counts, every "
                        "rejection with the keys and values of its sentences, notes, value changes, load id; "
                        "with --progress, progress as JSON lines on stderr")
    p.add_argument("--no-report", action="store_true", help="write no rejection CSV")
    p.add_argument("--lang", choices=i18n.LANGS, default="en",
                   help="language of the report and the rejection CSV: en (default) or vi (Vietnamese)")
    p.add_argument("--progress", action="store_true", help="always show the progress bar")
    p.add_argument("--no-progress", action="store_true", help="never show the progress bar")
    _db(p)


def _configure_history(h: argparse.ArgumentParser) -> None:
    h.add_argument("--limit", type=int, help="show only the last N loads")
    h.add_argument("--json", action="store_true")
    _db(h)


def _configure_undo(u: argparse.ArgumentParser) -> None:
    u.add_argument("load_id", type=int)
    u.add_argument("--uploader", help="who is undoing (recorded)")
    u.add_argument("--json", action="store_true", help="print the outcome as one JSON document")
    _db(u)


def _configure_sheets(s: argparse.ArgumentParser) -> None:
    s.add_argument("file", help="Excel file (.xlsx, .xls)")
    s.add_argument("--json", action="store_true", help="print the sheets as one JSON document")


COMMANDS = {
    "load": ("load a report or dossier export into the warehouse (exit 0 loaded, 1 rejected, 2 usage, "
             "3 warehouse unreadable or disk full)",
             _configure_load, cmd_load),
    "history": ("list loads (newest last)", _configure_history, cmd_history),
    "undo": ("revert one load (its history is kept)", _configure_undo, cmd_undo),
    "sheets": ("list the worksheets of an Excel file (read in the checking child)", _configure_sheets, cmd_sheets),
}


def register(commands) -> None:
    """Add ``load``, ``history`` and ``undo`` to ``python -m etl``: ``commands`` is the
    name -> (help, configure(parser), handler(args) -> exit code) dict of etl/__main__.py,
    or an argparse sub-parser set."""
    if isinstance(commands, dict):
        for name, entry in COMMANDS.items():
            commands.setdefault(name, entry)
        return
    for name, (help_text, configure, handler) in COMMANDS.items():
        parser = commands.add_parser(name, help=help_text)
        configure(parser)
        parser.set_defaults(func=handler)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m etl.load")
    sub = parser.add_subparsers(dest="command", required=True)
    register(sub)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
