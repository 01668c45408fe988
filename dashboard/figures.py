"""Finished figures of pages 1–3: query (dashboard.queries) + chart (charts.*), cached.

A figure is a pure function of its arguments and the warehouse file, so it is built once
per (arguments, warehouse signature) and shared by every session (``st.cache_resource``;
Streamlit only reads a figure when it draws it). A warm rerun then costs no plotly
validation at all. ``DX_NO_CACHE=1`` turns the cache off (benchmarks).
"""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from charts import maps, rankings, trends
from core import catalog, fmt, i18n
from dashboard import db, queries, ui


cached_figure = db.cached_per_warehouse(st.cache_resource, max_entries=256)


def _name(ind: dict, lang: str) -> str:
    return ind["name_en" if lang == "en" else "name_vi"]


@cached_figure
def overview_map(ind_code: str, period: str, lang: str, highlight: str | None, geojson: str | None) -> go.Figure:
    """Choropleth of the 34 provinces (``geojson``: served URL, or None for the dict)."""
    ind = queries.indicator(ind_code)
    values = queries.province_values(ind_code, period)
    title = i18n.t("overview.map_title", lang, indicator=_name(ind, lang), period=fmt.month(period, lang))
    return maps.choropleth(values, indicator=ind, lang=lang, highlight=highlight, title=title,
                           geojson=geojson or maps.provinces_geojson())


@cached_figure
def ranking_bars(ind_code: str, period: str, lang: str, region: str, highlight: str | None) -> go.Figure:
    ind = queries.indicator(ind_code)
    values = queries.province_values(ind_code, period)
    shown = values if region == "all" else values[values["region"] == region]
    return rankings.ranking_bars(
        shown, indicator=ind, lang=lang, national=queries.national_value(ind_code, period),
        target=ui.national_target(ind), highlight=highlight,
        title=i18n.t("rankings.chart_title", lang, indicator=_name(ind, lang), period=fmt.month(period, lang)),
    )


@cached_figure
def movers(ind_code: str, start: str, end: str, lang: str, highlight: str | None) -> go.Figure:
    return rankings.movers_chart(
        queries.rank_movers(ind_code, start, end), lang=lang, highlight=highlight,
        title=i18n.t("rankings.movers_title", lang, start=fmt.month(start, lang), end=fmt.month(end, lang)),
    )


@cached_figure
def trend(ind_code: str, codes: tuple[str, ...], lang: str, start: str | None) -> go.Figure:
    ind = queries.indicator(ind_code)
    return trends.trend_chart(
        queries.province_series(ind_code, codes), queries.national_series(ind_code), indicator=ind,
        lang=lang, target=ui.national_target(ind), events=queries.events(),
        title=i18n.t("trends.chart_title", lang, indicator=_name(ind, lang)), start=start,
    )


@cached_figure
def spending(year: int, scope: str, lang: str, scope_name: str) -> go.Figure:
    target = ui.national_target(queries.indicator(catalog.by_role("spending_rate").code))
    return trends.spending_chart(
        queries.spending(int(year), None if scope == "national" else scope), lang=lang,
        target_rate=target["value"] if target else None,
        title=i18n.t("trends.spending_title", lang, year=year, scope=scope_name),
    )
