"""Auto-written sentences (vi/en) for the Overview page. Pure functions: no Streamlit.

The sentences are markdown; the names in them (provinces, indicators: from data files) are
inserted as plain text (``core.safety.plain``)."""

from __future__ import annotations

import operator
from typing import Any

import pandas as pd

from core import fmt, i18n
from core.safety import plain

_OPS = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt, "=": operator.eq}


def in_sentence(name: str) -> str:
    """'Tỷ lệ hồ sơ trực tuyến' -> 'tỷ lệ hồ sơ trực tuyến'; 'BTS stations' stays."""
    if len(name) > 1 and name[0].isupper() and name[1].islower():
        return name[0].lower() + name[1:]
    return name


def meets(value: Any, target: dict | None) -> bool | None:
    """Whether a value meets a target (None when either is missing)."""
    if target is None or fmt.is_missing(value) or fmt.is_missing(target.get("value")):
        return None
    return bool(_OPS.get(target.get("comparison") or ">=", operator.ge)(float(value), float(target["value"])))


def count_meeting(values: pd.Series, target: dict | None) -> int | None:
    if target is None:
        return None
    return int(sum(bool(meets(v, target)) for v in values if not fmt.is_missing(v)))


def province_sentence(row: dict, indicator: dict, lang: str, *, period: str) -> str:
    """'Phú Thọ xếp thứ 9/34 về tỷ lệ hồ sơ trực tuyến (88,01 %), tăng 2 bậc so với tháng trước.'"""
    ind_name = plain(in_sentence(indicator["name_en"] if lang == "en" else indicator["name_vi"]))
    if fmt.is_missing(row.get("value")) or fmt.is_missing(row.get("rank")):
        return i18n.t("overview.not_reported", lang, name=plain(row["name"]), indicator=ind_name,
                      period=fmt.month(period, lang))
    change = row.get("rank_change")
    if fmt.is_missing(change):
        movement = ""
    elif int(change) > 0:
        movement = i18n.t("overview.movement_up", lang, n=int(change))
    elif int(change) < 0:
        movement = i18n.t("overview.movement_down", lang, n=-int(change))
    else:
        movement = i18n.t("overview.movement_same", lang)
    return i18n.t(
        "overview.sentence_rank", lang, name=plain(row["name"]), rank=int(row["rank"]), total=int(row["n_ranked"]),
        indicator=ind_name, value=fmt.value(row["value"], indicator["unit"], int(indicator["decimals"]), lang),
        movement=movement,
    )


def comparison_sentence(row: dict, indicator: dict, lang: str, national: dict | None,
                        target: dict | None) -> str:
    """How a province compares with the national value (or median) and the target."""
    parts = []
    unit, decimals = indicator["unit"], int(indicator["decimals"])
    value = row.get("value")
    if fmt.is_missing(value):
        return ""
    if national and not fmt.is_missing(national.get("value")):
        nat = float(national["value"])
        word = "overview.above" if value > nat else "overview.below" if value < nat else "overview.equal"
        key = "overview.sentence_vs_median" if national.get("kind") == "median" else "overview.sentence_vs_national"
        parts.append(i18n.t(key, lang, comparison=i18n.t(word, lang), national=fmt.value(nat, unit, decimals, lang)))
    if target:
        cmp = {">=": "≥", "<=": "≤"}.get(target.get("comparison"), target.get("comparison", ""))
        target_label = f"{cmp} {fmt.value(target['value'], unit, decimals, lang)}"
        deadline = fmt.month(target.get("deadline"), lang)
        if meets(value, target):
            parts.append(i18n.t("overview.sentence_target_met", lang, target=target_label, deadline=deadline))
        else:
            gap = abs(float(target["value"]) - float(value))
            gap_text = fmt.difference(gap, unit, decimals, lang, sign=False)
            parts.append(i18n.t("overview.sentence_target_gap", lang, target=target_label, deadline=deadline,
                                gap=gap_text))
    return " ".join(parts)


def national_sentence(indicator: dict, lang: str, *, period: str, national: dict | None,
                      previous: dict | None, n_met: int | None, total: int) -> str:
    """'Cả nước: tỷ lệ hồ sơ trực tuyến đạt 86,50 % trong Tháng 9/2025 (+1,20 điểm % …); 12/34 …'"""
    if not national or fmt.is_missing(national.get("value")):
        return ""
    unit, decimals = indicator["unit"], int(indicator["decimals"])
    ind_name = plain(in_sentence(indicator["name_en"] if lang == "en" else indicator["name_vi"]))
    change = ""
    if previous and not fmt.is_missing(previous.get("value")):
        change = i18n.t("overview.change_clause", lang,
                        change=fmt.change(national["value"], previous["value"], unit, decimals, lang))
    value = fmt.value(national["value"], unit, decimals, lang)
    month = fmt.month(period, lang)
    if national.get("kind") == "median":
        return i18n.t("overview.sentence_median", lang, indicator=ind_name, value=value, period=month, change=change)
    if n_met is None:
        return i18n.t("overview.sentence_national_nt", lang, indicator=ind_name, value=value, period=month,
                      change=change)
    return i18n.t("overview.sentence_national", lang, indicator=ind_name, value=value, period=month,
                  change=change, n_met=n_met, total=total)
