"""Communes: find any of the 3,321 communes by name (diacritics optional), filter by
province, kind and DX criteria met, rank them within their province and nationally for one
indicator and month, and drill down into one commune's monthly series and ranks.
URL: /communes?q=quang+dien&in_province=46&kind=xa,phuong&criteria=0-17&indicator=…&period=YYYY-MM&commune=19867"""

from __future__ import annotations

from dashboard.shell import ensure_app_shell

ensure_app_shell()  # before anything renders: see dashboard/shell.py

import streamlit as st

from charts import theme
from core import catalog, fmt
from core.safety import plain
from dashboard import downloads, figures, inputs, queries, state, tables, ui

lang, t = ui.page_language()
MAX_PICK = 100  # communes offered in the drill-down select box (search finds the others)

st.title(t("communes.title"))

# ---- filters: what to rank, and which communes
available = queries.commune_indicators()
ind_names = dict(zip(available["code"], available["name_en" if lang == "en" else "name_vi"]))
c1, c2 = st.columns([3, 2])
ind_code = state.selectbox(
    "indicator", t("filter.indicator"), available["code"].tolist(), catalog.headline().code,
    format_func=lambda c: ind_names.get(c, c), where=c1, warn_key="warn.unknown_indicator", lang=lang,
)
period = ui.period_picker(ind_code, lang, c2, level="commune")
if period is None:
    st.info(t("app.no_data"))
    st.stop()
ind = queries.indicator(ind_code)

provs = queries.provinces()
prov_names = dict(zip(provs["code"], provs["name"]))
prov_labels = ui.province_labels()  # 'Phú Thọ (Phu Tho)': found by typing without diacritics
f1, f2, f3 = st.columns([2, 2, 3])
province = state.selectbox(  # its own parameter: a province chosen elsewhere is no filter here
    "in_province", t("filter.province"), [""] + provs.sort_values("name")["code"].tolist(), "",
    format_func=lambda c: prov_labels.get(c, t("communes.all_provinces")), where=f1,
    warn_key="warn.unknown_province", lang=lang,
) or None
kind_codes = state.multiselect(
    "kind", t("communes.filter_kind"), list(tables.KINDS), list(tables.KINDS),
    format_func=lambda k: t(f"kind.{k}"), where=f2, lang=lang, wrap=True,  # "Đặc khu" was cut at 1366 px
)
n_criteria = catalog.criteria_max()
crit_lo, crit_hi = inputs.int_range("criteria", t("communes.filter_criteria", max=n_criteria), 0, n_criteria,
                                    where=f3, lang=lang)
query = inputs.text("q", t("communes.search"), placeholder=t("communes.search_placeholder"))

kinds = tuple(tables.KINDS[k] for k in kind_codes)
everyone = queries.communes()
n_total = len(everyone)
shown = queries.communes_shown(ind_code, period, province, kinds, crit_lo, crit_hi, query)
ui.demo_banner(shown["is_demo"], lang)

# ---- the ranking table
st.markdown(t("communes.count", n=fmt.number(len(shown), 0, lang), total=fmt.number(n_total, 0, lang)))
if shown.empty:
    st.info(t("communes.no_hits", q=plain(query)) if query else t("app.no_data"))
    hits = queries.search_communes(query, limit=n_total) if query else None
    if hits is not None and len(hits):
        elsewhere = ", ".join(plain(f"{n} ({p})") for n, p in zip(hits["name"].head(5), hits["province_name"].head(5)))
        st.caption(t("communes.hits_elsewhere", n=fmt.number(len(hits), 0, lang), names=elsewhere))
else:
    st.markdown("**" + t("communes.table_title", indicator=plain(ind_names[ind_code]),
                         period=fmt.month(period, lang)) + "**")
    table = tables.commune_table(shown, ind, lang)
    ui.table(table, height=min(420, 35 * (len(table) + 1) + 3), key="communes.table")
    ui.caption(shown["source_id"].unique(), lang, period=period, demo=shown["is_demo"])
    ui.table_downloads(
        table, downloads.file_stem(ind_names[ind_code], period, prov_names.get(province or "", ""), query),
        lang, key="communes.table_dl",
    )
    ui.chart(figures.criteria_histogram(ind_code, period, province, kinds, crit_lo, crit_hi, query, lang),
             key="communes.criteria", filename=f"criteria_{period}", lang=lang,
             source_ids=shown["source_id"].unique(), period=period, demo=shown["is_demo"])


# ---- drill-down: one commune
@ui.fragment
def drill_down(ind: dict, period: str, candidates: list[str], everyone, lang: str) -> None:
    st.header(t("communes.drill"))
    labels = dict(zip(everyone["code"].tolist(), (everyone["name"] + " · " + everyone["province_name"]).tolist()))
    label = lambda c: labels.get(c, c)
    raw = st.query_params.get("commune")
    from_url = raw is not None and raw != st.session_state.get(state._URL + "commune")
    default = candidates[0] if candidates else None
    current = state.resolve(
        "commune", list(labels), default, format_func=lambda c: label(c) if c else "–",
        warn_key="communes.unknown_commune", lang=lang,
    )
    options = list(candidates)
    if current is not None and current not in options:
        if from_url or not options:
            options = [current] + options
        else:
            current = options[0]
            state.set_value("commune", current)
    if not options:
        st.info(t("app.no_data"))
        return
    pick, _ = st.columns([3, 2])
    code = state.selectbox(
        "commune", t("communes.pick"), options, current, format_func=label, where=pick,
        help=t("communes.pick_help"), lang=lang,
    )
    row = everyone[everyone["code"] == code].iloc[0].to_dict()
    st.markdown(f"### {plain(row['name'])}")
    st.caption(t(
        "communes.detail_line", kind=tables.kind_label(row["kind"], lang), province=plain(row["province_name"]),
        code=plain(code), area=fmt.number(row["area_km2"], 1, lang),
    ))
    profile = queries.commune_profile(code)
    if profile.empty:
        st.info(t("app.no_data"))
        return
    shown_period = period if period in set(profile["period"]) else profile["period"].max()

    st.markdown(f"**{t('communes.indicators_title', name=plain(row['name']), period=fmt.month(shown_period, lang))}**")
    table = tables.commune_indicator_table(profile, shown_period, lang)
    trend_col = t("profile.col_trend")
    st.dataframe(
        table, hide_index=True, width="stretch", key="communes.detail", height=35 * (len(table) + 1) + 3,
        column_config={trend_col: st.column_config.LineChartColumn(trend_col, width="medium",
                                                                   color=theme.CATEGORICAL[0])},
    )
    ui.caption(profile["source_id"].unique(), lang, period=shown_period, demo=profile["is_demo"])
    ind_code = ind["code"]
    series = profile[profile["indicator"] == ind_code]
    first, last = (series["period"].min(), series["period"].max()) if len(series) else (None, None)
    ui.chart(figures.commune_trend(code, ind_code, shown_period, lang), key="communes.trend",
             filename=f"commune_{code}_{ind_code}", lang=lang, source_ids=series["source_id"].unique(),
             start=first, end=last, demo=series["is_demo"], caption=bool(len(series)))
    ui.table_downloads(tables.commune_history_table(profile, lang),
                       downloads.file_stem(row["name"], row["province_name"]), lang, key="communes.detail_dl")
    st.page_link(
        "pages/4_province.py", label=t("communes.open_profile", name=plain(row["province_name"])),
        icon=":material/location_city:",
        query_params={"province": row["province_code"], "period": shown_period, "lang": lang},
    )


drill_down(ind, period, shown["code"].head(MAX_PICK).tolist(), everyone, lang)
