"""The warehouse's SQL contract and the consistency of what it publishes; its schema is
declared once (every table in the DDL, every insert by column name), and a warehouse of an
older schema is rebuilt, keeping its loads, before anything else may change it."""

import itertools
import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from load_support import write_csv

from etl import build
from etl import warehouse as wh
from etl.__main__ import main as etl_main
from etl.load import apply_load, plan_load

ROOT = Path(__file__).resolve().parent.parent

CONTRACT = {
    "province": "code, name, name_ascii, kind, region, lat, lon, area_km2, n_communes",
    "commune": "code, name, name_ascii, kind, province_code, lat, lon, area_km2",
    "legacy_province": "code, name, province_code",
    "indicator": "code, name_vi, name_en, unit, decimals, higher_is_better, numerator, denominator, definition",
    "observation": "indicator, period, level, unit_code, value, numerator, denominator, source_id, is_demo",
    "province_rank": "indicator, period, province_code, value, rank, n_ranked, rank_change",
    "commune_rank": "indicator, period, commune_code, province_code, value, rank_in_province, n_in_province, "
    "rank_national, n_national",
    "press_fact": "id, entity, statement, value, unit, period, period_is_approximate, source_url",
    "source": "id, producer, url, version, licence, checksum, loaded_at",
}


@pytest.mark.parametrize("view", CONTRACT)
def test_documented_views_have_their_columns(db, view):
    columns = [row[0] for row in db.execute(f"DESCRIBE {view}").fetchall()]
    required = [c.strip() for c in CONTRACT[view].split(",")]
    assert columns[: len(required)] == required


def test_34_provinces_3321_communes_63_legacy_provinces(db):
    assert db.execute("SELECT count(*) FROM province").fetchone()[0] == 34
    assert db.execute("SELECT count(*) FROM commune").fetchone()[0] == 3321
    assert db.execute("SELECT count(*) FROM legacy_province").fetchone()[0] == 63
    assert db.execute("SELECT sum(n_communes) FROM province").fetchone()[0] == 3321


def test_phu_tho_ranks_9th_of_34_in_online_application_rate(db):
    rank, n_ranked, value, change = db.execute(
        "SELECT rank, n_ranked, value, rank_change FROM province_rank "
        "WHERE province_code = '25' AND indicator = 'online_application_rate' AND period = '2025-09'"
    ).fetchone()
    assert (rank, n_ranked, round(value, 2), change) == (9, 34, 88.01, 2)


def test_demo_data_is_marked_demo_and_spans_the_documented_months(db):
    assert db.execute("SELECT bool_and(is_demo), min(period), max(period) FROM observation WHERE level='province'"
                      ).fetchone() == (True, "2024-01", "2026-10")
    assert db.execute("SELECT min(period) FROM observation WHERE level='commune'").fetchone()[0] == "2025-07"
    assert db.execute("SELECT count(DISTINCT source_id) FROM observation").fetchone()[0] == 1


def test_every_province_has_every_month_of_online_rates(db):
    counts = db.execute(
        "SELECT period, count(*) FROM observation WHERE indicator='online_application_rate' "
        "AND level='province' GROUP BY period"
    ).fetchall()
    assert len(counts) == 34 and all(n == 34 for _, n in counts)


def test_rates_equal_their_numerator_over_denominator_and_match_the_count_rows(db):
    worst = db.execute(
        """
        SELECT max(abs(r.value - 100 * r.numerator / r.denominator)),
               max(abs(r.numerator - n.value)) + max(abs(r.denominator - d.value))
        FROM observation r
        JOIN indicator i ON i.code = r.indicator AND i.aggregation = 'ratio'
        JOIN observation n ON n.indicator = i.numerator AND n.unit_code = r.unit_code
             AND n.period = r.period AND n.level = r.level
        JOIN observation d ON d.indicator = i.denominator AND d.unit_code = r.unit_code
             AND d.period = r.period AND d.level = r.level
        """
    ).fetchone()
    assert worst[0] < 1e-9 and worst[1] == 0


def test_province_dossier_counts_are_the_sums_of_their_communes(db):
    mismatches = db.execute(
        """
        WITH communes AS (
            SELECT o.indicator, o.period, c.province_code, sum(o.value) AS total
            FROM observation o JOIN commune c ON c.code = o.unit_code
            WHERE o.level = 'commune' AND o.indicator IN ('applications_received', 'online_applications')
            GROUP BY ALL)
        SELECT count(*) FROM communes x JOIN observation p
          ON p.level = 'province' AND p.indicator = x.indicator AND p.period = x.period
         AND p.unit_code = x.province_code
        WHERE p.value <> x.total
        """
    ).fetchone()[0]
    assert mismatches == 0


def test_national_rate_is_sum_of_numerators_over_sum_of_denominators(db):
    national, average = db.execute(
        "SELECT 100 * sum(numerator) / sum(denominator), avg(value) FROM observation "
        "WHERE indicator='online_application_rate' AND level='province' AND period='2025-09'"
    ).fetchone()
    received, online = db.execute(
        "SELECT sum(value) FILTER (indicator='applications_received'), "
        "sum(value) FILTER (indicator='online_applications') "
        "FROM observation WHERE level='province' AND period='2025-09'"
    ).fetchone()
    assert national == pytest.approx(100 * online / received)
    assert abs(national - average) > 0.01  # a mean of rates would be a different (wrong) number


def test_index766_total_is_the_sum_of_its_months_groups_within_their_maxima(db):
    """The index766_group view gives each group's maximum in its month: 5 groups until 2025-09,
    6 from 2025-10; no group value falls outside its month's method."""
    worst, over, outside, methods = db.execute(
        """
        WITH g AS (
            SELECT o.unit_code, o.period, o.level, sum(o.value) AS groups, bool_or(o.value > m.max_value) AS over_max,
                   count(*) FILTER (WHERE m.indicator IS NULL) AS outside, max(m.n_groups) AS n_groups
            FROM observation o
            LEFT JOIN index766_group m ON m.indicator = o.indicator
             AND o.period BETWEEN m.valid_from AND coalesce(m.valid_to, o.period)
            WHERE o.indicator LIKE 'index766_%' AND o.indicator <> 'index766_total' GROUP BY ALL)
        SELECT max(abs(t.value - g.groups)), bool_or(g.over_max), sum(g.outside),
               list(DISTINCT (g.period >= '2025-10', g.n_groups) ORDER BY (g.period >= '2025-10', g.n_groups))
        FROM observation t JOIN g USING (unit_code, period, level) WHERE t.indicator = 'index766_total'
        """
    ).fetchone()
    assert worst < 1e-6 and over is False and outside == 0
    assert methods == [(False, 5), (True, 6)]
    assert db.execute("SELECT indicator, max_value FROM index766_group WHERE valid_from = '2025-10' "
                      "ORDER BY position").fetchall() == [
        ("index766_transparency", 18), ("index766_progress", 20), ("index766_digitisation", 22),
        ("index766_online_service", 12), ("index766_online_payment", 10), ("index766_satisfaction", 18)]


def test_ties_share_the_best_rank_and_lower_is_better_for_delayed_tasks(db):
    rows = db.execute(
        "SELECT value, rank FROM province_rank WHERE indicator='delayed_tasks' AND period='2026-10' ORDER BY rank"
    ).fetchall()
    values = [v for v, _ in rows]
    assert values == sorted(values)  # fewest delayed tasks first
    for (v1, r1), (v2, r2) in itertools.pairwise(rows):
        assert (r1 == r2) == (v1 == v2)
    assert rows[0][1] == 1


def test_commune_ranks_within_province_and_nationally(db):
    row = db.execute(
        "SELECT max(rank_in_province), max(n_in_province), max(n_national) FROM commune_rank "
        "WHERE indicator='online_application_rate' AND period='2025-09' AND province_code='46'"
    ).fetchone()
    assert row[1] == 40 and row[0] <= 40 and row[2] == 3321


def test_sources_carry_checksums_and_licences(db):
    rows = db.execute("SELECT id, checksum, licence, loaded_at FROM source").fetchall()
    assert {r[0] for r in rows} >= {"gso-units", "vietnamadminunits", "natural-earth-admin1", "press-facts", "demo"}
    assert all(len(r[1]) == 64 and r[2] and r[3] is not None for r in rows)


def test_build_replaces_the_file_atomically_and_a_failed_build_leaves_it_untouched(warehouse_copy, monkeypatch):
    before = warehouse_copy.read_bytes()
    reader = duckdb.connect(":memory:")
    reader.execute(f"ATTACH '{warehouse_copy}' AS old (READ_ONLY)")

    def explode():
        raise RuntimeError("generator crashed")

    monkeypatch.setattr(build.demo, "generate", explode)
    with pytest.raises(RuntimeError):
        build.build(warehouse_copy, verbose=False)
    assert warehouse_copy.read_bytes() == before
    assert not list(warehouse_copy.parent.glob("*.tmp-*"))
    # A reader attached before keeps answering from its snapshot.
    assert reader.execute("SELECT count(*) FROM old.province").fetchone()[0] == 34


def test_ensure_builds_only_when_missing(tmp_path):
    path = tmp_path / "w.duckdb"
    env = {**os.environ, "DX_DB": str(path)}
    first = subprocess.run([sys.executable, "-m", "etl", "ensure"], env=env, capture_output=True, text=True)
    assert first.returncode == 0 and path.exists(), first.stderr
    second = subprocess.run([sys.executable, "-m", "etl", "ensure"], env=env, capture_output=True, text=True)
    assert "up to date" in second.stdout
    assert wh.schema_version(path) == wh.SCHEMA_VERSION


def _pub_snapshot(con):
    return {
        table: con.execute(f"SELECT * FROM pub.{table} ORDER BY ALL").fetchall()
        for table in ("observation", "province_rank")
    }


def test_a_change_republishes_only_what_it_touched_with_the_same_result_as_a_full_publish(warehouse_copy):
    with wh.updating(warehouse_copy) as con:
        con.execute("INSERT INTO meta.load (load_id, kind, status) VALUES (1, 'report', 'loaded')")
        con.execute(
            "INSERT INTO clean.observation_history (load_id, indicator, period, level, unit_code, value, source_id, "
            "is_demo) VALUES (1, 'applications_received', '2025-09', 'province', '25', 100000, 'load-1', FALSE)"
        )
    con = wh.connect(warehouse_copy)
    rate, is_demo, rank = con.execute(
        "SELECT o.value, o.is_demo, r.rank FROM observation o JOIN province_rank r "
        "ON r.indicator = o.indicator AND r.period = o.period AND r.province_code = o.unit_code "
        "WHERE o.indicator = 'online_application_rate' AND o.unit_code = '25' AND o.period = '2025-09'"
    ).fetchone()
    # The real denominator supersedes the demo one; the rate is re-derived from the counts and
    # stays marked demo because its numerator is still demo.
    assert rate == pytest.approx(100 * 70408 / 100000) and is_demo is True
    incremental = _pub_snapshot(con)
    wh.publish(con)
    assert _pub_snapshot(con) == incremental
    assert rank > 9  # 70.41 % drops Phú Thọ down the ranking
    con.close()


# ----------------------------------------------------------------------------- one schema


def _tables(con, catalog: str) -> dict[str, list[tuple[str, str]]]:
    """schema.table -> [(column, type)] of the permanent tables of one database."""
    tables: dict[str, list[tuple[str, str]]] = {}
    for schema, table, column, data_type in con.execute(
            "SELECT schema_name, table_name, column_name, c.data_type FROM duckdb_columns() c "
            "JOIN duckdb_tables() t USING (database_name, schema_name, table_name) "
            "WHERE database_name = ? ORDER BY schema_name, table_name, column_index", [catalog]).fetchall():
        tables.setdefault(f"{schema}.{table}", []).append((column, data_type))
    return tables


def _declared() -> dict[str, list[tuple[str, str]]]:
    con = duckdb.connect()
    con.execute(wh.DDL)
    declared = _tables(con, "memory")
    con.close()
    return declared


def _real_load(folder: Path, db: Path, rows: list[list]) -> int:
    report = write_csv(folder / "report.csv", ["period", "unit", "indicator", "value"], rows)
    result = apply_load(plan_load(report, db=db), db=db)
    assert result.status == "loaded"
    return result.load_id


def test_every_table_a_build_and_a_load_leave_is_declared_in_the_ddl(tmp_path, warehouse_copy):
    declared = _declared()
    assert {"pub.observation", "pub.province_rank", "pub.commune_rank", "clean.legacy_observation",
            "ref.event"} <= set(declared)
    _real_load(tmp_path, warehouse_copy, [["2025-09", "Huế", "bts_stations", 1234]])
    with wh.reading(warehouse_copy) as con:
        assert _tables(con, "wh") == declared


def test_the_code_creates_tables_only_in_the_ddl_and_inserts_by_column_name():
    """Positional inserts break silently when a column is added or moved; a table created
    elsewhere is a second, unchecked schema."""
    statements = []
    for path in [*ROOT.joinpath("etl").rglob("*.py"), *ROOT.joinpath("dashboard").rglob("*.py")]:
        text = path.read_text(encoding="utf-8")
        if path.name == "warehouse.py":
            text = text.replace(wh.DDL, "")
        rel = path.relative_to(ROOT)
        statements += [f"{rel}: {m.group(0)}" for m in re.finditer(
            r"CREATE\s+(?:OR\s+REPLACE\s+)?TABLE\s+(?!AS\b)[\w.{}]+", text) ]
        statements += [f"{rel}: {m.group(0)}" for m in re.finditer(
            r"INSERT\s+(?:OR\s+\w+\s+)?INTO\s+[\w.{}]+\s+(?!BY\s+NAME|\()\S+", text)]
    assert statements == []


def test_the_events_come_from_the_warehouse_with_their_source(db):
    rows = db.execute("SELECT date, period, label_en, kind, source_id, topic FROM event ORDER BY date").fetchall()
    assert [(str(d), p, k, topic) for d, p, _, k, _, topic in rows] == [
        ("2024-12-22", "2024-12", "policy", None), ("2025-06-12", "2025-06", "reform", None),
        ("2025-07-01", "2025-07", "reform", None), ("2025-10-01", "2025-10", "method", "index766")]
    assert {r[4] for r in rows} == {"events"}
    (checksum,), = db.execute("SELECT checksum FROM source WHERE id = 'events'").fetchall()
    assert len(checksum) == 64


def _as_schema_1(path: Path) -> None:
    """What a warehouse built before schema 2 lacks: the events and the fact check."""
    con = duckdb.connect(str(path))
    con.execute("DROP VIEW fact_check; DROP VIEW event; DROP TABLE ref.event; DROP TABLE clean.legacy_observation")
    con.execute("UPDATE meta.build_info SET value = '1' WHERE key = 'schema_version'")
    con.close()


def test_an_older_schema_refuses_changes_until_ensure_rebuilds_it_with_its_loads(tmp_path, warehouse_copy, capsys):
    load_id = _real_load(tmp_path, warehouse_copy, [["2025-09", "Huế", "bts_stations", 1234]])
    _as_schema_1(warehouse_copy)
    before = warehouse_copy.read_bytes()
    newer = write_csv(tmp_path / "newer.csv", ["period", "unit", "indicator", "value"],
                      [["2025-09", "Huế", "stations_5g", 12]])

    assert etl_main(["load", str(newer)]) == 3
    err = capsys.readouterr().err.strip()
    assert err == (f"error: {warehouse_copy} has schema 1, this program writes schema {wh.SCHEMA_VERSION}; nothing "
                   "was changed. Run `python -m etl ensure` first (it rebuilds the warehouse and keeps every "
                   "recorded load)")
    assert warehouse_copy.read_bytes() == before

    assert build.ensure(warehouse_copy) is True
    assert wh.schema_version(warehouse_copy) == wh.SCHEMA_VERSION
    with wh.reading(warehouse_copy) as con:
        assert con.execute("SELECT value, is_demo, load_id FROM wh.observation WHERE indicator = 'bts_stations' "
                           "AND unit_code = '46' AND period = '2025-09'").fetchone() == (1234, False, load_id)
        assert con.execute("SELECT count(*) FROM wh.event").fetchone()[0] == 4
    assert etl_main(["load", str(newer)]) == 0
