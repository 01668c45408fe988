"""Needs attention: the month's exceptions for the country or one province, each rule in
words with its items (numbers, link to the profile), and the same list as a plain-text
digest with a copy button. URL: /attention?in_province=NN&period=YYYY-MM&lang=vi"""

from __future__ import annotations

from dashboard.shell import ensure_app_shell

ensure_app_shell()  # before anything renders: see dashboard/shell.py

import pandas as pd
import streamlit as st

from core import attention, catalog, fmt
from core.safety import plain
from dashboard import queries, state, ui

lang, t = ui.page_language()
st.title(t("attention.title"))

provs = queries.provinces()
names = dict(zip(provs["code"], provs["name"]))
left, right = st.columns([3, 2])
province = state.selectbox(  # its own parameter (as on Communes): the Overview's narrated province is no scope
    "in_province", t("attention.scope"), [""] + provs.sort_values("name")["code"].tolist(), "",
    format_func=lambda c: names.get(c, t("attention.country")), where=left,
    warn_key="warn.unknown_province", lang=lang,
) or None
period = ui.period_picker(catalog.headline().code, lang, right)
if period is None:
    st.info(t("app.no_data"))
    st.stop()

found = queries.attention(period, province)
ui.demo_banner(found.is_demo, lang)
st.caption(t("attention.intro"))


def link(item: dict) -> str:
    page, key = ("province", "province") if item["level"] == "province" else ("communes", "commune")
    return f"/{page}?{key}={item['unit_code']}&period={period}&lang={lang}"


def table(items: pd.DataFrame) -> pd.DataFrame:
    rows = items.to_dict("records")
    return pd.DataFrame({
        t("attention.col_unit"): [attention.unit_label(r, lang, with_province=province is None) for r in rows],
        t("attention.col_indicator"): [attention.indicator_name(r, lang) for r in rows],
        t("attention.col_detail"): [attention.detail(r, lang) for r in rows],
        t("attention.col_link"): [link(r) for r in rows],
    })


for number, rule in enumerate(attention.RULES, start=1):
    items = found.of(rule)
    count = t("attention.count", n=fmt.number(len(items), 0, lang))
    st.header(f"{number}. {t(f'attention.heading.{rule}')} · {count}")
    st.caption(plain(attention.rule_text(rule, lang)))
    if rule == "bands_766":
        st.caption(plain(", ".join(f"{attention.band_label(b, lang)}: {fmt.number(n, 0, lang)}"
                                   for b, n in enumerate(found.band_counts))))
    if items.empty:
        st.write(t("attention.none"))
        continue
    st.dataframe(table(items), hide_index=True, width="stretch", key=f"attention.{rule}",
                 column_config={t("attention.col_link"): st.column_config.LinkColumn(
                     display_text=t("attention.open_link"))})

st.header(t("attention.digest"))
text = attention.digest(found, lang)
st.caption(t("attention.digest_help"))
st.code(text, language=None, wrap_lines=True)  # no scrolled box a keyboard cannot reach
st.download_button(t("attention.download"), data=text.encode("utf-8"), mime="text/plain",
                   file_name=f"can-chu-y_{province or 'ca-nuoc'}_{period}.txt", on_click="ignore",
                   icon=":material/download:")
