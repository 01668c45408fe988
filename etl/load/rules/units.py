"""The province or commune of a row: it must name one unit (by code or name, with the
province when a commune name exists in several), of the kind of report loaded, and a unit that
existed in the row's month."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from core import catalog
from core.names import COMMUNE_PREFIXES, PROVINCE_PREFIXES, split_prefix, without_council
from core.resolver import Resolved, ResolveError, UnitResolver
from etl.load import values as V
from etl.load.rules import Message, Reason, Said
from etl.load.rules import file as F

if TYPE_CHECKING:
    from etl.load.rules.context import Report

UNKNOWN_UNIT = Reason("unknown_unit")
EMPTY_UNIT = UNKNOWN_UNIT.says("reason_empty", "suggestion_empty")
EMPTY_COMMUNE = UNKNOWN_UNIT.says("reason_empty_commune", "suggestion_empty_commune", "column")
UNKNOWN = UNKNOWN_UNIT.says("reason", "suggestion_closest", "value", "closest")
UNKNOWN_FAR = UNKNOWN_UNIT.says("reason", "suggestion_spelling", "value")
UNKNOWN_IN = UNKNOWN_UNIT.says("reason_in", "suggestion_closest", "value", "province", "closest")
UNKNOWN_IN_FAR = UNKNOWN_UNIT.says("reason_in", "suggestion_spelling", "value", "province")
UNKNOWN_AS_PROVINCE = UNKNOWN_UNIT.says("reason_province", "suggestion_closest", "value", "closest")
UNKNOWN_AS_PROVINCE_FAR = UNKNOWN_UNIT.says("reason_province", "suggestion_spelling", "value")
UNKNOWN_OLD_PROVINCE = UNKNOWN_UNIT.says("reason_old_province", "suggestion_closest", "value", "closest")
UNKNOWN_OLD_PROVINCE_FAR = UNKNOWN_UNIT.says("reason_old_province", "suggestion_old_province", "value")

AMBIGUOUS_UNIT = Reason("ambiguous_unit")
AMBIGUOUS = AMBIGUOUS_UNIT.says("reason", "suggestion", "value", "n", "closest")
AMBIGUOUS_IN = AMBIGUOUS_UNIT.says("reason_in", "suggestion", "value", "n", "province", "closest")
AMBIGUOUS_HINTED = AMBIGUOUS_UNIT.says("reason", "suggestion_hinted", "value", "n", "closest", "hint")
AMBIGUOUS_IN_HINTED = AMBIGUOUS_UNIT.says("reason_in", "suggestion_hinted", "value", "n", "province", "closest",
                                          "hint")

NOT_IN_PROVINCE = Reason("not_in_province")
NOT_IN = NOT_IN_PROVINCE.says("reason", "suggestion", "value", "province", "closest")

LEGACY_UNIT = Reason("legacy_unit")
MERGED = LEGACY_UNIT.says("reason", "suggestion", "value", "old", "new")

UNKNOWN_PROVINCE = Reason("unknown_province")
UNKNOWN_PROVINCE_NEAR = UNKNOWN_PROVINCE.says("reason", "suggestion_closest", "value", "closest")
UNKNOWN_PROVINCE_FAR = UNKNOWN_PROVINCE.says("reason", "suggestion_names", "value")

BEFORE_UNIT_EXISTED = Reason("before_unit_existed")
BEFORE = {"commune": BEFORE_UNIT_EXISTED.says("reason_commune", "suggestion_commune", "period", "start")}

LEVEL_WORDS = {"province": "province", "tinh": "province", "tỉnh": "province", "p": "province",
               "commune": "commune", "xa": "commune", "xã": "commune", "c": "commune",
               "ward": "commune", "phuong": "commune", "phường": "commune"}


def _near(near: Message, far: Message, err: ResolveError, **values: Any) -> Said:
    """``near`` naming the closest units when the resolver found some, else ``far``."""
    return near(closest=err.params["closest"], **values) if err.candidates else far(**values)


def unknown_province(province: Any, err: ResolveError) -> Said:
    """A province cell that names no province."""
    return _near(UNKNOWN_PROVINCE_NEAR, UNKNOWN_PROVINCE_FAR, err, value=V.display(province))


def province_error(unit: Any, err: ResolveError) -> Said:
    if err.reason == "legacy":
        return MERGED(value=V.display(unit), old=err.params["old"], new=err.params["new"])
    return _near(UNKNOWN_AS_PROVINCE, UNKNOWN_AS_PROVINCE_FAR, err, value=V.display(unit))


def commune_error(unit: Any, err: ResolveError, province: Resolved | None) -> Said:
    value = V.display(unit)
    if err.reason == "ambiguous":
        n = len(err.candidates)
        if province is not None:
            return AMBIGUOUS_IN(value=value, n=n, province=province.name, closest=err.params["closest"])
        return AMBIGUOUS(value=value, n=n, closest=err.params["closest"])
    if err.reason == "not_in_province":
        return NOT_IN(value=value, province=province.name if province else "?", closest=err.params["closest"])
    if province is not None:
        return _near(UNKNOWN_IN, UNKNOWN_IN_FAR, err, value=value, province=province.name)
    return _near(UNKNOWN, UNKNOWN_FAR, err, value=value)


def _looks_like_code(value: Any) -> int | None:
    """Number of digits of a code-like value ("01", 1, "00070", 70.0), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, np.integer)):
        return len(str(int(value)))
    if isinstance(value, float) and value.is_integer():
        return len(str(int(value)))
    text = str(value).strip()
    if text.endswith(".0"):
        text = text[:-2]
    return len(text) if text.isdigit() else None


class UnitLookup:
    """Resolve (unit, province, level) triples of a report, each distinct triple once, to
    ``(level, unit_code, province_code, error)``; ``error`` is ``(column role, Said)``."""

    def __init__(self, resolver: UnitResolver, kind: str):
        self.r = resolver
        self.kind = kind
        self.cache: dict[tuple, tuple] = {}

    def __call__(self, unit: Any, province: Any, level: Any, hint: Any) -> tuple:
        key = (V.display(unit), V.display(province), V.display(level), hint)
        hit = self.cache.get(key)
        if hit is None:
            hit = self._resolve(unit, province, level, hint)
            self.cache[key] = hit
        return hit

    def _resolve(self, unit: Any, province: Any, level: Any, hint: Any) -> tuple:
        if V.is_empty(unit):
            return None, None, None, ("unit", EMPTY_UNIT())
        if self.kind == "legacy":
            try:
                res = self.r.legacy_province(unit)
                return "province", res.code, res.province_code, None
            except ResolveError as err:
                return None, None, None, ("unit", _near(UNKNOWN_OLD_PROVINCE, UNKNOWN_OLD_PROVINCE_FAR, err,
                                                        value=V.display(unit)))
        explicit = None
        if not V.is_empty(level):
            explicit = LEVEL_WORDS.get(str(level).strip().lower())
            if explicit is None:
                return None, None, None, ("level", F.UNKNOWN_LEVEL(value=V.display(level)))
        prov_res = None
        if not V.is_empty(province):
            try:
                prov_res = self.r.province(province, allow_legacy=True)
            except ResolveError as err:
                return None, None, None, ("province", unknown_province(province, err))
        lvl = explicit or hint
        if lvl is None:
            digits = _looks_like_code(unit)
            if digits is not None:
                lvl = "province" if digits <= 2 else "commune"
            elif split_prefix(without_council(str(unit)), COMMUNE_PREFIXES)[0]:
                lvl = "commune"
            elif split_prefix(without_council(str(unit)), PROVINCE_PREFIXES)[0]:
                lvl = "province"
        province_err = None
        if lvl in (None, "province"):
            try:
                res = self.r.province(unit)
                if lvl == "province" or prov_res is None or prov_res.province_code == res.province_code:
                    return "province", res.code, res.province_code, None
            except ResolveError as err:
                if lvl == "province":
                    return None, None, None, ("unit", province_error(unit, err))
                if err.reason == "legacy" and prov_res is None:
                    return None, None, None, ("unit", province_error(unit, err))
                province_err = err
        try:
            res = self.r.commune(unit, prov_res)
            return "commune", res.code, res.province_code, None
        except ResolveError as err:
            if err.reason == "unknown" and province_err is not None and prov_res is None:
                # Neither a province nor a commune: offer the closest of both.
                names = list(dict.fromkeys(province_err.candidates + err.candidates))[:6]
                value = V.display(unit)
                return None, None, None, ("unit", UNKNOWN(value=value, closest=", ".join(names)) if names
                                          else UNKNOWN_FAR(value=value))
            return None, None, None, ("unit", commune_error(unit, err, prov_res))


def _hint_the_province(errors: list, r: Report, lookup: UnitLookup) -> list:
    """Ambiguous commune names in a file whose other units all lie in one province: when that
    province resolves the name, the suggestion says so (the clerk confirms it; it is not guessed)."""
    c = r.c
    ambiguous = [i for i, e in enumerate(errors) if e is not None and e[1].code == "ambiguous_unit"]
    provinces = {p for p, e in zip(c.province_code, errors) if e is None and isinstance(p, str)}
    if not ambiguous or len(provinces) != 1:
        return errors
    (code,) = provinces
    hint = lookup.r.province(code).name
    hinted = list(errors)
    for i in ambiguous:
        if lookup(c.unit.iat[i], code, c.level.iat[i], c.level_hint.iat[i])[3] is None:
            role, said = errors[i]
            message = AMBIGUOUS_IN_HINTED if said.message is AMBIGUOUS_IN else AMBIGUOUS_HINTED
            hinted[i] = (role, message(hint=hint, **said.values))
    return hinted


def resolve(r: Report) -> None:
    """Parse step: the level, unit and province code of each row, and what names no unit."""
    c = r.c
    lookup = UnitLookup(r.resolver, r.kind)
    resolved = [lookup(u, p, lv, h) for u, p, lv, h in zip(c.unit.tolist(), c.province.tolist(),
                                                            c.level.tolist(), c.level_hint.tolist())]
    c["lvl"] = [x[0] for x in resolved]
    c["unit_code"] = [x[1] for x in resolved]
    c["province_code"] = [x[2] for x in resolved]
    errors = _hint_the_province([x[3] for x in resolved], r, lookup)
    r.unit_errors = pd.Series(errors, index=c.index, dtype=object)


def unresolved(r: Report) -> None:
    """unknown_unit, ambiguous_unit, not_in_province, legacy_unit, unknown_province (and
    bad_format for an unknown level): what :func:`resolve` could not place, at the column at fault."""
    errors = r.unit_errors
    failed = errors.notna().to_numpy()
    if not failed.any():
        return
    c = r.c
    role = errors.map(lambda e: e[0] if e else None)
    column = pd.Series(np.where(role == "province", c.province_column,
                                np.where(role == "level", "level", c.unit_column)), index=c.index)
    value = pd.Series(np.where(role == "province", c.province, np.where(role == "level", c.level, c.unit)),
                      index=c.index)
    saids = errors.map(lambda e: e[1] if e else None)
    codes = saids.map(lambda s: s.code if s else None)
    for code in sorted(set(codes.dropna())):  # grouped by reason, as they always were
        r.reject_each((codes == code).to_numpy(), column, value, saids)


def before_unit_existed(r: Report) -> None:
    """A commune value for a month before the two-tier local government (valid_from)."""
    c = r.c
    for level in catalog.LEVELS:
        start = catalog.valid_from(level)
        if start is None:
            continue
        early = ((c.lvl == level).to_numpy()
                 & c.period_ok.map(lambda p, start=start: isinstance(p, str) and p < start).to_numpy())
        r.reject(early, BEFORE[level], c.period_column, c.period, period=c.period_ok, start=start)
