"""Shared fixtures: one warehouse built per test session into a temp folder (DX_DB).

Tests never touch data/warehouse.duckdb. Tests that change a warehouse copy this one
(`warehouse_copy`) so the session's warehouse stays as built.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import duckdb
import pytest

from etl import build
from etl import warehouse as wh


@pytest.fixture(scope="session")
def warehouse(tmp_path_factory) -> Path:
    """Path of a freshly built warehouse; DX_DB points at it for the whole session."""
    folder = tmp_path_factory.mktemp("warehouse")
    path = folder / "warehouse.duckdb"
    os.environ["DX_DB"] = str(path)
    os.environ["DX_RAW"] = str(folder / "raw")
    build.build(path, verbose=False)
    return path


@pytest.fixture
def warehouse_copy(warehouse, tmp_path, monkeypatch) -> Path:
    """A private copy of the session warehouse for tests that load, undo or rebuild."""
    path = tmp_path / "warehouse.duckdb"
    shutil.copyfile(warehouse, path)
    monkeypatch.setenv("DX_DB", str(path))
    monkeypatch.setenv("DX_RAW", str(tmp_path / "raw"))
    return path


@pytest.fixture(scope="session")
def db(warehouse) -> duckdb.DuckDBPyConnection:
    """Read-only connection to the session warehouse."""
    con = wh.connect(warehouse, read_only=True)
    yield con
    con.close()
