"""`python -m etl digest --province 46 --period 2025-09`: the Needs attention list of a month
as plain text (core.attention.digest), read from the warehouse read-only. Exit 0 with the
text, 2 with one line for a bad month, province or language, 1 for an unreadable warehouse."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from core import attention
from etl import warehouse

MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = "Print the month's Needs attention list as plain text for a messaging group."
    parser.add_argument("--period", required=True, metavar="YYYY-MM", help="the month, e.g. 2025-09")
    parser.add_argument("--province", default=None, metavar="CODE", help="GSO code (e.g. 46); default the country")
    parser.add_argument("--lang", choices=("vi", "en"), default="vi")
    parser.add_argument("--db", type=Path, default=None, help="warehouse (default data/warehouse.duckdb or $DX_DB)")


def command(args: argparse.Namespace) -> int:
    if not MONTH.match(args.period):
        print(f"error: --period must be a month as YYYY-MM (e.g. 2025-09), not {args.period!r}", file=sys.stderr)
        return 2
    try:
        with warehouse.reading(args.db or warehouse.default_path()) as con:
            def query(sql, params):
                return con.execute(sql, list(params)).df()

            months = attention.periods(query)
            if args.period not in months:
                print(f"error: no data for {args.period} (months with data: {months[0]} to {months[-1]})"
                      if months else "error: the warehouse holds no data", file=sys.stderr)
                return 2
            if args.province is not None and attention.province_name(query, args.province) is None:
                print(f"error: no province with code {args.province!r} (GSO codes, e.g. 01 Hà Nội, 46 Huế)",
                      file=sys.stderr)
                return 2
            found = attention.find(query, args.period, args.province)
    except (warehouse.WarehouseError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    sys.stdout.write(attention.digest(found, args.lang))
    return 0
