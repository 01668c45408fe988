"""Finished tables of the pages (Overview, Rankings, the province profile), cached like their
figures, and the rows a ranking shows (the page, its figure and its deck slide agree).

A table (numbers, for the downloads) and its Styler (``tables.rendered_once``: cells written
once) per (arguments, warehouse signature), shared by every session (``st.cache_resource``;
nothing changes them after they are built). A warm rerun then neither rebuilds the table,
nor projects the provinces again, nor writes its cells: about 15 ms of the Rankings page.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st
from pandas.io.formats.style import Styler

from core import i18n
from dashboard import db, outlook, queries, tables, ui

cached_table = db.cached_per_warehouse(st.cache_resource, max_entries=256)


def ranking_inputs(ind_code: str, period: str, per_1000: bool) -> tuple[pd.DataFrame, dict, dict | None]:
    """The values a ranking shows, its indicator and what it is compared with: the count per
    1,000 inhabitants against the provinces' median, else the indicator's comparison value."""
    ind = queries.indicator(ind_code)
    if per_1000:
        values = queries.per_1000(ind_code, period)
        return values, ui.per_1000_indicator(ind), {"value": float(values["value"].median()), "kind": "median"}
    return queries.province_values(ind_code, period), ind, queries.comparison_value(ind_code, period)


def ranking_rows(ind_code: str, period: str, per_1000: bool, region: str,
                 highlight: str | None) -> tuple[pd.DataFrame, dict, dict | None]:
    """The provinces a ranking shows (a region's; region 'similar': ``highlight`` and its
    similar provinces, compared with their median), its indicator and its comparison."""
    values, ind, national = ranking_inputs(ind_code, period, per_1000)
    if region == "similar" and highlight:
        shown, national = _with_peers(values, highlight)
    else:
        shown = values if region in ("all", "similar") else values[values["region"] == region]
    return shown, ind, national


def _with_peers(values: pd.DataFrame, province_code: str) -> tuple[pd.DataFrame, dict]:
    """A ranking (``values``) cut to the province and its similar provinces, and what they are
    compared with: the median of the similar provinces' values (kind 'peers')."""
    peers = queries.similar_provinces(province_code)["code"].tolist()
    peer_values = values.loc[values["code"].isin(peers), "value"].dropna()
    median = float(peer_values.median()) if len(peer_values) else float("nan")
    return (values[values["code"].isin([province_code, *peers])],
            {"value": median, "kind": "peers", "n_units": len(peer_values)})


@cached_table
def rankings(ind_code: str, period: str, lang: str, region: str, per_1000: bool,
             peers_of: str | None = None) -> tuple[pd.DataFrame, Styler]:
    """The Rankings table of one region ('all': the country; 'similar': ``peers_of`` and its
    similar provinces), with where each province is heading."""
    shown, ind, national = ranking_rows(ind_code, period, per_1000, region, peers_of)
    table = tables.rankings_table(shown, ind, national, ui.national_target(ind), lang)
    if (heading := outlook.column(ind_code, period, shown["code"], lang)) is not None:
        table[i18n.t("outlook.column", lang)] = heading  # where each province is heading (core/projection.py)
    return table, tables.shown(table)


@cached_table
def top_and_bottom(ind_code: str, period: str, lang: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The Overview's five best and five worst provinces, as text for a static table."""
    ranked = queries.province_values(ind_code, period).dropna(subset=["rank"]).sort_values("rank")
    ind = queries.indicator(ind_code)
    return (tables.written(tables.top_table(ranked.head(5), ind, lang)),
            tables.written(tables.top_table(ranked.tail(5), ind, lang)))


@cached_table
def province_indicators(code: str, period: str, lang: str) -> tuple[pd.DataFrame, Styler]:
    """The profile's every indicator of one province and month (value, rank, sparkline)."""
    table = tables.profile_table(queries.province_profile(code, period), lang)
    return table, tables.shown(table)


@cached_table
def province_communes(code: str, ind_code: str, period: str, lang: str) -> tuple[pd.DataFrame, Styler]:
    """The profile's communes of one province, ranked within it and in the country."""
    communes = queries.province_communes(code, ind_code, period)
    table = tables.commune_table(communes, queries.indicator(ind_code), lang, with_province=False,
                                 with_criteria=False)
    return table, tables.shown(table)
