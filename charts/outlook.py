"""Projections on the trend chart: for each drawn province with a projection
(``queries.outlooks``), a dashed line from its last point to the projected value at the
target's deadline, inside a shaded band, in the province's colour."""

from __future__ import annotations

import html

import pandas as pd
import plotly.graph_objects as go

from charts import labels
from charts.trends import month_date
from core import fmt, i18n


def _fill(colour: str, alpha: float = 0.15) -> str:
    """'#1f77b4' -> 'rgba(31,119,180,0.15)'."""
    value = colour.lstrip("#")
    red, green, blue = (int(value[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({red},{green},{blue},{alpha})"


def add_projections(fig: go.Figure, outlooks: pd.DataFrame, period: str, *, indicator: dict,
                    lang: str) -> go.Figure:
    """Add the projection of every province whose line ends at ``period`` (the month the
    projection starts from); provinces without one, or past the deadline, get nothing."""
    unit, decimals = labels.unit_of(indicator), int(indicator["decimals"])
    by_code = outlooks.dropna(subset=["projected"]).set_index("code")
    for trace in list(fig.data):
        meta = trace.meta or {}
        code = meta.get("series")
        if meta.get("segment") != "current" or code not in by_code.index or not len(trace.x):
            continue
        if trace.x[-1] != month_date(period):
            continue
        row, start, last = by_code.loc[code], trace.x[-1], trace.y[-1]
        end = month_date(row["deadline"])
        colour = trace.line.color
        said = {k: fmt.value(row[k], unit, decimals, lang) for k in ("projected", "low", "high")}
        text = i18n.t("outlook.hover", lang, name=html.escape(str(trace.name)),
                      deadline=fmt.month(row["deadline"], lang), value=said["projected"], low=said["low"],
                      high=said["high"],
                      status=i18n.t(f"outlook.status.{row['status']}", lang))
        fig.add_trace(go.Scatter(
            x=[start, end, end, start], y=[last, row["high"], row["low"], last], fill="toself", mode="lines",
            line=dict(width=0), fillcolor=_fill(colour), hoverinfo="skip", showlegend=False,
            legendgroup=code, meta={"segment": "band", "series": code}, name=i18n.t("outlook.band", lang)))
        fig.add_trace(go.Scatter(
            x=[start, end], y=[last, row["projected"]], mode="lines+markers", legendgroup=code, showlegend=False,
            line=dict(color=colour, width=2, dash="dash"), marker=dict(size=[0, 7], symbol="diamond-open"),
            customdata=[[text], [text]], hovertemplate="%{customdata[0]}<extra></extra>",
            meta={"segment": "projection", "series": code}, name=i18n.t("outlook.projection", lang)))
    return fig
