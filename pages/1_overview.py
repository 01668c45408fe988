"""Overview: headline figures, map of the 34 provinces, top/bottom 5 and a written summary
for one indicator and month. URL: /overview?indicator=…&period=YYYY-MM&province=NN&lang=vi"""

from __future__ import annotations

from dashboard.shell import ensure_app_shell

ensure_app_shell()  # before anything renders: see dashboard/shell.py

import streamlit as st

from core import fmt
from core.safety import plain
from dashboard import figures, narrative, outlook, queries, table_views, ui

lang, t = ui.page_language()

st.title(t("overview.title"))
ind_code, period = ui.indicator_and_month(lang)

ind = queries.indicator(ind_code)
unit, decimals = ind["unit"], int(ind["decimals"])
values = queries.province_values(ind_code, period)
ranked = values.dropna(subset=["rank"]).sort_values("rank")
national = queries.national_value(ind_code, period)
previous = queries.national_value(ind_code, fmt.add_months(period, -1))
target = ui.national_target(ind)
n_met = narrative.count_meeting(values["value"], target)
n_total = int(values["value"].notna().sum())

ui.demo_banner(values["is_demo"], lang)

# ---- headline figures
m1, m2, m3, m4 = st.columns(4)
if national:
    is_median = national["kind"] == "median"
    delta = (
        fmt.change(national["value"], previous["value"], unit, decimals, lang)
        if previous else None
    )
    m1.metric(
        t("overview.national_median" if is_median else "overview.national_value"),
        fmt.value(national["value"], unit, decimals, lang),
        delta=delta,
        delta_color="normal" if ind["higher_is_better"] else "inverse",
        help=t("overview.vs_prev", period=fmt.month(fmt.add_months(period, -1), lang)),
    )
if target:
    m2.metric(
        t("overview.meeting_target"),
        t("overview.meeting_target_value", n=n_met, total=n_total),
        help=plain(target["basis"]) if target.get("basis") else None,
    )
else:
    m2.metric(t("overview.meeting_target"), "–", help=t("overview.no_target"))
if len(ranked):
    best, worst = ranked.iloc[0], ranked.iloc[-1]
    m3.metric(t("overview.best"), plain(best["name"]), delta=fmt.value(best["value"], unit, decimals, lang),
              delta_color="off", delta_arrow="off")
    m4.metric(t("overview.worst"), plain(worst["name"]), delta=fmt.value(worst["value"], unit, decimals, lang),
              delta_color="off", delta_arrow="off")
if heading := outlook.summary(ind_code, period, lang):  # where provinces are heading (core/projection.py)
    st.caption(heading)


@ui.fragment
def summary_and_map(ind_code: str, period: str, lang: str) -> None:
    """Province picker, written summary and map (a province change reruns only this part)."""
    ind = queries.indicator(ind_code)
    values = queries.province_values(ind_code, period)
    ranked = values.dropna(subset=["rank"]).sort_values("rank")
    default = ranked["code"].iloc[0] if len(ranked) else None
    st.header(t("overview.narrative"))
    pick, text = st.columns([1, 3])
    with pick:
        code = ui.province_picker(lang, default=default, label_key="filter.province_narrate", auto=True)
    row = values[values["code"] == code]
    national = queries.national_value(ind_code, period)
    previous = queries.national_value(ind_code, fmt.add_months(period, -1))
    target = ui.national_target(ind)
    with text:
        lines = [
            narrative.national_sentence(
                ind, lang, period=period, national=national, previous=previous,
                n_met=narrative.count_meeting(values["value"], target),
                total=int(values["value"].notna().sum()),
            )
        ]
        if len(row):
            record = row.iloc[0].to_dict()
            lines.append(narrative.province_sentence(record, ind, lang, period=period))
            lines.append(narrative.comparison_sentence(record, ind, lang, queries.comparison_value(ind_code, period),
                                                       target))
        for line in lines:
            if line:
                st.markdown(f"- {line}")

    map_col, table_col = st.columns([3, 2])
    with map_col:
        geojson = ui.province_geojson()
        fig = figures.overview_map(ind_code, period, lang, code, geojson if isinstance(geojson, str) else None)
        ui.chart(fig, key="overview.map", filename=f"map_{ind_code}_{period}", lang=lang,
                 source_ids=values["source_id"], period=period, demo=values["is_demo"])
    with table_col:
        top, bottom = table_views.top_and_bottom(ind_code, period, lang)
        st.markdown(f"**{t('overview.top5')}**")
        st.table(top, hide_index=True, border="horizontal")
        st.markdown(f"**{t('overview.bottom5')}**")
        st.table(bottom, hide_index=True, border="horizontal")
        ui.caption(values["source_id"], lang, period=period, demo=values["is_demo"])


summary_and_map(ind_code, period, lang)
