"""Every press fact is held with its source, and the demo data agrees with each one."""

import pandas as pd
import pytest

from etl import facts

FACTS = facts.facts_frame()
CHECKED = FACTS[FACTS.check.notna()]


def test_every_fact_of_facts_md_is_held_with_a_source_url():
    assert set(FACTS.fact_no) == set(range(1, 28))
    assert FACTS.source_url.str.startswith("https://").all()
    assert FACTS.period.str.fullmatch(r"\d{4}-\d{2}(/\d{4}-\d{2})?").all()


def test_press_facts_view_holds_all_rows(db):
    assert db.execute("SELECT count(*) FROM press_fact").fetchone()[0] == len(FACTS)
    row = db.execute("SELECT value, period, period_is_approximate FROM press_fact WHERE id='F01a'").fetchone()
    assert row == (88.01, "2025-09", True)


@pytest.mark.parametrize("fact_id", list(CHECKED.id))
def test_warehouse_agrees_with_fact(db, fact_id):
    fact = db.execute("SELECT * FROM press_fact WHERE id = ?", [fact_id]).df().iloc[0]
    observed = facts.observed_value(db, fact)
    assert facts.agrees(fact, observed), f"{fact_id}: {fact.statement_en} — warehouse has {observed}"


def test_huế_morning_counts_do_not_exceed_the_july_totals(db):
    july = db.execute(
        "SELECT sum(value) FILTER (indicator='applications_received'), sum(value) FILTER (indicator='applications_resolved') "
        "FROM observation WHERE unit_code='46' AND period='2025-07' AND level='province'"
    ).fetchone()
    assert july[0] >= 526 and july[1] >= 126


def test_ha_noi_rises_from_below_1_percent_to_99_percent(db):
    series = dict(db.execute(
        "SELECT period, round(value, 2) FROM observation WHERE unit_code='01' AND level='province' "
        "AND indicator='online_application_rate' AND period BETWEEN '2025-07' AND '2025-11'"
    ).fetchall())
    assert series["2025-07"] < 1 and series["2025-08"] == 23.45 and series["2025-09"] > 25
    assert series["2025-11"] == 99.0
    assert list(series.values()) == sorted(series.values())
