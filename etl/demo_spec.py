"""The demo spec (data/meta/demo.toml) and the anchors the demo must meet, read and checked.

The spec says, per catalog indicator, which *shape* makes its values and with which
parameters; the anchors are the checkable press facts (data/meta/press_facts.csv) about
generated indicators plus the spec's own ``[[anchor]]`` rows. docs/demo.md describes both.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from core import catalog, paths
from etl import facts, published

SPEC_FILE = paths.META / "demo.toml"
SHAPE_KEYS = {  # what each shape accepts besides shape, path and pull_months
    "flow": {"per_size", "season", "year_factor", "noise", "round"},
    "stock": {"per_size", "noise", "round"},
    "share": {"of", "commune_spread"},
    "rate": {"commune_spread"},
    "difference": {"of"},
    "score_groups": set(),
    "bounded_integer": set(),
}
SEGMENT_KEYS = {"since", "start", "growth", "slope", "end", "tau", "rise", "noise", "min", "max"}
COURSES = ("growth", "slope", "end", "rise")  # at most one per path segment
ANCHOR_CHECKS = {"value", "month_at_least", "rank", "sum_since", "ratio_over_span", "min_in_province"}
ANCHOR_COLUMNS = ["id", "indicator", "unit_code", "level", "period", "check", "comparison", "value"]
REQUIRED = {"seed", "first_month", "last_month", "pull_months", "margin", "rank_gap", "communes"}
COMMUNE_KEYS = {"weight_sigma", "kind_factor", "monthly_jitter"}


class SpecError(ValueError):
    """The spec or an anchor cannot drive the generator; the message says where and why."""


def month_number(period: str) -> int:
    return int(period[:4]) * 12 + int(period[5:7]) - 1


def month_name(number: int) -> str:
    return f"{number // 12}-{number % 12 + 1:02d}"


def month_range(first: str, last: str) -> list[str]:
    return [month_name(n) for n in range(month_number(first), month_number(last) + 1)]


@dataclass(frozen=True)
class IndicatorSpec:
    code: str
    shape: str
    options: dict
    segments: tuple[dict, ...]  # path segments, each from its ``since`` month
    pull_months: float

    def inputs(self) -> tuple[str, ...]:
        """The indicators this one is computed from, which are generated before it."""
        if self.shape == "rate":
            return (catalog.get(self.code).denominator,)
        of = self.options.get("of", ())
        return (of,) if isinstance(of, str) else tuple(of)

    def makes(self) -> tuple[str, ...]:
        """The catalog indicators this entry produces: itself, a rate's numerator, score groups."""
        indicator = catalog.get(self.code)
        return (self.code,) + ((indicator.numerator,) if self.shape == "rate" else ()) + indicator.components


@dataclass(frozen=True)
class DemoSpec:
    seed: int
    first_month: str
    last_month: str
    margin: float  # how far inside its bound a "<" or ">" anchor is met (relative)
    rank_gap: tuple[float, float]
    seasons: dict[str, np.ndarray]  # monthly factors, January first, averaging 1
    communes: dict
    indicators: dict[str, IndicatorSpec]  # inputs before the indicators made from them
    anchors: pd.DataFrame  # the spec's own anchors, in press-fact columns

    def generated(self) -> set[str]:
        return {code for entry in self.indicators.values() for code in entry.makes()}


def _segments(where: str, raw) -> tuple[dict, ...]:
    segments = [raw] if isinstance(raw, dict) else list(raw)
    for segment in segments:
        unknown = sorted(set(segment) - SEGMENT_KEYS)
        courses = [key for key in COURSES if key in segment]
        if unknown or "start" not in segment or len(courses) > 1 or ("tau" in segment and courses != ["end"]):
            raise SpecError(f"{where}: a path segment takes start and at most one of {', '.join(COURSES)} "
                            f"(tau only with end); unknown keys: {unknown or 'none'}")
        if any(isinstance(segment.get(key), list) for key in ("since", "min", "max")):
            raise SpecError(f"{where}: since, min and max are one value for every unit, not a range")
    sinces = [segment.get("since") for segment in segments]
    if len(segments) > 1 and (None in sinces or sinces != sorted(sinces)):
        raise SpecError(f"{where}: several path segments each need a since month, in order")
    return tuple(segments)


def _entry(where: str, code: str, entry: dict, raw: dict, seasons: dict) -> IndicatorSpec:
    indicator, shape = catalog.get(code), entry.get("shape")
    if shape not in SHAPE_KEYS:
        raise SpecError(f"{where}: shape must be one of {', '.join(SHAPE_KEYS)}")
    if unknown := sorted(set(entry) - {"shape", "path", "pull_months"} - SHAPE_KEYS[shape]):
        raise SpecError(f"{where}: unknown keys {unknown} for shape {shape}")
    if (shape == "rate") != indicator.is_rate or (shape == "score_groups") != bool(indicator.components):
        raise SpecError(f"{where}: rate is the shape of the catalog's rates and score_groups of indicators "
                        "with components, and only theirs")
    if shape == "rate" and indicator.numerator in raw["indicator"]:
        raise SpecError(f"{where}: the rate makes {indicator.numerator}, which takes no entry of its own")
    if shape in ("share", "difference") and "of" not in entry:
        raise SpecError(f"{where}: {shape} needs `of`")
    if "season" in entry and entry["season"] not in seasons:
        raise SpecError(f"{where}: no season {entry['season']!r} in [season]")
    if shape not in ("flow", "stock", "difference") and "path" not in entry:
        raise SpecError(f"{where}: shape {shape} needs a path")
    segments = () if shape == "difference" else _segments(where, entry.get("path", {"start": 1.0}))
    options = {key: value for key, value in entry.items() if key not in ("shape", "path", "pull_months")}
    return IndicatorSpec(code, shape, options, segments, float(entry.get("pull_months", raw["pull_months"])))


def read_spec(path: Path = SPEC_FILE) -> DemoSpec:
    """The spec file, checked against the catalog; :class:`SpecError` names the entry at fault."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{path.name}: not valid TOML ({exc})") from None
    if missing := sorted(REQUIRED - set(raw)) or sorted(COMMUNE_KEYS - set(raw["communes"])):
        raise SpecError(f"{path.name}: missing {missing} (docs/demo.md)")
    seasons = {name: np.asarray(factors, float) / np.mean(factors) for name, factors in raw.get("season", {}).items()}
    entries, made = {}, set()
    for code, entry in raw.get("indicator", {}).items():
        where = f"{path.name} [indicator.{code}]"
        if code not in catalog.indicators():
            raise SpecError(f"{where}: no such indicator in the catalog")
        entries[code] = _entry(where, code, entry, raw, seasons)
        if missing := [needed for needed in entries[code].inputs() if needed not in made]:
            raise SpecError(f"{where}: needs {missing}, which must have a demo spec earlier in the file")
        made.update(entries[code].makes())
    anchors = pd.DataFrame(raw.get("anchor", []), columns=ANCHOR_COLUMNS + ["why"])
    return DemoSpec(raw["seed"], raw["first_month"], raw["last_month"], raw["margin"], tuple(raw["rank_gap"]),
                    seasons, raw["communes"], entries, anchors)


@dataclass(frozen=True)
class Anchor:
    """A figure the demo must meet: ``kind`` value | sum | ratio | rank | min_in_province, of one
    unit (a province or a commune) over the months ``first`` .. ``last``."""

    id: str
    indicator: str
    unit: str
    level: str
    first: str
    last: str
    kind: str
    comparison: str
    value: float

    def holds(self, observed: float | None) -> bool:
        """The agreement rule of the ``fact_check`` view (etl/warehouse.py), so the engine stops
        where the view will agree: ranks equal; otherwise the comparison, "=" to 2 decimals.
        The tests read the view over the built demo, which keeps the two rules together."""
        if observed is None:
            return False
        if self.kind == "rank":
            return abs(observed - self.value) < 1e-9
        return {"=": round(observed, 2) == round(self.value, 2), ">": observed > self.value,
                ">=": observed >= self.value, "<": observed < self.value,
                "<=": observed <= self.value}[self.comparison]

    def target(self, margin: float, decimals: int) -> float:
        """The value that meets the anchor: itself for "=", else ``margin`` inside its bound at
        ``decimals`` (a whole-number ">= 16" stays 16; "> 10,200" becomes 10,404)."""
        bound, step = self.value, 10.0 ** -decimals
        if self.comparison == "=":
            return bound
        up, strict = self.comparison.startswith(">"), self.comparison in (">", "<")
        inside = bound * (1 + margin if up else 1 - margin) / step
        if up:
            target = math.ceil(inside) * step if strict else max(bound, math.floor(inside) * step)
        else:
            target = math.floor(inside) * step if strict else min(bound, math.ceil(inside) * step)
        if strict and target == bound:
            target += step if up else -step
        return round(target, max(decimals, 0))


def anchors(spec: DemoSpec) -> list[Anchor]:
    """The checkable press facts, the spec's anchors and the comparable published figures, with
    the months each covers."""
    press = facts.facts_frame()
    checkable = press["check"].str.partition(":")[0].isin(ANCHOR_CHECKS)
    found, generated = [], spec.generated()
    for row in pd.concat([press[checkable][ANCHOR_COLUMNS], spec.anchors[ANCHOR_COLUMNS]]).itertuples(index=False):
        if row.indicator not in generated:
            raise SpecError(f"anchor {row.id} is about {row.indicator}, which has no demo spec")
        check, _, since = row.check.partition(":")
        kind = {"month_at_least": "value", "sum_since": "sum", "ratio_over_span": "ratio"}.get(check, check)
        first, last = row.period.split("/") if kind == "ratio" else (since or row.period, row.period)
        first = max(first, spec.first_month, catalog.get(row.indicator).demo_since or "")
        if first > last or last > spec.last_month:
            raise SpecError(f"anchor {row.id}: its months are outside the demo's")
        found.append(Anchor(row.id, row.indicator, str(row.unit_code), row.level, first, last, kind,
                            row.comparison, float(row.value)))
    return found + published_anchors(spec)


def published_anchors(spec: DemoSpec) -> list[Anchor]:
    """The comparable published figures (etl/published.py) about generated indicators: a value
    or a rank of one province in one month. A figure about a province's communes anchors the
    province, whose demo counts are the sums of its communes'. A comparable figure about an
    indicator the catalog lacks (a 766 group of a later method) anchors nothing until it has one."""
    rows = published.published_frame()
    rows = rows[rows["comparable"] & rows["compares_with"].isin(spec.generated())]
    return [Anchor(row.id, row.compares_with, row.province_code, "province", row.first_month, row.first_month,
                   row.measure, row.comparison, float(row.value)) for row in rows.itertuples(index=False)]
