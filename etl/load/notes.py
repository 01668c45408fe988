"""Remarks on a load that are no problem (how many dossiers were counted, total rows left out…)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from core.i18n import t


@dataclass(frozen=True)
class Note:
    """A remark on a load. Its sentence is ``refresh.note.<key>`` in data/i18n.toml, so the
    command line prints it in English and the upload page in the reader's language; ``counts``
    fill it, formatted by the caller."""
    key: str
    counts: dict[str, int]

    def text(self, lang: str = "en", number: Callable[[int], str] = "{:,}".format) -> str:
        return t(f"refresh.note.{self.key}", lang, **{k: number(v) for k, v in self.counts.items()})

    def __str__(self) -> str:
        return self.text()
