"""Writing loads: all-or-nothing, quarantine, idempotent reload, supersede, undo, history,
the raw archive, demo data superseded (rebuilds that keep loaded data: test_durability.py)."""

from __future__ import annotations

import json

import duckdb
import pytest
from load_support import past, sha256, write_csv

from etl import warehouse as wh
from etl.load import UndoError, apply_load, history, plan_load, quarantine, undo

H = ["period", "unit", "indicator", "value", "numerator", "denominator"]
P = past(2)


def value(db, indicator, unit, period=P, level="province"):
    with duckdb.connect(str(db), read_only=True) as con:
        row = con.execute("SELECT value, is_demo, load_id FROM observation WHERE indicator=? AND unit_code=? "
                          "AND period=? AND level=?", [indicator, unit, period, level]).fetchall()
    return row[0] if row else None


def load(path, db, **kw):
    accept = kw.pop("accept_valid", False)
    return apply_load(plan_load(path, db=db, **kw), accept_valid=accept, db=db)


def test_real_data_supersedes_demo_and_undo_restores_it(tmp_path, warehouse_copy):
    db = warehouse_copy
    demo_value, is_demo, _ = value(db, "bts_stations", "46")
    assert is_demo
    first = load(write_csv(tmp_path / "a.csv", H, [[P, "Huế", "bts_stations", 111, "", ""]]), db)
    assert first.status == "loaded" and first.exit_code == 0
    assert value(db, "bts_stations", "46") == (111, False, first.load_id)
    s = first.summary
    assert s["values_changed"] == 1 and s["demo_values_replaced"] == 1
    assert s["change_examples"][0]["old"] == demo_value

    second = load(write_csv(tmp_path / "b.csv", H, [[P, "Huế", "bts_stations", 222, "", ""]]), db)
    assert second.load_id == first.load_id + 1
    assert value(db, "bts_stations", "46")[0] == 222
    with duckdb.connect(str(db), read_only=True) as con:  # the earlier value stays in history
        kept = con.execute("SELECT load_id, value FROM clean.observation_history WHERE indicator='bts_stations' "
                           "AND unit_code='46' AND period=? ORDER BY load_id", [P]).fetchall()
    assert kept == [(0, demo_value), (first.load_id, 111), (second.load_id, 222)]

    restored = undo(second.load_id, db)
    assert value(db, "bts_stations", "46")[0] == 111
    assert restored.changes.iloc[0].new_value == 111
    undo(first.load_id, db)
    assert value(db, "bts_stations", "46") == (demo_value, True, 0)
    h = history(db)
    assert list(h.status) == ["loaded", "undone", "undone"]
    with pytest.raises(UndoError):
        undo(first.load_id, db)
    with pytest.raises(UndoError):
        undo(0, db)
    with pytest.raises(UndoError):
        undo(999, db)


def test_loading_the_same_file_twice_changes_nothing(tmp_path, warehouse_copy):
    db = warehouse_copy
    path = write_csv(tmp_path / "a.csv", H, [[P, "Huế", "bts_stations", 111, "", ""]])
    first = load(path, db)
    before = sha256(db)
    again = load(path, db)
    assert again.status == "already_loaded" and again.load_id == first.load_id and again.exit_code == 0
    assert sha256(db) == before
    assert len(history(db)) == 2
    # Once undone, the same file may be loaded again (a new load).
    undo(first.load_id, db)
    assert load(path, db).load_id == first.load_id + 1


def test_one_bad_row_rejects_the_file_and_leaves_the_warehouse_byte_identical(tmp_path, warehouse_copy):
    db = warehouse_copy
    before = sha256(db)
    path = write_csv(tmp_path / "bad.csv", H, [[P, "Huế", "bts_stations", 5, "", ""],
                                                [P, "Huế", "stations_5g", -1, "", ""]])
    result = load(path, db)
    assert result.status == "rejected" and result.exit_code == 1
    assert sha256(db) == before
    assert len(history(db)) == 1


def test_accept_valid_loads_the_valid_rows_and_quarantines_the_rest(tmp_path, warehouse_copy):
    db = warehouse_copy
    path = write_csv(tmp_path / "mixed.csv", H, [[P, "Huế", "bts_stations", 5, "", ""],
                                                  [P, "Huế", "stations_5g", -1, "", ""],
                                                  [P, "Atlantis", "bts_stations", 7, "", ""]])
    result = load(path, db, accept_valid=True)
    assert result.status == "loaded" and result.rows_loaded == 1
    assert value(db, "bts_stations", "46")[0] == 5
    q = quarantine(result.load_id, db)
    assert sorted(q.row_number.tolist()) == [3, 4]
    assert q.reason.str.startswith("negative_count").any() and q.reason.str.startswith("unknown_unit").any()
    assert q.suggestion.notna().all()
    h = history(db).set_index("load_id")
    assert h.loc[result.load_id, "rows_rejected"] == 2 and h.loc[result.load_id, "quarantined"] == 2


def test_every_file_is_archived_with_checksum_size_uploader_and_time(tmp_path, warehouse_copy):
    db = warehouse_copy
    path = write_csv(tmp_path / "a.csv", H, [[P, "Huế", "bts_stations", 5, "", ""]])
    result = apply_load(plan_load(path, uploader="lan", db=db), db=db)
    raw = tmp_path / "raw"
    stored = raw / f"{sha256(path)}.csv"
    assert stored.read_bytes() == path.read_bytes()
    with duckdb.connect(str(db), read_only=True) as con:
        row = con.execute("SELECT sha256, size_bytes, uploader, received_at, archived_path, file_name FROM raw.file "
                          "WHERE load_id = ?", [result.load_id]).fetchall()[0]
    assert row[:3] == (sha256(path), path.stat().st_size, "lan") and row[3] is not None
    assert row[4] == str(stored) and row[5] == "a.csv"
    entry = wh.read_manifest(db)[0]  # the recovery copy of the load record, in the archive
    assert entry["load_id"] == result.load_id and entry["uploader"] == "lan" and entry["status"] == "loaded"
    # A refused file is archived too, and logged.
    bad = write_csv(tmp_path / "bad.csv", H, [[P, "Huế", "bts_stations", -5, "", ""]])
    load(bad, db)
    assert (raw / f"{sha256(bad)}.csv").exists()
    assert json.loads((raw / "rejected.jsonl").read_text().splitlines()[-1])["file_name"] == "bad.csv"


def test_a_legacy_load_and_a_commune_load_reach_the_published_views(tmp_path, warehouse_copy):
    db = warehouse_copy
    rows = [[P, "Phú Thọ", "bts_stations", 100, "", ""], [P, "Vĩnh Phúc", "bts_stations", 200, "", ""],
            [P, "Hòa Bình", "bts_stations", 300, "", ""]]
    assert load(write_csv(tmp_path / "legacy.csv", H, rows), db, kind="legacy").status == "loaded"
    assert value(db, "bts_stations", "25")[0] == 600
    communes = write_csv(tmp_path / "c.csv", ["period", "province", "commune", "indicator", "value"],
                         [[P, "Hà Nội", "Hoàn Kiếm", "applications_received", 42]])
    assert load(communes, db).status == "loaded"
    assert value(db, "applications_received", "00070", level="commune")[0] == 42
