"""Parsing single cells as data staff type them: numbers with Vietnamese or English
separators, periods in the usual Vietnamese spellings, yes/no flags.

Every parser returns ``(value, None)`` or ``(None, problem)``: what is wrong, by name (the
rules of :mod:`etl.load.rules` put it in words); callers cache by distinct raw value, so a
100,000-row column costs one parse per distinct spelling.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any, NamedTuple

from core.fmt import MONTHS_EN
from core.names import nfc, strip_diacritics

# Cells that mean "no figure" in Vietnamese reports.
EMPTY_MARKERS = {"", "-", "–", "—", "..", "...", "n/a", "na", "null", "none", "nan"}

_NUMBER_CHARS = re.compile(r"^[+-]?[0-9.,]+$")


class Problem(NamedTuple):
    """Why a cell is refused: ``name`` ('separators', 'quarter', 'future'…) and the values a
    sentence about it takes."""

    name: str
    values: dict[str, Any] | None = None


def is_empty(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    if isinstance(value, str) and value.strip().lower() in EMPTY_MARKERS:
        return True
    try:
        import pandas as pd

        return value is pd.NA or value is pd.NaT
    except Exception:  # pragma: no cover
        return False


def _grouped(int_part: str, sep: str) -> bool:
    return re.fullmatch(r"\d{1,3}(?:" + re.escape(sep) + r"\d{3})+", int_part) is not None


def parse_number(value: Any) -> tuple[float | None, Problem | None]:
    """A number from a cell: Excel numbers as they are; text with Vietnamese separators.

    "88,01" -> 88.01 (decimal comma); "1.234" -> 1234 and "1.234.567" -> 1234567 (dot
    groups of three are thousands); "1.234,5" -> 1234.5; "1,234.5" and "1,234,567" ->
    English thousands; "12.5" -> 12.5 (a dot not followed by exactly three digits is a
    decimal point); spaces, non-breaking spaces and a trailing "%" are ignored.
    """
    if isinstance(value, bool):
        return None, Problem("boolean")
    if isinstance(value, (int, float)):
        number = float(value)
        if math.isnan(number) or math.isinf(number):
            return None, Problem("not_finite")
        return number, None
    if isinstance(value, (dt.date, dt.datetime)):
        return None, Problem("date")
    text = str(value).strip().replace("\u00a0", "").replace("\u202f", "").replace(" ", "")
    if text.endswith("%"):
        text = text[:-1]
    if text.startswith("(") and text.endswith(")"):  # accounting negative
        text = "-" + text[1:-1]
    text = text.replace("−", "-")
    if not text or not _NUMBER_CHARS.match(text):
        return None, Problem("not_a_number")
    sign = -1.0 if text.startswith("-") else 1.0
    body = text.lstrip("+-")
    if not body or (not body[0].isdigit() and body[0] not in ".,"):
        return None, Problem("not_a_number")
    has_dot, has_comma = "." in body, "," in body
    try:
        if has_dot and has_comma:
            last = "." if body.rfind(".") > body.rfind(",") else ","
            thousands = "," if last == "." else "."
            int_part, frac = body.rsplit(last, 1)
            if not frac.isdigit() or not (int_part.isdigit() or _grouped(int_part, thousands)):
                return None, Problem("separators")
            return sign * float(int_part.replace(thousands, "") + "." + frac), None
        if has_comma:
            if body.count(",") > 1:
                if _grouped(body, ","):
                    return sign * float(body.replace(",", "")), None
                return None, Problem("separators")
            int_part, frac = body.split(",")
            if not frac.isdigit() or (int_part and not int_part.isdigit()):
                return None, Problem("separators")
            return sign * float((int_part or "0") + "." + frac), None  # Vietnamese decimal comma
        if has_dot:
            if body.count(".") > 1:
                if _grouped(body, "."):
                    return sign * float(body.replace(".", "")), None
                return None, Problem("separators")
            int_part, frac = body.split(".")
            if int_part.isdigit() and int_part != "0" and len(frac) == 3 and frac.isdigit() and len(int_part) <= 3:
                return sign * float(int_part + frac), None  # Vietnamese thousands dot
            if (int_part and not int_part.isdigit()) or not frac.isdigit():
                return None, Problem("separators")
            return sign * float((int_part or "0") + "." + frac), None
        return sign * float(body), None
    except ValueError:
        return None, Problem("not_a_number")


_MONTH_WORDS = r"(?:th[aá]ng|thg|t)\.?\s*"
_PERIOD_PATTERNS = [
    (re.compile(r"^(\d{4})\s*[-/.]\s*(\d{1,2})$"), ("y", "m")),
    (re.compile(r"^(\d{4})(\d{2})$"), ("y", "m")),
    (re.compile(r"^(\d{1,2})\s*[-/.]\s*(\d{4})$"), ("m", "y")),
    (re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ t].*)?$"), ("y", "m", "d")),
    (re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})(?: .*)?$"), ("d", "m", "y")),
    (re.compile(r"^" + _MONTH_WORDS + r"(\d{1,2})\s*(?:[-/.,]|\s|nam|năm)+\s*(\d{4})$"), ("m", "y")),
]

FIRST_YEAR = 2000
_MONTHS_EN = [m.lower() for m in MONTHS_EN]  # "Sep 2025", as the English pages write it
_ENGLISH_MONTH = re.compile(rf"^({'|'.join(_MONTHS_EN)})[a-z]*\.?[\s,/-]*(\d{{4}})$")
# Quarters and years: Vietnamese reports are often quarterly ("Quý III/2025"), but the
# warehouse holds months and a quarter's figure cannot be split among them.
_NOT_A_MONTH = [(re.compile(r"^(quy|q)\.?\s*([1-4]|i{1,3}|iv)\b"), "quarter"),
                (re.compile(r"^(nam|year)\s*\d{4}$|^\d{4}$"), "year"),
                (re.compile(r"^(6|06|9|09)\s*thang\b"), "months")]


def current_period(now: dt.datetime | None = None) -> str:
    now = now or dt.datetime.now()
    return f"{now.year:04d}-{now.month:02d}"


def parse_period(value: Any, now: dt.datetime | None = None) -> tuple[str | None, Problem | None]:
    """``(period 'YYYY-MM', None)`` or ``(None, problem)``: 'future' (after the current month)
    or why it is no month ('empty', 'quarter', 'year', 'months', 'not_a_month', 'no_such_month',
    'too_early')."""
    if is_empty(value):
        return None, Problem("empty")
    if isinstance(value, (dt.datetime, dt.date)):
        year, month = value.year, value.month
    else:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        text = strip_diacritics(str(value)).strip().lower()
        year = month = None
        for pattern, order in _PERIOD_PATTERNS:
            match = pattern.match(text)
            if match:
                parts = dict(zip(order, (int(g) for g in match.groups())))
                year, month = parts["y"], parts["m"]
                break
        english = _ENGLISH_MONTH.match(text) if year is None else None
        if english:
            year, month = int(english.group(2)), _MONTHS_EN.index(english.group(1)) + 1
        if year is None:
            span = next((what for pattern, what in _NOT_A_MONTH if pattern.match(text)), "not_a_month")
            return None, Problem(span)
    if not 1 <= month <= 12:
        return None, Problem("no_such_month", {"month": month})
    if year < FIRST_YEAR:
        return None, Problem("too_early", {"year": year, "first": FIRST_YEAR})
    period = f"{year:04d}-{month:02d}"
    if period > current_period(now):
        return None, Problem("future", {"period": period, "current": current_period(now)})
    return period, None


_TRUE = {"true", "1", "yes", "y", "co", "x", "t", "online", "da thanh toan"}
_FALSE = {"false", "0", "no", "n", "khong", "", "f", "chua thanh toan"}


def parse_bool(value: Any) -> tuple[bool | None, Problem | None]:
    if isinstance(value, bool):
        return value, None
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return False, None
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value), None
    text = strip_diacritics(str(value)).strip().lower()
    if text in _TRUE:
        return True, None
    if text in _FALSE:
        return False, None
    return None, Problem("not_yes_no")


def display(value: Any) -> str:
    """A raw cell as text for reports (what the user typed, not our parse)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    return str(value)


def nfc_text(value: Any) -> str:
    return nfc(display(value))
