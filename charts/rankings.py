"""Ranking bar chart (34 provinces, best on top) and the movers chart."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from charts import labels, theme
from core import fmt, i18n

ROW_HEIGHT = 27


def _change_html(delta) -> str:
    text = fmt.rank_change(delta)
    if not text:
        return ""
    return f"  <span style='color:{theme.change_colour(delta)}'>{text}</span>"


def _vline(x: float, name: str, colour: str, dash: str, label: str, y_label: float,
           anchor: str = "left") -> tuple[dict, dict]:
    shape = dict(
        type="line", xref="x", yref="paper", x0=x, x1=x, y0=0, y1=1, name=name,
        line=dict(color=colour, width=2.5, dash=dash), layer="above",
    )
    note = dict(
        x=x, y=y_label, xref="x", yref="paper", text=label, showarrow=False, name=name,
        font=dict(size=theme.FONT_SIZE - 2, color=colour), bgcolor="rgba(255,255,255,0.85)",
        xanchor=anchor, yanchor="bottom",
    )
    return shape, note


def ranking_bars(
    df: pd.DataFrame,
    *,
    indicator: dict,
    lang: str = "vi",
    national: dict | None = None,
    target: dict | None = None,
    highlight: str | None = None,
    title: str | None = None,
) -> go.Figure:
    """Horizontal bars sorted by rank (1 at the top), value labels with ▲▼ rank change,
    reference lines for the national value (``national``: value, kind) and the target.

    ``df``: code, name, value, rank, n_ranked, rank_change (rows without rank go last).
    """
    df = df.sort_values(["rank", "name"], na_position="last").reset_index(drop=True)
    unit, decimals = labels.unit_of(indicator), int(indicator["decimals"])
    # A rank two provinces share reads "=7." on both bars (the next is 9), as sports tables write it.
    tied = set(df["rank"].value_counts().loc[lambda n: n > 1].index)
    ylabels = [
        f"{'=' if r in tied else ''}{int(r)}. {n}" if not fmt.is_missing(r) else f"– {n}"
        for r, n in zip(df["rank"], df["name"])
    ]
    texts = [
        fmt.value(v, unit, decimals, lang) + _change_html(c)
        for v, c in zip(df["value"], df.get("rank_change", pd.Series([None] * len(df))))
    ]
    colours = [1 if code == highlight else 0 for code in df["code"]]
    hover = [labels.hover_block(row, indicator, lang) for row in df.to_dict("records")]
    height = max(260, ROW_HEIGHT * len(df) + 110)
    fig = theme.figure(lang, title=title, height=height)
    fig.add_trace(
        go.Bar(
            x=df["value"].tolist(), y=ylabels, orientation="h",
            marker=dict(**theme.discrete_marker(colours, [theme.BAR, theme.HIGHLIGHT]), line=dict(width=0)),
            customdata=[[h] for h in hover], hovertemplate="%{customdata[0]}<extra></extra>",
            name=labels.indicator_name(indicator, lang), showlegend=False,
        )
    )
    # Values and rank changes in their own column at the right, clear of the reference lines.
    fig.add_trace(
        go.Scatter(
            x=[0] * len(df), y=ylabels, xaxis="x2", mode="text", text=texts, cliponaxis=False,
            textposition="middle right", textfont=dict(size=theme.FONT_SIZE - 1),
            hoverinfo="skip", showlegend=False, name="values",
        )
    )
    values = [v for v in df["value"].tolist() if not fmt.is_missing(v)]
    xmax = max(values + [0])
    lines = []  # (x, name, colour, dash, label, label height)
    if national and not fmt.is_missing(national.get("value")):
        key = {"median": "common.national_median", "peers": "similar.median"}.get(national.get("kind"),
                                                                                "common.national")
        label = f"{i18n.t(key, lang)}: {fmt.value(national['value'], unit, decimals, lang)}"
        lines.append((float(national["value"]), "national", theme.NATIONAL, "solid", label, 1.0))
        xmax = max(xmax, float(national["value"]))
    top = theme.title_room(title, 80) or 50
    if target and not fmt.is_missing(target.get("value")):
        # One label line (27 px) above the national one, however few bars (a region, similar provinces).
        lines.append((float(target["value"]), "target", theme.TARGET, "dash",
                      labels.target_text(target, indicator, lang), 1 + 27 / max(height - top - 40, 1)))
        xmax = max(xmax, float(target["value"]))
    upper = xmax * 1.04 if xmax > 0 else 1
    if unit.max is not None and xmax <= unit.max:
        upper = unit.max * 1.01
    # A label near the right end reads leftwards from its line (on a phone it ran off the chart).
    shapes, notes = zip(*[_vline(*line, anchor="right" if line[0] > 0.6 * upper else "left")
                          for line in lines]) if lines else ((), ())
    xaxis = theme.axis(range=[0, upper], ticksuffix=unit.tick_suffix(lang), domain=[0, 0.8])
    if unit.max is not None and xmax <= unit.max:  # the whole scale: 0-100 %
        xaxis.update(range=[0, unit.max * 1.01], tick0=0, dtick=unit.tick_step)  # (tickvals would drop the suffix)
    elif upper >= 10_000:  # '20 nghìn', '1,5 triệu' (plotly would write '20k', '1.5M')
        xaxis.update(labels.magnitude_ticks(upper, lang))
    else:
        xaxis.update(tickformat=unit.tick_format or None)
    fig.update_layout(
        shapes=list(shapes), annotations=list(notes),
        margin=dict(l=10, r=60, t=top, b=40),  # r: room for '94,27 % ▲2' on a phone
        bargap=0.25,
        xaxis=xaxis,
        xaxis2=dict(domain=[0.81, 1], range=[0, 1], visible=False, fixedrange=True),
        yaxis=dict(
            autorange="reversed", categoryorder="array", categoryarray=ylabels,
            tickfont=dict(size=theme.FONT_SIZE - 1), automargin=True,
        ),
        dragmode=False,
    )
    return fig


def movers_chart(
    df: pd.DataFrame,
    *,
    lang: str = "vi",
    n: int = 8,
    title: str | None = None,
    highlight: str | None = None,
) -> go.Figure:
    """The ``n`` largest rises and ``n`` largest falls in rank (``change`` > 0 = moved up).

    ``df``: code, name, rank_start, rank_end, change.
    """
    df = df.dropna(subset=["change"])
    rises = df[df["change"] > 0].nlargest(n, "change")
    falls = df[df["change"] < 0].nsmallest(n, "change")
    shown = pd.concat([rises, falls.iloc[::-1]]).reset_index(drop=True)
    ylabels = shown["name"].tolist()
    texts = [
        f"{fmt.rank_change(c)}  ({int(a)} → {int(b)})"
        for c, a, b in zip(shown["change"], shown["rank_start"], shown["rank_end"])
    ]
    palette = [theme.BAD, theme.NEUTRAL, theme.GOOD, theme.HIGHLIGHT]
    colours = [
        3 if code == highlight else palette.index(theme.change_colour(c))
        for code, c in zip(shown["code"], shown["change"])
    ]
    places = i18n.t("rankings.places", lang)
    fig = theme.figure(lang, title=title, height=max(240, ROW_HEIGHT * len(shown) + 120))
    fig.add_trace(
        go.Bar(
            x=shown["change"].tolist(), y=ylabels, orientation="h",
            marker=theme.discrete_marker(colours, palette), text=texts, textposition="outside", cliponaxis=False,
            textfont=dict(size=theme.FONT_SIZE - 1),
            hovertemplate=f"<b>%{{y}}</b><br>%{{x:+d}} {places}<extra></extra>", showlegend=False,
        )
    )
    extent = max([abs(v) for v in shown["change"].tolist()] + [1]) * 1.6
    fig.update_layout(
        xaxis=theme.axis(range=[-extent, extent], zeroline=True, zerolinewidth=2, title=places),
        yaxis=dict(autorange="reversed", categoryorder="array", categoryarray=ylabels, automargin=True),
        margin=dict(l=10, r=30, t=theme.title_room(title, 60) or 20, b=40),
        dragmode=False,
    )
    return fig
