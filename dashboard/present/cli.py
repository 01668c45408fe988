"""The command line of ``python -m dashboard.present export``: a deck to a file, for scripts and the tests.

    python -m dashboard.present export --period 2025-09 --format pptx --out ca-nuoc.pptx
    python -m dashboard.present export --province 25 --period 2025-09 --format pdf --out phu-tho.pdf
    python -m dashboard.present export --deck "Giao ban tháng 9" --format html --out giao-ban.html

Without ``--province`` or ``--deck`` it exports the national deck. This command line is kept
stable if the modules move. Exit codes: 0 written, 2 a bad argument (the reason on stderr),
3 no readable warehouse.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from core import catalog, i18n
from dashboard import db, queries
from dashboard.present import decks, export


class Refused(ValueError):
    """An argument that names no deck (the message says why)."""


def _deck(args: argparse.Namespace) -> decks.Deck:
    if args.deck:
        try:
            return decks.saved_deck(args.deck)
        except (KeyError, decks.DeckError):
            raise Refused(f"no saved deck named {args.deck!r} in {decks.decks_path()}") from None
    if not args.period:
        raise Refused("--period YYYY-MM is needed (or --deck NAME)")
    periods = queries.periods(catalog.headline().code)
    if args.period not in periods:
        raise Refused(f"no data for period {args.period!r}; months with data: {periods[0]} … {periods[-1]}")
    if args.province:
        if args.province not in set(queries.provinces()["code"]):
            raise Refused(f"unknown province code {args.province!r} (two-digit GSO code, e.g. 25)")
        return decks.province(args.province, args.period)
    return decks.national(args.period)


def cmd_export(args: argparse.Namespace) -> int:
    if (refused := db.unusable_for_command_line()) is not None:
        return refused
    try:
        deck = _deck(args)
    except Refused as exc:
        print(exc, file=sys.stderr)
        return 2
    data = export.export(deck, args.lang, args.format)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    print(f"{out} ({args.format}, {len(deck.views) + 1} slides, {len(data):,} bytes)")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dashboard.present", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    ex = sub.add_parser("export", help="write a deck as pptx, pdf or html")
    ex.add_argument("--period", help="month, YYYY-MM (the ready-made decks)")
    ex.add_argument("--province", help="two-digit GSO code: that province's deck (default: the national deck)")
    ex.add_argument("--deck", help="a saved deck, by name (see decks.json beside the warehouse)")
    ex.add_argument("--format", required=True, choices=export.FORMATS)
    ex.add_argument("--out", required=True, help="file to write")
    ex.add_argument("--lang", default=i18n.DEFAULT_LANG, choices=i18n.LANGS)
    ex.set_defaults(handler=cmd_export)
    args = parser.parse_args(argv)
    return args.handler(args)

