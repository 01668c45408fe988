"""Press facts (data/meta/press_facts.csv), read for ``ref.press_fact``.

Each fact may name a ``check`` saying how the warehouse must agree with it; the published
``fact_check`` view does the checking in SQL (its kinds are described beside it in
``etl/warehouse.py``). Facts without a check are context (they are shown, not compared).
A check or comparison the view does not know stops the build here, rather than showing up as
a fact that quietly disagrees.
"""

from __future__ import annotations

import re

import pandas as pd

from core import paths

FACTS_FILE = paths.META / "press_facts.csv"
CHECKS = re.compile(r"value|month_at_least|sum_since:\d{4}-\d{2}|ratio_over_span|rank|n_ranked|min_in_province"
                    r"|n_communes|target")
COMPARISONS = {"=", ">", "<", ">=", "<="}


def facts_frame() -> pd.DataFrame:
    frame = pd.read_csv(FACTS_FILE, dtype=str, keep_default_na=False)
    frame = frame.rename(columns={"statement_vi": "statement"})
    frame["fact_no"] = frame.fact_no.astype(int)
    frame["value"] = frame.value.astype(float)
    frame["period_is_approximate"] = frame.period_is_approximate.map({"true": True, "false": False})
    for column in ("unit_code", "indicator", "level", "check"):
        frame[column] = frame[column].replace("", None)
    if not frame.id.is_unique or frame.period_is_approximate.isna().any():
        raise ValueError(f"{FACTS_FILE.name}: ids must be unique and period_is_approximate true/false")
    checks = frame["check"]
    unknown = frame[checks.notna() & ~checks.fillna("").map(CHECKS.fullmatch).astype(bool)]
    if len(unknown):
        raise ValueError(f"{FACTS_FILE.name}: unknown check {unknown['check'].iloc[0]!r} (fact {unknown.id.iloc[0]})")
    if not frame.comparison.isin(COMPARISONS).all():
        bad = frame[~frame.comparison.isin(COMPARISONS)].iloc[0]
        raise ValueError(f"{FACTS_FILE.name}: unknown comparison {bad.comparison!r} (fact {bad.id})")
    return frame
