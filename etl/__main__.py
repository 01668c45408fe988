"""Command line: `python -m etl COMMAND` (see README, "ETL commands")."""

from __future__ import annotations

import argparse
import sys


def _build(args: argparse.Namespace) -> int:
    from etl import build as build_module  # imported here: `load`/`users` start faster without it

    build_module.build()
    return 0


def _ensure(args: argparse.Namespace) -> int:
    from etl import build as build_module

    build_module.ensure()
    return 0


def _boundaries(args: argparse.Namespace) -> int:
    from etl import boundaries

    return boundaries.cli(args.rest)


# Commands contributed by other modules register here: name -> (help, configure(parser) -> handler).
COMMANDS = {
    "build": ("rebuild the warehouse from reference packages, catalog, facts and demo data", None, _build),
    "ensure": ("build the warehouse only if it is missing or from an older schema", None, _ensure),
    "boundaries": ("rebuild data/geo/provinces_34.geojson from a boundary file", "rest", _boundaries),
}


def _register_optional() -> None:
    """Data-staff commands (load, history, undo, users) live in etl.load when installed."""
    try:
        from etl.load.cli import register
    except ImportError:
        return
    register(COMMANDS)


def _register_users() -> None:
    """`users` (dashboard logins for the Data refresh page) lives in etl.users."""
    from etl.users import register

    register(COMMANDS)


def main(argv: list[str] | None = None) -> int:
    _register_optional()
    _register_users()
    parser = argparse.ArgumentParser(prog="python -m etl", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (help_text, configure, _handler) in COMMANDS.items():
        command = sub.add_parser(name, help=help_text)
        if configure == "rest":
            command.add_argument("rest", nargs=argparse.REMAINDER)
        elif callable(configure):
            configure(command)
    args = parser.parse_args(argv)
    return COMMANDS[args.command][2](args)


if __name__ == "__main__":
    sys.exit(main())
