"""Finished figures of every page: query (dashboard.queries) + chart (charts.*), cached.

A figure is a pure function of its arguments and the warehouse file, so it is built once
per (arguments, warehouse signature) and shared by every session (``st.cache_resource``;
Streamlit only reads a figure when it draws it). A warm rerun then costs no plotly
validation at all. ``DX_NO_CACHE=1`` turns the cache off (benchmarks).
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from charts import communes, maps, outlook, profile, rankings, summary, trends
from core import catalog, fmt, i18n
from dashboard import db, queries, table_views, tables, ui

cached_figure = db.cached_per_warehouse(st.cache_resource, max_entries=256)


def _name(ind: dict, lang: str) -> str:
    return ind["name_en" if lang == "en" else "name_vi"]


@cached_figure
def overview_map(ind_code: str, period: str, lang: str, highlight: str | None, geojson: str | None) -> go.Figure:
    """Choropleth of the 34 provinces (``geojson``: served URL, or None for the dict)."""
    ind = queries.indicator(ind_code)
    values = queries.province_values(ind_code, period)
    title = i18n.t("overview.map_title", lang, indicator=_name(ind, lang), period=fmt.month(period, lang))
    fig = maps.choropleth(values, indicator=ind, lang=lang, highlight=highlight, title=title,
                          geojson=geojson or maps.provinces_geojson())
    return summary.attach(fig, summary.ranking(values, indicator=ind, lang=lang, focus=highlight))


@cached_figure
def ranking_bars(ind_code: str, period: str, lang: str, region: str, highlight: str | None,
                 per_1000: bool = False) -> go.Figure:
    """The ranking of the provinces (``per_1000``: of a count per 1,000 inhabitants, compared
    with the provinces' median; ``region`` 'similar': of ``highlight`` and its similar provinces,
    compared with their median)."""
    shown, ind, national = table_views.ranking_rows(ind_code, period, per_1000, region, highlight)
    name = f"{_name(ind, lang)} {i18n.t('per1000.label', lang)}" if per_1000 else _name(ind, lang)
    fig = rankings.ranking_bars(
        shown, indicator=ind, lang=lang, national=national, target=ui.national_target(ind), highlight=highlight,
        title=i18n.t("rankings.chart_title", lang, indicator=name, period=fmt.month(period, lang)),
    )
    return summary.attach(fig, summary.ranking(shown, indicator=ind, lang=lang, focus=highlight))


@cached_figure
def movers(ind_code: str, start: str, end: str, lang: str, highlight: str | None) -> go.Figure:
    moved = queries.rank_movers(ind_code, start, end)
    fig = rankings.movers_chart(
        moved, lang=lang, highlight=highlight,
        title=i18n.t("rankings.movers_title", lang, start=fmt.month(start, lang), end=fmt.month(end, lang)),
    )
    return summary.attach(fig, summary.movers(moved, lang))


@cached_figure
def trend(ind_code: str, codes: tuple[str, ...], lang: str, start: str | None, until: str | None = None) -> go.Figure:
    """``until``: the last month drawn (a deck for September stops there), None for all."""
    ind = queries.indicator(ind_code)
    series, national = queries.province_series(ind_code, codes), queries.national_series(ind_code)
    published = queries.published_points(ind_code, codes)
    published = published.assign(name=published["name"].fillna(i18n.t("published.national", lang)))
    if until:
        series, national = series[series["period"] <= until], national[national["period"] <= until]
        published = published[published["period"] <= until]
    fig = trends.trend_chart(
        series, national, indicator=ind,
        lang=lang, target=ui.national_target(ind), events=queries.events(ind["topic"]),
        title=i18n.t("trends.chart_title", lang, indicator=_name(ind, lang)), start=start, published=published,
    )
    if len(series):  # a rate with a target: each line continues dashed to its deadline (core/projection.py)
        last = series["period"].max()
        outlook.add_projections(fig, queries.outlooks(ind_code, last), last, indicator=ind, lang=lang)
    lines = pd.concat([series[["name", "period", "value"]],
                       national.assign(name=i18n.t("common.national", lang))[["name", "period", "value"]]])
    shown = lines[lines["period"] >= (start or "")]
    return summary.attach(fig, summary.series(shown, indicator=ind, lang=lang))


@cached_figure
def spending(year: int, scope: str, lang: str, scope_name: str, until: str | None = None) -> go.Figure:
    """``until``: the last month drawn (a deck for September stops there), None for all."""
    rate = queries.indicator(catalog.by_role("spending_rate").code)
    target = ui.national_target(rate)
    df = queries.spending(int(year), None if scope == "national" else scope)
    df = df[df["period"] <= until] if until else df
    fig = trends.spending_chart(
        df, lang=lang, target_rate=target["value"] if target else None,
        title=i18n.t("trends.spending_title", lang, year=year, scope=scope_name),
    )
    line = df.assign(name=_name(rate, lang), value=df["rate_cum"])
    return summary.attach(fig, summary.series(line, indicator=rate, lang=lang))


# --------------------------------------------------------------------------- Province profile

def _index766(code: str, period: str) -> tuple:
    """The province's Decision 766 groups of the month's method, its total and last month's total."""
    rows = queries.province_profile(code, period)
    by_code = rows.set_index("code")
    total_code = catalog.by_role("index766").code
    return (tables.index766_groups(rows, period), by_code["value"].get(total_code),
            by_code["prev_value"].get(total_code))


@cached_figure
def index766_waterfall(code: str, period: str, lang: str) -> go.Figure:
    groups, total, prev_total = _index766(code, period)
    fig = profile.index766_waterfall(
        groups, total=total, prev_total=prev_total, period=period, lang=lang,
        title=i18n.t("profile.i766_waterfall_title", lang, prev=fmt.month_short(fmt.add_months(period, -1), lang),
                     period=fmt.month_short(period, lang)),
    )
    return summary.attach(fig, _groups_summary(groups.assign(value=groups["delta"]), lang))


@cached_figure
def index766_groups(code: str, period: str, lang: str) -> go.Figure:
    groups, _total, _prev = _index766(code, period)
    fig = profile.index766_groups_chart(
        groups, lang=lang, title=i18n.t("profile.i766_groups_title", lang, period=fmt.month_short(period, lang)),
        height=440,
    )
    return summary.attach(fig, _groups_summary(groups, lang))


def _groups_summary(groups, lang: str) -> str:
    """The Decision 766 groups' highest and lowest value (or change), in the index's points."""
    return summary.ranking(groups.assign(name=groups["name_en" if lang == "en" else "name_vi"]),
                           indicator=queries.indicator(catalog.by_role("index766").code), lang=lang)


@cached_figure
def commune_map(code: str, ind_code: str, period: str, lang: str) -> go.Figure:
    ind = queries.indicator(ind_code)
    provinces = queries.provinces()
    name = provinces.loc[provinces["code"] == code, "name"].iloc[0]
    shown = queries.province_communes(code, ind_code, period)
    fig = profile.commune_map(
        shown, indicator=ind, province_code=code, lang=lang,
        title=i18n.t("profile.map_title", lang, indicator=_name(ind, lang), name=name, period=fmt.month(period, lang)),
    )
    return summary.attach(fig, summary.ranking(shown, indicator=ind, lang=lang))


# --------------------------------------------------------------------------- Communes

@cached_figure
def criteria_histogram(ind_code: str, period: str, province: str | None, kinds: tuple[str, ...], criteria_min: int,
                       criteria_max: int, search: str, lang: str) -> go.Figure:
    shown = queries.communes_shown(ind_code, period, province, kinds, criteria_min, criteria_max, search)
    fig = communes.criteria_histogram(
        shown["criteria_met"], lang=lang, height=300,
        title=i18n.t("communes.histogram_title", lang, period=fmt.month(period, lang)),
    )
    return summary.attach(fig, summary.counts(shown["criteria_met"], lang))


@cached_figure
def commune_trend(code: str, ind_code: str, period: str, lang: str) -> go.Figure:
    """One commune's monthly series, with its province's beside it when they compare (not for counts)."""
    ind = queries.indicator(ind_code)
    everyone = queries.communes()
    row = everyone[everyone["code"] == code].iloc[0]
    series = queries.commune_profile(code)
    province = None
    if ind["aggregation"] != "sum":  # a province total is not comparable with a commune count
        province = queries.province_series(ind_code, (row["province_code"],))
    own = series[series["indicator"] == ind_code]
    fig = communes.commune_trend(
        own, indicator=ind, commune_name=row["name"], lang=lang,
        province=province, province_name=row["province_name"], height=480, period=period,
        title=i18n.t("communes.trend_title", lang, indicator=_name(ind, lang), name=row["name"]),
    )
    lines = [own.assign(name=row["name"])[["name", "period", "value"]]]
    if province is not None:
        lines.append(province.assign(name=row["province_name"])[["name", "period", "value"]])
    return summary.attach(fig, summary.series(pd.concat(lines), indicator=ind, lang=lang))
