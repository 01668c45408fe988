"""Streamlit entry point: `streamlit run app.py`.

Navigation is explicit (``st.navigation``) over the scripts in ``pages/``. Each page calls
``dashboard.shell.ensure_app_shell()`` first, and the URL paths below equal the names
Streamlit derives from the file names, so a permalink opened as the first request after a
server start still runs inside this shell (see dashboard/shell.py).
Each page is a thin script: read filters (dashboard.state) → query (dashboard.queries) →
figures (dashboard.figures, cached) and tables (dashboard.tables) → render (dashboard.ui).
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import streamlit as st

from core.safety import plain
from dashboard import admission, state, ui

# The app's frames are small (34 provinces, at most 3,321 communes): pandas' "str" columns kept
# as Python strings cost less per page run than Arrow-backed ones (sorting, taking rows,
# copying, Streamlit writing a Styler's cells): 6-15 % of a warm run (docs/performance.md).
# The same "str" dtype and behaviour either way; the ETL keeps pandas' default.
pd.set_option("mode.string_storage", "python")

st.set_page_config(
    page_title="DX 57 · Chuyển đổi số",
    page_icon="📊",
    layout="wide",
    initial_sidebar_state="auto",  # open on wide screens, closed on phones (it covered the page)
)

lang, t = ui.page_language()
ui.shell_styles(lang)  # once per run, for whichever page runs below

# (script, url path, title key, icon) per section of the navigation. A missing script stops
# the app with Streamlit's "page not found" (StreamlitPageNotFoundError): no page is left out quietly.
MONITOR = [
    ("pages/1_overview.py", "overview", "nav.overview", ":material/dashboard:"),
    ("pages/2_rankings.py", "rankings", "nav.rankings", ":material/leaderboard:"),
    ("pages/3_trends.py", "trends", "nav.trends", ":material/show_chart:"),
    ("pages/9_attention.py", "attention", "attention.nav", ":material/priority_high:"),
    ("pages/8_present.py", "present", "present.nav", ":material/slideshow:"),
]
DETAIL = [
    ("pages/4_province.py", "province", "nav.province", ":material/location_city:"),
    ("pages/5_communes.py", "communes", "nav.communes", ":material/holiday_village:"),
    ("pages/6_data_methods.py", "data_methods", "nav.data_methods", ":material/menu_book:"),
]
ADMIN = [  # login; controls for data staff only
    ("pages/7_data_refresh.py", "data_refresh", "nav.data_refresh", ":material/cloud_upload:"),
]


def _pages(entries: list[tuple[str, str, str, str]]) -> list[st.Page]:
    return [st.Page(script, title=t(title_key), icon=icon, url_path=url_path)
            for script, url_path, title_key, icon in entries]


# Made once per session and language: st.Page resolves and checks its script's path (~5 % of a
# page run under load). Not shared between sessions: st.navigation marks the page it returns
# as runnable on the object itself.
made = st.session_state.setdefault("_dx.pages", {})
if lang not in made:
    made[lang] = (_pages(MONITOR), _pages(DETAIL), _pages(ADMIN))
monitor, detail, admin = made[lang]
by_path = {p.url_path: p for p in monitor + detail + admin}


def _home() -> None:
    """The root URL: open ``?page=<url path>`` if given, else the Overview, keeping the other
    query parameters (so every page, the Overview included, has its own permalink path)."""
    params = {k: st.query_params.get_all(k)[-1] for k in st.query_params if k != "page"}
    wanted = st.query_params.get("page")
    if wanted and wanted not in by_path:
        st.session_state["_dx.bad_page"] = wanted
    st.switch_page(by_path.get(wanted or "", monitor[0]), query_params=params)


home = st.Page(_home, title=t("nav.overview"), url_path="home", default=True, visibility="hidden")
sections = {t("nav.section_monitor"): [home] + monitor, t("nav.section_detail"): detail,
            t("nav.section_admin"): admin}
page = st.navigation(sections, position="sidebar", expanded=True)
if page is home:
    # Switch before drawing anything: the switch drops this run's elements, and the page's
    # run would not warn again about a URL value (e.g. ?lang=) that this run already read.
    page.run()

if bad_page := st.session_state.pop("_dx.bad_page", None):
    st.warning(t("warn.unknown_page", value=plain(bad_page)), icon=":material/warning:")

with st.sidebar:
    state.language_toggle()
    st.caption(t("app.subtitle"))

ui.guard_warehouse(lang)
def _waiting() -> Callable[[], None]:
    notice = st.empty()
    notice.info(t("app.waiting"), icon=":material/hourglass_top:")
    return notice.empty


with ui.stop_if_unreadable(lang):
    if page in admin:
        page.run()
    else:
        with admission.slot(_waiting):
            page.run()
