"""Press facts (data/meta/press_facts.csv) and their agreement with the warehouse.

Each fact may name a ``check`` saying how the warehouse must agree with it:
- ``value``            the monthly observation at (indicator, unit, period);
- ``rank`` / ``n_ranked`` the province's rank / number ranked that month;
- ``sum_since:YYYY-MM`` the sum of monthly values from that month to the fact's period;
- ``month_at_least``   a point-in-time count the month's total must not contradict;
- ``min_in_province``  the lowest commune value in the province that month;
- ``ratio_over_span``  100 * sum(numerator) / sum(denominator) over the span's months held;
- ``n_communes``       the number of communes of the province;
- ``target``           the indicator's national target in the catalog.
Facts without a check are context (they are shown, not compared).
"""

from __future__ import annotations

import operator
from dataclasses import dataclass

import duckdb
import pandas as pd

from core import paths

FACTS_FILE = paths.META / "press_facts.csv"
COMPARE = {"=": None, ">": operator.gt, "<": operator.lt, ">=": operator.ge, "<=": operator.le}


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
    return frame


@dataclass(frozen=True)
class FactCheck:
    fact_id: str
    observed: float | None
    agrees: bool


def _one(con: duckdb.DuckDBPyConnection, sql: str, params: list) -> float | None:
    row = con.execute(sql, params).fetchone()
    return None if row is None or row[0] is None else float(row[0])


def observed_value(con: duckdb.DuckDBPyConnection, fact: pd.Series, schema: str = "") -> float | None:
    """What the warehouse says for a fact's check (``schema`` prefixes view names, e.g. 'wh.')."""
    check, p = fact["check"], schema
    key = [fact.indicator, fact.unit_code, fact.period]
    if check == "value":
        return _one(con, f"SELECT value FROM {p}observation WHERE indicator=? AND unit_code=? AND period=? AND level=?",
                    key + [fact.level])
    if check in ("rank", "n_ranked"):
        return _one(con, f"SELECT {check} FROM {p}province_rank WHERE indicator=? AND province_code=? AND period=?", key)
    if check.startswith("sum_since:"):
        return _one(con, f"SELECT sum(value) FROM {p}observation WHERE indicator=? AND unit_code=? "
                         "AND period BETWEEN ? AND ? AND level=?",
                    [fact.indicator, fact.unit_code, check.split(":", 1)[1], fact.period, fact.level])
    if check == "month_at_least":
        return _one(con, f"SELECT value FROM {p}observation WHERE indicator=? AND unit_code=? AND period=? AND level=?",
                    key + [fact.level])
    if check == "min_in_province":
        return _one(con, f"SELECT min(o.value) FROM {p}observation o JOIN {p}commune c ON c.code = o.unit_code "
                         "WHERE o.indicator=? AND c.province_code=? AND o.period=? AND o.level='commune'", key)
    if check == "ratio_over_span":
        first, last = fact.period.split("/")
        return _one(con, f"SELECT 100 * sum(numerator) / sum(denominator) FROM {p}observation "
                         "WHERE indicator=? AND unit_code=? AND period BETWEEN ? AND ? AND level='province'",
                    [fact.indicator, fact.unit_code, first, last])
    if check == "n_communes":
        return _one(con, f"SELECT count(*) FROM {p}commune WHERE province_code=?", [fact.unit_code])
    if check == "target":
        return _one(con, f"SELECT value FROM {p}target WHERE indicator=? AND scope='national' "
                         "AND deadline=? AND comparison=?", [fact.indicator, fact.period, fact.comparison])
    raise ValueError(f"fact {fact.id}: unknown check {check!r}")


def agrees(fact: pd.Series, observed: float | None) -> bool:
    if observed is None:
        return False
    if fact["check"] in ("target", "rank", "n_ranked", "n_communes"):
        return abs(observed - fact.value) < 1e-9
    compare = COMPARE[fact.comparison]
    if compare is None:
        return round(observed, 2) == round(fact.value, 2)
    return compare(observed, fact.value)


def check_facts(con: duckdb.DuckDBPyConnection, schema: str = "") -> pd.DataFrame:
    """Every checkable fact with what the warehouse says and whether it agrees."""
    frame = con.execute(f"SELECT * FROM {schema}press_fact WHERE \"check\" IS NOT NULL ORDER BY id").df()
    observed = [observed_value(con, fact, schema) for _, fact in frame.iterrows()]
    frame["observed"] = observed
    frame["agrees"] = [agrees(fact, o) for (_, fact), o in zip(frame.iterrows(), observed)]
    return frame
