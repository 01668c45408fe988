"""Every press fact is held with its source, and the warehouse's own check (the ``fact_check``
view, the one the app shows) finds the demo data agreeing with each one, as demo data set to
match it; a real value takes the demo's place in the check, agreeing or not."""

from pathlib import Path

import duckdb
import pandas as pd
import pytest
from load_support import write_csv

from etl import facts
from etl.load import apply_load, plan_load

FACTS = facts.facts_frame()
CHECKED = FACTS[FACTS["check"].notna()]
REFERENCE_CHECKS = {"n_communes", "target"}  # checked against reference data, never demo


def test_every_fact_of_facts_md_is_held_with_a_source_url():
    assert set(FACTS.fact_no) == set(range(1, 28))
    assert FACTS.source_url.str.startswith("https://").all()
    assert FACTS.period.str.fullmatch(r"\d{4}-\d{2}(/\d{4}-\d{2})?").all()


def test_press_facts_view_holds_all_rows(db):
    assert db.execute("SELECT count(*) FROM press_fact").fetchone()[0] == len(FACTS)
    row = db.execute("SELECT value, period, period_is_approximate FROM press_fact WHERE id='F01a'").fetchone()
    assert row == (88.01, "2025-09", True)


def test_the_check_view_has_one_row_per_checkable_fact(db):
    assert [i for (i,) in db.execute("SELECT id FROM fact_check").fetchall()] == sorted(CHECKED.id)


@pytest.mark.parametrize("fact_id", list(CHECKED.id))
def test_warehouse_agrees_with_fact_as_demo_set_to_match(db, fact_id):
    check, observed, agrees, is_demo = db.execute(
        'SELECT "check", observed, agrees, is_demo FROM fact_check WHERE id = ?', [fact_id]).fetchone()
    statement = FACTS.set_index("id").statement_en[fact_id]
    assert agrees, f"{fact_id}: {statement} — warehouse has {observed}"
    assert is_demo is (check not in REFERENCE_CHECKS)


def test_the_check_reads_the_published_values(db):
    """Spot checks of what each kind of check observes, by direct SQL on the views."""
    observed = dict(db.execute("SELECT id, observed FROM fact_check").fetchall())
    (edocs,), = db.execute("SELECT sum(value) FROM observation WHERE indicator = 'edocs_received' "
                           "AND unit_code = '25' AND level = 'province' AND period BETWEEN '2025-07' AND '2025-09'"
                           ).fetchall()
    (lowest,), = db.execute("SELECT min(o.value) FROM observation o JOIN commune c ON c.code = o.unit_code "
                            "WHERE o.indicator = 'dx_criteria_met' AND c.province_code = '01' "
                            "AND o.period = '2025-11'").fetchall()
    assert (observed["F01a"], observed["F01b"], observed["F01c"]) == (pytest.approx(88.01), 9, 34)
    assert observed["F05a"] == edocs == 161562
    assert observed["F15b"] == lowest == 16
    assert (observed["F04a"], observed["F15a"], observed["F08a"]) == (148, 126, 90)
    assert observed["F14"] < 42


def _load(tmp_path: Path, db: Path, rows: list[list]) -> None:
    report = write_csv(tmp_path / "real.csv", ["period", "unit", "indicator", "value"], rows)
    assert apply_load(plan_load(report, db=db), db=db).status == "loaded"


def test_a_real_value_replaces_the_demo_in_the_check_agreeing_or_not(tmp_path, warehouse_copy):
    _load(tmp_path, warehouse_copy, [["2025-09", "Phú Thọ", "online_application_rate", 88.01],
                                     ["2025-09", "Phú Thọ", "stations_5g", 171]])
    with duckdb.connect(str(warehouse_copy), read_only=True) as con:
        rows = {r[0]: r[1:] for r in con.execute(
            "SELECT id, observed, agrees, is_demo FROM fact_check WHERE id IN ('F01a', 'F01b', 'F03b')").fetchall()}
    assert rows["F01a"] == (pytest.approx(88.01), True, False)  # real, and agrees
    assert rows["F01b"] == (9, True, True)  # the rank is still among 33 demo values
    assert rows["F03b"] == (171, False, False)  # real, and the press said 170


def test_an_unknown_check_stops_the_build(tmp_path, monkeypatch):
    broken = tmp_path / "press_facts.csv"
    frame = pd.read_csv(facts.FACTS_FILE, dtype=str, keep_default_na=False)
    frame.loc[0, "check"] = "median"
    frame.to_csv(broken, index=False)
    monkeypatch.setattr(facts, "FACTS_FILE", broken)
    with pytest.raises(ValueError, match="unknown check 'median' \\(fact F01a\\)"):
        facts.facts_frame()


def test_huế_morning_counts_do_not_exceed_the_july_totals(db):
    july = db.execute(
        "SELECT sum(value) FILTER (indicator='applications_received'), "
        "sum(value) FILTER (indicator='applications_resolved') "
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
