"""Time series: provinces vs the national value and the target, with event markers, and
the spending chart (planned vs disbursed, cumulative within the year).

Months before ``REBASE_BEFORE`` (2025-07, the first month of the two-tier local government)
are *re-based history*: figures of the 63 old provinces recomputed for the 34 new ones.
They are drawn dotted and lighter, on a grey band, with a note, and the first solid point
continues the line.
"""

from __future__ import annotations

import html

import pandas as pd
import plotly.graph_objects as go

from charts import labels, theme
from core import catalog, fmt, i18n

REBASE_BEFORE = "2025-07"
HISTORY_DASH = "dot"


def month_date(period: str) -> str:
    return f"{period}-01"


def _ticks(periods: list[str], lang: str) -> tuple[list[str], list[str]]:
    """Tick every 3 or 6 months with labels in the reader's language."""
    if not periods:
        return [], []
    step = 3 if len(periods) <= 24 else 6
    chosen = [p for p in periods if (int(p[5:7]) - 1) % step == 0]
    return [month_date(p) for p in chosen], [fmt.month_short(p, lang) for p in chosen]


def _split(periods: list[str], values: list, before: str) -> tuple[tuple[list, list], tuple[list, list]]:
    """History points (< before, plus the first current point so the line joins) and current."""
    hist_x, hist_y, cur_x, cur_y = [], [], [], []
    for p, v in zip(periods, values):
        if p < before:
            hist_x.append(p), hist_y.append(v)
        else:
            cur_x.append(p), cur_y.append(v)
    if hist_x and cur_x:
        hist_x.append(cur_x[0]), hist_y.append(cur_y[0])
    return (hist_x, hist_y), (cur_x, cur_y)


def _series_traces(
    name: str, periods: list[str], values: list, *, colour: str, width: float, group: str,
    indicator: dict, lang: str, before: str,
) -> list[go.Scatter]:
    unit, decimals = labels.unit_of(indicator), int(indicator["decimals"])
    (hx, hy), (cx, cy) = _split(periods, values, before)
    traces = []
    rebased = i18n.t("common.rebased", lang)

    def hover(xs, ys, suffix=""):
        return [[f"<b>{name}</b><br>{fmt.month(p, lang)}{suffix}: {fmt.value(v, unit, decimals, lang)}"]
                for p, v in zip(xs, ys)]

    if cx:
        traces.append(
            go.Scatter(
                x=[month_date(p) for p in cx], y=cy, name=name, legendgroup=group, mode="lines+markers",
                line=dict(color=colour, width=width), marker=dict(size=5),
                customdata=hover(cx, cy), hovertemplate="%{customdata[0]}<extra></extra>",
                meta={"segment": "current", "series": group},
            )
        )
    if hx:
        traces.append(
            go.Scatter(
                x=[month_date(p) for p in hx], y=hy, name=f"{name} ({rebased})", legendgroup=group,
                showlegend=not cx, mode="lines", opacity=theme.HISTORY_OPACITY,
                line=dict(color=colour, width=max(width - 0.5, 1.5), dash=HISTORY_DASH),
                customdata=hover(hx, hy, f" ({rebased})"), hovertemplate="%{customdata[0]}<extra></extra>",
                meta={"segment": "rebased", "series": group},
            )
        )
    return traces


def _published_traces(published: pd.DataFrame, colours: dict, lang: str) -> list[go.Scatter]:
    """Published figures as open diamonds in their province's colour, drawn inside their month
    beside the month's own point (a few days further for each province, then each figure of the
    same month), so each can be hovered; the legend shows one neutral diamond for them all."""
    order = {code: i for i, code in enumerate(colours)}
    rows = published.assign(slot=published.groupby(["code", "period"], dropna=False).cumcount()).to_dict("records")
    colour = [colours.get(None if fmt.is_missing(r["code"]) else r["code"], theme.NATIONAL) for r in rows]
    hover = [f"<b>{html.escape(r['name'])}</b><br>{labels.as_published(r, lang)}: {labels.published_value(r, lang)}"
             f"<br><i>{html.escape(r['basis_en' if lang == 'en' else 'basis_vi'])}</i>" for r in rows]
    name, marker = i18n.t("published.legend", lang), dict(symbol="diamond-open", size=13, line=dict(width=2.5))
    return [
        go.Scatter(
            x=[_day_in_month(r["period"], 6 + 5 * order.get(None if fmt.is_missing(r["code"]) else r["code"], 0)
                             + 2 * r["slot"]) for r in rows],
            y=[r["value"] for r in rows], mode="markers", name=name,
            marker={**marker, "color": colour}, showlegend=False, legendgroup="published",
            customdata=[[h] for h in hover], hovertemplate="%{customdata[0]}<extra></extra>",
            meta={"series": "published", "segment": "published", "ids": [r["id"] for r in rows]},
        ),
        go.Scatter(x=[None], y=[None], mode="markers", name=name, marker={**marker, "color": theme.NATIONAL},
                   legendgroup="published", legendrank=1001, hoverinfo="skip",
                   meta={"series": "published_legend", "segment": "published"}),
    ]


def _day_in_month(period: str, days: int) -> str:
    """'2025-08' + 9 days -> '2025-08-10' (at most the 26th: the point stays in its month)."""
    return f"{period}-{min(days, 25) + 1:02d}"


def _event_marks(events: pd.DataFrame | None, start: str, end: str, lang: str) -> tuple[list, list]:
    shapes, notes = [], []
    if events is None or events.empty:
        return shapes, notes
    col = "label_en" if lang == "en" else "label_vi"
    shown = events[(events["date"].str[:7] >= start) & (events["date"].str[:7] <= end)]
    for i, row in enumerate(shown.itertuples()):
        shapes.append(
            dict(type="line", xref="x", yref="paper", x0=row.date, x1=row.date, y0=0, y1=1,
                 line=dict(color=theme.EVENT, width=1.5, dash="dash"), name=f"event:{row.date}")
        )
        # Labels sit above the plot, staggered, so they never hide a line.
        notes.append(
            dict(x=row.date, xref="x", yref="paper", y=1.01 + 0.065 * (i % 3), yanchor="bottom",
                 xanchor="center", text=getattr(row, col), showarrow=False, name=f"event:{row.date}",
                 font=dict(size=theme.FONT_SIZE - 3, color=theme.EVENT))
        )
    return shapes, notes


def trend_chart(
    series: pd.DataFrame,
    national: pd.DataFrame | None,
    *,
    indicator: dict,
    lang: str = "vi",
    target: dict | None = None,
    events: pd.DataFrame | None = None,
    title: str | None = None,
    rebase_before: str = REBASE_BEFORE,
    start: str | None = None,
    height: int = 560,
    published: pd.DataFrame | None = None,
) -> go.Figure:
    """Lines of chosen provinces (``series``: period, code, name, value) and the national
    value (``national``: period, value, kind), a target line, event markers, and published
    figures as marked points (``published``: rows of the ``published`` view with ``code``,
    None for the country, and ``name``), each with its date and basis in the hover."""
    if start:
        series = series[series["period"] >= start]
        if national is not None:
            national = national[national["period"] >= start]
        if published is not None:
            published = published[published["period"] >= start]
    fig = theme.figure(lang, title=title, height=height)
    all_periods: set[str] = set(series["period"])
    if national is not None and len(national):
        all_periods |= set(national["period"])
        kind = national["kind"].iloc[0] if "kind" in national else "sum"
        label = i18n.t("common.national_median" if kind == "median" else "common.national", lang)
        for trace in _series_traces(
            label, national["period"].tolist(), national["value"].tolist(), colour=theme.NATIONAL,
            width=3.5, group="national", indicator=indicator, lang=lang, before=rebase_before,
        ):
            fig.add_trace(trace)
    provinces = list(series.groupby("code", sort=False))
    colours = {None: theme.NATIONAL} | {code: theme.CATEGORICAL[i % (len(theme.CATEGORICAL) - 1)]  # black: national
                                        for i, (code, _) in enumerate(provinces)}
    for code, rows in provinces:
        for trace in _series_traces(
            rows["name"].iloc[0], rows["period"].tolist(), rows["value"].tolist(), colour=colours[code],
            width=2.5, group=str(code), indicator=indicator, lang=lang, before=rebase_before,
        ):
            fig.add_trace(trace)
    if published is not None and len(published):
        fig.add_traces(_published_traces(published, colours, lang))
        all_periods |= set(published["period"])
    periods = sorted(all_periods)
    shapes, notes = [], []
    if periods and periods[0] < rebase_before:
        shapes.append(
            dict(type="rect", xref="x", yref="paper", x0=month_date(periods[0]), x1=month_date(rebase_before),
                 y0=0, y1=1, fillcolor="#f0f0f0", line=dict(width=0), layer="below", name="rebased")
        )
        notes.append(
            dict(x=month_date(periods[0]), xref="x", yref="paper", y=0.02, yanchor="bottom", xanchor="left",
                 text=i18n.t("common.rebased", lang), showarrow=False, name="rebased", xshift=40,
                 font=dict(size=theme.FONT_SIZE - 3, color="#555555"))
        )
    if target and not fmt.is_missing(target.get("value")):
        shapes.append(
            dict(type="line", xref="paper", yref="y", x0=0, x1=1, y0=target["value"], y1=target["value"],
                 line=dict(color=theme.TARGET, width=2.5, dash="dash"), name="target")
        )
        notes.append(
            dict(x=0.005, xref="paper", y=target["value"], yref="y", xanchor="left", yanchor="bottom",
                 text=labels.target_text(target, indicator, lang), showarrow=False, name="target",
                 font=dict(color=theme.TARGET, size=theme.FONT_SIZE - 2), bgcolor="rgba(255,255,255,0.8)")
        )
    ev_notes: list = []
    if periods:
        ev_shapes, ev_notes = _event_marks(events, periods[0], periods[-1], lang)
        shapes += ev_shapes
        notes += ev_notes
    tickvals, ticktext = _ticks(periods, lang)
    fig.update_layout(
        shapes=shapes,
        annotations=notes,
        xaxis=theme.axis(type="date", tickvals=tickvals, ticktext=ticktext),
        yaxis=theme.axis(**labels.value_axis(labels.unit_of(indicator), lang)),
        hovermode="closest",
        legend=dict(orientation="h", yanchor="top", y=-0.1, x=0),
        margin=dict(l=10, r=20, b=40,
                    t=(theme.title_room(title, 70) or 20) + 22 * min(len(ev_notes) if periods else 0, 3)),
    )
    return fig


def spending_chart(
    df: pd.DataFrame,
    *,
    lang: str = "vi",
    target_rate: float | None = None,
    title: str | None = None,
    height: int = 520,
) -> go.Figure:
    """Cumulative planned (grey) vs disbursed (blue) spending within a year as bars, and the
    cumulative disbursement rate (line, right axis) with its target. Units and decimals are
    those of the catalog's spending indicators.

    ``df``: period, planned_cum, disbursed_cum, rate_cum.
    """
    x = [month_date(p) for p in df["period"]]
    planned, ratio = catalog.by_role("spending_planned"), catalog.by_role("spending_rate")
    money_unit, rate_unit = planned.unit_spec, ratio.unit_spec
    money = [fmt.value(v, money_unit, planned.decimals, lang) for v in df["planned_cum"]]
    paid = [fmt.value(v, money_unit, planned.decimals, lang) for v in df["disbursed_cum"]]
    rate = [fmt.value(v, rate_unit, ratio.decimals, lang) for v in df["rate_cum"]]
    months = [fmt.month(p, lang) for p in df["period"]]
    fig = theme.figure(lang, title=title, height=height)
    fig.add_trace(
        go.Bar(x=x, y=df["planned_cum"].tolist(), name=i18n.t("trends.planned_cum", lang),
               marker=dict(color="#bdbdbd"), customdata=[[m, v] for m, v in zip(months, money)],
               hovertemplate="%{customdata[0]}: %{customdata[1]}<extra></extra>", meta={"series": "planned"})
    )
    fig.add_trace(
        go.Bar(x=x, y=df["disbursed_cum"].tolist(), name=i18n.t("trends.disbursed_cum", lang),
               marker=dict(color=theme.OKABE_ITO["blue"]), customdata=[[m, v] for m, v in zip(months, paid)],
               hovertemplate="%{customdata[0]}: %{customdata[1]}<extra></extra>", meta={"series": "disbursed"})
    )
    fig.add_trace(
        go.Scatter(x=x, y=df["rate_cum"].tolist(), name=i18n.t("trends.disbursement_rate", lang), yaxis="y2",
                   mode="lines+markers", line=dict(color=theme.OKABE_ITO["orange"], width=3),
                   customdata=[[m, v] for m, v in zip(months, rate)],
                   hovertemplate="%{customdata[0]}: %{customdata[1]}<extra></extra>", meta={"series": "rate"})
    )
    shapes, notes = [], []
    if target_rate is not None:
        shapes.append(dict(type="line", xref="paper", yref="y2", x0=0, x1=1, y0=target_rate, y1=target_rate,
                           line=dict(color=theme.TARGET, width=2.5, dash="dash"), name="target"))
        notes.append(dict(x=1, xref="paper", y=target_rate, yref="y2", xanchor="right", yanchor="bottom",
                          text=i18n.t("trends.rate_target", lang, value=fmt.value(target_rate, rate_unit, 0, lang)),
                          showarrow=False, font=dict(color=theme.TARGET, size=theme.FONT_SIZE - 2), name="target"))
    tickvals = x
    ticktext = [fmt.month_short(p, lang) for p in df["period"]]
    fig.update_layout(
        barmode="group", bargap=0.2, shapes=shapes, annotations=notes,
        xaxis=theme.axis(type="date", tickvals=tickvals, ticktext=ticktext),
        yaxis=theme.axis(**labels.value_axis(money_unit, lang)),
        yaxis2=dict(overlaying="y", side="right", range=[0, rate_unit.max * 1.05], tick0=0, dtick=rate_unit.tick_step,
                    ticksuffix=rate_unit.tick_suffix(lang), showgrid=False,
                    title=dict(text=i18n.t("trends.disbursement_rate", lang),
                               font=dict(color=theme.OKABE_ITO["orange"])),
                    tickfont=dict(size=theme.FONT_SIZE - 1), automargin=True),
        hovermode="x unified",
        margin=dict(l=10, r=70, t=theme.title_room(title, 70) or 20, b=40),
    )
    return fig
