"""Command line of the app side: `python -m dashboard users ...` (logins for the Data refresh page)."""

from __future__ import annotations

import argparse
import sys

from dashboard import users


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dashboard", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    users.configure(sub.add_parser("users", help=users.COMMAND_HELP))
    args = parser.parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
