"""The indicator catalog (data/meta/indicators.toml) as typed rows, validated once: the
indicators, the units they are written in and the roles they play in the app.

Code never spells an indicator or a unit: it asks ``by_role("spending_planned")``,
``headline()``, ``unit("percent")`` or ``get(code).unit_spec``. The Decision 766 index changed
its groups in 2025: ``index766_method(period)`` says which groups a month has and each one's
maximum. ``DX_CATALOG`` points at another catalog file (tests add a throwaway indicator this
way); each file is read and checked once per process.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pandas as pd

from core import paths

LANGS = ("vi", "en")
AGGREGATIONS = {"sum", "ratio", "none"}
LEVELS = {"province", "commune"}
ROLES = {"headline", "spending_planned", "spending_disbursed", "spending_rate", "index766", "dx_criteria",
         "commune_size"}
DOSSIER_COUNTS = {"received", "online", "resolved", "on_time"}  # what etl.load.dossier_sql counts
BOUNDS = {"max", "plausible_max"}  # indicator fields that can bound a unit's values
MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


class CatalogError(ValueError):
    """The catalog file is inconsistent (the message names the entry and the field)."""


@dataclass(frozen=True)
class Unit:
    code: str
    label_vi: str
    label_en: str
    suffix_vi: str
    suffix_en: str
    decimals: int
    tick_format: str
    difference_vi: str | None = None
    difference_en: str | None = None
    suffix_on_ticks: bool = False
    max: float | None = None
    bound: str | None = None
    tick_step: float | None = None

    def label(self, lang: str) -> str:
        """Axis and colour-bar title: 'tỷ đồng', 'criteria (of 17)'."""
        return self._text("label", lang)

    def suffix(self, lang: str) -> str:
        """After a value: ' %' (vi), '%' (en), ' tỷ đồng', '/17'."""
        return self._text("suffix", lang)

    def difference_suffix(self, lang: str) -> str:
        """After a difference of two values: ' điểm %' / ' pp' for percentages, else the suffix."""
        return self._text("difference", lang) if self.difference_vi is not None else self.suffix(lang)

    def tick_suffix(self, lang: str) -> str:
        return self.suffix(lang) if self.suffix_on_ticks else ""

    def _text(self, name: str, lang: str) -> str:
        text = getattr(self, f"{name}_{'en' if lang == 'en' else 'vi'}")
        return text.replace("{max}", f"{self.max:g}") if self.max is not None else text


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
    unit_spec: Unit
    numerator: str | None = None
    denominator: str | None = None
    role: str | None = None
    dossier_count: str | None = None
    demo_since: str | None = None
    max: float | None = None
    plausible_max: float | None = None
    components: tuple[str, ...] = ()
    targets: tuple[dict, ...] = field(default_factory=tuple)
    per_capita: bool = False

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
        """The largest value a file may give for one unit and month: the top of the unit's
        scale (100 %, 17 criteria), a score's ``max``, ``plausible_max`` for counts and money."""
        if self.unit_spec.max is not None:
            return float(self.unit_spec.max)
        return float(getattr(self, self.unit_spec.bound))


@dataclass(frozen=True)
class Group:
    """One group of a Decision 766 method: its indicator, its maximum under the method, the
    field of the National Public Service Portal's ranking table that holds it, and more
    headings staff's Excel copies give it."""

    indicator: str
    max: float
    field: str
    headers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Method:
    """A way the Decision 766 index was computed, from ``valid_from`` to ``valid_to`` (the
    month before the next method; None: still in use), with its groups in display order."""

    valid_from: str
    valid_to: str | None
    label_vi: str
    label_en: str
    basis: str
    groups: tuple[Group, ...]

    def label(self, lang: str) -> str:
        return self.label_vi if lang == "vi" else self.label_en

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(g.indicator for g in self.groups)

    def max_of(self, code: str) -> float | None:
        """The group's maximum under this method (None: not a group of this method)."""
        return next((g.max for g in self.groups if g.indicator == code), None)

    def covers(self, period: str) -> bool:
        return self.valid_from <= period and (self.valid_to is None or period <= self.valid_to)


@dataclass(frozen=True)
class Catalog:
    units: dict[str, Unit]
    indicators: dict[str, Indicator]
    levels: dict[str, dict]
    methods: tuple[Method, ...] = ()

    def by_role(self, role: str) -> Indicator:
        if role not in ROLES:
            raise KeyError(f"unknown role {role!r} (known: {sorted(ROLES)})")
        return next(i for i in self.indicators.values() if i.role == role)


# --------------------------------------------------------------------------- reading


def _unit(code: str, entry: dict) -> Unit:
    where = f"unit {code}"
    try:
        unit = Unit(code=code, **entry)
    except TypeError as exc:  # a missing or unknown field
        raise CatalogError(f"{where}: {exc}") from None
    for name in ("label", "suffix"):
        for lang in LANGS:
            if not isinstance(getattr(unit, f"{name}_{lang}"), str):
                raise CatalogError(f"{where}: {name}_{lang} must be text")
    if not unit.label_vi.strip() or not unit.label_en.strip():
        raise CatalogError(f"{where}: label_vi and label_en must both be given")
    if (unit.difference_vi is None) != (unit.difference_en is None):
        raise CatalogError(f"{where}: difference_vi and difference_en go together")
    if (unit.max is None) == (unit.bound is None):
        raise CatalogError(f"{where}: give either max (the unit's own scale) or bound {sorted(BOUNDS)}")
    if unit.bound is not None and unit.bound not in BOUNDS:
        raise CatalogError(f"{where}: bound must be one of {sorted(BOUNDS)}")
    if unit.tick_step is not None and unit.max is None:
        raise CatalogError(f"{where}: tick_step needs the unit's max")
    return unit


def _indicator(entry: dict, units: dict[str, Unit]) -> Indicator:
    entry = dict(entry)
    code = entry.get("code", "?")
    unit = units.get(entry.get("unit"))
    if unit is None:
        raise CatalogError(f"indicator {code}: unknown unit {entry.get('unit')!r} (units: {sorted(units)})")
    entry.setdefault("decimals", unit.decimals)
    entry["levels"] = tuple(entry.get("levels", ()))
    entry["components"] = tuple(entry.get("components", ()))
    entry["targets"] = tuple(entry.get("targets", ()))
    try:
        indicator = Indicator(unit_spec=unit, **entry)
    except TypeError as exc:  # a missing or unknown field
        raise CatalogError(f"indicator {code}: {exc}") from None
    for name in ("name", "definition"):
        for lang in LANGS:
            text = getattr(indicator, f"{name}_{lang}")
            if not isinstance(text, str) or not text.strip():
                raise CatalogError(f"indicator {code}: {name}_{lang} is empty (every text in Vietnamese and English)")
    if indicator.aggregation not in AGGREGATIONS:
        raise CatalogError(f"indicator {code}: aggregation must be one of {sorted(AGGREGATIONS)}")
    if not indicator.levels or not set(indicator.levels) <= LEVELS:
        raise CatalogError(f"indicator {code}: bad levels {indicator.levels}")
    for bound in BOUNDS:
        if (unit.bound == bound) != (getattr(indicator, bound) is not None):
            raise CatalogError(f"indicator {code}: {bound} is required for {unit.code} values, and only for them")
    if indicator.role is not None and indicator.role not in ROLES:
        raise CatalogError(f"indicator {code}: unknown role {indicator.role!r} (known: {sorted(ROLES)})")
    if not isinstance(indicator.per_capita, bool):
        raise CatalogError(f"indicator {code}: per_capita is true or false")
    if indicator.per_capita and not (indicator.is_count and "province" in indicator.levels):
        raise CatalogError(f"indicator {code}: per_capita is for counts (aggregation \"sum\") published for "
                           "provinces: population exists for provinces only, and a rate or index per inhabitant "
                           "means nothing")
    if indicator.dossier_count is not None and indicator.dossier_count not in DOSSIER_COUNTS:
        raise CatalogError(f"indicator {code}: dossier_count must be one of {sorted(DOSSIER_COUNTS)}")
    return indicator


def _previous_month(period: str) -> str:
    year, month = int(period[:4]), int(period[5:7])
    return f"{year - 1}-12" if month == 1 else f"{year}-{month - 1:02d}"


def _methods(raw: list[dict]) -> tuple[Method, ...]:
    """The [[index766_method]] tables, checked on their own (their indicators: ``_with_methods``)."""
    if not raw:
        raise CatalogError("[[index766_method]]: the Decision 766 index needs at least one method")
    starts = [entry.get("valid_from") for entry in raw]
    if not all(isinstance(s, str) and MONTH.match(s) for s in starts) or starts != sorted(set(starts)):
        raise CatalogError(f"[[index766_method]]: valid_from must be YYYY-MM months in increasing order, not {starts}")
    methods = []
    for i, entry in enumerate(raw):
        where = f"[[index766_method]] from {entry['valid_from']}"
        entry = dict(entry)
        try:
            groups = tuple(Group(**{**g, "headers": tuple(g.get("headers", ())), "max": float(g["max"])})
                           for g in entry.pop("groups"))
            valid_to = _previous_month(starts[i + 1]) if i + 1 < len(starts) else None
            method = Method(valid_to=valid_to, groups=groups, **entry)
        except (TypeError, KeyError) as exc:  # a missing or unknown field
            raise CatalogError(f"{where}: {exc}") from None
        if not (method.label_vi.strip() and method.label_en.strip() and method.basis.strip()):
            raise CatalogError(f"{where}: label_vi, label_en and basis must all be given")
        for name in ("indicator", "field"):
            values = [getattr(g, name) for g in groups]
            if not groups or len(set(values)) != len(values):
                raise CatalogError(f"{where}: each group needs its own {name} ({values})")
        methods.append(method)
    return tuple(methods)


def _with_methods(entries: list[dict], methods: tuple[Method, ...], units: dict[str, Unit]) -> list[dict]:
    """The raw indicator entries with what the methods say about them: each group's ``max``
    (its largest over the methods) and the index's ``components`` (every group: the newest
    method's in its order, then those only older methods had)."""
    scores = {e.get("code") for e in entries if e.get("role") != "index766"
              and getattr(units.get(e.get("unit")), "bound", None) == "max"}
    largest: dict[str, float] = {}
    for method in reversed(methods):
        for group in method.groups:
            if group.indicator not in scores:
                raise CatalogError(f"[[index766_method]] from {method.valid_from}: {group.indicator} is no score "
                                   "indicator of the catalog")
            largest[group.indicator] = max(largest.get(group.indicator, 0.0), group.max)
    out = []
    for entry in entries:
        entry, code = dict(entry), entry.get("code", "?")
        if code in largest:
            if "max" in entry:
                raise CatalogError(f"indicator {code}: a Decision 766 group's maximum is given per method in "
                                   "[[index766_method]], not as its max")
            entry["max"] = largest[code]
        if entry.get("role") == "index766":
            if "components" in entry:
                raise CatalogError(f"indicator {code}: the 766 index's groups are listed in [[index766_method]]")
            entry["components"] = list(largest)
        out.append(entry)
    return out


def _check_methods(catalog: dict[str, Indicator], methods: tuple[Method, ...]) -> None:
    total = next(i for i in catalog.values() if i.role == "index766")
    for method in methods:
        where = f"[[index766_method]] from {method.valid_from}"
        if abs(sum(g.max for g in method.groups) - total.upper_bound) > 1e-9:
            raise CatalogError(f"{where}: the groups' maxima add up to {sum(g.max for g in method.groups):g}, "
                               f"not to {total.code}'s max {total.upper_bound:g}")


def _check_links(catalog: dict[str, Indicator]) -> None:
    for indicator in catalog.values():
        if indicator.is_rate and not (indicator.numerator in catalog and indicator.denominator in catalog):
            raise CatalogError(f"rate {indicator.code} needs numerator and denominator indicators")
        for component in indicator.components:
            if component not in catalog:
                raise CatalogError(f"{indicator.code}: unknown component {component}")
    for role in sorted(ROLES):
        holders = [i.code for i in catalog.values() if i.role == role]
        if len(holders) != 1:
            raise CatalogError(f"role {role}: needs exactly one indicator, has {holders or 'none'}")
    for count in sorted(DOSSIER_COUNTS):
        holders = [i.code for i in catalog.values() if i.dossier_count == count]
        if len(holders) > 1:
            raise CatalogError(f"dossier_count {count}: given to {holders}")
    roles = {i.role: i for i in catalog.values() if i.role}
    rate = roles["spending_rate"]
    if (rate.numerator, rate.denominator) != (roles["spending_disbursed"].code, roles["spending_planned"].code):
        raise CatalogError(f"{rate.code}: the spending rate is spending_disbursed / spending_planned")
    if not roles["index766"].components:
        raise CatalogError(f"{roles['index766'].code}: the 766 index needs its groups as components")


@cache
def load(path: Path) -> Catalog:
    """The catalog in ``path``; raises :class:`CatalogError` on an inconsistent file."""
    raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    units = {code: _unit(code, dict(entry)) for code, entry in raw.get("unit", {}).items()}
    methods = _methods(raw.get("index766_method", []))
    indicators: dict[str, Indicator] = {}
    for entry in _with_methods(raw.get("indicator", []), methods, units):
        indicator = _indicator(entry, units)
        if indicator.code in indicators:
            raise CatalogError(f"indicator {indicator.code} defined twice in {Path(path).name}")
        indicators[indicator.code] = indicator
    _check_links(indicators)
    _check_methods(indicators, methods)
    levels = raw.get("level", {})
    if set(levels) != LEVELS:
        raise CatalogError(f"{Path(path).name}: [level.*] must list {sorted(LEVELS)}")
    return Catalog(units=units, indicators=indicators, levels=levels, methods=methods)


def current() -> Catalog:
    """The catalog in use: data/meta/indicators.toml, or the file ``DX_CATALOG`` names."""
    return load(paths.catalog_file())


# --------------------------------------------------------------------------- lookups


def indicators() -> dict[str, Indicator]:
    """All indicators by code, in catalog order."""
    return current().indicators


def get(code: str) -> Indicator:
    return current().indicators[code]


def unit(code: str) -> Unit:
    """A unit by its code (KeyError if the catalog does not declare it)."""
    return current().units[code]


def units() -> dict[str, Unit]:
    return current().units


def by_role(role: str) -> Indicator:
    """The indicator that plays ``role`` (see ``ROLES`` and the catalog file's header)."""
    return current().by_role(role)


def headline() -> Indicator:
    """The indicator pages open with."""
    return by_role("headline")


def criteria_max() -> int:
    """How many DX criteria a commune can meet (the top of the criteria indicator's scale)."""
    return int(by_role("dx_criteria").upper_bound)


def by_dossier_count(count: str) -> Indicator:
    """The indicator a dossier export's ``count`` ("received", …) is published as."""
    return next(i for i in indicators().values() if i.dossier_count == count)


def valid_from(level: str) -> str | None:
    """The first month (YYYY-MM) a unit of ``level`` can have a value, or None (no bound)."""
    return current().levels[level].get("valid_from")


def index766_methods() -> tuple[Method, ...]:
    """The methods of the Decision 766 index, oldest first."""
    return current().methods


def index766_method(period: str) -> Method | None:
    """The method that computed the 766 index of ``period`` (YYYY-MM); None before the first."""
    return next((m for m in current().methods if m.covers(period)), None)


def index766_group_max(code: str, period: str) -> float | None:
    """A 766 group's maximum in ``period`` (None: the month's method has no such group)."""
    method = index766_method(period)
    return method.max_of(code) if method else None


def per_capita() -> list[Indicator]:
    """Counts that may be shown per 1,000 inhabitants (``per_capita = true``); the population
    is the province view's, whose bases differ, so such figures are approximate."""
    return [i for i in indicators().values() if i.per_capita]


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
                "per_capita": i.per_capita,
            }
        )
    return pd.DataFrame(rows)


def index766_groups_frame() -> pd.DataFrame:
    """The 766 groups of every method with their maxima (`ref.index766_group`)."""
    rows = [
        {"valid_from": m.valid_from, "valid_to": m.valid_to, "method_vi": m.label_vi, "method_en": m.label_en,
         "n_groups": len(m.groups), "position": position, "indicator": g.indicator, "max_value": g.max,
         "portal_field": g.field, "basis": m.basis}
        for m in index766_methods() for position, g in enumerate(m.groups, start=1)
    ]
    return pd.DataFrame(rows)


def targets_frame() -> pd.DataFrame:
    """Targets as rows (`ref.target`): indicator, scope, comparison, value, deadline, basis."""
    rows = [
        {"indicator": i.code, **target}
        for i in indicators().values()
        for target in i.targets
    ]
    return pd.DataFrame(rows, columns=["indicator", "value", "comparison", "deadline", "scope", "basis"])
