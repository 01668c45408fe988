"""Choropleth of the 34 provinces, drawn offline.

``go.Choropleth`` with the GeoJSON of ``data/geo/provinces_34.geojson`` (feature ids =
``properties.code`` = 2-digit GSO code strings). No tiles, no mapbox/MapLibre: plotly geo
with the basemap hidden. plotly.js still asks for ``world_110m.json``; the app serves it
from ``static/topojson`` (``dashboard.ui.plotly_config``), never from the CDN.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from plotly.colors import sample_colorscale

from charts import labels, theme

GEOJSON_PATH = Path(__file__).resolve().parent.parent / "data" / "geo" / "provinces_34.geojson"
FEATURE_ID_KEY = "properties.code"

# The two archipelagos (parts of Đà Nẵng, 48, and Khánh Hòa, 56): their islets are under half a
# pixel at national scale, so each is drawn as a marker in its province's colour and named, as
# on Vietnam's official maps.
ARCHIPELAGOS = [
    {"owner": "48", "lat": 16.35, "lon": 111.95, "vi": "QĐ. Hoàng Sa<br>(Đà Nẵng)",
     "en": "Hoang Sa (Paracel) Is.<br>(Đà Nẵng)"},
    {"owner": "56", "lat": 10.40, "lon": 114.90, "vi": "QĐ. Trường Sa<br>(Khánh Hòa)",
     "en": "Truong Sa (Spratly) Is.<br>(Khánh Hòa)"},
]


@cache
def provinces_geojson(path: str | None = None) -> dict:
    """The province outlines (read once per process)."""
    return json.loads(Path(path or GEOJSON_PATH).read_text(encoding="utf-8"))


def geojson_codes(geojson: dict | None = None) -> list[str]:
    geojson = geojson or provinces_geojson()
    return [str(f["properties"]["code"]) for f in geojson["features"]]


def choropleth(
    df: pd.DataFrame,
    *,
    indicator: dict,
    lang: str = "vi",
    highlight: str | None = None,
    title: str | None = None,
    geojson: dict | str | None = None,
    height: int = 640,
) -> go.Figure:
    """One filled polygon per province.

    ``df``: one row per province with ``code``, ``name``, ``value``; optional ``rank``,
    ``n_ranked``, ``rank_change`` (places gained since last month) for the hover.
    Provinces with no value are drawn grey ("no data") so the map always has 34 shapes.
    ``geojson``: the outlines as a dict (default: read from data/geo) or a URL the browser
    fetches (the app passes the served copy, see ``dashboard.ui.province_geojson``).
    """
    geojson = geojson or provinces_geojson()
    df = df.copy()
    df["code"] = df["code"].astype(str)
    df["hover"] = [labels.hover_block(row, indicator, lang) for row in df.to_dict("records")]
    has_value = df["value"].notna()

    fig = theme.figure(lang, title=title, height=height)
    known = df[has_value]
    if len(known):
        vmin, vmax = float(known["value"].min()), float(known["value"].max())
        if vmin == vmax:
            vmin, vmax = vmin - 1, vmax + 1
        fig.add_trace(
            go.Choropleth(
                geojson=geojson,
                featureidkey=FEATURE_ID_KEY,
                locations=known["code"].tolist(),
                z=known["value"].tolist(),
                zmin=vmin,
                zmax=vmax,
                colorscale=theme.sequential_scale(bool(indicator["higher_is_better"])),
                marker=dict(line=dict(width=0.7, color="white")),
                customdata=known[["hover"]].to_numpy(),
                hovertemplate="%{customdata[0]}<extra></extra>",
                colorbar=dict(
                    **labels.colorbar(labels.unit_of(indicator), lang),
                    thickness=16,
                    len=0.6,
                    x=1.0,
                    tickfont=dict(size=theme.FONT_SIZE - 2),
                ),
                name=labels.indicator_name(indicator, lang),
            )
        )
    missing = df[~has_value]
    if len(missing):
        fig.add_trace(
            go.Choropleth(
                geojson=geojson,
                featureidkey=FEATURE_ID_KEY,
                locations=missing["code"].tolist(),
                z=[0] * len(missing),
                colorscale=[[0, theme.MISSING], [1, theme.MISSING]],
                showscale=False,
                marker=dict(line=dict(width=0.7, color="white")),
                customdata=missing[["hover"]].to_numpy(),
                hovertemplate="%{customdata[0]}<extra></extra>",
                name="no data",
            )
        )
    chosen = df[df["code"] == highlight]
    if len(chosen):
        # The highlighted province: a transparent copy on top with a thick outline (per-location
        # line arrays would cost ~10 ms of validation on every run).
        fig.add_trace(
            go.Choropleth(
                geojson=geojson, featureidkey=FEATURE_ID_KEY, locations=chosen["code"].tolist(),
                z=[0], colorscale=[[0, "rgba(0,0,0,0)"], [1, "rgba(0,0,0,0)"]], showscale=False,
                marker=dict(line=dict(width=3.5, color=theme.HIGHLIGHT)),
                customdata=chosen[["hover"]].to_numpy(), hovertemplate="%{customdata[0]}<extra></extra>",
                name="highlight",
            )
        )
    fig.add_trace(_archipelagos(df, indicator, lang))
    fig.update_geos(
        visible=False,
        fitbounds="locations",
        projection_type="mercator",
        bgcolor="rgba(0,0,0,0)",
    )
    fig.update_layout(margin=dict(l=0, r=0, t=theme.title_room(title, 50), b=0), dragmode=False)
    return fig


def _archipelagos(df: pd.DataFrame, indicator: dict, lang: str) -> go.Scattergeo:
    """Markers filled like their owning province (same scale, grey without data), its hover."""
    owners = df.set_index("code").reindex([a["owner"] for a in ARCHIPELAGOS])
    known = df["value"].dropna()
    vmin, vmax = (float(known.min()), float(known.max())) if len(known) else (0.0, 1.0)
    if vmin == vmax:
        vmin, vmax = vmin - 1, vmax + 1
    scale = theme.sequential_scale(bool(indicator["higher_is_better"]))
    colours = [theme.MISSING if pd.isna(v) else sample_colorscale(scale, [(v - vmin) / (vmax - vmin)])[0]
               for v in owners["value"]]
    return go.Scattergeo(
        lat=[a["lat"] for a in ARCHIPELAGOS], lon=[a["lon"] for a in ARCHIPELAGOS],
        text=[a["en" if lang == "en" else "vi"] for a in ARCHIPELAGOS], mode="markers+text",
        textposition="bottom center", textfont=dict(size=theme.FONT_SIZE - 4, color="#555555"),
        marker=dict(size=11, symbol="diamond", color=colours, line=dict(width=1, color="#555555")),
        customdata=owners[["hover"]].fillna("").to_numpy(),
        hovertemplate="%{customdata[0]}<extra></extra>", showlegend=False, name="archipelagos",
    )


def locations(fig: go.Figure) -> list[Any]:
    """All locations drawn by a choropleth figure (tests)."""
    out: list[Any] = []
    for trace in fig.data:
        if trace.type == "choropleth":
            out.extend(trace.locations)
    return out
