"""Re-basing figures of the 63 pre-merger provinces onto the 34 current ones.

One function serves the demo generator and real legacy report files, so both follow the
same rules (indicator catalog ``aggregation``):
- ``sum``   counts and money are added;
- ``ratio`` rates are recomputed as 100 * sum(numerator) / sum(denominator) — never
            averaged. A rate without its counts cannot be re-based, unless the old province
            maps alone onto its new province (then it carries over unchanged);
- ``none``  indices and list counts carry over only where the old province maps alone.
"""

from __future__ import annotations

import pandas as pd

from core import catalog
from etl.reference import legacy_provinces

KEY = ["indicator", "period", "province_code"]
REJECTED_COLUMNS = ["row", "legacy_code", "indicator", "period", "problem", "missing"]


def rebase_legacy(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Re-base legacy rows onto current provinces.

    ``frame`` has columns indicator, period, legacy_code, value, numerator, denominator
    (numerator/denominator may be NaN) and optionally ``row`` (the row number in the source
    file, carried into rejections). Returns ``(rebased, rejected)``: rebased has indicator,
    period, unit_code, value, numerator, denominator, n_legacy (how many old provinces were
    combined); rejected has row, legacy_code, indicator, period, problem ('rate_without_counts':
    a rate of a merged old province without its counts; 'not_additive': an index or list count
    of a merged old province; 'incomplete': an old province of the sum is missing) and missing
    (for 'incomplete', the old provinces to add: "Hòa Bình (17), Phú Thọ (25)"; the loader puts
    these in words, :mod:`etl.load.rules.rebase`).
    """
    legacy = legacy_provinces()
    members = legacy.groupby("province_code").code.size()
    work = frame.merge(
        legacy[["code", "province_code"]].rename(columns={"code": "legacy_code"}),
        on="legacy_code",
        how="left",
        validate="many_to_one",
    )
    if work.province_code.isna().any():
        unknown = sorted(work.loc[work.province_code.isna(), "legacy_code"].astype(str).unique())
        raise ValueError(f"unknown legacy province codes: {unknown}")
    work["aggregation"] = work.indicator.map(lambda code: catalog.get(code).aggregation)
    work["alone"] = work.province_code.map(members).eq(1)
    if "row" not in work:
        work["row"] = pd.NA

    has_counts = work.numerator.notna() & work.denominator.notna()
    rejected_mask = ~work.alone & (
        ((work.aggregation == "ratio") & ~has_counts) | (work.aggregation == "none")
    )
    rejected = work[rejected_mask].assign(
        problem=lambda d: d.aggregation.map({"ratio": "rate_without_counts", "none": "not_additive"}), missing=""
    )[REJECTED_COLUMNS]
    work = work[~rejected_mask]

    # Each new province needs all of its old provinces for a sum to be complete.
    expected = work.province_code.map(members).astype("float64")  # float: an empty frame keeps a numeric dtype
    counted = work.groupby(KEY).legacy_code.transform("nunique")
    incomplete = ~work.alone & (counted < expected)
    if incomplete.any():
        present = work[incomplete].groupby(KEY).legacy_code.agg(set)
        missing = work[incomplete].assign(
            problem="incomplete",
            missing=[_missing(present[key], key[2], legacy) for key in zip(*(work.loc[incomplete, k] for k in KEY))],
        )[REJECTED_COLUMNS]
        rejected = pd.concat([rejected, missing], ignore_index=True)
        work = work[~incomplete]

    work = work.assign(
        numerator_missing=work.numerator.isna(), denominator_missing=work.denominator.isna()
    )
    grouped = work.groupby(KEY, sort=True).agg(
        value=("value", "sum"),
        numerator=("numerator", "sum"),
        denominator=("denominator", "sum"),
        numerator_missing=("numerator_missing", "any"),
        denominator_missing=("denominator_missing", "any"),
        first_value=("value", "first"),
        n_legacy=("legacy_code", "nunique"),
        aggregation=("aggregation", "first"),
    ).reset_index()
    # A sum with one missing part is no sum: keep counts only when every part has them.
    grouped["numerator"] = grouped.numerator.mask(grouped.numerator_missing)
    grouped["denominator"] = grouped.denominator.mask(grouped.denominator_missing)
    is_ratio = grouped.aggregation == "ratio"
    recomputed = 100.0 * grouped.numerator / grouped.denominator
    grouped["value"] = grouped.value.where(grouped.aggregation == "sum", grouped.first_value)
    grouped.loc[is_ratio & grouped.denominator.gt(0), "value"] = recomputed
    rebased = grouped.rename(columns={"province_code": "unit_code"})[
        ["indicator", "period", "unit_code", "value", "numerator", "denominator", "n_legacy"]
    ]
    return rebased, rejected.reset_index(drop=True)


def _missing(present: set[str], province_code: str, legacy: pd.DataFrame) -> str:
    """Names the old provinces a data clerk must add for the new province's sum."""
    absent = legacy[(legacy.province_code == province_code) & ~legacy.code.isin(present)]
    return ", ".join(f"{name} ({code})" for code, name in zip(absent.code, absent.name))
