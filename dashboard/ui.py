"""Page parts shared by every page: header, demo banner, chart rendering with offline
config, "Source · Period" captions, table downloads, the warehouse guard.

Text from outside (names from data files, producer names a load stored, values from a URL)
goes into markdown only through ``core.safety.plain``: it is shown, never rendered."""

from __future__ import annotations

import collections
import contextlib
import functools
import hashlib
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

import pandas as pd
import streamlit as st

from core import catalog, fmt, i18n
from core.names import strip_diacritics
from core.safety import plain
from dashboard import db, downloads, queries, state
from dashboard.present import collect

TOPOJSON_URL = "/app/static/topojson/"
STATIC_DIR = Path(__file__).resolve().parent.parent / "static"  # served at /app/static/
SERVED_GEOJSON = STATIC_DIR / "geo" / "provinces_34.geojson"  # a copy, kept up to date here


@functools.cache
def _served_geojson_url(source: str, mtime_ns: int, size: int) -> str | None:
    """Copy the province outlines under static/ (if missing or different) and return their
    URL with a content version, or None if the copy cannot be written (read-only install)."""
    data = Path(source).read_bytes()
    version = hashlib.sha256(data).hexdigest()[:12]
    try:
        if not SERVED_GEOJSON.exists() or SERVED_GEOJSON.read_bytes() != data:
            SERVED_GEOJSON.parent.mkdir(parents=True, exist_ok=True)
            temp = SERVED_GEOJSON.with_name(f".{SERVED_GEOJSON.name}.{os.getpid()}")
            temp.write_bytes(data)
            os.replace(temp, SERVED_GEOJSON)
    except OSError:
        return None
    return f"/app/static/geo/{SERVED_GEOJSON.name}?v={version}"


def province_geojson() -> str | dict:
    """What choropleths get as ``geojson``: the URL of the served file (the browser fetches
    and caches ~100 KB once, instead of every rerun carrying it and the server copying and
    encoding it: −60 ms per map run), or the dict itself if it cannot be served."""
    from charts import maps

    source = maps.GEOJSON_PATH
    stat = os.stat(source)
    return _served_geojson_url(str(source), stat.st_mtime_ns, stat.st_size) or maps.provinces_geojson()


def page_language() -> tuple[str, Callable[..., str]]:
    """The reader's language (URL ``lang``) and ``t(key, **values)`` saying a key in it: what
    every page starts with."""
    lang = state.current_lang()
    return lang, i18n.translator(lang)


def shell_styles(lang: str) -> None:
    """The app's style sheets, drawn once per run by the shell (app.py) for whichever page it
    runs: Streamlit's own widget texts in the reader's language, and readable colours."""
    widget_texts(lang)
    readable_styles()


CAPTION_COLOUR = "#5c5f6a"  # 5.7:1 on the sidebar's grey, 6.4:1 on white (WCAG AA: 4.5:1)


def readable_styles() -> None:
    """What axe-core found in Streamlit's defaults on our pages (docs/dashboard.md,
    accessibility): captions (a grey at 0.6 opacity, 2.6:1) and the SQL's highlighting
    (2.5–3.6:1) get darker colours (5.3–6:1); section headings are ``st.header`` (h2 after the
    page's h1) drawn at the size of Streamlit's h3; a chart's summary sentence (:func:`chart`)
    is read, not seen; a metric's sparkline (points without a title, read as unnamed images) is
    hidden from screen readers: the metric says its value and change in words (the script's
    own container takes no room)."""
    st.html(f"""<style>
[data-testid="stCaptionContainer"] {{opacity: 1}}
[data-testid="stCaptionContainer"], [data-testid="stCaptionContainer"] p {{color: {CAPTION_COLOUR}}}
[data-testid="stMain"] [data-testid="stHeadingWithActionElements"] h2 {{font-size: 1.5rem; padding: 0.5rem 0 0.5rem}}
.stCode .token.keyword, .stCode .token.function, .stCode .token.builtin, .stCode .token.class-name {{color: #0b5cad}}
.stCode .token.string {{color: #0f6b2c}}
.stCode .token.operator {{color: #a34a0b}}
.stCode .token.comment {{color: {CAPTION_COLOUR}}}
.stCode .token.number, .stCode .token.boolean, .stCode .token.constant {{color: #0c6e60}}
.stElementContainer:has(> [data-testid="stHtml"] > script) {{display: none}}
.stElementContainer:has(.dx-chart-summary) {{position: absolute; width: 1px; height: 1px; margin: -1px;
  overflow: hidden; clip-path: inset(50%); white-space: nowrap}}
</style>""")
    st.html("""<script>
if (!window.dxSparklines) {
  const hide = () => document.querySelectorAll('[data-testid="stMetric"] svg:not([aria-hidden])')
    .forEach(svg => svg.setAttribute("aria-hidden", "true"));
  window.dxSparklines = new MutationObserver(hide);
  window.dxSparklines.observe(document.body, {childList: true, subtree: true});
  hide();
}
</script>""", unsafe_allow_javascript=True)


def widget_texts(lang: str) -> None:
    """Streamlit 1.67 writes a few widget texts in English whatever the page's language: a
    picker's "No results", the uploader's "Upload" and "200MB per file • CSV, …". A style
    sheet hides them and writes ours (CSS ``content``; no element takes room on the page)."""
    import json

    from dashboard import refresh

    values = {"mb": st.get_option("server.maxUploadSize"), "types": ", ".join(x.upper() for x in refresh.UPLOAD_TYPES)}
    say = {k: json.dumps(i18n.t(f"widget.{k}", lang, **values), ensure_ascii=False)  # a CSS string
           for k in ("no_results", "upload", "limit")}
    st.html(f"""<style>
[role="listbox"][data-empty="true"] [role="option"] span {{font-size: 0}}
[role="listbox"][data-empty="true"] [role="option"] span::after {{content: {say["no_results"]}; font-size: 0.875rem}}
[data-testid="stFileUploaderDropzone"] button [data-testid="stMarkdownContainer"] p {{font-size: 0}}
[data-testid="stFileUploaderDropzone"] button [data-testid="stMarkdownContainer"] p::after {{
  content: {say["upload"]}; font-size: 1rem}}
[data-testid="stFileUploaderDropzoneInstructions"] span {{font-size: 0}}
[data-testid="stFileUploaderDropzoneInstructions"] span::after {{content: {say["limit"]}; font-size: 0.875rem}}
</style>""")


def plotly_config(filename: str = "chart") -> dict:
    """The one plotly config: local topojson (never cdn.plot.ly), no logo, PNG export."""
    return {
        "topojsonURL": TOPOJSON_URL,
        "displaylogo": False,
        "toImageButtonOptions": downloads.image_options(filename),
        "modeBarButtonsToRemove": ["select2d", "lasso2d", "sendDataToCloud"],
        "scrollZoom": False,
    }


_MARKED: collections.OrderedDict = collections.OrderedDict()  # (id, footer, height) -> (figure, its marked copy)
_MARKED_ENTRIES = 512
_marked_lock = threading.Lock()


def _marked_once(fig: Any, footer: str, height: int | None) -> Any:
    """``downloads.marked`` made once per figure, footer and height: the pages' figures are
    cached and shared (dashboard.figures), so every session and rerun draws the same copy
    instead of copying the figure again (3-7 ms a chart, several charts a run)."""
    key = (id(fig), footer, height)
    with _marked_lock:
        hit = _MARKED.get(key)
        if hit is not None and hit[0] is fig:
            _MARKED.move_to_end(key)
            return hit[1]
    shown = downloads.marked(fig, footer)
    if height:
        shown.update_layout(height=height)
    with _marked_lock:
        _MARKED[key] = (fig, shown)  # (the figure itself too: its id is not reused while kept here)
        while len(_MARKED) > _MARKED_ENTRIES:
            _MARKED.popitem(last=False)
    return shown


def chart(fig, *, key: str, lang: str, source_ids: Iterable[str], period: str | None = None,
          start: str | None = None, end: str | None = None, demo: Any = False, filename: str = "chart",
          height: int | None = None, caption: bool = True) -> None:
    """Render a plotly figure with the offline config and our own theme; in the figure a
    footer with source, month and demo mark (so its PNG from the camera button carries them,
    ``downloads.marked``), after it its one-sentence summary for screen readers (visually
    hidden, ``charts.summary``), and its "Source · Period" caption (unless ``caption`` is false:
    one caption under several charts)."""
    from html import escape

    from charts import summary

    marks = dict(period=period, start=start, end=end, demo=demo)
    shown = _marked_once(fig, caption_text(source_ids, lang, mark=str, **marks), height)
    title = fig.layout.title.text.replace("<br>", " ") if fig.layout.title and fig.layout.title.text else None
    st.plotly_chart(shown, key=key, theme=None, config=plotly_config(filename), alt=title)
    if sentence := summary.of(fig):
        st.html(f'<p class="dx-chart-summary">{escape(sentence)}</p>')
    collect.add_button(key, state.current_lang())  # "add to deck" (dashboard/present)
    if caption:
        st.caption(caption_text(source_ids, lang, **marks))


def guard_warehouse(lang: str) -> None:
    """Stop the page with one clear message when no warehouse has been built or the file at
    its path cannot be read (no path, no traceback: the details go to the server log)."""
    try:
        db.connection()
    except db.WarehouseMissing:
        st.error(i18n.t("app.no_warehouse", lang), icon=":material/database:")
        st.stop()
    except db.WarehouseOutdated:
        st.error(i18n.t("app.old_warehouse", lang), icon=":material/database:")
        st.stop()
    except db.WarehouseUnreadable:
        st.error(i18n.t("app.bad_warehouse", lang), icon=":material/database:")
        st.stop()


@contextlib.contextmanager
def stop_if_unreadable(lang: str) -> Iterator[None]:
    """Around a page run: a warehouse found damaged part-way (a table the guard's probe did
    not read) stops the page with the same message as :func:`guard_warehouse`."""
    try:
        yield
    except db.WarehouseUnreadable:
        st.error(i18n.t("app.bad_warehouse", lang), icon=":material/database:")
        st.stop()


Fn = TypeVar("Fn", bound=Callable[..., Any])


def fragment(fn: Fn) -> Fn:
    """``st.fragment`` for page sections. Streamlit shows any exception raised in a fragment
    itself (as a traceback), so the damaged-warehouse message is given inside it."""

    @functools.wraps(fn)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        with stop_if_unreadable(state.current_lang()):
            return fn(*args, **kwargs)

    return st.fragment(guarded)  # type: ignore[return-value]


def demo_banner(is_demo: Any, lang: str) -> None:
    """The demo banner, shown when any figure on the page comes from demo data."""
    if isinstance(is_demo, (pd.Series, list, tuple)):
        flag = bool(pd.Series(is_demo, dtype="boolean").fillna(False).any())
    else:
        flag = bool(is_demo)
    if flag:
        st.warning(i18n.t("demo.banner", lang), icon=":material/science:")


def source_text(source_ids: Iterable[str], lang: str, mark: Callable[[Any], str] = plain) -> str:
    """The sources' names for a caption, as markdown: a producer name comes from a loaded
    file's source column or its file name and is shown as plain text (``mark=str`` gives the
    raw names, for a slide that escapes them as HTML)."""
    ids = sorted({s for s in source_ids if isinstance(s, str) and s})
    if not ids:
        return "–"
    known = queries.source_names()
    return "; ".join(dict.fromkeys(
        i18n.t(f"source_name.{sid}", lang) if i18n.has(f"source_name.{sid}") else mark(known.get(sid, sid))
        for sid in ids
    ))


def caption(
    source_ids: Iterable[str], lang: str, *, period: str | None = None,
    start: str | None = None, end: str | None = None, demo: Any = False,
) -> None:
    """'Nguồn: … · Kỳ: Tháng 9/2025' under a chart or table, marked demo when ``demo`` is true,
    or partly demo when it is a column of flags of which only some are true."""
    st.caption(caption_text(source_ids, lang, period=period, start=start, end=end, demo=demo))


def caption_text(
    source_ids: Iterable[str], lang: str, *, period: str | None = None,
    start: str | None = None, end: str | None = None, demo: Any = False, mark: Callable[[Any], str] = plain,
) -> str:
    """The text of :func:`caption` (also a slide's footer, with ``mark=str``)."""
    source = source_text(source_ids, lang, mark)
    if period:
        text = i18n.t("caption.source_period", lang, source=source, period=fmt.month(period, lang))
    else:
        text = i18n.t(
            "caption.source_range", lang, source=source,
            start=fmt.month(start, lang), end=fmt.month(end, lang),
        )
    if isinstance(demo, (pd.Series, list, tuple)):
        flags = pd.Series(demo, dtype="boolean").fillna(False)
        suffix = None if not flags.any() else "caption.demo_suffix" if flags.all() else "caption.partly_demo_suffix"
    else:
        suffix = "caption.demo_suffix" if demo else None
    if suffix:
        text += i18n.t(suffix, lang)
    return text


def table(df: Any, **kwargs: Any) -> None:
    """``st.dataframe`` of a table whose numbers stay numbers (``tables.shown``; or its Styler,
    already made: ``dashboard.table_views``)."""
    from dashboard import tables

    st.dataframe(df if isinstance(df, tables.Styler) else tables.shown(df), hide_index=True, width="stretch",
                 **kwargs)


def permalink(page: str) -> str:
    """The address of this view: the public base (or the browser's) and the page with the
    URL's query parameters."""
    from urllib.parse import urlencode

    from dashboard.present import compose

    base = compose.public_base() or (st.context.url or "").rstrip("/")
    return f"{base}/{page}?{urlencode(st.query_params.to_dict())}"


def table_about(indicator: dict, lang: str, *, period: str, source_ids: Iterable[str], demo: Any,
                page: str) -> pd.DataFrame:
    """The Excel download's second sheet: indicator, definition, unit, source, month, demo, link."""
    from charts import labels

    t = i18n.translator(lang)
    unit = labels.unit_of(indicator)
    flags = pd.Series(demo, dtype="boolean").fillna(False)
    demo_text = t("common.no") if not flags.any() else t("common.yes") if flags.all() else t("download.partly")
    rows = {
        t("download.indicator"): indicator["name_en" if lang == "en" else "name_vi"],
        t("download.code"): indicator["code"],
        t("download.definition"): indicator["definition_en" if lang == "en" else "definition"] or "",
        t("download.unit"): unit.label(lang),
        t("common.source"): source_text(source_ids, lang, mark=str),
        t("common.period"): period,
        t("common.demo_flag"): demo_text,
        t("download.link"): permalink(page),
    }
    return pd.DataFrame({t("download.field"): list(rows), t("download.text"): list(rows.values())})


def table_downloads(df: pd.DataFrame, stem: str, lang: str, *, key: str, about: pd.DataFrame | None = None) -> None:
    """CSV and Excel buttons for a table as shown (column names in the reader's language),
    the Excel file with ``about`` (:func:`table_about`) as its second sheet."""
    left, right, _ = st.columns([1, 1, 4])
    left.download_button(
        i18n.t("common.download_csv", lang), data=lambda: downloads.csv_bytes(df),
        file_name=f"{stem}.csv", mime="text/csv", key=f"{key}.csv", on_click="ignore",
        icon=":material/download:",
    )
    right.download_button(
        i18n.t("common.download_xlsx", lang),
        data=lambda: downloads.xlsx_bytes(df, stem, about, i18n.t("download.about_sheet", lang)),
        file_name=f"{stem}.xlsx", key=f"{key}.xlsx", on_click="ignore",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        icon=":material/table:",
    )


def header(title: str, lang: str, subtitle: str | None = None) -> None:
    st.title(title)
    if subtitle:
        st.caption(subtitle)


# --------------------------------------------------------------------------- shared filters


def indicator_and_month(lang: str) -> tuple[str, str]:
    """The indicator and month pickers side by side, as Overview and Rankings open; stops
    the page with a message when the indicator has no data."""
    left, right = st.columns([3, 2])
    with left:
        code = indicator_picker(lang)
    with right:
        period = period_picker(code, lang)
    if period is None:
        st.info(i18n.t("app.no_data", lang))
        st.stop()
    return code, period


def indicator_picker(lang: str, where: Any = None, *, options: list[str] | None = None) -> str:
    """Indicator select box (URL ``indicator``), opening on the catalog's headline indicator;
    options default to province indicators."""
    available = queries.province_indicators()
    codes = options or available["code"].tolist()
    names = dict(zip(available["code"], available["name_en" if lang == "en" else "name_vi"]))
    return state.selectbox(
        "indicator", i18n.t("filter.indicator", lang), codes, catalog.headline().code,
        format_func=lambda c: names.get(c, c), where=where, warn_key="warn.unknown_indicator", lang=lang,
    )


def period_picker(indicator_code: str, lang: str, where: Any = None, *, level: str = "province") -> str | None:
    """Month select box (URL ``period``), newest first, default the latest month."""
    options = list(reversed(queries.periods(indicator_code, level)))
    if not options:
        return None
    return state.selectbox(
        "period", i18n.t("filter.period", lang), options, options[0],
        format_func=lambda p: fmt.month(p, lang), where=where, warn_key="warn.unknown_period", lang=lang,
    )


@db.cached_per_warehouse(st.cache_resource, max_entries=4)
def _province_choices() -> tuple[tuple[str, ...], MappingProxyType]:
    """The provinces' codes in the order of their names, and their labels (once per warehouse
    file: sorting and stripping diacritics on every run of every page cost ~1 ms)."""
    provs = queries.provinces().sort_values("name")
    labels = {
        code: name if plain_name == name else f"{name} ({plain_name})"
        for code, name, plain_name in zip(provs["code"], provs["name"], provs["name"].map(strip_diacritics))
    }
    return tuple(provs["code"]), MappingProxyType(labels)


def province_labels() -> Mapping[str, str]:
    """GSO code -> what a province picker shows and searches: the name, and the name without
    diacritics when it differs ('Phú Thọ (Phu Tho)'), so that typing 'phu tho', 'hue' or
    'ho chi minh' finds the province (the picker's filter compares letters as typed)."""
    return _province_choices()[1]


def province_picker(lang: str, where: Any = None, *, name: str = "province", default: str | None = None,
                    allow_none: bool = False, label_key: str = "filter.province", auto: bool = False) -> str | None:
    """Province select box (URL ``province``, a GSO code); optional "(none)" entry ('');
    ``auto``: the default is the app's pick, carried to no other page (``state.selectbox``)."""
    codes, labels = _province_choices()
    options = ([""] if allow_none else []) + list(codes)
    if default is None or default not in options:
        default = options[0]
    chosen = state.selectbox(
        name, i18n.t(label_key, lang), options, default,
        format_func=lambda c: labels.get(c, i18n.t("filter.none", lang)) if c else i18n.t("filter.none", lang),
        where=where, warn_key="warn.unknown_province", lang=lang, auto=auto,
    )
    return chosen or None


def region_picker(lang: str, where: Any = None, *, similar: bool = False) -> str:
    """Region select box (URL ``region``; 'all' = the whole country; ``similar``: also
    'similar', a province and its similar provinces, core/similar.py)."""
    regs = queries.regions()
    names = dict(zip(regs["code"], regs["name_en" if lang == "en" else "name_vi"]))
    names |= {"all": i18n.t("filter.all_regions", lang), "similar": i18n.t("similar.region_option", lang)}
    return state.selectbox(
        "region", i18n.t("filter.region", lang), ["all"] + (["similar"] if similar else []) + regs["code"].tolist(),
        "all", format_func=lambda c: names.get(c, c), where=where, warn_key="warn.unknown_region", lang=lang,
    )


def per_1000_indicator(indicator: dict) -> dict:
    """A count's catalog row turned into its figure per 1,000 inhabitants: the unit says so
    ('12,3 /1.000 dân'), two decimals, no target (targets are for the count)."""
    import dataclasses

    unit = dataclasses.replace(
        catalog.unit(indicator["unit"]), code=f"{indicator['unit']}_per_1000",
        label_vi=i18n.t("per1000.label", "vi"), label_en=i18n.t("per1000.label", "en"),
        suffix_vi=i18n.t("per1000.suffix", "vi"), suffix_en=i18n.t("per1000.suffix", "en"),
        decimals=2, tick_format=",.2f", difference_vi=None, difference_en=None,
    )
    return indicator | {"unit": unit, "decimals": 2, "target_value": None}


def national_target(indicator: dict) -> dict | None:
    """The national target of a catalog row (value, comparison, deadline) or None."""
    if fmt.is_missing(indicator.get("target_value")):
        return None
    return {
        "value": float(indicator["target_value"]),
        "comparison": indicator.get("target_comparison") or ">=",
        "deadline": indicator.get("target_deadline"),
        "basis": indicator.get("target_basis"),
    }
