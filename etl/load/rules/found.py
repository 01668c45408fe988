"""Rejections as a table: one line per problem, with the keys and values of its sentences.

Columns: ``row`` (spreadsheet row / CSV line), ``column`` (header as written), ``value`` (as
written), ``code`` (the reason), ``reason`` and ``suggestion`` (in English, for the command line
and the stored quarantine), ``severity``, and ``reason_key``, ``suggestion_key``, ``params``:
enough to say the line again in another language (:func:`localised`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from etl.load import values as V
from etl.load.rules import Message, Said, render

REJECTION_COLUMNS = ["row", "column", "value", "code", "reason", "suggestion", "severity"]
KEY_COLUMNS = ["reason_key", "suggestion_key", "params"]
COLUMNS = REJECTION_COLUMNS + KEY_COLUMNS


def empty() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="Int64" if c == "row" else object) for c in COLUMNS})


def _as_list(x: Any, n: int) -> list:
    return list(x) if isinstance(x, (list, tuple)) else [x] * n


def _shown(values: list) -> list[str]:
    """Cells as the clerk typed them (:func:`etl.load.values.display`); text as it is."""
    return [v if type(v) is str else V.display(v) for v in values]


class Found:
    """Rejections as they are found, kept as columns; :meth:`frame` renders the English
    sentences once per distinct message and values."""

    def __init__(self) -> None:
        self.columns: dict[str, list] = {c: [] for c in ("row", "column", "value", "code", "severity", *KEY_COLUMNS)}

    def __len__(self) -> int:
        return len(self.columns["row"])

    def add(self, said: Said, row: Any = None, column: str | None = None, value: Any = None) -> None:
        self.each([row], [column], [value], [said])

    def many(self, rows: Sequence, columns: Any, values: Any, message: Message, /, **params: Any) -> None:
        """One line per element of ``rows``, all saying ``message``: ``columns``, ``values``
        and each of ``params`` is a list as long as ``rows``, or one value for all."""
        message.expect(params)
        n = len(rows)
        names = list(params)
        lists = [_as_list(params[name], n) for name in names]
        c = self.columns
        c["row"].extend(rows)
        c["column"].extend(_as_list(columns, n))
        c["value"].extend(_shown(_as_list(values, n)))
        c["code"].extend([message.code] * n)
        c["severity"].extend([message.of.severity] * n)
        c["reason_key"].extend([message.reason_key] * n)
        c["suggestion_key"].extend([message.suggestion_key] * n)
        if names:
            c["params"].extend(dict(zip(names, vals)) for vals in zip(*lists))
        else:
            c["params"].extend({} for _ in range(n))

    def each(self, rows: Sequence, columns: Sequence, values: Sequence, saids: Sequence[Said]) -> None:
        """One line per element, each with its own :class:`Said`."""
        c = self.columns
        c["row"].extend(rows)
        c["column"].extend(columns)
        c["value"].extend(_shown(list(values)))
        for said in saids:
            message = said.message
            c["code"].append(message.code)
            c["severity"].append(message.of.severity)
            c["reason_key"].append(message.reason_key)
            c["suggestion_key"].append(message.suggestion_key)
            c["params"].append(said.values)

    def frame(self) -> pd.DataFrame:
        if not len(self):
            return empty()
        frame = pd.DataFrame(self.columns)
        frame["row"] = pd.to_numeric(frame.row, errors="coerce").astype("Int64")
        frame["reason"], frame["suggestion"] = _sentences(frame, "en")
        return frame[COLUMNS]


def _sentences(frame: pd.DataFrame, lang: str) -> tuple[list[str], list[str]]:
    """The reason and suggestion of every line, each distinct one rendered once."""
    done: dict[tuple, tuple[str, str]] = {}
    reasons, suggestions = [], []
    for reason_key, suggestion_key, params in zip(frame.reason_key, frame.suggestion_key, frame.params):
        key = (reason_key, suggestion_key, *params.items())
        words = done.get(key)
        if words is None:
            words = done[key] = render(reason_key, suggestion_key, params, lang)
        reasons.append(words[0])
        suggestions.append(words[1])
    return reasons, suggestions


def localised(frame: pd.DataFrame, lang: str) -> pd.DataFrame:
    """The rejections with their reasons and suggestions in ``lang`` (a copy; English is as stored)."""
    if lang == "en" or not len(frame):
        return frame
    out = frame.copy()
    out["reason"], out["suggestion"] = _sentences(frame, lang)
    return out


def of(said: Said, row: Any = None, column: str | None = None, value: Any = None) -> pd.DataFrame:
    """One rejection as a table."""
    found = Found()
    found.add(said, row, column, value)
    return found.frame()
