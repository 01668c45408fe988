"""Keep every page inside app.py's shell (navigation, language switch, wide layout).

Streamlit 1.67 still honours its old multipage mode while a ``pages/`` folder sits beside
the main script: until some session has run ``st.navigation``, a request for a page URL
(a permalink such as ``/rankings?indicator=…``) runs that page script on its own, without
app.py. Each page therefore calls :func:`ensure_app_shell` first; in that situation it
switches the process to ``st.navigation`` mode, runs app.py in the same script run (which
opens the same page with the same query string and widget events) and stops the outer run.
URL paths in app.py equal the names Streamlit derives from the file names
(``6_data_methods.py`` → ``data_methods``) so every permalink reaches its page.
"""

from __future__ import annotations

import runpy
from pathlib import Path

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

APP = Path(__file__).resolve().parent.parent / "app.py"


def ensure_app_shell() -> None:
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        runpy.run_path(str(APP), run_name="__main__")
        st.stop()
