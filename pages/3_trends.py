"""Trends: monthly series of chosen provinces vs the national value and the target, with
event markers and re-based history before 2025-07; spending planned vs disbursed.
URL: /trends?indicator=…&provinces=25,01&history=1&year=2025&scope=national|NN&lang=vi
(compare=similar&province=25: the province and its 5 similar provinces, core/similar.py)"""

from __future__ import annotations

from dashboard.shell import ensure_app_shell

ensure_app_shell()  # before anything renders: see dashboard/shell.py

import streamlit as st

from charts import trends
from core import catalog, fmt
from core.safety import plain
from dashboard import figures, queries, state, ui

lang, t = ui.page_language()

st.title(t("trends.title"))
provs = queries.provinces()
names = dict(zip(provs["code"], provs["name"]))
labels = ui.province_labels()  # 'Phú Thọ (Phu Tho)': found by typing without diacritics


@ui.fragment
def trend_section(lang: str) -> None:
    left, right = st.columns([2, 3])
    with left:
        ind_code = ui.indicator_picker(lang)
    remembered = state.resolve("province", list(names) + [""], "", warn=False)
    default = [remembered] if remembered else ["01", "79"]
    compare = state.radio(
        "compare", t("similar.compare"), ["chosen", "similar"], "chosen",
        format_func=lambda c: t(f"similar.compare_{c}"), lang=lang,
    )
    if compare == "similar":  # one province and its similar provinces (core/similar.py)
        anchor = ui.province_picker(lang, right, default=remembered or "01", auto=not remembered)
        peers = queries.similar_provinces(anchor)["code"].tolist()
        chosen = [anchor, *peers]
        st.caption(t("similar.trends_note", name=plain(names[anchor]), n=len(peers),
                     peers=", ".join(plain(names[c]) for c in peers)))
    else:
        with right:
            chosen = state.multiselect(
                "provinces", t("filter.provinces"), sorted(names, key=names.get), default,
                format_func=lambda c: labels.get(c, c), warn_key="warn.unknown_province", max_selections=8,
                lang=lang,
            )
    history = state.radio(
        "history", t("filter.show_history"), [1, 0], 1,
        format_func=lambda v: t("common.yes") if v else t("common.no"), lang=lang,
    )
    series = queries.province_series(ind_code, tuple(chosen))
    national = queries.national_series(ind_code)
    start = None if history else trends.REBASE_BEFORE
    shown_periods = sorted(set(national["period"]) | set(series["period"]))
    if start:
        shown_periods = [p for p in shown_periods if p >= start]
    if not shown_periods:
        st.info(t("app.no_data"))
        return
    ui.demo_banner(list(series["is_demo"]) + list(national["is_demo"]), lang)
    fig = figures.trend(ind_code, tuple(chosen), lang, start)
    sources = set(series["source_id"]) | {s for ids in national["source_ids"].dropna() for s in ids.split(",")}
    ui.chart(fig, key="trends.lines", filename=f"trend_{ind_code}", lang=lang, source_ids=sources,
             start=shown_periods[0], end=shown_periods[-1], demo=list(series["is_demo"]) + list(national["is_demo"]))
    if shown_periods[0] < trends.REBASE_BEFORE:
        st.caption(t("common.rebased_note"))


@ui.fragment
def spending_section(lang: str) -> None:
    st.header(t("trends.spending"))
    years = queries.spending_years()
    if not years:
        st.info(t("app.no_data"))
        return
    left, right = st.columns(2)
    with left:
        year = state.selectbox("year", t("filter.year"), list(reversed(years)), years[-1], lang=lang)
    with right:
        scope = state.selectbox(
            "scope", t("filter.scope"), ["national"] + sorted(names, key=names.get), "national",
            format_func=lambda c: t("filter.national") if c == "national" else labels.get(c, c),
            warn_key="warn.unknown_province", lang=lang,
        )
    df = queries.spending(int(year), None if scope == "national" else scope)
    if df.empty:
        st.info(t("app.no_data"))
        return
    scope_name = t("filter.national") if scope == "national" else names[scope]
    fig = figures.spending(int(year), scope, lang, scope_name)
    sources = {s for ids in df["source_ids"].dropna() for s in ids.split(",")}
    ui.chart(fig, key="trends.spending", filename=f"spending_{year}_{scope}", lang=lang, source_ids=sources,
             start=df["period"].iloc[0], end=df["period"].iloc[-1], demo=df["is_demo"])
    last = df.iloc[-1]
    money, rate = catalog.by_role("spending_planned"), catalog.by_role("spending_rate")
    st.markdown(t(
        "trends.spending_summary", period=fmt.month(last["period"], lang),
        disbursed=fmt.value(last["disbursed_cum"], money.unit_spec, money.decimals, lang),
        planned=fmt.value(last["planned_cum"], money.unit_spec, money.decimals, lang),
        rate=fmt.value(last["rate_cum"], rate.unit_spec, rate.decimals, lang),
    ))


trend_section(lang)
spending_section(lang)
