"""Deterministic demo data, made by a small engine from the catalog and data/meta/demo.toml.

Why demo data at all: the dashboard must be usable before provinces send real reports.
Every value it produces is marked ``is_demo`` in the warehouse and labelled in the UI, and
any real report for the same (indicator, period, unit) supersedes it.

How it is made (docs/demo.md; fixed seed, so every build gives the same numbers):
- each indicator with an entry in the spec (:mod:`etl.demo_spec`) is made by its *shape* from
  the parameters the entry declares; this module names no indicator. Each indicator draws from
  its own random stream, so adding one leaves the others' numbers as they were;
- months before the merger (the catalog's commune ``valid_from``) are generated for the 63 old
  provinces and re-based with :func:`etl.rebase.rebase_legacy`, the code real legacy files use.
  The 34 provinces carry on with their old provinces' parameters averaged by size, so a series
  changes course at the merger only where its path has a segment starting there;
- from the merger, summed counts are generated per province and shared out to its communes (a
  province's value is exactly the sum of its communes'); other commune values have their own path;
- anchors (press facts and the spec's own) are met at their own months: the anchored unit's path
  bends to each, the bend fading with ``pull_months`` on either side but never past the start or
  end of the path segment the anchor falls in.
"""

from __future__ import annotations

import itertools
import math
import zlib
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from core import catalog
from etl.demo_spec import (
    SPEC_FILE,
    Anchor,
    DemoSpec,
    IndicatorSpec,
    SpecError,
    anchors,
    month_name,
    month_number,
    month_range,
    read_spec,
)
from etl.rebase import rebase_legacy
from etl.reference import communes, legacy_provinces, provinces

SOURCE_ID = "demo"
COLUMNS = ["indicator", "period", "level", "unit_code", "value", "numerator", "denominator"]


@dataclass
class DemoData:
    """Rows for clean.observation_history (province and commune) and the legacy inputs."""

    observations: pd.DataFrame  # indicator, period, level, unit_code, value, numerator, denominator
    legacy: pd.DataFrame  # indicator, period, legacy_code, value, numerator, denominator
    not_rebased: pd.DataFrame  # legacy rows the re-basing rules refused (indices of merged provinces)
    without_spec: tuple[str, ...]  # catalog indicators the spec does not make (the build reports them)


@dataclass(eq=False)
class _Level:
    """The units of one level (the 63 old provinces, the 34, the communes) over its months."""

    name: str
    codes: np.ndarray
    size: np.ndarray
    months: list[str]
    values: dict[str, np.ndarray] = field(default_factory=dict)  # indicator -> units x months, NaN = none

    @property
    def values_shape(self) -> tuple[int, int]:
        return len(self.codes), len(self.months)

    @property
    def numbers(self) -> np.ndarray:
        return np.arange(month_number(self.months[0]), month_number(self.months[-1]) + 1)


def _offsets(spans: list[tuple[int, int, float]], n_months: int, pull: float) -> np.ndarray:
    """A bend: each span's offset inside it, straight lines between spans, fading with time constant
    ``pull`` before the first and after the last (``inf``: held)."""
    spans, t = sorted(spans), np.arange(n_months, dtype=float)
    (first, _, first_offset), (_, last, last_offset) = spans[0], spans[-1]
    curve = np.where(t < first, first_offset * np.exp(-(first - t) / pull), last_offset * np.exp(-(t - last) / pull))
    for (_, a1, a_offset), (b0, _, b_offset) in itertools.pairwise(spans):
        between = (t > a1) & (t < b0)
        curve[between] = a_offset + (b_offset - a_offset) * (t[between] - a1) / (b0 - a1)
    for m0, m1, offset in spans:
        curve[m0:m1 + 1] = offset
    return curve


def _exact_step(rate: float, numerator_decimals: int, denominator_decimals: int) -> int:
    """The step (in the denominator's last decimal) at which ``rate`` (two decimals) gives a
    numerator with ``numerator_decimals``: 88.01 % of a multiple of 10,000 is a whole number."""
    scale = 10_000 * 10 ** denominator_decimals
    return scale // math.gcd(scale, round(rate * 100) * 10 ** numerator_decimals)


class _Engine:
    def __init__(self, spec: DemoSpec) -> None:
        self.spec, self.catalog, self.anchors = spec, catalog.indicators(), anchors(spec)
        self.first_of = {code: max(spec.first_month, self.catalog[code].demo_since or "") for code in spec.generated()}
        merger = catalog.valid_from("commune")
        old, current, com = legacy_provinces(), provinces().code.to_numpy(), communes()
        self.legacy = _Level("legacy", old.code.to_numpy(), old.n_communes.to_numpy(float),
                             month_range(spec.first_month, month_name(month_number(merger) - 1)))
        weights = (old.province_code.to_numpy()[None, :] == current[:, None]) * self.legacy.size[None, :]
        self.province = _Level("province", current, weights.sum(axis=1), month_range(merger, spec.last_month))
        self.blend = weights / weights.sum(axis=1, keepdims=True)  # province x old province
        self.members = {code: np.flatnonzero(row) for code, row in zip(current, weights > 0)}
        kind_factor = com.kind.map(spec.communes["kind_factor"]).fillna(1.0).to_numpy(float)
        weight = self._rng("communes").lognormal(0, spec.communes["weight_sigma"], len(com)) * kind_factor
        self.commune = _Level("commune", com.code.to_numpy(), weight, self.province.months)
        self.commune_province = pd.Index(current).get_indexer(com.province_code)
        self.in_province = [np.flatnonzero(self.commune_province == p) for p in range(len(current))]
        self._drawn: dict[tuple[str, str], list[dict]] = {}

    def _rng(self, *keys: str) -> np.random.Generator:
        return np.random.default_rng([self.spec.seed, *(zlib.crc32(key.encode()) for key in keys)])

    # ---- paths ----------------------------------------------------------------------------------
    def _params(self, code: str, segments: tuple[dict, ...], level: _Level) -> list[dict]:
        """Per-unit parameters, drawn for the old provinces (averaged by size onto the 34) or communes."""
        base = self.commune if level is self.commune else self.legacy
        if (code, base.name) not in self._drawn:
            rng, n = self._rng(code, "params", base.name), len(base.codes)
            self._drawn[code, base.name] = [
                {key: rng.uniform(*value, n) if isinstance(value, list) else np.full(n, float(value))
                 for key, value in sorted(segment.items()) if key != "since"} for segment in segments]
        drawn = self._drawn[code, base.name]
        return [{k: self.blend @ v for k, v in s.items()} for s in drawn] if level is self.province else drawn

    def _starts(self, spec: IndicatorSpec) -> list[int]:
        """Month numbers at which the path's segments start, and one past the last month."""
        first = self.first_of[spec.code]
        return [month_number(max(s.get("since", first), first)) for s in spec.segments] + \
            [month_number(self.spec.last_month) + 1]

    def _path(self, code: str, spec: IndicatorSpec, level: _Level) -> np.ndarray:
        """Every unit's path over the level's months, noise and bounds included (NaN before its start)."""
        params, t, starts = self._params(code, spec.segments, level), level.numbers, self._starts(spec)
        out = np.full((len(level.codes), len(t)), np.nan)
        rng = self._rng(code, "path", level.name)
        for segment, p, begin, end in zip(spec.segments, params, starts, starts[1:]):
            if not (cols := (t >= begin) & (t < end)).any():
                continue
            dt, start = (t[cols] - begin)[None, :].astype(float), p["start"][:, None]
            if "growth" in p:
                values = start * (1 + p["growth"][:, None]) ** dt
            elif "slope" in p:
                values = start + p["slope"][:, None] * dt
            elif "tau" in p:
                values = start + (p["end"] - p["start"])[:, None] * (1 - np.exp(-dt / p["tau"][:, None]))
            elif "end" in p or "rise" in p:
                goal = p["end"] if "end" in p else p["start"] + p["rise"]
                values = start + (goal - p["start"])[:, None] * dt / max(1, end - begin - 1)
            else:
                values = np.repeat(start, cols.sum(), axis=1)
            if "noise" in p:
                values = values + rng.normal(0, 1, values.shape) * p["noise"][:, None]
            out[:, cols] = np.clip(values, segment.get("min", -np.inf), segment.get("max", np.inf))
        return out

    def _bounds(self, spec: IndicatorSpec, level: _Level) -> tuple[np.ndarray, np.ndarray]:
        """The path's min and max in each month of the level."""
        which = np.clip(np.searchsorted(self._starts(spec)[:-1], level.numbers, side="right") - 1, 0, None)
        return (np.array([s.get("min", -np.inf) for s in spec.segments])[which],
                np.array([s.get("max", np.inf) for s in spec.segments])[which])

    # ---- shapes ---------------------------------------------------------------------------------
    def _provinces(self) -> None:
        """Every indicator published for provinces: the 63 before the merger, the 34 after."""
        for code, spec in self.spec.indicators.items():
            indicator = self.catalog[code]
            if "province" not in indicator.levels:
                continue
            levels = [lvl for lvl in (self.legacy, self.province) if self.first_of[code] <= lvl.months[-1]]
            if spec.shape in ("flow", "stock"):
                self._finish(spec, {lvl: self._count(spec, lvl) for lvl in levels})
            elif spec.shape == "share":
                parents = {lvl: lvl.values[spec.options["of"]] for lvl in levels}
                self._finish(spec, {lvl: np.minimum(parent, parent * self._path(code, spec, lvl))
                                    for lvl, parent in parents.items()})
            elif spec.shape == "difference":
                minuend, subtrahend = spec.options["of"]
                for lvl in levels:
                    lvl.values[code] = lvl.values[minuend] - lvl.values[subtrahend]
            elif spec.shape == "rate":
                self._rate(spec, indicator, levels)
            elif spec.shape == "score_groups":
                self._score_groups(spec, levels)
            else:
                for lvl in levels:
                    self._bounded_integer(spec, lvl)

    def _count(self, spec: IndicatorSpec, level: _Level) -> np.ndarray:
        """flow and stock: path x per_size x size (x season x year factor), with noise."""
        options, months = spec.options, level.numbers
        values = self._path(spec.code, spec, level) * options.get("per_size", 1.0)
        if "per_size" in options:
            values = values * level.size[:, None]
        if "season" in options:
            values = values * self.spec.seasons[options["season"]][months % 12][None, :]
        if "year_factor" in options:
            if missing := sorted({str(n // 12) for n in months} - set(options["year_factor"])):
                raise SpecError(f"demo spec [indicator.{spec.code}]: year_factor lacks {missing}")
            values = values * np.array([options["year_factor"][str(n // 12)] for n in months])[None, :]
        rng, known = self._rng(spec.code, "noise", level.name), ~np.isnan(values)
        if options.get("noise") == "poisson":
            values[known] = rng.poisson(values[known])
        elif "noise" in options:
            values = values * np.maximum(0, rng.normal(1, options["noise"], values.shape))
        return values

    def _finish(self, spec: IndicatorSpec, values: dict[_Level, np.ndarray]) -> None:
        """A count bent to its anchors and rounded; exact where a rate anchored on it needs it
        (unless the count itself is anchored there: the rate is then met to its two decimals)."""
        indicator = self.catalog[spec.code]
        decimals = spec.options.get("round", indicator.decimals)
        for level, counts in self._bent(spec, values, False).items():
            counts, fixed = np.round(counts, decimals), set()
            for anchor, rows, cols in self._anchored(spec.code, level, {"value", "sum"}):
                target, now = anchor.target(self.spec.margin, indicator.decimals), counts[np.ix_(rows, cols)].sum()
                if len(rows) == 1 and (anchor.comparison == "=" or not anchor.holds(now)):
                    counts[rows[0], cols[-1]] += target - now  # a sum's rounding rest goes to its last month
                if len(rows) == 1 and anchor.comparison == "=" and anchor.kind == "value":
                    fixed.add((rows[0], cols[0]))
            granule = max(1, round(10.0 ** (indicator.decimals - decimals)))  # round = -2: hundreds
            for rate in (rate for rate in catalog.rates() if rate.denominator == spec.code):
                for anchor, rows, cols in self._anchored(rate.code, level, {"value"}):
                    if anchor.comparison == "=" and len(rows) == 1 and (rows[0], cols[0]) not in fixed:
                        step = _exact_step(anchor.value, self.catalog[rate.numerator].decimals, indicator.decimals)
                        step = math.lcm(step, granule) / 10 ** indicator.decimals
                        counts[rows[0], cols[0]] = max(step, round(counts[rows[0], cols[0]] / step) * step)
            level.values[spec.code] = counts

    def _rate(self, spec: IndicatorSpec, indicator: catalog.Indicator, levels: list[_Level]) -> None:
        """A rate's path in percent, bent to its anchors, times its denominator gives its numerator."""
        bounds = {level: self._bounds(spec, level) for level in levels}
        paths = {level: np.clip(self._path(spec.code, spec, level), *bounds[level]) for level in levels}
        weights = {level: level.values[indicator.denominator] for level in levels}
        rates = self._meet(spec, paths, bounds, weights)
        numerator = self.catalog[indicator.numerator]
        for level, rate in rates.items():
            level.values[numerator.code] = np.round(weights[level] * rate / 100, numerator.decimals)

    def _meet(self, spec: IndicatorSpec, paths: dict[_Level, np.ndarray], bounds: dict[_Level, tuple],
              weights: dict[_Level, np.ndarray] | None = None) -> dict[_Level, np.ndarray]:
        """Paths (rates, scores: bent by points) that meet their value, sum and ratio anchors, "="
        exactly. A month's rank anchors add value anchors for the provinces they move, so those
        bend too (no spikes); repeated until no province needs moving (a bend from another month
        may move a ranked province: the others are then placed again around it)."""
        moved: dict[tuple[str, str], Anchor] = {}
        for _ in range(len(self.province.codes)):
            values = {level: np.clip(value, *bounds[level])
                      for level, value in self._bent(spec, paths, True, weights, list(moved.values())).items()}
            for level, value in values.items():
                for anchor, rows, cols in self._anchored(spec.code, level, {"value"}):
                    if anchor.comparison == "=" and len(rows) == 1:
                        value[rows[0], cols[0]] = anchor.value
            if not (more := self._arrange(spec, values[self.province], bounds[self.province], moved)):
                return values
            moved |= {(anchor.unit, anchor.first): anchor for anchor in more}
        raise SpecError(f"the rank anchors on {spec.code} cannot be arranged together")

    def _score_groups(self, spec: IndicatorSpec, levels: list[_Level]) -> None:
        """Each group of the month's method (catalog.index766_method) scores its path (a share)
        times its maximum under that method; a month's total is the sum of its groups.
        A group's anchor bends that group; the total's anchors (values, ranks: see :meth:`_meet`)
        bend the total, and each month's change is shared among the groups not anchored that month
        by their room to move. At an anchored total the groups' rounding rest goes to the free
        group with the most room, so the total is met to its decimals."""
        indicator = self.catalog[spec.code]
        present = {code: {lvl: ~np.isnan(self._group_max(code, lvl, absent=np.nan)) for lvl in levels}
                   for code in indicator.components}
        groups = {code: self._bent(replace(spec, code=code), {
            lvl: self._path(code, spec, lvl) * self._group_max(code, lvl) for lvl in levels}, True)
            for code in indicator.components}
        pinned = {code: {lvl: np.zeros(lvl.values_shape, bool) for lvl in levels} for code in indicator.components}
        for code in indicator.components:
            for lvl in levels:
                for _, rows, cols in self._anchored(code, lvl, {"value"}):
                    pinned[code][lvl][np.ix_(rows, cols)] = True
        shares = {lvl: self._bounds(spec, lvl) for lvl in levels}
        totals = {lvl: sum(groups[code][lvl] for code in indicator.components) for lvl in levels}
        bent = totals
        if any(self._anchored(spec.code, lvl, None) for lvl in levels):
            most = {lvl: sum(self._group_max(code, lvl) for code in indicator.components) for lvl in levels}
            bent = self._meet(spec, totals, {lvl: tuple(b * most[lvl] for b in shares[lvl]) for lvl in levels})
        for lvl in levels:
            change = bent[lvl] - totals[lvl]
            room = {code: np.where(pinned[code][lvl], 0.0, np.where(
                change > 0, shares[lvl][1] * self._group_max(code, lvl) - groups[code][lvl],
                groups[code][lvl] - shares[lvl][0] * self._group_max(code, lvl))).clip(0)
                for code in indicator.components}
            free = sum(room.values())
            if (np.abs(np.nan_to_num(change)) > free + 1e-9).any():
                raise SpecError(f"the anchors on {spec.code} ask more of its groups than their maxima allow")
            with np.errstate(invalid="ignore", divide="ignore"):
                part = np.where(free > 0, change / free, 0.0)
            for code in indicator.components:
                lvl.values[code] = np.round(np.clip(groups[code][lvl] + room[code] * part, 0,
                                                    self._group_max(code, lvl)), self.catalog[code].decimals)
            for anchor, rows, cols in self._anchored(spec.code, lvl, {"value"}):
                cell = rows[0], cols[0]
                rest = anchor.value - sum(lvl.values[code][cell] for code in indicator.components)
                if anchor.comparison != "=" or abs(rest) < 1e-9:
                    continue
                code = max(indicator.components, key=lambda c: room[c][cell] - 1e9 * (
                    pinned[c][lvl][cell] or not present[c][lvl][cell[1]]))
                if pinned[code][lvl][cell] or not present[code][lvl][cell[1]]:
                    raise SpecError(f"anchor {anchor.id}: its groups are all anchored and add up to "
                                    f"{anchor.value - rest:.2f}, not {anchor.value}")
                lvl.values[code][cell] = round(lvl.values[code][cell] + rest, self.catalog[code].decimals)
            scored = np.zeros(lvl.values_shape, bool)
            for code in indicator.components:  # a group the month's method lacks has no value
                scored |= present[code][lvl][None, :]
                lvl.values[code] = np.where(present[code][lvl][None, :], lvl.values[code], np.nan)
            total = sum(np.nan_to_num(lvl.values[code]) for code in indicator.components)
            lvl.values[spec.code] = np.where(scored, np.round(total, indicator.decimals), np.nan)

    @staticmethod
    def _group_max(code: str, level: _Level, absent: float = 0.0) -> np.ndarray:
        """A 766 group's maximum in each month of the level under that month's method
        (``absent`` where the method has no such group: 0 gives it no room to move)."""
        return np.array([catalog.index766_group_max(code, month) or absent for month in level.months])

    def _bounded_integer(self, spec: IndicatorSpec, level: _Level) -> None:
        """Whole numbers from 0 to the catalog's upper bound that never fall (criteria met)."""
        top = self.catalog[spec.code].upper_bound
        path = np.clip(self._path(spec.code, spec, level), 0, top)
        values, pins = np.floor(path + 1e-9), []
        for anchor, rows, cols in self._anchored(spec.code, level, {"value", "min_in_province"}):
            target, now = anchor.target(self.spec.margin, 0), values[rows, cols[0]]
            if anchor.comparison != "=" and anchor.holds(now.min()):
                continue
            chosen = [rows[np.argmin(now)]] if anchor.comparison.startswith("<") else rows[now < target]
            pins += [(row, cols[0], target) for row in (rows if anchor.comparison == "=" else chosen)]
        spans: dict[int, list] = {}
        for row, col, target in pins:
            spans.setdefault(row, []).append((col, col, target - path[row, col]))
        for row, row_spans in spans.items():
            values[row] = np.floor(path[row] + _offsets(row_spans, path.shape[1], spec.pull_months) + 1e-9)
        for row, col, target in pins:
            values[row, col] = target
        known = ~np.isnan(values)
        level.values[spec.code] = np.where(known, np.fmax.accumulate(np.where(known, values, 0), axis=1), np.nan)

    # ---- anchors --------------------------------------------------------------------------------
    def _cells(self, anchor: Anchor, level: _Level) -> tuple[np.ndarray, list[int]] | None:
        """The rows and month columns of ``level`` an anchor covers (None: it falls elsewhere)."""
        inside = [month in level.months for month in (anchor.first, anchor.last)]
        if not all(inside):
            if any(inside):
                raise SpecError(f"anchor {anchor.id}: its months straddle the merger; split it")
            return None
        if anchor.kind == "min_in_province":
            rows = self.in_province[list(self.province.codes).index(anchor.unit)] if level is self.commune else None
        elif (anchor.level == "commune") != (level is self.commune):
            rows = None
        else:
            rows = self._unit_rows(anchor.unit, level)
            if len(rows) == 0:
                raise SpecError(f"anchor {anchor.id}: no unit {anchor.unit} at level {anchor.level}")
        first = level.months.index(anchor.first)
        return None if rows is None else (np.asarray(rows), list(range(first, level.months.index(anchor.last) + 1)))

    def _unit_rows(self, unit: str, level: _Level) -> np.ndarray:
        """A province's rows: its old provinces before the merger; itself (or a commune) after."""
        if level is self.legacy:
            return self.members.get(unit, np.array([], int))
        return np.flatnonzero(level.codes == unit)

    def _anchored(self, code: str, level: _Level, kinds: set[str] | None) -> list[tuple[Anchor, np.ndarray, list]]:
        """Anchors on ``code`` that fall in ``level``, with the rows and month columns they cover."""
        return [(anchor, *cells) for anchor in self.anchors
                if anchor.indicator == code and (kinds is None or anchor.kind in kinds)
                and (cells := self._cells(anchor, level)) is not None]

    def _bent(self, spec: IndicatorSpec, values: dict[_Level, np.ndarray], additive: bool,
              weights: dict[_Level, np.ndarray] | None = None, extra: list[Anchor] = ()) -> dict[_Level, np.ndarray]:
        """``values`` (old provinces and provinces) bent so each value, sum and ratio anchor (and
        ``extra``) holds: "=" always, an inequality only where it is broken. Counts bend by a factor,
        rates by points."""
        found = [(anchor, level, rows, cols) for level in values
                 for anchor, rows, cols in self._anchored(spec.code, level, {"value", "sum", "ratio"})]
        found += [(anchor, level, *cells) for anchor in extra for level in values
                  if (cells := self._cells(anchor, level)) is not None]
        if not found:
            return values
        first, decimals = month_number(self.spec.first_month), self.catalog[spec.code].decimals
        timeline = month_number(self.spec.last_month) - first + 1
        segments = [start - first for start in self._starts(spec)]
        segments[0] = 0

        def observed(level, rows, cols, data):
            cells = np.ix_(rows, cols)
            if weights is None:
                return float(data[level][cells].sum())
            return float((data[level][cells] * weights[level][cells]).sum() / weights[level][cells].sum())

        active = [i for i, (anchor, *_) in enumerate(found) if anchor.comparison == "="]
        for _ in range(len(found) + 1):
            spans: dict[str, list] = {}
            for anchor, level, rows, cols in (found[i] for i in active):
                target, now = anchor.target(self.spec.margin, decimals), observed(level, rows, cols, values)
                if not additive and min(now, target) <= 0:
                    raise SpecError(f"anchor {anchor.id}: {spec.code} cannot be scaled from {now} to {target}")
                start = month_number(level.months[cols[0]]) - first
                spans.setdefault(anchor.unit, []).append(
                    (start, start + len(cols) - 1, target - now if additive else math.log(target / now)))
            bent = {level: data.copy() for level, data in values.items()}
            for unit, unit_spans in spans.items():
                curve = np.zeros(timeline)
                for begin, end in itertools.pairwise(segments):  # a bend stays in its path segment
                    if inside := [(a - begin, b - begin, o) for a, b, o in unit_spans if begin <= a < end]:
                        curve[begin:end] = _offsets(inside, end - begin, spec.pull_months)
                for level, data in values.items():
                    rows = self._unit_rows(unit, level)
                    part = curve[month_number(level.months[0]) - first:][:len(level.months)]
                    bent[level][rows] = data[rows] + part if additive else data[rows] * np.exp(part)
            broken = [i for i, (anchor, level, rows, cols) in enumerate(found)
                      if i not in active and not anchor.holds(observed(level, rows, cols, bent))]
            if not broken:
                return bent
            active += broken
        raise SpecError(f"the anchors on {spec.code} cannot all be met: {[a.id for a, *_ in found]}")

    def _arrange(self, spec: IndicatorSpec, values: np.ndarray, bounds: tuple[np.ndarray, np.ndarray],
                 moved: dict[tuple[str, str], Anchor]) -> list[Anchor]:
        """Value anchors that give each month's rank anchors their ranks: between two ranked
        provinces (and above the first) lie as many others as the ranks leave room for. Provinces
        with a value anchor of their own that month stay where they are; the others keep their
        order and fill the room from the top, and one that is not already ``rank_gap[0]`` inside
        its place moves ``rank_gap`` past its neighbour (unless ``moved`` already put it there)."""
        level, sign = self.province, 1 if self.catalog[spec.code].higher_is_better else -1
        months: dict[int, list[tuple[Anchor, int]]] = {}
        for anchor, rows, cols in self._anchored(spec.code, level, {"rank"}):
            months.setdefault(cols[0], []).append((anchor, rows[0]))
        found = []
        for col, ranked in sorted(months.items()):
            ranked.sort(key=lambda pair: pair[0].value)
            period, score = level.months[col], sign * values[:, col]
            top, bottom = max(sign * bounds[0][col], sign * bounds[1][col]), min(sign * bounds[0][col],
                                                                                   sign * bounds[1][col])
            rows = {row for _, row in ranked}
            valued = {r for a in self.anchors if a.indicator == spec.code and a.kind == "value"
                      and a.first <= period <= a.last for r in self._unit_rows(a.unit, level)}
            pinned = valued - rows
            free = np.array([r for r in range(len(level.codes)) if r not in pinned | rows], dtype=int)
            order = free[np.argsort(-score[free], kind="stable")]
            gap = self._rng(ranked[0][0].id, "rank").uniform(*self.spec.rank_gap, len(free))
            least, above, places = self.spec.rank_gap[0], np.inf, []
            for (anchor, row), before in zip(ranked, [None, *ranked]):
                rank_above = 0 if before is None else int(before[0].value)
                own = score[row]
                if not own < above and row not in valued:
                    # A ranked province above the one ranked before it moves just below it.
                    own = max(above - self._rng(anchor.id, "own").uniform(*self.spec.rank_gap), bottom)
                    if (earlier := moved.get((level.codes[row], period))) is None or earlier.value != sign * own:
                        found.append(Anchor(f"{anchor.id}/{level.codes[row]}", spec.code, level.codes[row],
                                            "province", period, period, "value", "=", sign * own))
                between = sum(own < score[r] < above for r in pinned)
                if not own < above or (room := int(anchor.value) - rank_above - 1 - between) < 0:
                    raise SpecError(f"anchor {anchor.id}: rank {int(anchor.value)} cannot be arranged")
                places += [(anchor, own, above)] * room
                above = own
            if len(places) > len(free):
                raise SpecError(f"anchor {ranked[-1][0].id}: rank {int(ranked[-1][0].value)} cannot be arranged")
            places += [(ranked[-1][0], -np.inf, above)] * (len(free) - len(places))
            for r, g, (anchor, low, high) in zip(order, gap, places):
                if low + least <= score[r] <= high - least:
                    continue
                floor, ceiling = max(low + least / 2, bottom), min(high - least / 2, top)
                if floor > ceiling:
                    raise SpecError(f"anchor {anchor.id}: rank {int(anchor.value)} does not fit within the path's "
                                    "bounds")
                target = min(max(low + g if score[r] < low + least else high - g, floor), ceiling)
                if (before := moved.get((level.codes[r], period))) is not None and before.value == sign * target:
                    continue
                found.append(Anchor(f"{anchor.id}/{level.codes[r]}", spec.code, level.codes[r], "province", period,
                                    period, "value", "=", sign * target))
        return found

    # ---- communes -------------------------------------------------------------------------------
    def _communes(self) -> None:
        """Summed counts shared out from their provinces; own paths for the other commune indicators."""
        for code, spec in self.spec.indicators.items():
            indicator = self.catalog[code]
            if "commune" not in indicator.levels:
                continue
            if indicator.is_rate:
                if not all("commune" in self.catalog[c].levels and self.catalog[c].is_count
                           for c in (indicator.numerator, indicator.denominator)):
                    raise SpecError(f"{code} is published for communes: its numerator and denominator must be "
                                    "summed commune counts")
                self._split(indicator.numerator, indicator.denominator, spec.options.get("commune_spread"))
            elif indicator.is_count and "province" in indicator.levels:
                self._split(code, spec.options.get("of") if spec.shape == "share" else None,
                            spec.options.get("commune_spread"))
            elif spec.shape == "score_groups":
                self._score_groups(spec, [self.commune])
            elif spec.shape == "bounded_integer" and not indicator.is_count:
                self._bounded_integer(spec, self.commune)
            else:
                raise SpecError(f"{code}: shape {spec.shape} cannot make commune values (docs/demo.md)")

    def _split(self, code: str, parent: str | None, spread: list | None) -> None:
        """Share a count's province totals among communes: by commune weight, or drawn from the
        parent count's commune values (a child never exceeds its parent); ``spread`` lets the
        child's share differ between communes around the province's."""
        totals, commune = self.province.values[code], self.commune
        if np.nanmax(np.abs(totals - np.round(totals))) > 0:
            raise SpecError(f"{code}: only whole counts can be shared out to communes")
        rng, jitter = self._rng(code, "split"), self.spec.communes["monthly_jitter"]
        out = np.full((len(commune.codes), totals.shape[1]), np.nan)
        lean = rng.uniform(*spread, len(commune.codes)) if spread else None
        for col in np.flatnonzero(~np.isnan(totals).all(axis=0)):
            for p, rows in enumerate(self.in_province):
                total = int(totals[p, col])
                if parent is None:
                    change = np.clip(rng.normal(1, jitter, len(rows)), 1 - 4 * jitter, 1 + 4 * jitter)
                    weight = commune.size[rows] * change
                    out[rows, col] = rng.multinomial(total, weight / weight.sum())
                    continue
                room = commune.values[parent][rows, col].astype(np.int64)
                if lean is not None and room.sum() > 0:  # 15 % headroom: the draws always fit
                    k = lean[rows] * 0.85 * room.sum() / max(1e-9, (lean[rows] * room).sum())
                    capacity = np.floor(room * np.clip(1 - (1 - total / room.sum()) * k, 0, 1)).astype(np.int64)
                    room = capacity if capacity.sum() >= total else room
                out[rows, col] = rng.multivariate_hypergeometric(room, total)
        for anchor, rows, cols in self._anchored(code, commune, {"value"}):
            self._floor(anchor, rows[0], cols[0], out, parent)
        commune.values[code] = out

    def _floor(self, anchor: Anchor, row: int, col: int, out: np.ndarray, parent: str | None) -> None:
        """A commune anchor on a shared-out count: the lack is moved from the province's largest commune."""
        if not anchor.comparison.startswith(">"):
            raise SpecError(f"anchor {anchor.id}: a shared-out commune count can only be given a floor")
        lack = anchor.target(self.spec.margin, 0) - out[row, col]
        siblings = self.in_province[self.commune_province[row]]
        donor = siblings[np.argmax(np.where(siblings == row, -1, out[siblings, col]))]
        ceiling = self.commune.values[parent][row, col] if parent else np.inf
        if lack > 0 and not anchor.holds(out[row, col]):
            if out[donor, col] < lack or out[row, col] + lack > ceiling:
                raise SpecError(f"anchor {anchor.id}: {anchor.indicator} cannot be raised there")
            out[row, col] += lack
            out[donor, col] -= lack

    def _sum_communes(self) -> None:
        """Province values of shared-out counts are the sums of their communes'."""
        for code, values in self.commune.values.items():
            if self.catalog[code].is_count:
                sums = np.zeros((len(self.province.codes), values.shape[1]))
                np.add.at(sums, self.commune_province, np.nan_to_num(values))
                self.province.values[code] = np.where(np.isnan(values).all(axis=0), np.nan, sums)

    # ---- rows -----------------------------------------------------------------------------------
    def _rows(self, level: _Level, label: str) -> pd.DataFrame:
        """Cells of every indicator at the level; rates with their numerator and denominator."""
        blank = np.full((len(level.codes), len(level.months)), np.nan)
        parts = [(code, values, blank, blank) for code, values in level.values.items()]
        published = "province" if level is self.legacy else label
        for rate in catalog.rates():
            if {rate.numerator, rate.denominator} <= set(level.values) and published in rate.levels:
                num, den = level.values[rate.numerator], level.values[rate.denominator]
                with np.errstate(invalid="ignore", divide="ignore"):
                    parts.append((rate.code, np.where(den > 0, 100.0 * num / den, np.nan), num, den))
        cells = [np.nonzero(~np.isnan(values)) for _, values, _, _ in parts]
        which = np.concatenate([np.full(len(rows), i) for i, (rows, _) in enumerate(cells)])
        rows, cols = (np.concatenate(axis) for axis in zip(*cells))
        return pd.DataFrame({
            "indicator": np.array([code for code, *_ in parts], dtype=object)[which],
            "period": np.array(level.months, dtype=object)[cols],
            "level": np.array([label], dtype=object)[np.zeros(len(rows), dtype=int)],
            "unit_code": level.codes[rows],
            **{name: np.concatenate([part[k][r, c] for part, (r, c) in zip(parts, cells)])
               for k, name in enumerate(COLUMNS[4:], start=1)},
        })

    def _observed(self, anchor: Anchor) -> float | None:
        """What the generated data say for an anchor, computed as the warehouse will."""
        indicator = self.catalog[anchor.indicator]
        for level in (self.legacy, self.province, self.commune):
            if (cells := self._cells(anchor, level)) is None:
                continue
            rows, cols = cells
            if indicator.is_rate:  # summed and re-based alike: 100 * sum(numerator) / sum(denominator)
                num, den = level.values[indicator.numerator], level.values[indicator.denominator]
                with np.errstate(invalid="ignore", divide="ignore"):
                    column = 100 * num[:, cols[0]] / den[:, cols[0]]
                value = 100 * num[np.ix_(rows, cols)].sum() / den[np.ix_(rows, cols)].sum()
            else:
                values = level.values[anchor.indicator]
                column, covered = values[:, cols[0]], values[np.ix_(rows, cols)]
                value = covered.min() if anchor.kind == "min_in_province" else covered.sum()
            if anchor.kind == "rank":
                sign = 1 if indicator.higher_is_better else -1
                return float(1 + (sign * (column - column[rows[0]]) > 0).sum())
            return float(value)
        return None

    def run(self) -> DemoData:
        self._provinces()
        legacy = self._rows(self.legacy, "legacy").drop(columns="level").rename(columns={"unit_code": "legacy_code"})
        rebased, not_rebased = rebase_legacy(legacy)
        self._communes()
        self._sum_communes()
        if failed := [anchor.id for anchor in self.anchors if not anchor.holds(self._observed(anchor))]:
            raise SpecError(f"the demo data do not meet anchors {failed} (docs/demo.md)")
        observations = pd.concat([rebased.assign(level="province")[COLUMNS], self._rows(self.province, "province"),
                                  self._rows(self.commune, "commune")], ignore_index=True)
        without = tuple(code for code in self.catalog if code not in self.first_of)
        return DemoData(observations=observations, legacy=legacy, not_rebased=not_rebased, without_spec=without)


def generate(spec_file: Path = SPEC_FILE) -> DemoData:
    """The demo data set (same seed, same numbers, every time)."""
    return _Engine(read_spec(spec_file)).run()
