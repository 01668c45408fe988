"""Where each province is heading: a rate projected to its target's deadline from its recent
months, with a band, and classified on track / at risk / off track (met / missed once the
deadline has come). Method and thresholds: ``[projection]`` in data/meta/attention.toml;
explained on Data & methods and in docs/dashboard.md. numpy only (no scipy)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core import attention, catalog, fmt

STATUSES = ("on_track", "at_risk", "off_track", "met", "missed")


def settings() -> dict:
    return attention.rules()["projection"]


def theil_sen(x: Sequence[float], y: Sequence[float]) -> tuple[float, float, np.ndarray]:
    """Slope (median of the slopes of every pair of points), intercept (median of
    y − slope·x) and the pairwise slopes themselves; NaN points are left out."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    keep = ~(np.isnan(x) | np.isnan(y))
    x, y = x[keep], y[keep]
    i, j = np.triu_indices(len(x), k=1)
    distinct = x[j] != x[i]
    slopes = (y[j] - y[i])[distinct] / (x[j] - x[i])[distinct]
    if not len(slopes):
        return float("nan"), float("nan"), slopes
    slope = float(np.median(slopes))
    return slope, float(np.median(y - slope * x)), slopes


@dataclass(frozen=True)
class Projection:
    value: float
    low: float
    high: float
    slope: float


def project(values: Sequence[float], ahead: int, bounds: tuple[float, float],
            band: Sequence[float] | None = None) -> Projection | None:
    """``values``: one per month, oldest first, the last one this month (NaN: no value).
    Projected ``ahead`` months on from this month's value at the Theil–Sen slope, with the
    band from the ``band`` quantiles of the pairwise slopes, every number capped at ``bounds``."""
    band = band or settings()["band"]
    x = np.arange(len(values), dtype=float)
    slope, _, slopes = theil_sen(x, values)
    now = float(values[-1])
    if np.isnan(slope) or np.isnan(now):
        return None
    low, high = np.quantile(slopes, band)
    lo, hi = bounds
    return Projection(*(float(np.clip(now + s * ahead, lo, hi)) for s in (slope, low, high)), slope=slope)


def months_between(start: str, end: str) -> int:
    return (int(end[:4]) - int(start[:4])) * 12 + int(end[5:7]) - int(start[5:7])


def status(projection: Projection | None, goal: dict) -> str | None:
    """on_track: the projection and the band's pessimistic edge meet the target; at_risk: only
    the projection; off_track: not the projection."""
    if projection is None:
        return None
    edge = projection.high if goal.get("comparison") in ("<=", "<") else projection.low
    if not attention.meets(projection.value, goal):
        return "off_track"
    return "on_track" if attention.meets(edge, goal) else "at_risk"


def projected(code: str) -> bool:
    """Whether an indicator is projected: a rate with a national target."""
    return catalog.get(code).is_rate and attention.target(code) is not None


def outlooks(series: pd.DataFrame, code: str, period: str) -> pd.DataFrame:
    """Per province (``series``: code, period, value of the indicator ``code``), in ``period``:
    the projection to the target's deadline (projected, low, high), its status, the target and
    the deadline. From the deadline month on, met / missed by the deadline month's value."""
    goal, spec, ind = attention.target(code), settings(), catalog.get(code)
    deadline = goal["deadline"]
    window = [fmt.add_months(period, k) for k in range(-int(spec["window"]) + 1, 1)]
    wide = series.pivot_table(index="code", columns="period", values="value", aggfunc="first")
    rows = []
    for unit, row in wide.iterrows():
        record = {"code": unit, "target": goal["value"], "comparison": goal["comparison"], "deadline": deadline,
                  "projected": np.nan, "low": np.nan, "high": np.nan, "status": None}
        if period >= deadline:
            at_deadline = row.get(deadline, np.nan)
            if not fmt.is_missing(at_deadline):
                record["status"] = "met" if attention.meets(at_deadline, goal) else "missed"
            rows.append(record)
            continue
        values = row.reindex(window).to_numpy(dtype=float)
        if (~np.isnan(values)).sum() >= int(spec["min_months"]) and not np.isnan(values[-1]):
            found = project(values, months_between(period, deadline), (0.0, ind.upper_bound), spec["band"])
            if found:
                record.update(projected=found.value, low=found.low, high=found.high, status=status(found, goal))
        rows.append(record)
    return pd.DataFrame(rows, columns=["code", "target", "comparison", "deadline", "projected", "low", "high",
                                       "status"])


def counts(frame: pd.DataFrame) -> dict[str, int]:
    """Provinces per status, in ``STATUSES`` order (statuses nobody has left out)."""
    found = frame["status"].value_counts()
    return {s: int(found[s]) for s in STATUSES if s in found}
