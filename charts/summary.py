"""A chart's text alternative: one sentence from the chart's own data, for a screen reader
(a chart is a picture to it). dashboard/figures.py puts it in ``layout.meta["summary"]`` and
``dashboard.ui.chart`` writes it, visually hidden, right after the chart.

"Phú Thọ: 88,01 %, hạng 9/34; cao nhất Huế 94,27 %; thấp nhất Hà Nội 50,83 %."
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd
import plotly.graph_objects as go

from core import fmt, i18n


def _value(value, indicator: dict, lang: str) -> str:
    return fmt.value(value, indicator["unit"], int(indicator["decimals"]), lang)


def _sentence(parts: Iterable[str], lang: str) -> str:
    parts = [p for p in parts if p]
    return "; ".join(parts) + "." if parts else i18n.t("summary.none", lang)


def ranking(df: pd.DataFrame, *, indicator: dict, lang: str, focus: str | None = None) -> str:
    """Of one value per unit (``name``, ``value``; ``code``, ``rank``, ``n_ranked`` when
    known): the ``focus`` unit's value and rank (a code), the highest and the lowest."""
    known = df.dropna(subset=["value"])
    if known.empty:
        return i18n.t("summary.none", lang)
    parts = []
    if focus is not None and "code" in known:
        row = known[known["code"] == focus]
        if len(row):
            row = row.iloc[0]
            rank = fmt.rank(row.get("rank"), row.get("n_ranked"), lang)
            parts.append(i18n.t("summary.focus", lang, name=row["name"], value=_value(row["value"], indicator, lang),
                                rank=rank))
    top, bottom = known.loc[known["value"].idxmax()], known.loc[known["value"].idxmin()]
    parts.append(i18n.t("summary.highest", lang, name=top["name"], value=_value(top["value"], indicator, lang)))
    parts.append(i18n.t("summary.lowest", lang, name=bottom["name"], value=_value(bottom["value"], indicator, lang)))
    return _sentence(parts, lang)


def series(df: pd.DataFrame, *, indicator: dict, lang: str) -> str:
    """Of monthly lines (``name``, ``period``, ``value``): each line's first and last value."""
    parts = []
    for name, line in df.dropna(subset=["value"]).sort_values("period").groupby("name", sort=False):
        first, last = line.iloc[0], line.iloc[-1]
        parts.append(i18n.t(
            "summary.series", lang, name=name, start=_value(first["value"], indicator, lang),
            start_month=fmt.month(first["period"], lang), end=_value(last["value"], indicator, lang),
            end_month=fmt.month(last["period"], lang)))
    return _sentence(parts, lang)


def movers(df: pd.DataFrame, lang: str) -> str:
    """Of rank changes (``name``, ``change``: places gained): who rose and who fell most."""
    moved = df.dropna(subset=["change"])
    parts = []
    if len(moved) and moved["change"].max() > 0:
        up = moved.loc[moved["change"].idxmax()]
        parts.append(i18n.t("summary.rose", lang, name=up["name"], change=fmt.number(up["change"], 0, lang, sign=True)))
    if len(moved) and moved["change"].min() < 0:
        down = moved.loc[moved["change"].idxmin()]
        parts.append(i18n.t("summary.fell", lang, name=down["name"],
                            change=fmt.number(down["change"], 0, lang, sign=True)))
    return _sentence(parts, lang)


def counts(values: pd.Series, lang: str) -> str:
    """Of a histogram of criteria met: how many communes, and the most common count."""
    known = values.dropna()
    if known.empty:
        return i18n.t("summary.none", lang)
    common = known.value_counts()
    return i18n.t("summary.counts", lang, n=fmt.number(len(known), 0, lang), value=fmt.number(common.index[0], 0, lang),
                  count=fmt.number(common.iloc[0], 0, lang)) + "."


def attach(fig: go.Figure, sentence: str) -> go.Figure:
    """The figure with its sentence in ``layout.meta`` (read by ``dashboard.ui.chart``)."""
    fig.update_layout(meta={"summary": sentence})
    return fig


def of(fig: go.Figure) -> str | None:
    meta = fig.layout.meta
    return meta.get("summary") if isinstance(meta, dict) else None
