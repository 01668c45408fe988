"""Similar provinces: the nearest neighbours of a province on standardised context
(population, area, communes, share of wards, region), as the UK ONS "similar areas" tool
does. The features and weights are data/meta/similar.toml; docs/dashboard.md says why.

Pure functions of a context table (one row per province: ``code``, ``population``,
``area_km2``, ``n_communes``, ``ward_share``, ``region``), so a test can build the context."""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

from core import catalog, paths

SCHEME_FILE = paths.META / "similar.toml"
FEATURES = ("log_population", "log_area", "communes", "ward_share")


@dataclass(frozen=True)
class Scheme:
    """How many neighbours and the weight of each feature and of a different region."""
    neighbours: int
    region: float
    features: tuple[tuple[str, float], ...]
    ward_share_unit: str  # a catalog unit code


@cache
def scheme(path: Path = SCHEME_FILE) -> Scheme:
    raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    features = raw.get("features", {})
    if set(features) != set(FEATURES):
        raise ValueError(f"{Path(path).name}: [features] must weigh exactly {', '.join(FEATURES)}")
    weights = tuple((name, float(features[name])) for name in FEATURES)
    if any(w < 0 or not math.isfinite(w) for _, w in weights) or float(raw["region"]) < 0:
        raise ValueError(f"{Path(path).name}: weights must be finite and not negative")
    if raw.get("ward_share_unit") not in catalog.units():
        raise ValueError(f"{Path(path).name}: ward_share_unit must be a unit of the indicator catalog")
    return Scheme(neighbours=int(raw["neighbours"]), region=float(raw["region"]), features=weights,
                  ward_share_unit=raw["ward_share_unit"])


def standardised(context: pd.DataFrame) -> pd.DataFrame:
    """The features as z-scores over the provinces given (a feature that does not vary is 0)."""
    raw = pd.DataFrame({
        "log_population": np.log(context["population"].astype(float)),
        "log_area": np.log(context["area_km2"].astype(float)),
        "communes": context["n_communes"].astype(float),
        "ward_share": context["ward_share"].astype(float),
    })
    spread = raw.std(ddof=0).replace(0, 1.0)
    z = (raw - raw.mean()) / spread
    z.index = context["code"].to_numpy()
    return z


def distances(context: pd.DataFrame, how: Scheme | None = None) -> pd.DataFrame:
    """Square table of the weighted Euclidean distances between every two provinces (by code)."""
    how = how or scheme()
    z = standardised(context)
    values = z[[name for name, _ in how.features]].to_numpy()
    weights = np.array([w for _, w in how.features])
    squared = (((values[:, None, :] - values[None, :, :]) ** 2) * weights).sum(axis=2)
    region = context["region"].to_numpy()
    squared = squared + how.region * (region[:, None] != region[None, :])
    return pd.DataFrame(np.sqrt(squared), index=z.index, columns=z.index)


def neighbours(context: pd.DataFrame, code: str, how: Scheme | None = None) -> pd.DataFrame:
    """The ``how.neighbours`` provinces nearest to ``code`` (never itself), nearest first,
    ties by lower code: columns ``code``, ``distance``, ``order`` (1 = nearest)."""
    how = how or scheme()
    row = distances(context, how).loc[code].drop(code)
    ranked = pd.DataFrame({"code": row.index, "distance": row.to_numpy()})
    ranked = ranked.sort_values(["distance", "code"], kind="stable").head(how.neighbours)
    return ranked.assign(order=range(1, len(ranked) + 1)).reset_index(drop=True)
