"""Text on charts in the reader's language (uses core.fmt and core.i18n, which
import no Streamlit), and the value axis of a unit as the catalog declares it."""

from __future__ import annotations

import math
from typing import Any

from core import catalog, fmt, i18n


def indicator_name(indicator: dict, lang: str) -> str:
    return indicator["name_en"] if lang == "en" else indicator["name_vi"]


def unit_of(indicator: dict) -> catalog.Unit:
    """The unit of a catalog row (a dict from the warehouse or the catalog; a Unit itself
    for a derived figure such as a count per 1,000 inhabitants)."""
    unit = indicator["unit"]
    return unit if isinstance(unit, catalog.Unit) else catalog.unit(unit)


def value_axis(unit: catalog.Unit, lang: str) -> dict:
    """Axis settings for values of ``unit``: ticks with the suffix and no title ('80 %'), or
    the unit as the title; a bounded unit (%, criteria) zooms to the data, others start at 0."""
    return dict(
        ticksuffix=unit.tick_suffix(lang),
        title=None if unit.suffix_on_ticks else unit.label(lang),
        rangemode="normal" if unit.max is not None else "tozero",
        tickformat=unit.tick_format or None,
    )


def magnitude_ticks(upper: float, lang: str, n: int = 5) -> dict:
    """Ticks from 0 to ``upper`` written with Vietnamese magnitudes ('20 nghìn', '1,5 triệu',
    en '1.5 M'), about ``n`` of them at round steps (1, 2, 2.5 or 5 times a power of ten)."""
    if upper <= 0:
        return {}
    raw = upper / n
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    values = [i * step for i in range(int(upper // step) + 1)]
    return dict(tickmode="array", tickvals=values, ticktext=[fmt.magnitude(v, lang) for v in values])


def colorbar(unit: catalog.Unit, lang: str) -> dict:
    """Colour-bar settings for values of ``unit``: titled with the unit, ticks as on an axis."""
    return dict(title=dict(text=unit.label(lang), side="top"), ticksuffix=unit.tick_suffix(lang),
                tickformat=unit.tick_format or None)


def value_text(value: Any, indicator: dict, lang: str) -> str:
    return fmt.value(value, unit_of(indicator), int(indicator["decimals"]), lang)


def hover_block(row: dict, indicator: dict, lang: str) -> str:
    """Hover text of one province: name, value, rank and change (HTML for plotly)."""
    lines = [f"<b>{row['name']}</b>"]
    if fmt.is_missing(row.get("value")):
        lines.append(i18n.t("chart.no_data", lang))
        return "<br>".join(lines)
    lines.append(f"{i18n.t('chart.hover_value', lang)}: {value_text(row['value'], indicator, lang)}")
    if not fmt.is_missing(row.get("rank")):
        lines.append(f"{i18n.t('chart.hover_rank', lang)}: {fmt.rank(row['rank'], row.get('n_ranked'), lang)}")
    change = row.get("rank_change")
    if not fmt.is_missing(change):
        lines.append(f"{i18n.t('chart.hover_change', lang)}: {fmt.rank_change(change)}")
    return "<br>".join(lines)


def published_value(row: dict, lang: str) -> str:
    """A published figure as the source states it, in the reader's notation: its comparison
    ("more than": '> '), its decimals, its scale ('15,4/18 điểm', '2/34') and the unit's suffix
    (``row``: a row of the ``published`` view)."""
    text = fmt.number(row["value"], int(row["decimals"]), lang)
    if not fmt.is_missing(row.get("out_of")):
        text += f"/{fmt.number(row['out_of'], 0, lang)}"
    prefix = {">": "> ", "<": "< "}.get(row.get("comparison"), "")
    return prefix + text + row["suffix_en" if lang == "en" else "suffix_vi"]


def as_published(row: dict, lang: str) -> str:
    """'như đã công bố, 29/8/2025' (the month when the source gives no day)."""
    when = fmt.day(row["as_of"]) if not fmt.is_missing(row.get("as_of")) else fmt.month(row["period"], lang)
    return i18n.t("published.as_published", lang, date=when)


def target_text(target: dict | None, indicator: dict, lang: str) -> str:
    """'Mục tiêu ≥ 90,00 % (T12/2025)'."""
    if not target or fmt.is_missing(target.get("value")):
        return ""
    cmp = {">=": "≥", "<=": "≤", ">": ">", "<": "<", "=": "="}.get(target.get("comparison", ">="), "")
    deadline = target.get("deadline")
    return i18n.t(
        "common.target_short", lang, cmp=cmp, value=value_text(target["value"], indicator, lang),
        deadline=fmt.month_short(deadline, lang) if deadline else "",
    )
