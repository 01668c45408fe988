"""One translation file (``data/i18n.toml``): Vietnamese by default, English on request.

Keys are dotted paths into the TOML file; each leaf is a table ``{ vi = "…", en = "…" }``::

    t("nav.overview", "en")                      -> "Overview"
    t("overview.rank_sentence", "vi", name=...)  -> str.format(**fmt) of the template

A missing key or language never raises: the Vietnamese text, then the key itself is shown
(``tests`` check that every key has both languages).
"""

from __future__ import annotations

import numbers
import string
import tomllib
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

I18N_FILE = Path(__file__).resolve().parent.parent / "data" / "i18n.toml"
LANGS = ("vi", "en")
DEFAULT_LANG = "vi"


def _flatten(table: dict, prefix: str = "") -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for key, value in table.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and set(value) & set(LANGS) and all(
            isinstance(v, str) for v in value.values()
        ):
            out[path] = value
        elif isinstance(value, dict):
            out.update(_flatten(value, path + "."))
    return out


@cache
def messages() -> dict[str, dict[str, str]]:
    return _flatten(tomllib.loads(I18N_FILE.read_text(encoding="utf-8")))


def t(key: str, lang: str = DEFAULT_LANG, **fmt: Any) -> str:
    entry = messages().get(key)
    if entry is None:
        return key
    text = entry.get(lang) or entry.get(DEFAULT_LANG) or key
    return text.format(**fmt) if fmt else text


def translator(lang: str) -> Callable[..., str]:
    """``t(key, **values)`` in ``lang``: how a page or a table says its keys."""

    def say(key: str, **values: Any) -> str:
        return t(key, lang, **values)

    return say


class _Notation(string.Formatter):
    """``str.format`` with numbers written in the reader's notation: a field such as ``{n:,}``
    or ``{x:,.1f}`` gives "1,234.5" in English and "1.234,5" in Vietnamese."""

    _SWAP = str.maketrans(",.", ".,")

    def __init__(self, lang: str):
        super().__init__()
        self.lang = lang

    def format_field(self, value: Any, format_spec: str) -> str:
        text = super().format_field(value, format_spec)
        if self.lang == "vi" and isinstance(value, numbers.Real) and not isinstance(value, bool):
            return text.translate(self._SWAP)
        return text


def sentence(key: str, lang: str, values: Mapping[str, Any]) -> str:
    """Like :func:`t` for a sentence that takes numbers as numbers (``{n:,}``, ``{x:.4g}``):
    they are written in ``lang``'s notation, so one template serves both languages."""
    entry = messages().get(key)
    if entry is None:
        return key
    return _Notation(lang).vformat(entry.get(lang) or entry.get(DEFAULT_LANG) or key, (), values)


def has(key: str) -> bool:
    return key in messages()


def name(row: Any, lang: str, vi: str = "name_vi", en: str = "name_en") -> str:
    """The name of a catalog row (indicator, region) in the reader's language."""
    return row[en] if lang == "en" and row[en] else row[vi]
