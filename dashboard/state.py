"""Permalinks: everything that defines a view lives in the URL's query string.

The page is the URL path (``/rankings``; ``?page=rankings`` on the root URL works too, see
``app.py``); filters are query parameters::

    /rankings?lang=en&indicator=online_application_rate&period=2025-09&province=25&region=all

Opening such a URL restores the view exactly: every value shown is written to the URL,
including defaults (so a link keeps pointing at Sep 2025 after Oct 2025 arrives). A value
in the URL that is unknown (``?indicator=nope&province=99``) gives a friendly
``st.warning`` and falls back to the default; it never raises.

Use the widget helpers (``selectbox``, ``multiselect``, ``radio``) in pages: they read the
URL, validate against the options, render the widget and write the choice back. The same
parameter name on several pages (``indicator``, ``period``, ``province``) carries the choice
from page to page.

Where a value comes from, in order:
1. the URL, when it changed since this session last wrote it (fresh link, ``st.page_link``
   or ``st.switch_page(..., query_params=...)`` from another page);
2. the widget's current value (the user just changed it);
3. the value remembered for this session (survives page switches);
4. the default.

A value the app picks for the reader (the Overview narrates the leading province until the
reader picks one: ``selectbox(..., auto=True)``) is neither written to the URL nor carried
to other pages: only an explicit choice carries over.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import streamlit as st

from core import i18n
from core.safety import plain

_PERSIST = "_dx.p."  # remembered value per parameter (not a widget key, so never cleared)
_URL = "_dx.u."  # last value this session wrote to / read from the URL per parameter
_WIDGET = "w."  # widget keys
_AUTO = "_dx.a."  # set while a parameter holds a value the app picked (not the reader)

LANG = "lang"


def _dump(value: Any, multi: bool) -> str:
    if multi:
        return ",".join(str(v) for v in value)
    return "" if value is None else str(value)


def _warn_text(name: str, raw: str, fallback_label: str, lang: str, warn_key: str | None) -> str:
    """The warning for an unknown URL value, as markdown: the value (anyone can put anything
    in a link) and the fallback's label are shown as plain text."""
    key = warn_key or "warn.unknown_value"
    return i18n.t(key, lang, value=plain(raw), name=plain(name), fallback=plain(fallback_label))


def resolve(
    name: str,
    options: Sequence[Any],
    default: Any,
    *,
    multi: bool = False,
    format_func: Callable[[Any], str] = str,
    warn_key: str | None = None,
    lang: str | None = None,
    warn: bool = True,
) -> Any:
    """The current value of parameter ``name`` among ``options`` (see module doc)."""
    ss = st.session_state
    by_text = {str(o): o for o in options}
    raw = st.query_params.get(name)
    wkey = _WIDGET + name

    def valid(value: Any) -> bool:
        if multi:
            return isinstance(value, (list, tuple)) and all(v in options for v in value)
        return value in options

    if raw is not None and raw != ss.get(_URL + name):
        ss[_URL + name] = raw
        if multi:
            parts = [p for p in raw.split(",") if p.strip()]
            good = [by_text[p.strip()] for p in parts if p.strip() in by_text]
            bad = [p for p in parts if p.strip() not in by_text]
            value = list(dict.fromkeys(good)) if (good or not parts) else list(default)
            if bad and warn:
                fallback = ", ".join(format_func(v) for v in value) or "–"
                st.warning(_warn_text(name, ",".join(bad), fallback, lang or current_lang(), warn_key),
                           icon=":material/warning:")
        elif raw in by_text:
            value = by_text[raw]
        else:
            value = default
            if warn:
                st.warning(_warn_text(name, raw, format_func(default), lang or current_lang(), warn_key),
                           icon=":material/warning:")
        ss[wkey] = value
        ss[_PERSIST + name] = value
        return value
    if ss.get(_AUTO + name):  # the app's pick on another page: not the reader's choice
        return list(default) if multi else default
    for key in (wkey, _PERSIST + name):
        if key in ss and valid(ss[key]):
            return list(ss[key]) if multi else ss[key]
    return list(default) if multi else default


def remember(name: str, value: Any, *, multi: bool = False) -> None:
    """Store the value for this session and write it to the URL (only if it changed)."""
    ss = st.session_state
    ss.pop(_AUTO + name, None)
    ss[_PERSIST + name] = list(value) if multi else value
    text = _dump(value, multi)
    if st.query_params.get(name) != text:
        st.query_params[name] = text
    ss[_URL + name] = text


def set_value(name: str, value: Any, *, multi: bool = False) -> None:
    """Change a parameter programmatically (before its widget is drawn in this run)."""
    st.session_state[_WIDGET + name] = list(value) if multi else value
    remember(name, value, multi=multi)


def _prepare(name: str, value: Any) -> str:
    wkey = _WIDGET + name
    st.session_state[wkey] = value
    return wkey


def selectbox(
    name: str,
    label: str,
    options: Sequence[Any],
    default: Any,
    *,
    format_func: Callable[[Any], str] = str,
    where: Any = None,
    warn_key: str | None = None,
    help: str | None = None,
    lang: str | None = None,
    auto: bool = False,
) -> Any:
    """A select box bound to URL parameter ``name``; returns the chosen option. ``auto``:
    ``default`` is the app's pick, kept off the URL and other pages until the reader chooses."""
    ss = st.session_state
    if auto and (ss.get(_AUTO + name) or not (st.query_params.get(name) or ss.get(_PERSIST + name))):
        ss[_AUTO + name] = True
        options = list(options)
        if default not in options:
            default = options[0]
        ss[_WIDGET + name] = default

        def chosen() -> None:  # the reader's choice from now on
            ss.pop(_AUTO + name, None)
            ss[_PERSIST + name] = ss[_WIDGET + name]

        return (where or st).selectbox(label, options, format_func=format_func, key=_WIDGET + name, help=help,
                                       on_change=chosen)
    return _one_of(name, options, default, format_func, warn_key, lang, lambda options, key: (where or st).selectbox(
        label, options, format_func=format_func, key=key, help=help))


def radio(
    name: str,
    label: str,
    options: Sequence[Any],
    default: Any,
    *,
    format_func: Callable[[Any], str] = str,
    where: Any = None,
    warn_key: str | None = None,
    horizontal: bool = True,
    help: str | None = None,
    lang: str | None = None,
) -> Any:
    """Radio buttons bound to URL parameter ``name``."""
    return _one_of(name, options, default, format_func, warn_key, lang, lambda options, key: (where or st).radio(
        label, options, format_func=format_func, key=key, horizontal=horizontal, help=help))


def _one_of(name: str, options: Sequence[Any], default: Any, format_func: Callable[[Any], str],
            warn_key: str | None, lang: str | None, draw: Callable[[list, str], Any]) -> Any:
    """One option chosen with a widget ``draw(options, key)``, bound to URL parameter ``name``
    (an unknown URL value falls back to ``default`` with a warning)."""
    options = list(options)
    if not options:
        return None
    if default not in options:
        default = options[0]
    value = resolve(name, options, default, format_func=format_func, warn_key=warn_key, lang=lang)
    chosen = draw(options, _prepare(name, value))
    remember(name, chosen)
    return chosen


def multiselect(
    name: str,
    label: str,
    options: Sequence[Any],
    default: Sequence[Any],
    *,
    format_func: Callable[[Any], str] = str,
    where: Any = None,
    warn_key: str | None = None,
    max_selections: int | None = None,
    help: str | None = None,
    lang: str | None = None,
    wrap: bool | None = None,
) -> list:
    """A multiselect bound to URL parameter ``name`` (comma-separated in the URL); ``wrap``:
    chips go onto more lines rather than being cut at the box's edge."""
    options = list(options)
    default = [d for d in default if d in options]
    value = resolve(
        name, options, default, multi=True, format_func=format_func, warn_key=warn_key, lang=lang
    )
    if max_selections:
        value = value[:max_selections]
    wkey = _prepare(name, value)
    chosen = (where or st).multiselect(
        label, options, format_func=format_func, key=wkey, max_selections=max_selections, help=help, wrap=wrap
    )
    remember(name, chosen, multi=True)
    return list(chosen)


def current_lang() -> str:
    """The reader's language ('vi' default) without drawing anything."""
    ss = st.session_state
    raw = st.query_params.get(LANG)
    if raw in i18n.LANGS and raw != ss.get(_URL + LANG):
        return raw
    for key in (_WIDGET + LANG, _PERSIST + LANG):
        if ss.get(key) in i18n.LANGS:
            return ss[key]
    return raw if raw in i18n.LANGS else i18n.DEFAULT_LANG


def language_toggle(where: Any = None) -> str:
    """The VI | EN switch (drawn in the sidebar by ``app.py``)."""
    lang = current_lang()
    return radio(
        LANG,
        i18n.t("app.language", lang),
        list(i18n.LANGS),
        i18n.DEFAULT_LANG,
        format_func=lambda code: {"vi": "Tiếng Việt", "en": "English"}[code],
        where=where,
        lang=lang,
    )
