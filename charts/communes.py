"""Commune charts: a commune's monthly series with its rank in the province, and the
distribution of DX criteria met (of the catalog's criteria maximum) among a set of communes.

Pure functions (DataFrame in, ``go.Figure`` out, no Streamlit).
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from charts import labels, theme
from core import catalog, fmt, i18n


def month_date(period: str) -> str:
    return f"{period}-01"


def _ticks(periods: list[str], lang: str) -> tuple[list[str], list[str]]:
    """A tick every 3 months (every month for short series), labels in the reader's language."""
    step = 1 if len(periods) <= 6 else 3
    chosen = [p for p in periods if (int(p[5:7]) - 1) % step == 0]
    return [month_date(p) for p in chosen], [fmt.month_short(p, lang) for p in chosen]


def commune_trend(
    series: pd.DataFrame,
    *,
    indicator: dict,
    commune_name: str,
    lang: str = "vi",
    province: pd.DataFrame | None = None,
    province_name: str | None = None,
    title: str | None = None,
    height: int = 520,
    period: str | None = None,
) -> go.Figure:
    """Top: the commune's monthly value (and, when given, its province's value, dashed grey).
    Bottom: its rank in the province (1 at the top), hover with the national rank. Both
    panels share one month axis (y domains stacked, no ``make_subplots``: it is slow).

    ``series``: period, value, rank_in_province, n_in_province, rank_national, n_national.
    ``province``: period, value (only meaningful for rates and indices, not for counts).
    ``period``: the month chosen on the page, marked with a dotted line.
    """
    unit, decimals = labels.unit_of(indicator), int(indicator["decimals"])
    series = series.sort_values("period")
    periods = series["period"].tolist()
    x = [month_date(p) for p in periods]
    values = series["value"].astype(float).tolist()
    hover = [
        f"<b>{commune_name}</b><br>{fmt.month(p, lang)}: {fmt.value(v, unit, decimals, lang)}"
        for p, v in zip(periods, values)
    ]
    data = [dict(
        type="scatter", x=x, y=values, xaxis="x", yaxis="y", mode="lines+markers", name=commune_name,
        line=dict(color=theme.CATEGORICAL[0], width=3), marker=dict(size=6),
        customdata=[[h] for h in hover], hovertemplate="%{customdata[0]}<extra></extra>",
        meta={"series": "commune"},
    )]
    if province is not None and len(province):
        province = province[province["period"].isin(periods)].sort_values("period")
        label = i18n.t("communes.province_line", lang, name=province_name or "")
        phover = [
            f"<b>{label}</b><br>{fmt.month(p, lang)}: {fmt.value(v, unit, decimals, lang)}"
            for p, v in zip(province["period"], province["value"])
        ]
        data.append(dict(
            type="scatter", x=[month_date(p) for p in province["period"]], y=province["value"].astype(float).tolist(),
            xaxis="x", yaxis="y", mode="lines", name=label, line=dict(color=theme.NEUTRAL, width=2, dash="dash"),
            customdata=[[h] for h in phover], hovertemplate="%{customdata[0]}<extra></extra>",
            meta={"series": "province"},
        ))
    rank_label = i18n.t("communes.rank_axis", lang)
    national_label = i18n.t("communes.col_rank_national", lang)
    rhover = [
        f"{fmt.month(p, lang)}<br>{rank_label}: {fmt.rank(r, n, lang)}<br>{national_label}: {fmt.rank(rn, nn, lang)}"
        for p, r, n, rn, nn in zip(
            periods, series["rank_in_province"], series["n_in_province"], series["rank_national"], series["n_national"]
        )
    ]
    ranks = pd.to_numeric(series["rank_in_province"], errors="coerce").astype(float).tolist()
    data.append(dict(
        type="scatter", x=x, y=ranks, xaxis="x", yaxis="y2", mode="lines+markers", name=rank_label,
        line=dict(color=theme.OKABE_ITO["orange"], width=2.5, shape="hv"), marker=dict(size=6),
        customdata=[[h] for h in rhover], hovertemplate="%{customdata[0]}<extra></extra>",
        showlegend=False, meta={"series": "rank"},
    ))
    n_max = pd.to_numeric(series["n_in_province"], errors="coerce").max()
    tickvals, ticktext = _ticks(periods, lang)
    layout = theme.base_layout(lang, title=title, height=height)
    if period and period in periods:
        layout["shapes"] = [dict(type="line", xref="x", yref="paper", x0=month_date(period), x1=month_date(period),
                                 y0=0, y1=1, line=dict(color=theme.EVENT, width=1.5, dash="dot"), name="period")]
    layout.update(
        xaxis=theme.axis(type="date", tickvals=tickvals, ticktext=ticktext, anchor="y2"),
        yaxis=theme.axis(domain=[0.42, 1.0], **labels.value_axis(unit, lang)),
        yaxis2=theme.axis(domain=[0.0, 0.32], title=rank_label, tickformat="d",
                          range=[(float(n_max) if pd.notna(n_max) else 1.0) + 0.5, 0.5]),
        hovermode="closest", dragmode=False,
        legend=dict(orientation="h", yanchor="bottom", y=1.0, x=0, font=dict(size=theme.FONT_SIZE - 1)),
    )
    return go.Figure(dict(data=data, layout=layout))


def criteria_histogram(
    criteria: pd.Series,
    *,
    lang: str = "vi",
    title: str | None = None,
    height: int = 320,
) -> go.Figure:
    """How many communes meet 0, 1, … of the DX criteria (bars, up to all 17), the national
    target dashed: the scale and the target are the criteria indicator's in the catalog."""
    indicator = catalog.by_role("dx_criteria")
    unit, n_criteria = indicator.unit_spec, catalog.criteria_max()
    national = [t["value"] for t in indicator.targets if t["scope"] == "national"]
    target = national[0] if national else None
    values = pd.to_numeric(pd.Series(criteria), errors="coerce").dropna().round().astype(int)
    counts = values.value_counts().reindex(range(n_criteria + 1), fill_value=0)
    hist_y = i18n.t("communes.hist_y", lang)
    ks, cs = counts.index.tolist(), counts.tolist()
    shapes, notes = [], []
    if target is not None:
        shapes.append(dict(type="line", xref="x", yref="paper", x0=target, x1=target, y0=0, y1=1,
                           line=dict(color=theme.TARGET, width=2, dash="dash"), name="target"))
        notes.append(dict(x=target, xref="x", y=1, yref="paper", xanchor="right", yanchor="bottom",
                          text=i18n.t("common.target", lang), showarrow=False, name="target",
                          font=dict(color=theme.TARGET, size=theme.FONT_SIZE - 2)))
    top = max(cs) if cs else 1
    step = next(m * 10 ** e for e in range(7) for m in (1, 2, 5) if m * 10 ** e >= top / 5)  # whole communes
    layout = theme.base_layout(lang, title=title, height=height)
    layout.update(
        shapes=shapes, annotations=notes, bargap=0.15, dragmode=False,
        xaxis=theme.axis(title=i18n.t("communes.hist_x", lang), tickmode="linear", dtick=unit.tick_step,
                         range=[-0.6, n_criteria + 0.6]),
        yaxis=theme.axis(title=hist_y, range=[0, max(top, 1) * 1.2], tick0=0, dtick=step, tickformat=",d"),
    )
    data = [dict(
        type="bar", x=ks, y=cs, marker=dict(color=theme.BAR, line=dict(width=0)),
        text=[fmt.number(c, 0, lang) if c else "" for c in cs], textposition="outside", cliponaxis=False,
        customdata=[[f"{fmt.value(k, unit, 0, lang)}: {fmt.number(c, 0, lang)} {hist_y.lower()}"]
                    for k, c in zip(ks, cs)],
        hovertemplate="%{customdata[0]}<extra></extra>", showlegend=False, name=hist_y,
    )]
    return go.Figure(dict(data=data, layout=layout))
