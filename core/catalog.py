"""The indicator catalog (data/meta/indicators.toml) as typed rows, validated once."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import cache

import pandas as pd

from core import paths

CATALOG_FILE = paths.META / "indicators.toml"
UNITS = {"count", "percent", "bn_vnd", "score", "criteria"}
BOUNDED_BY_DATA = {"count", "bn_vnd"}  # units whose upper bound is the catalog's plausible_max
CRITERIA = 17
AGGREGATIONS = {"sum", "ratio", "none"}
LEVELS = {"province", "commune"}


@dataclass(frozen=True)
class Indicator:
    code: str
    name_vi: str
    name_en: str
    unit: str
    decimals: int
    higher_is_better: bool
    aggregation: str
    levels: tuple[str, ...]
    topic: str
    definition_vi: str
    definition_en: str
    legal_basis: str
    numerator: str | None = None
    denominator: str | None = None
    demo_since: str | None = None
    max: float | None = None
    plausible_max: float | None = None
    components: tuple[str, ...] = ()
    targets: tuple[dict, ...] = field(default_factory=tuple)

    @property
    def is_rate(self) -> bool:
        return self.aggregation == "ratio"

    @property
    def is_count(self) -> bool:
        """Counts and money: summed over units, never negative."""
        return self.aggregation == "sum"

    def name(self, lang: str) -> str:
        return self.name_vi if lang == "vi" else self.name_en

    @property
    def upper_bound(self) -> float:
        """The largest value a file may give for one unit and month: 100 for a rate, the
        scale of a score (17 criteria), ``plausible_max`` for counts and money."""
        if self.unit == "percent":
            return 100.0
        if self.unit == "criteria":
            return float(self.max if self.max is not None else CRITERIA)
        if self.unit == "score":
            return float(self.max)
        return float(self.plausible_max)


@cache
def _raw() -> dict:
    return tomllib.loads(CATALOG_FILE.read_text(encoding="utf-8"))


@cache
def indicators() -> dict[str, Indicator]:
    """All indicators by code, in catalog order; raises on an inconsistent catalog."""
    raw = _raw()["indicator"]
    catalog: dict[str, Indicator] = {}
    for entry in raw:
        entry = dict(entry)
        entry["levels"] = tuple(entry["levels"])
        entry["components"] = tuple(entry.get("components", ()))
        entry["targets"] = tuple(entry.get("targets", ()))
        indicator = Indicator(**entry)
        if indicator.code in catalog:
            raise ValueError(f"indicator {indicator.code} defined twice in {CATALOG_FILE.name}")
        if indicator.unit not in UNITS or indicator.aggregation not in AGGREGATIONS:
            raise ValueError(f"indicator {indicator.code}: bad unit or aggregation")
        if not set(indicator.levels) <= LEVELS:
            raise ValueError(f"indicator {indicator.code}: bad levels {indicator.levels}")
        if (indicator.unit in BOUNDED_BY_DATA) != (indicator.plausible_max is not None):
            raise ValueError(f"indicator {indicator.code}: plausible_max is required for counts and money, "
                             "and only for them")
        if indicator.unit == "score" and indicator.max is None:
            raise ValueError(f"indicator {indicator.code}: a score needs its max")
        catalog[indicator.code] = indicator
    for indicator in catalog.values():
        if indicator.is_rate and not (indicator.numerator in catalog and indicator.denominator in catalog):
            raise ValueError(f"rate {indicator.code} needs numerator and denominator indicators")
        for component in indicator.components:
            if component not in catalog:
                raise ValueError(f"{indicator.code}: unknown component {component}")
    return catalog


def get(code: str) -> Indicator:
    return indicators()[code]


@cache
def valid_from(level: str) -> str | None:
    """The first month (YYYY-MM) a unit of ``level`` can have a value, or None (no bound)."""
    levels = _raw().get("level", {})
    if set(levels) != LEVELS:
        raise ValueError(f"{CATALOG_FILE.name}: [level.*] must list {sorted(LEVELS)}")
    return levels[level].get("valid_from")


def rates() -> list[Indicator]:
    return [i for i in indicators().values() if i.is_rate]


def catalog_frame() -> pd.DataFrame:
    """The catalog as a table for the warehouse (`ref.indicator`)."""
    rows = []
    for order, i in enumerate(indicators().values()):
        rows.append(
            {
                "code": i.code,
                "name_vi": i.name_vi,
                "name_en": i.name_en,
                "unit": i.unit,
                "decimals": i.decimals,
                "higher_is_better": i.higher_is_better,
                "aggregation": i.aggregation,
                "numerator": i.numerator,
                "denominator": i.denominator,
                "levels": ",".join(i.levels),
                "topic": i.topic,
                "max_value": i.max,
                "components": ",".join(i.components) or None,
                "definition": i.definition_vi,
                "definition_en": i.definition_en,
                "legal_basis": i.legal_basis,
                "sort_order": order,
            }
        )
    return pd.DataFrame(rows)


def targets_frame() -> pd.DataFrame:
    """Targets as rows (`ref.target`): indicator, scope, comparison, value, deadline, basis."""
    rows = [
        {"indicator": i.code, **target}
        for i in indicators().values()
        for target in i.targets
    ]
    return pd.DataFrame(rows, columns=["indicator", "value", "comparison", "deadline", "scope", "basis"])
