"""Population as reference data (data/meta/population.csv -> ref.population, the population
view and province.population): every figure keeps its source and basis, the primary rows are
one per province, and an official single-basis table replaces the file with one command that
later rebuilds keep."""

from __future__ import annotations

import csv
import hashlib
import shutil
from pathlib import Path

import pytest
from load_support import run_etl

from core import paths
from etl import build, population
from etl import warehouse as wh

SHARED_FILE = paths.META / "population.csv"


def rows_of(path: Path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def write_rows(path: Path, rows: list[dict], columns: list[str] = population.COLUMNS) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_every_figure_of_the_file_is_in_the_warehouse_with_its_source(db):
    rows = rows_of(SHARED_FILE)
    assert len(rows) == 54
    stored = db.execute(
        "SELECT count(*), count(DISTINCT province_code), sum(is_primary::INT) FROM population").fetchone()
    assert stored == (54, 34, 34)
    assert db.execute("SELECT count(*) FROM population WHERE source_url NOT LIKE 'http%' OR reference = ''"
                      ).fetchone() == (0,)


def test_the_primary_rows_name_their_two_bases_and_add_up_to_111_5_million(db):
    totals = db.execute("SELECT basis, count(*), sum(population) FROM population WHERE is_primary "
                        "GROUP BY basis ORDER BY basis").fetchall()
    assert totals == [("gso_pre_merger", 11, 23_444_000), ("nq202_2025", 23, 88_009_810)]
    assert sum(total for _, _, total in totals) == 111_453_810


def test_the_province_view_shows_the_primary_row_with_its_year_and_basis(db):
    shown = {code: rest for code, *rest in db.execute(
        "SELECT code, population, population_year, population_basis FROM province WHERE code IN ('01', '25')"
    ).fetchall()}
    assert shown == {"01": [8_587_100, None, "gso_pre_merger"], "25": [4_022_638, 2025, "nq202_2025"]}
    # Hà Nội's disagreeing figures stay beside it, never in the province view.
    assert db.execute("SELECT population FROM population WHERE province_code = '01' AND NOT is_primary "
                      "ORDER BY population NULLS LAST").fetchall() == [(8_807_523,), (None,)]


def one_primary_per_province(tmp_path: Path, basis: str = "gso_2026_official", factor: float = 1.0) -> Path:
    """An official single-basis table: the primary rows of the shared file, one basis, same columns."""
    rows = [dict(r, basis=basis, year="2026", reference="Official single-basis table (test)",
                 population=str(round(int(r["population"]) * factor)))
            for r in rows_of(SHARED_FILE) if r["is_primary"] == "yes"]
    return write_rows(tmp_path / "official.csv", rows)


@pytest.mark.parametrize("change, message", [
    (lambda rows: rows + [dict(rows[24], population="1432986")],
     r"population.csv: Huế \(46\) has 2 primary rows; each of the 34 provinces needs exactly one"),
    (lambda rows: [r for r in rows if r["province"] != "Cà Mau"],
     r"population.csv: Cà Mau \(96\) has 0 primary rows"),
    (lambda rows: [dict(rows[0], province="Atlantis")] + rows[1:],
     r"population.csv row 2: 'Atlantis' is not one of the 34 provinces"),
    (lambda rows: [dict(rows[0], population="1.865.270")] + rows[1:],
     r"population.csv row 2: population must be a plain number \(1865270, 13795.5\), not '1.865.270'"),
    (lambda rows: [dict(rows[0], source_url="")] + rows[1:],
     r"population.csv row 2: source_url must be one http\(s\) address"),
    (lambda rows: [dict(rows[0], is_primary="true")] + rows[1:],
     r"population.csv row 2: is_primary must be yes or no, not 'true'"),
])
def test_a_file_without_one_primary_row_per_province_is_refused_in_one_line(tmp_path, change, message):
    path = write_rows(tmp_path / "population.csv", change(rows_of(SHARED_FILE)))
    with pytest.raises(population.PopulationError, match=message):
        population.read(path)


def test_a_file_with_other_columns_is_refused(tmp_path):
    rows = [{k: v for k, v in r.items() if k != "year"} for r in rows_of(SHARED_FILE)]
    path = write_rows(tmp_path / "population.csv", rows, [c for c in population.COLUMNS if c != "year"])
    with pytest.raises(population.PopulationError, match="columns must be province, population, area_km2, year"):
        population.read(path)


def test_the_command_refuses_a_bad_file_and_changes_nothing(warehouse_copy, tmp_path):
    reference_copy = shutil.copyfile(SHARED_FILE, tmp_path / "reference.csv")
    before = hashlib.sha256(warehouse_copy.read_bytes()).hexdigest()
    bad = write_rows(tmp_path / "bad.csv", [r for r in rows_of(SHARED_FILE) if r["province"] != "Cà Mau"])
    result = run_etl("population", str(bad), env={"DX_POPULATION": str(reference_copy)})
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "error: bad.csv: Cà Mau (96) has 0 primary rows; each of the 34 provinces needs exactly one "
        "(is_primary = yes); nothing was changed"]
    assert hashlib.sha256(warehouse_copy.read_bytes()).hexdigest() == before
    assert reference_copy.read_bytes() == SHARED_FILE.read_bytes()


def test_an_official_single_basis_table_replaces_the_figures_in_one_command_and_rebuilds_keep_it(
        warehouse_copy, tmp_path, monkeypatch):
    reference_copy = shutil.copyfile(SHARED_FILE, tmp_path / "reference.csv")
    monkeypatch.setenv("DX_POPULATION", str(reference_copy))
    official = one_primary_per_province(tmp_path, factor=0.9)
    result = run_etl("population", str(official))
    assert result.returncode == 0, result.stderr
    assert "Population table replaced: 34 rows, 34 primary, total 100,308,430 (gso_2026_official)" in result.stdout
    assert reference_copy.read_bytes() == official.read_bytes()

    def stored() -> tuple:
        with wh.reading(warehouse_copy) as con:
            return con.execute(
                "SELECT (SELECT count(*) FROM wh.population), sum(population), min(population_year), "
                "list_distinct(list(population_basis)), (SELECT checksum FROM wh.source WHERE id = 'population') "
                "FROM wh.province").fetchone()

    expected = (34, 100_308_430, 2026, ["gso_2026_official"], hashlib.sha256(official.read_bytes()).hexdigest())
    assert stored() == expected
    build.build(warehouse_copy, verbose=False)
    assert stored() == expected
