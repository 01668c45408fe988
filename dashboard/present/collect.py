""""Add to deck" under every chart, and the deck being put together in this session.

The button stores the chart's view permalink (the page's query parameters as drawn, plus
the chart's key) in the session; the Present page shows, orders, presents and saves it.
"""

from __future__ import annotations

import streamlit as st

from core import i18n
from dashboard.present import permalink

WORKING = "_dx.deck"  # session state: the working deck, a list of permalinks
ADDED = "_dx.deck_added"  # the chart just added (its toast shows on the next run)


def working() -> list[str]:
    return list(st.session_state.get(WORKING, []))


def set_working(views: list[str]) -> None:
    st.session_state[WORKING] = list(views)


def _add(key: str, link: str) -> None:
    set_working([*working(), link])
    st.session_state[ADDED] = key


def add_button(key: str, lang: str) -> None:
    """A small "add to deck" button for chart ``key`` (nothing for a chart no deck knows)."""
    if key not in permalink.PAGES:
        return
    query = {name: st.query_params.get(name) for name in st.query_params}
    link = permalink.from_page(key, query).permalink()
    st.button(i18n.t("present.add", lang), key=f"deck.add.{key}", icon=":material/add_to_queue:", type="tertiary",
              on_click=_add, args=(key, link), help=i18n.t("present.add_help", lang))
    if st.session_state.get(ADDED) == key:  # (a callback inside a fragment may not draw)
        del st.session_state[ADDED]
        st.toast(i18n.t("present.added", lang, n=len(working())), icon=":material/slideshow:")
