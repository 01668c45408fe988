"""Rankings: all 34 provinces for one indicator and month, with rank changes, the national
value and the target; movers over a span of months; the table with downloads.
URL: /rankings?indicator=…&period=YYYY-MM&region=all|similar|<code>&province=NN&span=3&lang=vi
(region=similar: the highlighted province and its 5 similar provinces, core/similar.py)"""

from __future__ import annotations

from dashboard.shell import ensure_app_shell

ensure_app_shell()  # before anything renders: see dashboard/shell.py

import pandas as pd
import streamlit as st

from core import fmt
from core.safety import plain
from dashboard import downloads, figures, queries, state, table_views, ui

lang, t = ui.page_language()

st.title(t("rankings.title"))
ind_code, period = ui.indicator_and_month(lang)

values = queries.province_values(ind_code, period)
ui.demo_banner(values["is_demo"], lang)


@ui.fragment
def ranking_section(ind_code: str, period: str, values: pd.DataFrame, lang: str) -> None:
    ind = queries.indicator(ind_code)
    c1, c2, c3 = st.columns([2, 2, 2] if ind["per_capita"] else [3, 3, 0.01])
    with c1:
        region = ui.region_picker(lang, similar=True)
    with c2:
        highlight = ui.province_picker(lang, allow_none=True, default="", label_key="filter.highlight")
    per_1000 = bool(ind["per_capita"]) and state.radio(
        "per", t("per1000.choice"), ["total", "1000"], "total", where=c3, lang=lang,
        format_func=lambda m: t("per1000.per_1000" if m == "1000" else "per1000.total"),
    ) == "1000"
    # per 1,000: a count per 1,000 inhabitants (approximate: the population bases differ)
    values, ind, _ = table_views.ranking_inputs(ind_code, period, per_1000)
    shown, _, _ = table_views.ranking_rows(ind_code, period, per_1000, region, highlight)
    if region == "similar" and highlight:  # the province and its similar provinces (core/similar.py)
        names = dict(zip(values["code"], values["name"]))
        peers = queries.similar_provinces(highlight)["code"]
        st.caption(t("similar.rankings_note", name=plain(names[highlight]), n=len(peers),
                     peers=", ".join(plain(names[c]) for c in peers)))
    elif region == "similar":
        st.info(t("similar.pick_province"))
    elif region != "all":
        st.caption(t("rankings.filtered_note"))
    name = ind["name_en" if lang == "en" else "name_vi"] + (f" {t('per1000.label')}" if per_1000 else "")
    fig = figures.ranking_bars(ind_code, period, lang, region, highlight, per_1000)
    ui.chart(fig, key="rankings.bars", filename=f"ranking_{ind_code}_{period}" + ("_per_1000" if per_1000 else ""),
             lang=lang, source_ids=shown["source_id"], period=period, demo=shown["is_demo"])
    shared = shown["rank"].dropna().astype(int).value_counts()
    if (shared > 1).any():  # "7, 7, 9": say that these are ties
        st.caption(t("rankings.ties", ranks=", ".join(str(r) for r in sorted(shared[shared > 1].index))))
    if per_1000:
        bases = queries.population_bases()
        st.caption(t("per1000.note", bases=", ".join(t("per1000.basis", basis=plain(b), n=n)
                                                     for b, n in zip(bases["basis"], bases["n"])),
                     total=fmt.number(bases["total"].sum(), 0, lang)))

    st.header(t("rankings.table"))
    table, styled = table_views.rankings(ind_code, period, lang, region, per_1000,
                                         highlight if region == "similar" else None)
    ui.table(styled)
    about = ui.table_about(ind, lang, period=period, source_ids=shown["source_id"], demo=shown["is_demo"],
                           page="rankings")
    scope = "" if region == "all" else f"similar_{highlight}" if region == "similar" and highlight else region
    ui.table_downloads(table, downloads.file_stem(name, period, scope), lang, key="rankings.table", about=about)


@ui.fragment
def movers_section(ind_code: str, period: str, values: pd.DataFrame, lang: str) -> None:
    st.header(t("rankings.movers"))
    available = queries.periods(ind_code)
    spans = [s for s in (1, 3, 6, 12) if fmt.add_months(period, -s) in available]
    if not spans:
        st.info(t("rankings.no_movers"))
        return
    span = state.radio(
        "span", t("filter.span"), spans, 3 if 3 in spans else spans[0],
        format_func=lambda n: t("filter.span_month") if n == 1 else t("filter.span_months", n=n), lang=lang,
    )
    start = fmt.add_months(period, -span)
    movers = queries.rank_movers(ind_code, start, period)
    if movers.empty or not (movers["change"] != 0).any():
        st.info(t("rankings.no_movers"))
        return
    highlight = state.resolve("province", queries.provinces()["code"].tolist() + [""], "", warn=False)
    fig = figures.movers(ind_code, start, period, lang, highlight or None)
    # Partly demo as soon as one of the two months' values is real (e.g. after a load).
    ui.chart(fig, key="rankings.movers", filename=f"movers_{ind_code}_{start}_{period}", lang=lang,
             source_ids=values["source_id"], start=start, end=period,
             demo=pd.concat([movers["demo_start"], movers["demo_end"]]))


ranking_section(ind_code, period, values, lang)
movers_section(ind_code, period, values, lang)
