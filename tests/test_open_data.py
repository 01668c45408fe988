"""The warehouse as open data: `python -m etl export DIR` writes every published view as
Parquet and CSV with a Frictionless datapackage.json that the reference implementation
validates; the Data & methods page serves the same package as one zip."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import duckdb
import frictionless
import pandas as pd
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from load_support import run_etl
from streamlit.testing.v1 import AppTest

from core import open_data
from dashboard import db as app_db
from dashboard import downloads, views_doc
from etl import warehouse as wh

ROOT = Path(__file__).resolve().parent.parent
ARROW_TYPES = {"string": "string", "integer": "int64", "number": "double", "boolean": "bool", "date": "date32",
               "datetime": "string"}
# frictionless checks every cell of a resource; the two large ones (~700,000 rows each) are
# checked on their first rows here (the whole package takes ~2 minutes), and every row of
# every CSV is parsed with its declared types below.
VALIDATED_ROWS = 100_000


@pytest.fixture(scope="module")
def package(warehouse, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("open-data") / "export"
    result = run_etl("export", str(folder))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"Data package written to {folder} in ")
    return folder


@pytest.fixture(scope="module")
def descriptor(package) -> dict:
    return json.loads((package / "datapackage.json").read_text(encoding="utf-8"))


def test_frictionless_finds_no_error_in_the_package(package):
    report = frictionless.validate(package / "datapackage.json", limit_rows=VALIDATED_ROWS)
    assert report.flatten(["resourceName", "rowNumber", "fieldName", "type", "note"]) == []
    assert report.valid and report.stats["tasks"] == len(views_doc.VIEWS)


def test_every_documented_view_is_a_resource_and_both_files_hold_all_its_rows(package, descriptor, db):
    assert [r["name"] for r in descriptor["resources"]] == sorted(views_doc.names(), key=list(
        open_data.spec()["view"]).index)
    assert set(open_data.spec()["view"]) == set(views_doc.names())
    for resource in descriptor["resources"]:
        view = resource["name"]
        (expected,), = db.execute(f"SELECT count(*) FROM {view}").fetchall()
        parquet = pq.read_table(package / resource["parquet"])
        assert parquet.num_rows == expected, view
        assert parquet.column_names == [f["name"] for f in resource["schema"]["fields"]]
        types = {f["name"]: ARROW_TYPES[f["type"]] for f in resource["schema"]["fields"]}
        csv = pacsv.read_csv(package / resource["path"], convert_options=pacsv.ConvertOptions(
            column_types=types, strings_can_be_null=True, true_values=["true"], false_values=["false"]))
        assert csv.num_rows == expected, view
    (observations,), = db.execute("SELECT count(*) FROM observation").fetchall()
    assert observations > 700_000


def test_fields_say_their_type_unit_and_meaning_and_resources_their_licences(descriptor):
    resources = {r["name"]: r for r in descriptor["resources"]}
    assert all(f["description"] for r in resources.values() for f in r["schema"]["fields"])
    province = {f["name"]: f for f in resources["province"]["schema"]["fields"]}
    assert (province["population"]["type"], province["population"]["unit"]) == ("integer", "persons")
    assert province["area_km2"]["unit"] == "km²" and province["population_year"]["type"] == "integer"
    observation = {f["name"]: f for f in resources["observation"]["schema"]["fields"]}
    assert "DEMO DATA" in observation["is_demo"]["description"] and "not an official statistic" in \
        observation["is_demo"]["description"]
    assert "is_demo = true" in descriptor["description"]
    assert resources["observation"]["licenses"] == [
        {"name": "CC0-1.0", "title": "demo: CC0 — synthetic, not official statistics"}]
    assert [lic["name"] for lic in resources["commune"]["licenses"]] == ["GPL-3.0", "MIT"]
    assert resources["population"]["licenses"][0]["title"].startswith("population: Official figures quoted")
    assert descriptor["units"]["percent"]["label_en"]
    sources = {s["title"].split(":")[0]: s for s in descriptor["sources"]}
    assert set(sources) == {"gso-units", "vietnamadminunits", "natural-earth-admin1", "indicator-catalog",
                            "press-facts", "demo", "events", "population", "published"}
    assert [lic["name"] for lic in resources["published"]["licenses"]] == ["other-at"]
    assert sources["gso-units"]["path"] == "https://pypi.org/project/vietnam-provinces/"


def test_the_documented_parquet_queries_run(package, db):
    """The three-line examples of docs/open-data.md, from DuckDB and from pandas."""
    text = (ROOT / "docs" / "open-data.md").read_text(encoding="utf-8")
    assert "read_parquet('parquet/observation.parquet')" in text and "pd.read_parquet(" in text
    con = duckdb.connect()
    rates = con.execute(
        f"SELECT period, 100 * sum(numerator) / sum(denominator) AS rate "
        f"FROM read_parquet('{package}/parquet/observation.parquet') "
        "WHERE indicator = 'online_application_rate' AND level = 'province' GROUP BY period ORDER BY period"
    ).fetchall()
    assert rates == db.execute(
        "SELECT period, 100 * sum(numerator) / sum(denominator) FROM observation "
        "WHERE indicator = 'online_application_rate' AND level = 'province' GROUP BY period ORDER BY period"
    ).fetchall()
    provinces = pd.read_parquet(package / "parquet" / "province.parquet")
    assert provinces.set_index("name").at["Phú Thọ", "population"] == 4_022_638


def test_a_formula_in_a_text_cell_is_neutralised_in_the_csv_and_kept_in_the_parquet(warehouse_copy, tmp_path):
    formula = '=HYPERLINK("http://evil.example","x")'
    con = wh.connect(warehouse_copy)
    con.execute("UPDATE ref.source SET description = ? WHERE id = 'events'", [formula])
    con.close()
    folder = tmp_path / "export"
    with wh.reading(warehouse_copy) as reader:
        written = open_data.write_package(reader, folder)
    assert written.rows["source"] == 9
    csv = pd.read_csv(folder / "csv" / "source.csv", dtype=str).set_index("id")
    assert csv.at["events", "description"] == "'" + formula
    parquet = pd.read_parquet(folder / "parquet" / "source.parquet").set_index("id")
    assert parquet.at["events", "description"] == formula


def test_the_data_methods_page_offers_the_whole_package_as_one_zip(warehouse):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params["page"] = "data_methods"
    at.query_params["lang"] = "en"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    buttons = [b for b in at.get("download_button") if b.proto.label == "Download all data"]
    assert len(buttons) == 1
    text = "\n".join(m.value for m in at.markdown)
    assert "Commune population is not available" in text
    assert "every figure per 1,000 inhabitants is approximate" in text
    assert "111,453,810" in text and "23 provinces, 88,009,810 people" in text

    app_db.reset()
    archive = zipfile.ZipFile(io.BytesIO(downloads.open_data_zip()))
    names = set(archive.namelist())
    assert "datapackage.json" in names
    assert {f"parquet/{v}.parquet" for v in views_doc.names()} | {f"csv/{v}.csv" for v in views_doc.names()} <= names
    inside = json.loads(archive.read("datapackage.json"))
    assert [r["name"] for r in inside["resources"]] == list(open_data.spec()["view"])


def test_staff_logins_are_neither_in_the_package_nor_on_data_and_methods(warehouse_copy, tmp_path, monkeypatch):
    """A load's uploader is a staff login; the login form says nothing about which names exist,
    so no public list may name them: not the package's load_history, not the page's table."""
    from load_support import write_csv

    from etl.load import apply_load, plan_load

    report = write_csv(tmp_path / "r.csv", ["period", "unit", "indicator", "value"],
                       [["2025-09", "Huế", "bts_stations", 5]])
    plan = plan_load(report, db=warehouse_copy, uploader="lan.staff")
    assert apply_load(plan, db=warehouse_copy).status == "loaded"
    with wh.reading(warehouse_copy) as reader:
        open_data.write_package(reader, tmp_path / "export")
    history = pd.read_parquet(tmp_path / "export" / "parquet" / "load_history.parquet")
    assert list(history.kind) == ["demo", "report"] and "uploader" not in history.columns
    assert "lan.staff" not in (tmp_path / "export" / "csv" / "load_history.csv").read_text(encoding="utf-8")
    # A loaded report's source states no licence; the package says so instead of failing.
    package = json.loads((tmp_path / "export" / "datapackage.json").read_text(encoding="utf-8"))
    observation = next(r for r in package["resources"] if r["name"] == "observation")
    assert any(lic["title"].endswith(": Not stated: a report loaded by data staff, under the terms of the office "
                                      "that sent it") for lic in observation["licenses"])

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params["page"] = "data_methods"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    shown = [df.value for df in at.dataframe]
    assert not any(df.astype(str).isin(["lan.staff"]).any().any() for df in shown)
