"""Command line: `python -m etl COMMAND` (see README, "ETL commands").

`build` and `ensure` exit 0 when done (or nothing to do), 1 when they refused and changed
nothing (an unreadable warehouse, a recorded load that cannot be re-applied, a full disk, an
inconsistent indicator catalog: one line says why and what to do; docs/operations.md), 2 for
a usage error.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from core import catalog, paths
from etl import digest, population, warehouse
from etl.load.cli import register as register_load_commands


def _build(args: argparse.Namespace) -> int:
    from etl import build as build_module  # imported here: `load` starts faster without it

    try:
        build_module.build(from_manifest=args.from_manifest, force_new=args.force_new,
                           drop_loads=tuple(args.drop_load))
    except warehouse.WarehouseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def _configure_build(parser: argparse.ArgumentParser) -> None:
    parser.description = ("Rebuild the warehouse, re-applying the loads it records from the raw archive. "
                          "Refuses (exit 1, nothing changed) rather than lose a load; docs/operations.md.")
    parser.add_argument("--drop-load", type=int, action="append", default=[], metavar="N",
                        help="rebuild without load N (e.g. its archived file is lost); it stays in the "
                             "history as 'dropped'. Repeat for several loads")
    start = parser.add_mutually_exclusive_group()
    start.add_argument("--from-manifest", action="store_true",
                       help="no warehouse file (lost, or moved aside): rebuild the loads listed in its "
                            "recovery manifest in the raw archive")
    start.add_argument("--force-new", action="store_true",
                       help="no warehouse file: build a new one without the loads its recovery manifest lists")


def _ensure(args: argparse.Namespace) -> int:
    from etl import build as build_module

    try:
        build_module.ensure()
    except warehouse.WarehouseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def _boundaries(args: argparse.Namespace) -> int:
    from etl import boundaries

    return boundaries.cli(args.rest)


def _configure_export(parser: argparse.ArgumentParser) -> None:
    parser.description = ("Write every published view as Parquet and CSV with a Frictionless datapackage.json "
                          "into DIR (created if needed; files of an earlier export are replaced). docs/open-data.md")
    parser.add_argument("directory", type=Path, metavar="DIR")
    parser.add_argument("--db", type=Path, default=None, help="warehouse (default data/warehouse.duckdb or $DX_DB)")


def _export(args: argparse.Namespace) -> int:
    from core import open_data

    started = time.perf_counter()
    try:
        with warehouse.reading(args.db or warehouse.default_path()) as con:
            written = open_data.write_package(con, args.directory)
    except (warehouse.WarehouseError, FileNotFoundError, open_data.ExportError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"error: could not write {args.directory} ({exc.strerror or type(exc).__name__})", file=sys.stderr)
        return 1
    print(f"Data package written to {written.directory} in {time.perf_counter() - started:.1f} s: "
          f"{len(written.rows)} views, {sum(written.rows.values()):,} rows, {written.bytes / 1e6:.1f} MB")
    return 0


def _briefing(args: argparse.Namespace) -> int:
    """A front door: the briefings need the app's queries and charts, and the ETL never imports
    the app, so the app's own command line runs in a child process with the same arguments."""
    path = os.pathsep.join(p for p in (str(paths.ROOT), os.environ.get("PYTHONPATH")) if p)
    # From the caller's folder (a relative --out is theirs), with the project importable.
    child = [sys.executable, "-m", "dashboard.briefing", *args.rest]
    return subprocess.run(child, env={**os.environ, "PYTHONPATH": path}).returncode


# Commands contributed by other modules register here: name -> (help, configure(parser) -> handler).
COMMANDS = {
    "build": ("rebuild the warehouse from reference packages, catalog, facts and demo data, "
              "re-applying its recorded loads", _configure_build, _build),
    "ensure": ("build the warehouse only if it is missing or from an older schema", None, _ensure),
    "boundaries": ("rebuild data/geo/provinces_34.geojson from a boundary file", "rest", _boundaries),
    "export": ("write every published view as Parquet and CSV with a Frictionless datapackage.json",
               _configure_export, _export),
    "digest": ("print the month's Needs attention list as plain text (country or --province)",
               digest.configure, digest.command),
    "population": ("replace the province population table with a new file (same columns)",
                   population.configure, population.command),
    "briefing": ("write provinces' monthly briefings, Word and PDF (runs python -m dashboard.briefing; "
                 "its --help lists the options)", "passthrough", _briefing),
}


def main(argv: list[str] | None = None) -> int:
    register_load_commands(COMMANDS)  # load, history, undo, sheets: etl/load/cli.py
    parser = argparse.ArgumentParser(prog="python -m etl", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (help_text, configure, _handler) in COMMANDS.items():
        command = sub.add_parser(name, help=help_text, add_help=configure != "passthrough")
        if configure == "rest":
            command.add_argument("rest", nargs=argparse.REMAINDER)
        elif callable(configure):
            configure(command)
    args, rest = parser.parse_known_args(argv)
    if COMMANDS[args.command][1] == "passthrough":
        args.rest = rest  # every argument goes to the child, which checks them
    elif rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    try:
        return COMMANDS[args.command][2](args)
    except catalog.CatalogError as exc:  # an edited catalog: one line naming the entry, nothing changed
        print(f"error: {paths.catalog_file()}: {exc}", file=sys.stderr)
        return 1
    except population.PopulationError as exc:  # an edited population file: one line naming the row
        print(f"error: {exc}; nothing was changed", file=sys.stderr)
        return 1


def run() -> int:
    """``main`` for the shell: a reader that leaves early (``| head``) ends the command quietly
    with 141 (128 + SIGPIPE, what the shell's own tools return) instead of a traceback."""
    try:
        code = main()
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return 128 + signal.SIGPIPE


if __name__ == "__main__":
    sys.exit(run())
