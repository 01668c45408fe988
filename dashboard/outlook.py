"""Where provinces are heading, in words: the Overview's count per status and the Rankings
column (core/projection.py computes; this module only writes it in the reader's language)."""

from __future__ import annotations

import pandas as pd

from core import catalog, fmt, i18n
from core.projection import STATUSES
from dashboard import queries


def summary(indicator_code: str, period: str, lang: str) -> str | None:
    """'Hướng tới mục tiêu ≥ 90,00 % đến Tháng 12/2025: 10 đúng hướng, 22 có nguy cơ, 2 chệch hướng'
    (None: the indicator is not projected)."""
    frame = queries.outlooks(indicator_code, period)
    if frame.empty or frame["status"].isna().all():
        return None
    ind, first = catalog.get(indicator_code), frame.iloc[0]
    counts = frame["status"].value_counts()
    parts = ", ".join(i18n.t("outlook.count", lang, n=int(counts[s]), status=i18n.t(f"outlook.status.{s}", lang))
                      for s in STATUSES if s in counts)
    sign = "≤" if first["comparison"] in ("<=", "<") else "≥"
    target = f"{sign} {fmt.value(first['target'], ind.unit_spec, None, lang)}"
    return i18n.t("outlook.summary", lang, target=target, deadline=fmt.month(first["deadline"], lang), counts=parts)


def column(indicator_code: str, period: str, codes: pd.Series, lang: str) -> list[str] | None:
    """One cell per province of ``codes``: its status and, before the deadline, the projected
    value with its band ('có nguy cơ: 91,2 % (88,0–94,1 %)'); None: not projected."""
    frame = queries.outlooks(indicator_code, period)
    if frame.empty:
        return None
    ind = catalog.get(indicator_code)
    by_code = frame.set_index("code")

    def cell(code: str) -> str:
        if code not in by_code.index or fmt.is_missing(by_code.at[code, "status"]):
            return "–"
        row = by_code.loc[code]
        text = i18n.t(f"outlook.status.{row['status']}", lang)
        if fmt.is_missing(row["projected"]):
            return text
        return i18n.t("outlook.cell", lang, status=text, value=fmt.value(row["projected"], ind.unit_spec, 1, lang),
                      low=fmt.number(row["low"], 1, lang), high=fmt.value(row["high"], ind.unit_spec, 1, lang))

    return [cell(c) for c in codes]
