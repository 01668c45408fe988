"""Numbers, dates and changes written the way each reader expects.

Vietnamese: decimal comma, dot thousands, space before % ("88,01 %", "1.234.567",
"Tháng 9/2025"). English: "88.01%", "1,234,567", "Sep 2025". No locale module is used (the
server's locale must not change what readers see). How a unit is written (suffix, decimals,
percentage points) comes from the catalog's [unit.*] tables.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from core import catalog

LANGS = ("vi", "en")
MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
UP, DOWN, SAME = "▲", "▼", "–"


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


def percent(share: Any, decimals: int = 2, lang: str = "vi", *, sign: bool = False) -> str:
    """88.01 -> vi '88,01 %', en '88.01%' (a share that is no indicator's value)."""
    return value(share, "percent", decimals, lang, sign=sign)


def value(value: Any, unit: catalog.Unit | str, decimals: int | None = None, lang: str = "vi", *,
          sign: bool = False) -> str:
    """A value in its unit (a :class:`core.catalog.Unit` or its code): '88,01 %',
    '1.234,5 tỷ đồng', '15/17'; ``decimals`` default to the unit's."""
    if is_missing(value):
        return "–"
    unit = _unit(unit)
    return number(value, unit.decimals if decimals is None else decimals, lang, sign=sign) + unit.suffix(lang)


def difference(diff: Any, unit: catalog.Unit | str, decimals: int | None = None, lang: str = "vi", *,
               sign: bool = True) -> str:
    """A difference of two values of one unit: percentages differ by points ('+1,25 điểm %',
    '+1.25 pp'), other units in themselves ('−0,63 điểm', '+12')."""
    if is_missing(diff):
        return "–"
    unit = _unit(unit)
    return number(diff, unit.decimals if decimals is None else decimals, lang, sign=sign) + unit.difference_suffix(lang)


def change(value_now: Any, value_before: Any, unit: catalog.Unit | str, decimals: int | None = None,
           lang: str = "vi") -> str:
    """Change between two values of one indicator ('+1,25 điểm %' for percentages)."""
    if is_missing(value_now) or is_missing(value_before):
        return "–"
    return difference(float(value_now) - float(value_before), unit, decimals, lang)


def _unit(unit: catalog.Unit | str) -> catalog.Unit:
    return unit if isinstance(unit, catalog.Unit) else catalog.unit(unit)


def month(period: str | None, lang: str = "vi") -> str:
    """'2025-09' -> vi 'Tháng 9/2025', en 'Sep 2025'."""
    if not period:
        return "–"
    year, mon = int(period[:4]), int(period[5:7])
    return f"Tháng {mon}/{year}" if lang == "vi" else f"{MONTHS_EN[mon - 1]} {year}"


def day(value: Any) -> str:
    """A date as the sources write it, in both languages: 2025-08-29 -> '29/8/2025'."""
    if is_missing(value):
        return "–"
    value = pd.Timestamp(value)
    return f"{value.day}/{value.month}/{value.year}"


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


def rank(position: Any, total: Any, lang: str = "vi") -> str:
    """'9/34', vi '1.712/3.321', en '1,712/3,321'."""
    if is_missing(position):
        return "–"
    return f"{number(position, 0, lang)}/{number(total, 0, lang)}"


MAGNITUDES = {"vi": ((1e9, " tỷ"), (1e6, " triệu"), (1e3, " nghìn")),
              "en": ((1e9, " bn"), (1e6, " M"), (1e3, " k"))}


def magnitude(value: Any, lang: str = "vi") -> str:
    """An axis tick in words: 1_500_000 -> vi '1,5 triệu', en '1.5 M'; 20_000 -> '20 nghìn';
    below a thousand as a number ('750')."""
    if is_missing(value):
        return "–"
    for size, word in MAGNITUDES[lang]:
        if abs(float(value)) >= size:
            scaled = float(value) / size
            return number(scaled, 0 if scaled == int(scaled) else 1, lang) + word
    return number(value, 0, lang)


def plotly_separators(lang: str) -> str:
    """Plotly ``layout.separators``: decimal mark then thousands mark."""
    return ",." if lang == "vi" else ".,"


def add_months(period: str, months: int) -> str:
    """'2025-09' + (-1) -> '2025-08'."""
    year, mon = int(period[:4]), int(period[5:7])
    index = year * 12 + (mon - 1) + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"
