"""Province profile: every indicator of one province with its rank among the 34 and a
sparkline; the Decision 766 index by group and which group drove the change on the previous
month; its 5 most similar provinces (core/similar.py) and how it compares with them; the
figures published about it (with their sources); a map and a table of its communes.
URL: /province?province=25&period=2025-09&indicator=online_application_rate&lang=vi"""

from __future__ import annotations

from dashboard.shell import ensure_app_shell

ensure_app_shell()  # before anything renders: see dashboard/shell.py

import streamlit as st

from charts import theme
from core import catalog, fmt, similar
from core.safety import plain
from dashboard import downloads, figures, queries, state, table_views, tables, ui
from dashboard.briefing import content as briefing_content
from dashboard.briefing import render as briefing_render

lang, t = ui.page_language()
HEADLINE = catalog.headline()
INDEX766 = catalog.by_role("index766")

st.title(t("profile.title"))
left, right = st.columns([3, 2])
with left:
    code = ui.province_picker(lang, default="01")
with right:
    period = ui.period_picker(HEADLINE.code, lang)
if code is None or period is None:
    st.info(t("app.no_data"))
    st.stop()

provs = queries.provinces()
prov = provs[provs["code"] == code].iloc[0].to_dict()
profile = queries.province_profile(code, period)
if profile.empty:
    st.info(t("app.no_data"))
    st.stop()
ui.demo_banner(profile["is_demo"], lang)
by_code = profile.set_index("code")

# ---- who: name, kind, region, size; headline figures
st.header(t("profile.heading", name=plain(prov["name"])))
st.caption(t(
    "profile.facts_line", kind=t(f"profile.kind_{prov['kind']}"),
    region=plain(prov["region_en" if lang == "en" else "region_vi"] or "–"),
    n=fmt.number(prov["n_communes"], 0, lang), area=fmt.number(prov["area_km2"], 0, lang),
))


def _metric(where, label: str, ind_code: str) -> None:
    if ind_code not in by_code.index:
        where.metric(label, "–")
        return
    row = by_code.loc[ind_code]
    where.metric(
        label, fmt.value(row["value"], row["unit"], int(row["decimals"]), lang),
        delta=fmt.change(row["value"], row["prev_value"], row["unit"], int(row["decimals"]), lang)
        if not fmt.is_missing(row["prev_value"]) else None,
        delta_color="normal" if row["higher_is_better"] else "inverse",
        help=t("profile.metric_rank", rank=fmt.rank(row["rank"], row["n_ranked"], lang)) + " · "
        + t("overview.vs_prev", period=fmt.month(fmt.add_months(period, -1), lang)),
        chart_data=[v for v in row["trend"] if not fmt.is_missing(v)] if row["trend"] is not None else None,
        border=True,
    )


m1, m2, m3 = st.columns(3)
_metric(m1, HEADLINE.name(lang), HEADLINE.code)
_metric(m2, t("profile.metric_i766", max=fmt.number(INDEX766.upper_bound, 0, lang)), INDEX766.code)
m3.metric(t("profile.metric_communes"), fmt.number(prov["n_communes"], 0, lang), border=True)

# ---- the month's briefing, Word and PDF (dashboard/briefing): made when a button is clicked
for where, kind in zip(st.columns([1, 1, 2])[:2], ("docx", "pdf"), strict=False):
    where.download_button(
        t(f"briefing.download_{kind}"), data=lambda kind=kind: briefing_render.document(code, period, lang, kind),
        file_name=briefing_content.file_name(prov["name"], period, lang, kind), help=t("briefing.download_help"),
        on_click="ignore", icon=":material/description:", key=f"profile.briefing_{kind}",
    )

# ---- every indicator: value, rank x/34 with ▲▼, 12-month sparkline
st.header(t("profile.indicators", period=fmt.month(period, lang)))
table, styled = table_views.province_indicators(code, period, lang)
trend_col = t("profile.col_trend")
ui.table(
    styled, key="profile.indicators",
    column_config={trend_col: st.column_config.LineChartColumn(trend_col, width="medium", color=theme.CATEGORICAL[0])},
)
st.caption(t("profile.indicators_help"))
ui.caption(profile["source_id"].unique(), lang, period=period, demo=profile["is_demo"])
ui.table_downloads(tables.for_download(table), downloads.file_stem(prov["name"], period), lang, key="profile.table")

# ---- Decision 766: the groups of the month's method, and which one drove the change
st.header(t("profile.i766"))
groups = tables.index766_groups(profile, period)
total = by_code["value"].get(INDEX766.code)
prev_total = by_code["prev_value"].get(INDEX766.code)
st.markdown(tables.index766_sentence(groups, total=total, prev_total=prev_total, name=prov["name"],
                                     period=period, lang=lang))
if not groups.empty and groups["value"].notna().all() and not fmt.is_missing(total):
    wf_col, bars_col = st.columns([3, 2])
    i766_rows = profile[profile["code"].isin((INDEX766.code, *groups["code"]))]
    marks = dict(lang=lang, source_ids=i766_rows["source_id"].unique(), period=period, demo=i766_rows["is_demo"],
                 caption=False)  # one caption under both charts and the table
    with wf_col:
        # No waterfall across a change of method: the two months' groups differ.
        if groups["delta"].notna().all() and not fmt.is_missing(prev_total):
            ui.chart(figures.index766_waterfall(code, period, lang), key="profile.i766_waterfall",
                     filename=f"i766_{code}_{period}", **marks)
    with bars_col:
        ui.chart(figures.index766_groups(code, period, lang), key="profile.i766_groups",
                 filename=f"i766_groups_{code}_{period}", **marks)
    st.dataframe(tables.index766_group_table(groups, total, prev_total, lang), hide_index=True, width="stretch",
                 key="profile.i766_table")
    ui.caption(i766_rows["source_id"].unique(), lang, period=period, demo=i766_rows["is_demo"])

# ---- the provinces most like it in context (core/similar.py, data/meta/similar.toml)
st.header(t("similar.title"))
peers = queries.similar_provinces(code)
scheme = similar.scheme()
st.markdown(t("similar.intro", n=len(peers), name=plain(prov["name"])))
peer_indicators = [(label, queries.indicator(c), queries.province_values(c, period)) for label, c in (
    (HEADLINE.name(lang), HEADLINE.code), (t("similar.col_i766"), INDEX766.code))]
ui.table(tables.similar_table(code, peers, provs, queries.similar_context(), peer_indicators, lang),
         key="profile.similar")
head_values = peer_indicators[0][2].set_index("code")["value"]
st.caption(t("similar.median_line", n=len(peers), name=plain(prov["name"]), indicator=HEADLINE.name(lang),
             period=fmt.month(period, lang),
             median=fmt.value(head_values.reindex(peers["code"]).median(), HEADLINE.unit_spec, HEADLINE.decimals, lang),
             value=fmt.value(head_values.get(code), HEADLINE.unit_spec, HEADLINE.decimals, lang)))
st.caption(t("similar.method", region=fmt.number(scheme.region, 1, lang)) + " " + t("similar.population_note"))
peer_names = dict(zip(provs["code"], provs["name"]))
for where, peer in zip(st.columns(len(peers)), peers["code"]):
    where.page_link("pages/4_province.py", label=t("similar.open_profile", name=plain(peer_names[peer])),
                    icon=":material/location_city:", query_params={"province": peer, "period": period, "lang": lang})
to_rankings, to_trends = st.columns(2)
to_rankings.page_link(
    "pages/2_rankings.py", label=t("similar.open_rankings", name=plain(prov["name"])), icon=":material/leaderboard:",
    query_params={"indicator": HEADLINE.code, "period": period, "region": "similar", "province": code, "lang": lang},
)
to_trends.page_link(
    "pages/3_trends.py", label=t("similar.open_trends", name=plain(prov["name"])), icon=":material/show_chart:",
    query_params={"indicator": HEADLINE.code, "compare": "similar", "province": code, "lang": lang},
)

# ---- what was published about the province: beside the monthly values, never mixed into them
st.header(t("published.title"))
published = queries.province_published(code)
if published.empty:
    st.caption(t("published.profile_none", name=plain(prov["name"])))
else:
    st.caption(t("published.profile_intro", name=plain(prov["name"])))
    st.dataframe(
        tables.published_table(published, lang), hide_index=True, width="stretch", key="profile.published",
        column_config={t("published.col_figure"): st.column_config.TextColumn(width="large"),
                       t("published.col_basis"): st.column_config.TextColumn(width="large"),
                       t("published.col_source"): st.column_config.LinkColumn(
                           display_text=r"https?://(?:www\.)?([^/]+)/.*")},
    )


# ---- the province's communes: map and ranks within the province
@ui.fragment
def communes_section(code: str, prov_name: str, period: str, lang: str) -> None:
    st.header(t("profile.map"))
    available = queries.commune_indicators()
    names = dict(zip(available["code"], available["name_en" if lang == "en" else "name_vi"]))
    pick, _ = st.columns([3, 2])
    ind_code = state.selectbox(
        "indicator", t("profile.map_indicator"), available["code"].tolist(), HEADLINE.code,
        format_func=lambda c: names.get(c, c), where=pick, warn_key="warn.unknown_indicator", lang=lang,
    )
    if period not in queries.periods(ind_code, "commune"):
        st.info(t("profile.no_commune_data", period=fmt.month(period, lang)))
        return
    communes = queries.province_communes(code, ind_code, period)
    ind_name = names.get(ind_code, ind_code)
    map_col, table_col = st.columns([3, 2])
    with map_col:
        ui.chart(figures.commune_map(code, ind_code, period, lang), key="profile.map",
                 filename=f"communes_{code}_{ind_code}_{period}", lang=lang,
                 source_ids=communes["source_id"].unique(), period=period, demo=communes["is_demo"], caption=False)
        st.caption(t("profile.map_note"))
        ui.caption(communes["source_id"].unique(), lang, period=period, demo=communes["is_demo"])
    with table_col:
        st.markdown("**" + t("profile.communes_table", name=plain(prov_name), indicator=plain(ind_name),
                             period=fmt.month(period, lang)) + "**")
        table, styled = table_views.province_communes(code, ind_code, period, lang)
        # The name says the kind ("Xã …", "Phường …"): without code and kind, the national rank fits at 1366 px.
        small = st.column_config.Column(width="small")
        ui.table(styled, height=560, key="profile.communes", column_config={
            t("communes.col_code"): None, t("communes.col_kind"): None, t("common.value"): small,
            t("communes.col_rank_province"): small, t("communes.col_rank_national"): small,
        })
    ui.table_downloads(table, downloads.file_stem(prov_name, ind_name, period), lang, key="profile.communes_dl")
    st.page_link(
        "pages/5_communes.py", label=t("profile.open_communes", name=plain(prov_name)),
        icon=":material/holiday_village:",
        query_params={"in_province": code, "indicator": ind_code, "period": period, "lang": lang},
    )


communes_section(code, prov["name"], period, lang)
