"""Text on charts in the reader's language (uses core.fmt and core.i18n, which
import no Streamlit)."""

from __future__ import annotations

from typing import Any

from core import fmt, i18n


def indicator_name(indicator: dict, lang: str) -> str:
    return indicator["name_en"] if lang == "en" else indicator["name_vi"]


def unit_label(unit: str, lang: str) -> str:
    return i18n.t(f"unit.{unit}", lang)


def tick_suffix(unit: str, lang: str) -> str:
    if unit == "percent":
        return " %" if lang == "vi" else "%"
    return ""


def value_text(value: Any, indicator: dict, lang: str) -> str:
    return fmt.value(value, indicator["unit"], int(indicator["decimals"]), lang)


def hover_block(row: dict, indicator: dict, lang: str) -> str:
    """Hover text of one province: name, value, rank and change (HTML for plotly)."""
    lines = [f"<b>{row['name']}</b>"]
    if fmt.is_missing(row.get("value")):
        lines.append(i18n.t("chart.no_data", lang))
        return "<br>".join(lines)
    lines.append(f"{i18n.t('chart.hover_value', lang)}: {value_text(row['value'], indicator, lang)}")
    if not fmt.is_missing(row.get("rank")):
        lines.append(f"{i18n.t('chart.hover_rank', lang)}: {fmt.rank(row['rank'], row.get('n_ranked'))}")
    change = row.get("rank_change")
    if not fmt.is_missing(change):
        lines.append(f"{i18n.t('chart.hover_change', lang)}: {fmt.rank_change(change)}")
    return "<br>".join(lines)


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
