"""``python -m dashboard.briefing …`` (see dashboard/briefing/cli.py)."""

from __future__ import annotations

import sys

import streamlit.logger


def main(argv: list[str] | None = None) -> int:
    # Before the app's modules define their caches: outside a server each one warns "No runtime found".
    streamlit.logger.set_log_level("error")
    from dashboard.briefing import cli

    return cli.main(argv)


if __name__ == "__main__":
    sys.exit(main())
