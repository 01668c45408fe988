"""Province profile charts: the Decision 766 groups (waterfall of changes, scores vs maximum)
and the map of a province's communes (points at commune centroids over the province outline).

Pure functions (DataFrame in, ``go.Figure`` out, no Streamlit). The map is plotly geo with the
basemap hidden, no tiles: the outline is a ``go.Choropleth`` of the one province feature, so
the app must pass ``topojsonURL`` (``dashboard.ui.plotly_config``) or plotly.js would fetch its
base map from a CDN.
"""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go

from charts import labels, maps, theme
from core import catalog, fmt, i18n

OUTLINE_FILL = "#f2f2f2"
OUTLINE_LINE = "#6b6b6b"
POINT_MIN_PX = 5
POINT_MAX_PX = 26
OFFSHORE_LON = 111.0  # east of this: the archipelagos, drawn in an inset (the mainland stays large)
INSET_DOMAIN = {"x": [0.75, 0.99], "y": [0.02, 0.40]}  # a strip right of the mainland


def _group_label(name: str) -> str:
    return name.split("–", 1)[1].strip() if "–" in name else name


def _wrap(text: str, width: int = 14) -> str:
    """Break a category label over lines (plotly wraps nothing by itself)."""
    words, lines, line = text.split(), [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    if line:
        lines.append(line)
    return "<br>".join(lines)


def index766_waterfall(
    groups: pd.DataFrame,
    *,
    total: float,
    prev_total: float,
    period: str,
    lang: str = "vi",
    title: str | None = None,
    height: int = 440,
) -> go.Figure:
    """Previous month's total → the change of each of the month's groups → this month's total.

    ``groups``: name_vi, name_en, delta (value − previous value), in display order (the
    groups of one Decision 766 method: five until 2025-09, six from 2025-10).
    Rises are blue, falls vermillion (``theme.GOOD``/``theme.BAD``), totals grey. The y axis
    is zoomed around the totals so changes of a fraction of a point stay visible.
    """
    name_col = "name_en" if lang == "en" else "name_vi"
    total_word = i18n.t("profile.total", lang)
    prev_label = f"{total_word} {fmt.month_short(fmt.add_months(period, -1), lang)}"
    now_label = f"{total_word} {fmt.month_short(period, lang)}"
    decimals = catalog.by_role("index766").decimals
    deltas = [float(d) for d in groups["delta"]]
    names = [_group_label(n) for n in groups[name_col]]
    # Short lines, never rotated: at 1366 px plotly turned 14-character lines by 90 degrees.
    x = [prev_label.replace(" ", "<br>", 1)] + [_wrap(n, 10) for n in names] + [now_label.replace(" ", "<br>", 1)]
    text = (
        [fmt.number(prev_total, decimals, lang)]
        + [fmt.number(d, decimals, lang, sign=True) for d in deltas]
        + [fmt.number(total, decimals, lang)]
    )
    hover = (
        [f"{prev_label}: {text[0]}"]
        + [f"{n}: {tx}" for n, tx in zip(names, text[1:-1])]
        + [f"{now_label}: {text[-1]}"]
    )
    running = [float(prev_total)]
    for d in deltas:
        running.append(running[-1] + d)
    low, high = min(running + [float(total)]), max(running + [float(total)])
    pad = max((high - low) * 0.6, 0.5)
    index = catalog.by_role("index766")
    layout = theme.base_layout(lang, title=title, height=height)
    layout.update(
        yaxis=theme.axis(range=[max(low - pad, 0), min(high + pad, index.upper_bound)],
                         title=index.unit_spec.label(lang), tickformat=index.unit_spec.tick_format or None),
        xaxis={**theme.axis(), "tickfont": dict(size=theme.FONT_SIZE - 3), "tickangle": 0},
        margin=dict(l=10, r=10, t=theme.title_room(title, 60) or 20, b=20),
        dragmode=False,
    )
    trace = dict(
        type="waterfall", x=x, y=[float(prev_total)] + deltas + [float(total)],
        measure=["absolute"] + ["relative"] * len(deltas) + ["total"],
        text=text, textposition="outside", cliponaxis=False, textfont=dict(size=theme.FONT_SIZE - 1),
        increasing=dict(marker=dict(color=theme.GOOD)),
        decreasing=dict(marker=dict(color=theme.BAD)),
        totals=dict(marker=dict(color=theme.NEUTRAL)),
        connector=dict(line=dict(color="#bdbdbd", width=1, dash="dot")),
        customdata=[[h] for h in hover], hovertemplate="%{customdata[0]}<extra></extra>",
        name=i18n.t("profile.col_delta", lang), showlegend=False,
    )
    return go.Figure(dict(data=[trace], layout=layout))


def index766_groups_chart(
    groups: pd.DataFrame,
    *,
    lang: str = "vi",
    title: str | None = None,
    height: int = 360,
) -> go.Figure:
    """Each group's score against its maximum under the month's method (18, 20, 22, 22, 18
    until 2025-09; 18, 20, 22, 12, 10, 18 from 2025-10): a grey bar for the maximum with the
    score drawn over it, labelled 'score / max'.

    ``groups``: name_vi, name_en, value, max_value.
    """
    name_col = "name_en" if lang == "en" else "name_vi"
    names = [_group_label(n) for n in groups[name_col]]
    values = [float(v) if not fmt.is_missing(v) else None for v in groups["value"]]
    maxima = [float(m) for m in groups["max_value"]]
    decimals = catalog.by_role("index766").decimals
    texts = [
        f"{fmt.number(v, decimals, lang)} / {fmt.number(m, 0, lang)}" if v is not None else "–"
        for v, m in zip(values, maxima)
    ]
    layout = theme.base_layout(lang, title=title, height=height)
    layout.update(
        barmode="overlay",
        xaxis=theme.axis(range=[0, max(maxima + [1]) * 1.35],
                         title=catalog.by_role("index766").unit_spec.label(lang)),
        yaxis=dict(autorange="reversed", tickfont=dict(size=theme.FONT_SIZE - 1), automargin=True),
        # Room for the last label ("21,89 / 22") beyond the axis in a narrow column.
        margin=dict(l=10, r=70, t=theme.title_room(title, 60) or 20, b=40),
        dragmode=False,
    )
    data = [
        dict(type="bar", x=maxima, y=names, orientation="h", marker=dict(color=theme.MISSING), hoverinfo="skip",
             name=i18n.t("profile.col_max", lang), showlegend=False),
        dict(type="bar", x=values, y=names, orientation="h", marker=dict(color=theme.GOOD), width=0.5,
             text=texts, textposition="outside", cliponaxis=False, textfont=dict(size=theme.FONT_SIZE - 1),
             customdata=[[f"{n}: {t}"] for n, t in zip(names, texts)],
             hovertemplate="%{customdata[0]}<extra></extra>",
             name=i18n.t("profile.col_score", lang), showlegend=False),
    ]
    return go.Figure(dict(data=data, layout=layout))


def province_feature(province_code: str, geojson: dict | None = None) -> dict | None:
    """The GeoJSON feature of one province (None if the layer lacks it)."""
    geojson = geojson or maps.provinces_geojson()
    for feature in geojson["features"]:
        if str(feature["properties"]["code"]) == str(province_code):
            return feature
    return None


def split_offshore(feature: dict, east_of: float = OFFSHORE_LON) -> tuple[dict | None, dict | None]:
    """The feature's polygons on the mainland side and those east of ``east_of`` (the Hoàng Sa
    and Trường Sa archipelagos of Đà Nẵng and Khánh Hòa), as two features with the same id."""
    geom = feature["geometry"]
    polygons = geom["coordinates"] if geom["type"] == "MultiPolygon" else [geom["coordinates"]]
    near, far = [], []
    for polygon in polygons:
        ring = polygon[0]
        (far if sum(c[0] for c in ring) / len(ring) > east_of else near).append(polygon)

    def part(polys: list) -> dict | None:
        if not polys:
            return None
        return {**feature, "geometry": {"type": "MultiPolygon", "coordinates": polys}}

    return part(near), part(far)


def point_sizes(values: pd.Series, min_px: float = POINT_MIN_PX, max_px: float = POINT_MAX_PX) -> list[float]:
    """Marker diameters with *area* proportional to the value (missing -> smallest)."""
    s = pd.Series(values, dtype="float64").clip(lower=0)
    top = float(s.max()) if s.notna().any() else 0.0
    if top <= 0:
        return [float(min_px)] * len(s)
    diam = (s / top).pow(0.5) * max_px
    return diam.fillna(min_px).clip(lower=min_px).round(2).tolist()


def commune_map(
    df: pd.DataFrame,
    *,
    indicator: dict,
    province_code: str,
    lang: str = "vi",
    geojson: dict | None = None,
    title: str | None = None,
    height: int = 620,
) -> go.Figure:
    """The communes of one province as points at their centroids over the province outline.

    ``df``: code, name, lat, lon, value, rank_in_province, n_in_province and ``size_value``
    (applications received, the point size). Colour follows the indicator's direction (dark
    = good, ``theme.sequential_scale``); communes without a value are grey. The view fits the
    province (``fitbounds``), with no tiles and the basemap hidden. Islands far offshore (Hoàng
    Sa of Đà Nẵng, Trường Sa of Khánh Hòa) are drawn in a framed inset (second geo, ``geo2``),
    so the mainland is not shrunk to a speck.
    """
    unit, decimals = labels.unit_of(indicator), int(indicator["decimals"])
    feature = province_feature(province_code, geojson)
    near, far = split_offshore(feature) if feature is not None else (None, None)
    lat, lon = df["lat"].astype(float).tolist(), df["lon"].astype(float).tolist()
    offshore = [x > OFFSHORE_LON for x in lon]
    inset = far is not None or any(offshore)

    data: list[dict] = []
    for part, geo in ((near, "geo"), (far, "geo2")):
        if part is not None:
            data.append(dict(
                type="choropleth", geo=geo,
                geojson={"type": "FeatureCollection", "features": [part]},
                featureidkey=maps.FEATURE_ID_KEY, locations=[str(province_code)], z=[0],
                colorscale=[[0, OUTLINE_FILL], [1, OUTLINE_FILL]], showscale=False,
                marker=dict(line=dict(width=1.5, color=OUTLINE_LINE)), hoverinfo="skip", name="outline",
            ))
    values = pd.Series(df["value"], dtype="float64").reset_index(drop=True)
    vals = values.tolist()
    value_text = [fmt.value(v, unit, decimals, lang) for v in vals]
    rank_text = [fmt.rank(r, n, lang) for r, n in zip(df["rank_in_province"], df["n_in_province"])]
    size_text = [fmt.number(v, 0, lang) for v in df["size_value"]]
    name_label = labels.indicator_name(indicator, lang)
    rank_label, size_label = i18n.t("profile.hover_rank_province", lang), i18n.t("profile.hover_size", lang)
    names = df["name"].tolist()
    hover = [
        f"<b>{n}</b><br>{name_label}: {v}<br>{rank_label}: {r}<br>{size_label}: {s}"
        for n, v, r, s in zip(names, value_text, rank_text, size_text)
    ]
    sizes = point_sizes(df["size_value"])
    codes = df["code"].astype(str).tolist()
    has = values.notna().tolist()
    known_values = [v for v, h in zip(vals, has) if h]
    vmin, vmax = (min(known_values), max(known_values)) if known_values else (0.0, 1.0)
    if math.isclose(vmin, vmax):
        vmin, vmax = vmin - 1, vmax + 1
    colorbar_drawn = False
    for geo, where in (("geo", False), ("geo2", True)):
        for with_value in (True, False):
            idx = [i for i in range(len(codes)) if has[i] == with_value and offshore[i] == where]
            if not idx:
                continue
            marker = dict(size=[sizes[i] for i in idx], line=dict(width=0.6, color="white"), opacity=0.9)
            if with_value:
                marker.update(
                    color=[vals[i] for i in idx], cmin=vmin, cmax=vmax,
                    colorscale=theme.sequential_scale(bool(indicator["higher_is_better"])),
                    showscale=not colorbar_drawn,
                )
                if not colorbar_drawn:
                    marker["colorbar"] = dict(
                        **labels.colorbar(unit, lang), thickness=16, len=0.6, tickfont=dict(size=theme.FONT_SIZE - 2),
                    )
                    colorbar_drawn = True
            else:
                marker.update(color=theme.MISSING, line=dict(width=0.6, color="#8c8c8c"))
            data.append(dict(
                type="scattergeo", geo=geo, lat=[lat[i] for i in idx], lon=[lon[i] for i in idx], mode="markers",
                marker=marker, customdata=[[hover[i], codes[i]] for i in idx],
                hovertemplate="%{customdata[0]}<extra></extra>", showlegend=False,
                name=name_label if with_value else i18n.t("chart.no_data", lang),
                meta={"role": "communes" if with_value else "communes_missing", "inset": where},
            ))
    geo_style = dict(visible=False, fitbounds="locations", projection=dict(type="mercator"), bgcolor="rgba(0,0,0,0)")
    layout = theme.base_layout(lang, title=title, height=height)
    # An explicit domain: with a second geo, plotly would otherwise shrink the first one.
    layout.update(geo=dict(geo_style, domain=dict(x=[0, 0.72] if inset else [0, 1], y=[0, 1])),
                  margin=dict(l=0, r=0, t=theme.title_room(title, 50), b=0), dragmode=False)
    if inset:
        x0, x1 = INSET_DOMAIN["x"]
        y0, y1 = INSET_DOMAIN["y"]
        layout["geo2"] = dict(geo_style, domain=dict(x=[x0, x1], y=[y0, y1]))
        far_names = [names[i] for i in range(len(names)) if offshore[i]]
        layout["shapes"] = [dict(type="rect", xref="paper", yref="paper", x0=x0, x1=x1, y0=y0, y1=y1,
                                 line=dict(color=OUTLINE_LINE, width=1), fillcolor="rgba(255,255,255,0)",
                                 name="inset")]
        layout["annotations"] = [dict(
            x=x0, y=y1, xref="paper", yref="paper", xanchor="left", yanchor="bottom", showarrow=False,
            text=", ".join(far_names) or i18n.t("profile.inset_label", lang), name="inset",
            font=dict(size=theme.FONT_SIZE - 3, color=OUTLINE_LINE), bgcolor="rgba(255,255,255,0.85)",
        )]
    return go.Figure(dict(data=data, layout=layout))


def commune_points(fig: go.Figure) -> int:
    """How many commune points a map draws (tests)."""
    return sum(len(tr.lat) for tr in fig.data if tr.type == "scattergeo")
