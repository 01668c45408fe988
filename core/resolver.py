"""Resolve province and commune names or codes, as spelt in report files, to GSO codes.

Every loader and the search box go through :class:`UnitResolver`. It accepts

- codes: ``25``, ``"25"``, ``"00070"``, ``70`` (zero padded; ``25.0``/``"25.0"`` from Excel too);
- current names (34 provinces, 3,321 communes) and the 63 pre-merger province names;
- NFC or NFD text, any case, extra spaces, with or without prefixes ("Tỉnh", "Thành phố",
  "TP.", "Xã", "Phường", "Đặc khu", and "UBND" / "Ủy ban nhân dân" before them: "UBND tỉnh
  Phú Thọ"), tone marks placed either way ("Hòa"/"Hoà"), "–" or "-",
  "’" or "'", and no diacritics at all;
- a few unambiguous aliases listed in ``data/meta/unit_aliases.csv`` ("TP.HCM", "Thừa Thiên Huế").

Matching order: exact code -> ``tone_key`` of the prefix-stripped name (the prefix kind breaks
ties between "Xã X" and "Phường X") -> ``ascii_key`` -> alias -> :class:`ResolveError` listing
the closest candidates. ``Resolved.matched_by`` says which step matched ('code', 'name' for an
exact official spelling, 'tone', 'ascii', 'alias') so loaders can report fuzzy matches.

All lookups are precomputed dicts; per-call key computation is memoised, so resolving a
100,000-row report column costs one dict lookup per distinct value
(see :meth:`UnitResolver.communes_frame` / :meth:`UnitResolver.provinces_frame`).
"""

from __future__ import annotations

import difflib
import functools
import math
import numbers
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from core import paths
from core.names import (
    COMMUNE_PREFIXES,
    PREFIX_KIND,
    PROVINCE_PREFIXES,
    ascii_key,
    nfc,
    search_key,
    split_prefix,
    strip_diacritics,
    tone_key,
    without_council,
)

ALIASES_CSV = paths.META / "unit_aliases.csv"
MAX_CANDIDATES = 5

_CODE_RE = re.compile(r"^\s*(\d{1,6})(?:\.0+)?\s*$")


@dataclass(frozen=True)
class Resolved:
    code: str  # 2-digit province code, 5-digit commune code, or the OLD 2-digit code (legacy)
    name: str  # official name as stored in the warehouse ("Phú Thọ", "Xã Quảng Điền")
    level: str  # 'province' | 'commune' | 'legacy_province'
    province_code: str  # current (34) province the unit belongs to; a province: itself
    matched_by: str  # 'code' | 'name' | 'tone' | 'ascii' | 'alias'
    legacy_code: str | None = None  # old province code when a current province was reached
    #                                 through a pre-merger name (province(..., allow_legacy))


class ResolveError(ValueError):
    """A value that names no unit, or several.

    ``reason`` is 'unknown', 'ambiguous', 'not_in_province' (commune exists, elsewhere) or
    'legacy' (a pre-merger province that was merged; ``candidates`` holds the new one).
    ``candidates`` are display labels such as "Xã Quảng Điền (46 Huế)". The message is for
    developers; ``params`` are its named values (``value``, ``closest``, and for 'legacy' ``old``
    and ``new``), from which a caller words the problem for its readers, in their language
    (the loader: data/i18n.toml ``[reason.*]``).
    """

    def __init__(self, value: Any, reason: str, candidates: list[str], message: str, level: str = "",
                 **params: str):
        super().__init__(message)
        self.value = value
        self.reason = reason
        self.candidates = list(candidates)
        self.level = level
        self.params = {"value": _text(value), "closest": ", ".join(self.candidates), **params}


# --------------------------------------------------------------------------- key helpers


# Prefixes typed without diacritics ("Xa Quang Dien", "Thanh pho Hue"). They are only tried
# after the text failed to match as a whole: "Phương Liệt", "Xa Dung" and "Phương Sơn" are
# real commune names that begin with these words.
_ASCII_PREFIX = {
    PROVINCE_PREFIXES: re.compile(r"^(thanh pho|tinh)\s+(?=\S)"),
    COMMUNE_PREFIXES: re.compile(r"^(dac khu|thi tran|phuong|xa)\s+(?=\S)"),
}
_ASCII_PREFIX_KIND = {"xa": "xã", "phuong": "phường", "dac khu": "đặc khu"}

Keys = tuple[str | None, str, str, str]  # (prefix kind, tone key, ascii key, NFC text)


@functools.lru_cache(maxsize=200_000)
def _keys(text: str, prefixes: tuple[str, ...]) -> tuple[Keys, ...]:
    """Lookup keys of a value with its prefix removed: one variant, or two when the text
    starts with a prefix spelt without diacritics (the whole text is tried first). A leading
    "UBND" / "Ủy ban nhân dân" (the unit's People's Committee) is dropped first."""
    clean = without_council(text)
    prefix, rest = split_prefix(clean, prefixes)
    variants: list[Keys] = [(PREFIX_KIND.get(prefix) if prefix else None, tone_key(rest), ascii_key(rest), clean)]
    if prefix is None:
        match = _ASCII_PREFIX[prefixes].match(strip_diacritics(clean).lower())
        if match:
            words = len(match.group(1).split())
            rest = clean.split(None, words)[words]
            variants.append((_ASCII_PREFIX_KIND.get(match.group(1)), tone_key(rest), ascii_key(rest), clean))
    return tuple(variants)


class _Fuzzy:
    """difflib.get_close_matches over many keys, pre-filtered by shared character bigrams
    so an unknown name costs ~1 ms instead of ~30 ms against 3,000 commune keys."""

    def __init__(self, keys: Iterable[str], shortlist: int = 150):
        self.keys = list(dict.fromkeys(keys))
        self.shortlist = shortlist
        self.postings: dict[str, list[int]] = defaultdict(list)
        for i, key in enumerate(self.keys):
            for gram in set(_bigrams(key)):
                self.postings[gram].append(i)

    def close(self, query: str, n: int = MAX_CANDIDATES) -> list[str]:
        if len(self.keys) > self.shortlist:
            counts: dict[int, int] = defaultdict(int)
            for gram in set(_bigrams(query)):
                for i in self.postings.get(gram, ()):
                    counts[i] += 1
            best = sorted(counts, key=counts.__getitem__, reverse=True)[: self.shortlist]
            pool = [self.keys[i] for i in best]
        else:
            pool = self.keys
        return difflib.get_close_matches(query, pool, n=n)


@functools.lru_cache(maxsize=200_000)
def _plain(text: str) -> bool:
    """True when the text carries no Vietnamese diacritics at all."""
    return strip_diacritics(text) == text


def _bigrams(key: str) -> list[str]:
    return [key[i : i + 2] for i in range(len(key) - 1)] or [key]


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    try:
        return False if isinstance(value, (str, numbers.Integral)) else bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _as_code(value: Any, width: int) -> str | None:
    """A code-like value as a zero-padded string, or None when the value is a name."""
    if isinstance(value, bool):
        return None
    if isinstance(value, numbers.Integral):  # int, numpy integers
        return f"{int(value):0{width}d}" if value >= 0 else None
    if isinstance(value, float):
        return f"{int(value):0{width}d}" if value.is_integer() and value >= 0 else None
    if isinstance(value, str):
        match = _CODE_RE.match(value)
        return f"{int(match.group(1)):0{width}d}" if match else None
    return None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def _unique(rows: Iterable[int]) -> list[int]:
    return list(dict.fromkeys(rows))


class UnitResolver:
    """Lookups over the reference frames (see ``etl.reference``)."""

    def __init__(
        self,
        provinces: pd.DataFrame,
        communes: pd.DataFrame,
        legacy: pd.DataFrame,
        aliases: pd.DataFrame | None = None,
    ):
        self._p = provinces.reset_index(drop=True)
        self._c = communes.reset_index(drop=True)
        self._l = legacy.reset_index(drop=True)
        self._p_name = dict(zip(self._p.code, self._p.name))
        # Plain lists for the per-row path (pandas item access costs ~50 µs).
        self._pc, self._pn = self._p.code.tolist(), self._p.name.tolist()
        self._lc, self._ln, self._lp = self._l.code.tolist(), self._l.name.tolist(), self._l.province_code.tolist()
        self._cc, self._cn = self._c.code.tolist(), self._c.name.tolist()

        # ---- provinces (current): code -> row; keys -> rows
        self._p_code = {code: i for i, code in enumerate(self._p.code)}
        self._p_tone: dict[str, list[int]] = defaultdict(list)
        self._p_ascii: dict[str, list[int]] = defaultdict(list)
        self._p_exact: set[tuple[int, str]] = set()
        for i, row in enumerate(self._p.itertuples()):
            for spelling in {row.name, row.full_name}:
                _, tk, ak, clean = _keys(spelling, PROVINCE_PREFIXES)[0]
                self._p_tone[tk] = _unique(self._p_tone[tk] + [i])
                self._p_ascii[ak] = _unique(self._p_ascii[ak] + [i])
                self._p_exact.add((i, clean))

        # ---- legacy provinces: old code -> row; keys -> rows
        self._l_code = {code: i for i, code in enumerate(self._l.code)}
        self._l_tone: dict[str, list[int]] = defaultdict(list)
        self._l_ascii: dict[str, list[int]] = defaultdict(list)
        self._l_exact: set[tuple[int, str]] = set()
        for i, row in enumerate(self._l.itertuples()):
            for spelling in {row.name, row.full_name}:
                _, tk, ak, clean = _keys(spelling, PROVINCE_PREFIXES)[0]
                self._l_tone[tk] = _unique(self._l_tone[tk] + [i])
                self._l_ascii[ak] = _unique(self._l_ascii[ak] + [i])
                self._l_exact.add((i, clean))
        # A new province made of exactly one old one: its old name is just an older name.
        parts = self._l.province_code.value_counts()
        self._l_alone = {i for i, pc in enumerate(self._l.province_code) if parts[pc] == 1}

        # ---- aliases (ascii key of the prefix-stripped alias -> row)
        self._p_alias: dict[str, int] = {}
        self._l_alias: dict[str, int] = {}
        aliases = _read_aliases() if aliases is None else aliases
        for row in aliases.itertuples():
            _, _, ak, _ = _keys(row.alias, PROVINCE_PREFIXES)[0]
            code = f"{int(row.code):02d}"
            if row.level == "province":
                target, codes = self._p_alias, self._p_code
            elif row.level == "legacy_province":
                target, codes = self._l_alias, self._l_code
            else:
                raise ValueError(f"alias {row.alias!r}: unknown level {row.level!r}")
            if code not in codes:
                raise ValueError(f"alias {row.alias!r}: no {row.level} with code {code}")
            if ak in self._p_ascii or ak in self._l_ascii or ak in target:
                raise ValueError(f"alias {row.alias!r} collides with a name or another alias")
            target[ak] = codes[code]

        # ---- communes
        self._c_code = {code: i for i, code in enumerate(self._c.code)}
        self._c_pcode = list(self._c.province_code)
        self._c_kind = list(self._c.kind)
        self._c_tone: dict[str, list[int]] = defaultdict(list)
        self._c_ascii: dict[str, list[int]] = defaultdict(list)
        self._c_ptone: dict[tuple[str, str], list[int]] = defaultdict(list)
        self._c_pascii: dict[tuple[str, str], list[int]] = defaultdict(list)
        self._c_exact: list[set[str]] = []
        rests = []
        for i, (name, pc) in enumerate(zip(self._c.name, self._c.province_code)):
            _, tk, ak, clean = _keys(name, COMMUNE_PREFIXES)[0]
            rest = split_prefix(clean, COMMUNE_PREFIXES)[1]
            rests.append(rest)
            self._c_tone[tk].append(i)
            self._c_ascii[ak].append(i)
            self._c_ptone[(pc, tk)].append(i)
            self._c_pascii[(pc, ak)].append(i)
            self._c_exact.append({clean, rest})
        self._c_ascii_by_prov: dict[str, list[str]] = defaultdict(list)
        for (pc, ak) in self._c_pascii:
            self._c_ascii_by_prov[pc].append(ak)
        self._c_fuzzy = _Fuzzy(self._c_ascii)

        # ---- search columns (diacritics-free words)
        prov_names = self._c.province_code.map(self._p_name)
        self._s = pd.DataFrame(
            {
                "rest": [search_key(r) for r in rests],
                "full": self._c.name.map(search_key),
                "prov": prov_names.map(search_key),
            }
        )
        self._s["compact"] = self._s.rest.str.replace(" ", "", regex=False)
        self._s["len"] = self._s.rest.str.len()
        self._search_cache: dict[tuple[str, int], pd.DataFrame] = {}

    # ------------------------------------------------------------------ construction

    # ------------------------------------------------------------------ labels

    def _p_label(self, i: int) -> str:
        return f"{self._pn[i]} ({self._pc[i]})"

    def _l_label(self, i: int) -> str:
        pc = self._lp[i]
        return f"{self._ln[i]} (old {self._lc[i]}, now {pc} {self._p_name[pc]})"

    def _c_label(self, i: int) -> str:
        pc = self._c_pcode[i]
        return f"{self._cn[i]} ({pc} {self._p_name[pc]})"

    # ------------------------------------------------------------------ provinces

    def _p_resolved(self, i: int, matched_by: str, legacy_code: str | None = None) -> Resolved:
        code = self._pc[i]
        return Resolved(code, self._pn[i], "province", code, matched_by, legacy_code)

    def _l_resolved(self, i: int, matched_by: str) -> Resolved:
        return Resolved(self._lc[i], self._ln[i], "legacy_province", self._lp[i], matched_by)

    @staticmethod
    def _match(
        variants: tuple[Keys, ...],
        tone: dict[str, list[int]],
        ascii_: dict[str, list[int]],
        alias: dict[str, int],
        exact: set[tuple[int, str]],
    ) -> tuple[int, str] | None:
        for _, tk, ak, clean in variants:
            for table, key, how in ((tone, tk, "tone"), (ascii_, ak, "ascii")):
                rows = table.get(key)
                if rows:  # province names are unique under both keys (checked in tests)
                    i = rows[0]
                    if how == "tone" and (
                        (i, clean) in exact or (i, split_prefix(clean, PROVINCE_PREFIXES)[1]) in exact
                    ):
                        how = "name"
                    return i, how
            if ak in alias:
                return alias[ak], "alias"
        return None

    def _current(self, text: Any) -> Resolved | None:
        code = _as_code(text, 2)
        if code is not None:
            return self._p_resolved(self._p_code[code], "code") if code in self._p_code else None
        hit = self._match(_keys(_text(text), PROVINCE_PREFIXES),
                          self._p_tone, self._p_ascii, self._p_alias, self._p_exact)
        return self._p_resolved(*hit) if hit else None

    def _legacy(self, text: Any, by_code: bool = True) -> tuple[int, str] | None:
        code = _as_code(text, 2)
        if code is not None:
            return (self._l_code[code], "code") if by_code and code in self._l_code else None
        return self._match(_keys(_text(text), PROVINCE_PREFIXES),
                           self._l_tone, self._l_ascii, self._l_alias, self._l_exact)

    def _province_unknown(self, text: Any, what: str) -> ResolveError:
        candidates: list[str] = []
        code = _as_code(text, 2)
        if code is not None:
            if what == "province" and code in self._l_code:
                candidates = [self._l_label(self._l_code[code])]
                msg = f"unknown {what} code {code!r}; it is an old (pre-2025) code: {candidates[0]}"
            else:
                msg = f"unknown {what} code {code!r}"
            return ResolveError(text, "unknown", candidates, msg, what)
        ak = _keys(_text(text), PROVINCE_PREFIXES)[-1][2]
        pool: dict[str, str] = {}
        if what in ("province", "any_province"):
            pool.update({k: self._p_label(v[0]) for k, v in self._p_ascii.items()})
        for k, v in self._l_ascii.items():
            pool.setdefault(k, self._l_label(v[0]))
        candidates = _unique(pool[k] for k in difflib.get_close_matches(ak, list(pool), n=MAX_CANDIDATES))
        return ResolveError(
            text, "unknown", candidates,
            f"unknown {what} {_text(text)!r}; closest: {', '.join(candidates) or 'none'}", what,
        )

    def province(self, text: str | int, allow_legacy: bool = False) -> Resolved:
        """One of the 34 current provinces, by current code or by name.

        A pre-merger name resolves when its old province became a new one on its own
        ("Thừa Thiên Huế" -> 46); a merged one ("Vĩnh Phúc") raises reason 'legacy' naming
        the new province unless ``allow_legacy`` (then ``legacy_code`` is set). Old codes are
        never accepted here: they overlap current codes with other meanings (old 24 = Bắc
        Giang, current 24 = Bắc Ninh).
        """
        if _is_missing(text) or not _text(text).strip():
            raise ResolveError(text, "unknown", [], "empty province value", "province")
        hit = self._current(text)
        if hit is not None:
            return hit
        if _as_code(text, 2) is None:
            old = self._legacy(text, by_code=False)
            if old is not None:
                i, how = old
                new = self._p_code[self._lp[i]]
                if allow_legacy or i in self._l_alone:
                    return self._p_resolved(new, how, legacy_code=self._lc[i])
                label = self._p_label(new)
                raise ResolveError(
                    text, "legacy", [label],
                    f"{_text(text)!r} is the pre-2025 province {self._l_label(i)}, merged into {label}; "
                    "pass allow_legacy=True or use legacy_province()",
                    "province", old=self._l_label(i), new=label,
                )
        raise self._province_unknown(text, "province")

    def legacy_province(self, text: str | int) -> Resolved:
        """One of the 63 pre-merger provinces, by OLD code or name (``province_code`` = new)."""
        if _is_missing(text) or not _text(text).strip():
            raise ResolveError(text, "unknown", [], "empty province value", "legacy_province")
        hit = self._legacy(text)
        if hit is not None:
            return self._l_resolved(*hit)
        raise self._province_unknown(text, "legacy_province")

    def any_province(self, text: str | int) -> Resolved:
        """A current province if the value names one (code or name), else a legacy one."""
        if _is_missing(text) or not _text(text).strip():
            raise ResolveError(text, "unknown", [], "empty province value", "any_province")
        hit = self._current(text)
        if hit is not None:
            return hit
        old = self._legacy(text)
        if old is not None:
            return self._l_resolved(*old)
        raise self._province_unknown(text, "any_province")

    def _province_filter(self, province: Any) -> str:
        if isinstance(province, Resolved):
            return province.province_code
        return self.province(province, allow_legacy=True).province_code

    # ------------------------------------------------------------------ communes

    def _c_resolved(self, i: int, matched_by: str) -> Resolved:
        return Resolved(self._cc[i], self._cn[i], "commune", self._c_pcode[i], matched_by)

    def _pick(self, rows: list[int], kind: str | None) -> list[int]:
        """Use the prefix kind ("Xã"/"Phường"/"Đặc khu") to break ties, never to exclude."""
        if kind and len(rows) > 1:
            same = [i for i in rows if self._c_kind[i] == kind]
            if same:
                return same
        return rows

    def commune(self, text: str | int, province: Any = None) -> Resolved:
        """A commune by 5-digit code or by name, optionally within ``province``
        (code or name, current or legacy, or a :class:`Resolved`)."""
        pc = None if province is None or _is_missing(province) else self._province_filter(province)
        where = f" in {pc} {self._p_name[pc]}" if pc else ""
        if _is_missing(text) or not _text(text).strip():
            raise ResolveError(text, "unknown", [], "empty commune value", "commune")

        code = _as_code(text, 5)
        if code is not None:
            if code not in self._c_code:
                raise ResolveError(text, "unknown", [], f"unknown commune code {code!r}", "commune")
            i = self._c_code[code]
            if pc and self._c_pcode[i] != pc:
                label = self._c_label(i)
                raise ResolveError(
                    text, "not_in_province", [label], f"commune code {code} is not{where}; it is {label}", "commune"
                )
            return self._c_resolved(i, "code")

        variants = _keys(_text(text), COMMUNE_PREFIXES)
        plain = _plain(variants[0][3])
        for kind, tk, ak, clean in variants:
            steps = (
                ((self._c_ptone, (pc, tk)), (self._c_pascii, (pc, ak)))
                if pc
                else ((self._c_tone, tk), (self._c_ascii, ak))
            )
            for (table, key), how in zip(steps, ("tone", "ascii")):
                rows = table.get(key)
                if rows and how == "tone" and plain:
                    # Text without diacritics says nothing about tones: "Thanh An" may be
                    # "Xã Thanh An" or "Xã Thạnh An" (both in 79). Only an exact spelling
                    # of a diacritics-free name is taken at this step.
                    rows = [i for i in rows if clean in self._c_exact[i]]
                if not rows:
                    continue
                rows = self._pick(rows, kind)
                if len(rows) == 1:
                    i = rows[0]
                    if how == "tone" and clean in self._c_exact[i]:
                        how = "name"
                    return self._c_resolved(i, how)
                labels = [self._c_label(i) for i in rows]
                hint = "" if pc else "; give the province"
                raise ResolveError(
                    text, "ambiguous", labels,
                    f"ambiguous commune {_text(text)!r}{where}: {len(rows)} matches{hint}: {', '.join(labels)}",
                    "commune",
                )

        if pc:
            for kind, tk, ak, _ in variants:
                rows = self._c_tone.get(tk) or self._c_ascii.get(ak)
                if rows:
                    labels = [self._c_label(i) for i in self._pick(rows, kind)]
                    raise ResolveError(
                        text, "not_in_province", labels,
                        f"commune {_text(text)!r} is not{where}; found in: {', '.join(labels)}", "commune",
                    )
        ak = variants[-1][2]
        if pc:
            close = difflib.get_close_matches(ak, self._c_ascii_by_prov[pc], n=MAX_CANDIDATES)
            rows = [i for k in close for i in self._c_pascii[(pc, k)]]
        else:
            rows = [i for k in self._c_fuzzy.close(ak) for i in self._c_ascii[k]]
        labels = _unique(self._c_label(i) for i in rows)[:MAX_CANDIDATES]
        raise ResolveError(
            text, "unknown", labels,
            f"unknown commune {_text(text)!r}{where}; closest: {', '.join(labels) or 'none'}", "commune",
        )

    # ------------------------------------------------------------------ vectorised helpers

    @staticmethod
    def _frame(index: pd.Index, results: list[Resolved | ResolveError]) -> pd.DataFrame:
        ok = [r if isinstance(r, Resolved) else None for r in results]
        err = [r if isinstance(r, ResolveError) else None for r in results]
        columns = {
            "code": [r.code if r else None for r in ok],
            "name": [r.name if r else None for r in ok],
            "level": [r.level if r else None for r in ok],
            "province_code": [r.province_code if r else None for r in ok],
            "matched_by": [r.matched_by if r else None for r in ok],
            "legacy_code": [r.legacy_code if r else None for r in ok],
            "reason": [e.reason if e else None for e in err],
            "error": [str(e) if e else None for e in err],
        }
        # object columns keep None (not NaN) for the missing half of each row
        return pd.DataFrame({k: pd.Series(v, index=index, dtype=object) for k, v in columns.items()})

    def communes_frame(self, names: pd.Series, provinces: pd.Series | None = None) -> pd.DataFrame:
        """Resolve a column of commune names/codes (optionally with a parallel province
        column). Returns, on the same index: code, name, level, province_code, matched_by,
        legacy_code, reason, error (one of the last two groups is null per row). Each
        distinct (name, province) pair is resolved once."""
        names = pd.Series(names)
        if provinces is None:
            provinces = pd.Series([None] * len(names), index=names.index, dtype=object)
        provinces = pd.Series(provinces, index=names.index)
        cache: dict[tuple, Resolved | ResolveError] = {}
        results = []
        for name, prov in zip(names.tolist(), provinces.tolist()):
            key = (_hashable(name), _hashable(prov))
            hit = cache.get(key)
            if hit is None:
                try:
                    hit = self.commune(name, None if _is_missing(prov) else prov)
                except ResolveError as exc:
                    hit = exc
                cache[key] = hit
            results.append(hit)
        return self._frame(names.index, results)

    def provinces_frame(self, values: pd.Series, allow_legacy: bool = False) -> pd.DataFrame:
        """Resolve a column of province names/codes with :meth:`province` (same columns as
        :meth:`communes_frame`)."""
        values = pd.Series(values)
        cache: dict[Any, Resolved | ResolveError] = {}
        results = []
        for value in values.tolist():
            key = _hashable(value)
            hit = cache.get(key)
            if hit is None:
                try:
                    hit = self.province(value, allow_legacy=allow_legacy)
                except ResolveError as exc:
                    hit = exc
                cache[key] = hit
            results.append(hit)
        return self._frame(values.index, results)

    # ------------------------------------------------------------------ search

    def search_communes(self, query: str, limit: int = 20) -> pd.DataFrame:
        """Free-text commune search, diacritics optional ("quang dien" -> Xã Quảng Điền).

        Rank (column ``rank``, lower is better): 0 the name without prefix equals the query,
        1 the full name equals it ("xa quang dien"), 2 the name starts with it, 3 it starts
        a later word of the name, 4 every query word starts a word of the name, 5 every
        query word starts a word of the name or its province ("quang dien hue"), 6 the
        query is inside the space-free name ("quangdien"). Digits search code prefixes.
        Ties: shorter name, then province code.
        """
        key = (str(query), int(limit))
        if key not in self._search_cache:
            if len(self._search_cache) > 1024:
                self._search_cache.clear()
            self._search_cache[key] = self._search(query, limit)
        return self._search_cache[key].copy()

    def _search(self, query: str, limit: int) -> pd.DataFrame:
        columns = ["code", "name", "kind", "province_code", "province_name", "rank"]
        if query is None or _is_missing(query):
            return pd.DataFrame(columns=columns)
        c, s = self._c, self._s
        code = _CODE_RE.match(str(query))
        if code:
            rank = pd.Series(pd.NA, index=c.index, dtype="Int64")
            digits = code.group(1)
            rank[c.code == digits.zfill(5)] = 0
            rank[rank.isna() & c.code.str.startswith(digits)] = 2
        else:
            _, rest = split_prefix(nfc(query), COMMUNE_PREFIXES)
            q = search_key(rest)
            if not q:
                return pd.DataFrame(columns=columns)
            words = q.split()
            every = "".join(rf"(?=.*\b{re.escape(w)})" for w in words)
            both = s.full + " " + s.prov
            tests = [
                s.rest == q,
                s.full == q,
                s.rest.str.startswith(q) | s.full.str.startswith(q),
                (" " + s.rest).str.contains(" " + q, regex=False),
                s.rest.str.contains(every, regex=True),
                both.str.contains(every, regex=True),
                s.compact.str.contains(q.replace(" ", ""), regex=False),
            ]
            rank = pd.Series(pd.NA, index=c.index, dtype="Int64")
            for r, hit in enumerate(tests):
                rank[rank.isna() & hit] = r
        found = c.loc[rank.notna(), ["code", "name", "kind", "province_code"]].copy()
        found["province_name"] = found.province_code.map(self._p_name)
        found["rank"] = rank[rank.notna()].astype(int)
        found["_len"] = s.len[rank.notna()]
        order = ["rank", "code"] if code else ["rank", "_len", "province_code", "name"]
        found = found.sort_values(order, kind="stable")
        return found.head(limit)[columns].reset_index(drop=True)


def _hashable(value: Any) -> Any:
    if _is_missing(value):
        return None
    try:
        hash(value)
        return (type(value).__name__, value)
    except TypeError:
        return ("repr", repr(value))


def _read_aliases() -> pd.DataFrame:
    return pd.read_csv(ALIASES_CSV, dtype=str, keep_default_na=False)
