"""The documented SQL views (dashboard/views_doc.py, shown on Data & methods) match the
warehouse, every example query runs, and the view table of docs/sql-views.md names the same
views."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from core import i18n
from dashboard import views_doc

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def con(db):
    """The session's read-only connection (a second plain connect to the same file in one
    process would clash with its configuration)."""
    return db


def test_documented_views_are_exactly_the_warehouse_views(con):
    views = {
        name for (name,) in con.execute(
            "SELECT view_name FROM duckdb_views() WHERE NOT internal AND schema_name = 'main'"
        ).fetchall()
    }
    assert set(views_doc.names()) == views
    assert len(views_doc.names()) == len(set(views_doc.names()))


@pytest.mark.parametrize("view", views_doc.VIEWS, ids=lambda v: v.name)
def test_every_example_runs_and_returns_rows(con, view):
    rows = con.execute(view.example).fetchall()
    assert rows, view.example
    assert re.search(rf"\bFROM {view.name}\b", view.example)
    assert i18n.has(f"methods.view_{view.name}")


def test_province_rank_example_gives_phu_tho_9_of_34(con):
    example = next(v.example for v in views_doc.VIEWS if v.name == "province_rank")
    assert con.execute(example).fetchall() == [(9, 34)]
    assert con.execute(views_doc.NATIONAL_RATE_EXAMPLE).fetchall()


def test_the_docs_document_the_same_views():
    text = (ROOT / "docs" / "sql-views.md").read_text(encoding="utf-8")
    views_table = text.split("## Views", 1)[1]
    assert re.findall(r"^\| `(\w+)`", views_table, flags=re.M) == views_doc.names()
