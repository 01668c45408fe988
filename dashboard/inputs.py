"""URL-bound widgets that ``dashboard.state`` does not provide: a text box and a range
slider. Same rules as ``state`` (a changed URL wins, then the widget, then the value
remembered for the session, then the default; every value is written back to the URL; a bad
value in the URL gives a warning and the default, never an exception)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from dashboard import state

_URL = state._URL
_PERSIST = state._PERSIST
_WIDGET = state._WIDGET
MAX_TEXT = 100


def text(name: str, label: str, *, default: str = "", placeholder: str | None = None,
         where: Any = None, help: str | None = None) -> str:
    """A text box bound to URL parameter ``name`` (at most 100 characters)."""
    ss = st.session_state
    wkey = _WIDGET + name
    raw = st.query_params.get(name)
    if raw is not None and raw != ss.get(_URL + name):
        ss[_URL + name] = raw
        ss[wkey] = raw[:MAX_TEXT]
    elif wkey not in ss:
        ss[wkey] = ss.get(_PERSIST + name, default)
    value = (where or st).text_input(label, key=wkey, placeholder=placeholder, max_chars=MAX_TEXT, help=help)
    state.remember(name, value)
    return value.strip()


def int_range(name: str, label: str, low: int, high: int, default: tuple[int, int] | None = None, *,
              where: Any = None, lang: str = "vi", help: str | None = None) -> tuple[int, int]:
    """A range slider over the integers ``low``…``high`` bound to URL parameter ``name``
    written as ``a-b`` (e.g. ``criteria=10-17``)."""
    ss = st.session_state
    default = default or (low, high)
    options = [f"{a}-{b}" for a in range(low, high + 1) for b in range(a, high + 1)]
    mirror = _WIDGET + name  # the text form, read by state.resolve
    slider_key = _WIDGET + name + ".slider"
    if isinstance(ss.get(slider_key), (tuple, list)) and len(ss[slider_key]) == 2:
        ss[mirror] = f"{int(ss[slider_key][0])}-{int(ss[slider_key][1])}"
    chosen = state.resolve(
        name, options, f"{default[0]}-{default[1]}", lang=lang,
        format_func=lambda v: v.replace("-", "–"),
    )
    lo, hi = (int(v) for v in chosen.split("-"))
    ss[slider_key] = (lo, hi)
    picked = (where or st).slider(label, min_value=low, max_value=high, step=1, key=slider_key, help=help)
    lo, hi = int(picked[0]), int(picked[1])
    ss[mirror] = f"{lo}-{hi}"
    state.remember(name, f"{lo}-{hi}")
    return lo, hi

