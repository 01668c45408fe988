"""Numbers, dates and changes written the way each reader expects.

Vietnamese: decimal comma, dot thousands, space before % ("88,01 %", "1.234.567",
"Tháng 9/2025"). English: "88.01%", "1,234,567", "Sep 2025". No locale module is used (the
server's locale must not change what readers see).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

LANGS = ("vi", "en")
MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
UP, DOWN, SAME = "▲", "▼", "–"

_UNIT_SUFFIX = {
    "bn_vnd": {"vi": " tỷ đồng", "en": " bn VND"},
    "score": {"vi": " điểm", "en": " pts"},
    "criteria": {"vi": "/17", "en": "/17"},
}


def is_missing(value: Any) -> bool:
    """None, NaN, NaT or pandas.NA."""
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def number(value: Any, decimals: int = 0, lang: str = "vi", *, sign: bool = False) -> str:
    """1234567.891 -> vi '1.234.567,89', en '1,234,567.89' (decimals=2)."""
    if is_missing(value):
        return "–"
    text = f"{float(value):{'+' if sign else ''},.{max(int(decimals), 0)}f}"
    if text.lstrip("+-").strip("0.,") == "":  # "-0.00" -> "0.00"
        text = text.lstrip("+-")
        if sign:
            text = "±" + text
    if lang == "vi":
        text = text.replace(",", "\0").replace(".", ",").replace("\0", ".")
    return text


def percent(value: Any, decimals: int = 2, lang: str = "vi", *, sign: bool = False) -> str:
    """88.01 -> vi '88,01 %', en '88.01%'."""
    if is_missing(value):
        return "–"
    return number(value, decimals, lang, sign=sign) + (" %" if lang == "vi" else "%")


def points(value: Any, decimals: int = 2, lang: str = "vi", *, sign: bool = True) -> str:
    """A difference between two percentages: vi '+1,25 điểm %', en '+1.25 pp'."""
    if is_missing(value):
        return "–"
    return number(value, decimals, lang, sign=sign) + (" điểm %" if lang == "vi" else " pp")


def value(value: Any, unit: str, decimals: int = 0, lang: str = "vi", *, sign: bool = False) -> str:
    """A value in its indicator's unit ('percent', 'count', 'bn_vnd', 'score', 'criteria')."""
    if is_missing(value):
        return "–"
    if unit == "percent":
        return percent(value, decimals, lang, sign=sign)
    return number(value, decimals, lang, sign=sign) + _UNIT_SUFFIX.get(unit, {}).get(lang, "")


def change(value_now: Any, value_before: Any, unit: str, decimals: int, lang: str = "vi") -> str:
    """Change between two values of one indicator ('+1,25 điểm %' for percentages)."""
    if is_missing(value_now) or is_missing(value_before):
        return "–"
    diff = float(value_now) - float(value_before)
    if unit == "percent":
        return points(diff, decimals, lang)
    return value(diff, unit, decimals, lang, sign=True)


def month(period: str | None, lang: str = "vi") -> str:
    """'2025-09' -> vi 'Tháng 9/2025', en 'Sep 2025'."""
    if not period:
        return "–"
    year, mon = int(period[:4]), int(period[5:7])
    return f"Tháng {mon}/{year}" if lang == "vi" else f"{MONTHS_EN[mon - 1]} {year}"


def month_short(period: str, lang: str = "vi") -> str:
    """Axis labels: vi 'T9/2025', en 'Sep 2025'."""
    year, mon = int(period[:4]), int(period[5:7])
    return f"T{mon}/{year}" if lang == "vi" else f"{MONTHS_EN[mon - 1]} {year}"


def rank_change(delta: Any) -> str:
    """Places gained (+) or lost (−) since the previous month: '▲2', '▼1', '–'."""
    if is_missing(delta):
        return ""
    delta = int(delta)
    if delta > 0:
        return f"{UP}{delta}"
    if delta < 0:
        return f"{DOWN}{-delta}"
    return SAME


def rank(position: Any, total: Any) -> str:
    """'9/34'."""
    if is_missing(position):
        return "–"
    return f"{int(position)}/{int(total)}"


def plotly_separators(lang: str) -> str:
    """Plotly ``layout.separators``: decimal mark then thousands mark."""
    return ",." if lang == "vi" else ".,"


def add_months(period: str, months: int) -> str:
    """'2025-09' + (-1) -> '2025-08'."""
    year, mon = int(period[:4]), int(period[5:7])
    index = year * 12 + (mon - 1) + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"
