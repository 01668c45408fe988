"""``python -m dashboard.briefing …`` (see dashboard/briefing/cli.py)."""

from __future__ import annotations

import sys

import streamlit.logger

# Before the app's modules define their caches: outside a server each one warns "No runtime
# found". At import, so that the worker processes of --all (which import this module) are quiet too.
streamlit.logger.set_log_level("error")


def main(argv: list[str] | None = None) -> int:
    from dashboard.briefing import cli

    return cli.main(argv)


if __name__ == "__main__":
    sys.exit(main())
