"""Why a file or a row is refused, in words a data clerk reads in either language.

Every reason has a stable code (``unknown_unit``, ``too_large``…: reports, tests and the
hostile-input set rely on them), declared once as a :class:`Reason` by the module here that
checks it:

    file.py        the file as a whole            empty_file, encoding, too_large, cell_too_large,
                                                  too_demanding, bad_format, missing_column
    periods.py     the month of a row             bad_period, future_period
    indicators.py  the indicator of a row         unknown_indicator, wrong_level
    units.py       the province or commune        unknown_unit, ambiguous_unit, not_in_province,
                                                  legacy_unit, unknown_province, before_unit_existed
    numbers.py     the value                      missing_value, non_numeric, negative_count,
                                                  not_whole_number, rate_out_of_range, out_of_range,
                                                  implausible_value
    rates.py       a rate and its two counts      incomplete_counts, numerator_gt_denominator,
                                                  zero_denominator, rate_mismatch, conflicting_count
    rows.py        rows against other rows        duplicate, total_mismatch
    rebase.py      legacy rows onto the 34        rebase_rate_without_counts, rebase_not_additive,
                                                  rebase_incomplete
    dossiers.py    dossier exports                missing_id, bad_time, future_time,
                                                  resolved_before_received, bad_channel, bad_bool,
                                                  duplicate_dossier, duplicates_not_listed, partial_province
    index766.py    the Decision 766 index         method_mismatch, total_not_sum, group_above_max,
                                                  rank_mismatch, needs_province

The words are in data/i18n.toml under ``[reason.<code>]``: ``title`` (the short name), and the
sentences the reason's :class:`Message` s name: a reason and a suggestion, with named fields
(``{value!r}``, ``{closest}``, ``{limit:,}``) that take the values the rule passes. A rejection
keeps the keys and the values (:mod:`etl.load.rules.found`), so it is said in English on the
command line and in the stored quarantine, and in Vietnamese on the upload page or with
``--lang vi``; each sentence is rendered once per distinct set of values, not once per row.

This module imports no pandas: the process that starts a file's check imports it (through
:mod:`etl.load.errors`) before anything heavy.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from core import i18n

MODULES = ("file", "periods", "indicators", "units", "numbers", "rates", "rows", "rebase", "dossiers", "index766")
SEVERITIES = ("error", "warning")

REASONS: dict[str, Reason] = {}
MESSAGES: list[Message] = []


@dataclass(frozen=True)
class Reason:
    """A reason code; ``severity`` 'warning' is reported but never stops a load."""

    code: str
    severity: str = "error"

    def __post_init__(self) -> None:
        if self.code in REASONS:
            raise ValueError(f"reason {self.code!r} is declared twice")
        if self.severity not in SEVERITIES:
            raise ValueError(f"reason {self.code!r}: severity must be one of {SEVERITIES}")
        REASONS[self.code] = self

    def says(self, reason: str, suggestion: str | None, *params: str) -> Message:
        """A way of saying this reason: ``reason.<code>.<reason>`` and ``.<suggestion>``, taking ``params``."""
        return Message(self, reason, suggestion, params)


@dataclass(frozen=True)
class Message:
    """A reason sentence and a suggestion sentence of one reason, and the names of the values
    they take: a rule must pass exactly these (a test checks the sentences use them)."""

    of: Reason
    reason: str
    suggestion: str | None
    params: tuple[str, ...]

    def __post_init__(self) -> None:
        MESSAGES.append(self)

    @property
    def code(self) -> str:
        return self.of.code

    @property
    def reason_key(self) -> str:
        return f"reason.{self.code}.{self.reason}"

    @property
    def suggestion_key(self) -> str | None:
        return f"reason.{self.code}.{self.suggestion}" if self.suggestion else None

    def expect(self, names: Iterable[str]) -> None:
        """Fail loudly when a rule passes other values than the sentences take."""
        if set(names) != set(self.params):
            raise TypeError(f"{self.reason_key} takes {sorted(self.params)}, not {sorted(names)}")

    def __call__(self, **values: Any) -> Said:
        self.expect(values)
        return Said(self, values)


@dataclass(frozen=True)
class Said:
    """A message with its values: one rejection's words, in any language."""

    message: Message
    values: dict[str, Any]

    @property
    def code(self) -> str:
        return self.message.code

    def text(self, lang: str = "en") -> tuple[str, str]:
        return render(self.message.reason_key, self.message.suggestion_key, self.values, lang)


def render(reason_key: str, suggestion_key: str | None, values: Mapping[str, Any], lang: str = "en") -> tuple[str, str]:
    """(reason, suggestion) in ``lang``, numbers in its notation."""
    reason = i18n.sentence(reason_key, lang, values)
    return reason, i18n.sentence(suggestion_key, lang, values) if suggestion_key else ""


def title(code: str, lang: str = "en") -> str:
    """The short name of a reason ('unknown unit'); an unknown code is shown as it is."""
    key = f"reason.{code}.title"
    return i18n.t(key, lang) if i18n.has(key) else str(code)


def load_all() -> dict[str, Reason]:
    """Every reason (importing every rule module declares them all)."""
    for name in MODULES:
        importlib.import_module(f"{__name__}.{name}")
    return REASONS
