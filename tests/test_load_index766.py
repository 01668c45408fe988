"""The Decision 766 table of the National Public Service Portal (``--kind index766``), loaded for
real into a copy of the warehouse from the files in data/templates/: the portal's JSON answer for
the 34 provinces (six groups, 2025-11) and its Excel copy with Vietnamese headings and title
rows, and Phú Thọ's own table (its departments and 148 communes, five groups, 2025-09)."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import openpyxl
import pytest
from load_support import run_etl, sha256, write_csv

from core import catalog
from etl import build, reference
from etl.load import apply_load, plan_load
from etl.load.templates import FOLDER, PORTAL, PORTAL_FILES, write_portal_templates

PROVINCES_JSON = FOLDER / "index766_portal.json"
PROVINCES_XLSX = FOLDER / "index766_portal.xlsx"
COMMUNES_JSON = FOLDER / "index766_communes_phu_tho.json"
NOV, SEP = PORTAL["index766_portal"]["period"], PORTAL["index766_communes_phu_tho"]["period"]
GROUPS = {"CKMB": "index766_transparency", "TDGQ": "index766_progress", "TTTT": "index766_online_service",
          "CLGQ": "index766_online_payment", "MDHL": "index766_satisfaction", "MDSH": "index766_digitisation"}


def records(path: Path = PROVINCES_JSON) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))


def record(name: str, path: Path = PROVINCES_JSON) -> dict:
    return next(r for r in records(path) if r["TEN"] == name)


def write_json(path: Path, data) -> Path:
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def stored(db: Path, unit: str, period: str, level: str = "province") -> dict[str, tuple]:
    """The 766 values of a unit and month: indicator -> (value, is_demo)."""
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute("SELECT indicator, value, is_demo FROM observation WHERE unit_code = ? AND period = ? "
                           "AND level = ? AND indicator LIKE 'index766_%'", [unit, period, level]).fetchall()
    return {indicator: (value, is_demo) for indicator, value, is_demo in rows}


def load(path: Path, db: Path, **options):
    return apply_load(plan_load(path, db=db, **options), db=db)


# ----------------------------------------------------------------------------- the three files


def test_the_portals_json_for_34_provinces_loads_each_total_and_its_six_groups(warehouse_copy):
    result = load(PROVINCES_JSON, warehouse_copy, period=NOV)  # the kind is told by the JSON
    plan = result.plan
    assert (result.status, plan.kind, plan.fmt, plan.layout) == ("loaded", "index766", "json", "portal")
    assert plan.rejections.empty and plan.rows_read == 34 and result.rows_loaded == 34 * 7
    assert [str(n) for n in plan.notes] == ["34 units × (the total + the 6 groups of the month's method)"]
    phu_tho = record("Tỉnh Phú Thọ")
    expected = {"index766_total": float(phu_tho["TONG_SCORE"])}
    expected.update({GROUPS[field]: float(phu_tho[field]) for field in GROUPS})
    assert stored(warehouse_copy, "25", NOV) == {code: (value, False) for code, value in expected.items()}
    with duckdb.connect(str(warehouse_copy), read_only=True) as con:
        ranks = dict(con.execute("SELECT province_code, rank FROM province_rank WHERE indicator = 'index766_total' "
                                 "AND period = ?", [NOV]).fetchall())
        (source,), = con.execute("SELECT DISTINCT s.producer FROM observation o JOIN source s ON s.id = o.source_id "
                                 "WHERE o.unit_code = '25' AND o.period = ? AND o.indicator = 'index766_total'",
                                 [NOV]).fetchall()
    assert ranks["25"] == phu_tho["ROW_STT"] and len(ranks) == 34  # the warehouse's ranks are the portal's
    assert source.startswith("Cổng Dịch vụ công quốc gia")
    # the Excel copy with Vietnamese headings and title rows, detected as such, holds the same table
    copy = plan_load(PROVINCES_XLSX, period=NOV, compare=False)
    assert (copy.kind, copy.fmt, copy.options["sheet"], copy.rejections.empty) == ("index766", "xlsx", "Xếp hạng", True)
    key = ["unit_code", "indicator"]
    assert copy.rows.sort_values(key)[key + ["value"]].values.tolist() == \
        plan.rows.sort_values(key)[key + ["value"]].values.tolist()


def test_the_excel_copy_loads_for_real_with_its_spreadsheet_rows(warehouse_copy):
    result = load(PROVINCES_XLSX, warehouse_copy, period=NOV)
    assert result.status == "loaded" and result.rows_loaded == 34 * 7
    hue = record("Thành phố Huế")
    assert stored(warehouse_copy, "46", NOV)["index766_online_payment"] == (float(hue["CLGQ"]), False)
    rows = result.plan.rows.set_index(["unit_code", "indicator"]).row
    assert rows["46", "index766_total"] == 4 + hue["ROW_STT"]  # two title rows, a blank one, the headings


def test_a_provinces_own_table_loads_its_148_communes_and_counts_its_17_departments(warehouse_copy):
    before = stored(warehouse_copy, "25", SEP)
    result = load(COMMUNES_JSON, warehouse_copy, period=SEP, province="Phú Thọ")
    plan = result.plan
    assert result.status == "loaded" and plan.rejections.empty and plan.rows_read == 148 + 17
    assert set(plan.rows.level) == {"commune"} and plan.rows.unit_code.nunique() == 148
    assert [str(n) for n in plan.notes] == [
        "17 rows that are no province or commune (departments, provincial bodies, totals) not loaded (row 10…)",
        "148 units × (the total + the 5 groups of the month's method)"]
    thanh_son = record("Xã Thanh Sơn", COMMUNES_JSON)
    got = stored(warehouse_copy, plan.rows.loc[plan.rows.row == records(COMMUNES_JSON).index(thanh_son) + 1,
                                               "unit_code"].iloc[0], SEP, "commune")
    assert got["index766_total"] == (float(thanh_son["TONG_SCORE"]), False)
    assert got["index766_online_service"] == (float(thanh_son["TTTT"]), False)  # 22 points in 2025-09
    assert "index766_online_payment" not in got
    assert stored(warehouse_copy, "25", SEP) == before  # the province's own index is not touched
    # without --province the same file is refused: it is no table of provinces
    refused = plan_load(COMMUNES_JSON, period=SEP, compare=False)
    (line,) = refused.errors.itertuples()
    assert (line.code, line.column, refused.fatal) == ("needs_province", "TEN", True)
    assert line.reason.startswith("165 rows name a province's departments or communes (e.g. ")


@pytest.mark.parametrize("name, ext", PORTAL_FILES)
def test_the_templates_are_written_by_the_loaders_own_module(tmp_path, name, ext):
    written = write_portal_templates(tmp_path)
    assert tmp_path / f"{name}.{ext}" in written
    if ext == "json":  # the example values are seeded: the committed file is the generated one
        assert (tmp_path / f"{name}.json").read_bytes() == (FOLDER / f"{name}.json").read_bytes()
    p = plan_load(tmp_path / f"{name}.{ext}", compare=False, **PORTAL[name])
    assert p.ok and p.rejections.empty, p.rejections.to_dict("records")


# ----------------------------------------------------------------------------- what is checked


def test_a_total_that_is_not_the_sum_of_the_groups_is_refused_and_the_warehouse_is_unchanged(tmp_path,
                                                                                               warehouse_copy):
    data = records()
    data[4]["TONG_SCORE"] = f"{float(data[4]['TONG_SCORE']) + 0.05:.2f}"
    bad = write_json(tmp_path / "total.json", data)
    before = sha256(warehouse_copy)
    result = run_etl("load", str(bad), "--kind", "index766", "--period", NOV)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    groups = sum(float(data[4][field]) for field in GROUPS)
    line = (f"row 5, TONG_SCORE, '{data[4]['TONG_SCORE']}' – the total {float(data[4]['TONG_SCORE']):.2f} is not the "
            f"sum of the 6 groups ({groups:.2f}); they may differ by 0.01 at most")
    assert line in result.stdout, result.stdout
    assert sha256(warehouse_copy) == before
    plan = plan_load(bad, period=NOV, db=warehouse_copy)
    assert list(plan.errors.code) == ["total_not_sum"] and plan.rows_rejected == 1 and not plan.fatal
    # --accept-valid: the other 33 provinces are loaded, the row is kept in quarantine
    accepted = apply_load(plan, accept_valid=True, db=warehouse_copy)
    assert accepted.status == "loaded" and accepted.rows_loaded == 33 * 7
    with duckdb.connect(str(warehouse_copy), read_only=True) as con:
        assert con.execute("SELECT row_number, column_name, value FROM clean.quarantine WHERE load_id = ?",
                           [accepted.load_id]).fetchall() == [(5, "TONG_SCORE", data[4]["TONG_SCORE"])]
    # a difference of 0.01 is rounding, and passes
    data[4]["TONG_SCORE"] = f"{groups + 0.01:.2f}"
    assert "total_not_sum" not in set(plan_load(write_json(tmp_path / "ok.json", data), period=NOV,
                                                compare=False).rejections.code)


def test_a_rank_that_differs_from_the_files_totals_is_a_warning_only(tmp_path, warehouse_copy):
    data = records()
    data[2]["ROW_STT"], data[3]["ROW_STT"] = data[3]["ROW_STT"], "3"  # swapped, one of them as text
    result = load(write_json(tmp_path / "ranks.json", data), warehouse_copy, period=NOV)
    assert result.status == "loaded" and result.plan.errors.empty
    warnings = result.plan.warnings
    assert list(zip(warnings.row, warnings.column, warnings.value, warnings.code)) == [
        (3, "ROW_STT", "4", "rank_mismatch"), (4, "ROW_STT", "3", "rank_mismatch")]
    assert warnings.reason.iloc[0] == f"with its total of {float(data[2]['TONG_SCORE']):.2f} the unit ranks 3 " \
                                      "among the file's rows"


def test_the_groups_must_be_those_of_the_months_method(tmp_path):
    """The six-group table given for 2025-09 (five groups then), the five-group table for 2025-11."""
    six_in_sep = plan_load(PROVINCES_JSON, period=SEP, compare=False)
    (line,) = six_in_sep.errors.itertuples()
    assert (line.code, line.column, six_in_sep.fatal) == ("method_mismatch", "CLGQ", True)
    assert line.reason == ("the file gives CLGQ (index766_online_payment), which the Decision 766 index of 2025-09 "
                           "does not have: that month is scored on the 5-group method in use since 2022-06")
    five_in_nov = plan_load(COMMUNES_JSON, period=NOV, province="Phú Thọ", compare=False)
    assert [(r.code, r.column) for r in five_in_nov.errors.itertuples()] == [("method_mismatch", "CLGQ")]
    assert "has CLGQ (index766_online_payment) under the 6-group method in use since 2025-10" in \
        five_in_nov.errors.reason.iloc[0]
    # an empty online-payment field in a five-group month is no group at all
    data = [{**r, "CLGQ": None} for r in records(COMMUNES_JSON)]
    assert plan_load(write_json(tmp_path / "null.json", data), period=SEP, province="Phú Thọ", compare=False).ok
    assert [r.code for r in plan_load(PROVINCES_JSON, period="2021-01", compare=False).errors.itertuples()] == [
        "method_mismatch"]  # no index before Decision 766


def test_each_group_within_its_maximum_under_the_months_method(tmp_path):
    data = records()
    data[0]["TTTT"], data[1]["CKMB"] = "12.5", "-1"  # online services: 12 points from 2025-10
    p = plan_load(write_json(tmp_path / "max.json", data), period=NOV, compare=False)
    lines = p.errors.set_index("row")
    assert lines.loc[1, "code"] == "group_above_max" and lines.loc[1, "column"] == "TTTT"
    assert lines.loc[1, "reason"] == \
        "index766_online_service is worth at most 12 points in 2025-11 (the 6-group method)"
    assert lines.loc[2, "code"] == "out_of_range"
    # the same 12.5 is a fine score out of 22 in a five-group month
    five = [{k: v for k, v in r.items() if k != "CLGQ"} for r in records()]
    for r in five:
        r["TTTT"] = "12.5"
        r["TONG_SCORE"] = f"{sum(float(r[f]) for f in GROUPS if f in r):.2f}"
    assert plan_load(write_json(tmp_path / "five.json", five), period=SEP, compare=False).ok


def test_names_and_numbers_as_the_portal_writes_them(tmp_path):
    """'UBND tỉnh …', an old name that became a province alone (Thừa Thiên Huế), numbers as text with
    a dot or a comma or as numbers, the list wrapped in an object; a merged old province refused."""
    method = catalog.index766_method(NOV)
    scores = {g.field: f"{g.max * 0.9:.2f}" for g in method.groups}
    total = sum(g.max * 0.9 for g in method.groups)
    rows = [{"ID": "1", "TEN": "UBND tỉnh Phú Thọ", "ROW_STT": 1, "TONG_SCORE": f"{total:.2f}", **scores},
            {"ID": "2", "TEN": "Tỉnh Thừa Thiên Huế", "ROW_STT": "2",
             "TONG_SCORE": f"{total - 1:.2f}".replace(".", ","), **scores, "CKMB": float(scores["CKMB"]) - 1},
            {"ID": "3", "TEN": "Tỉnh Vĩnh Phúc", "ROW_STT": 3, "TONG_SCORE": "50", **scores}]
    p = plan_load(write_json(tmp_path / "names.json", {"data": rows, "total": 3}), period=NOV, compare=False)
    assert p.kind == "index766"
    totals = p.rows[p.rows.indicator == "index766_total"].set_index("unit_code").value
    assert totals.to_dict() == {"25": pytest.approx(total), "46": pytest.approx(total - 1)}
    (line,) = p.errors.itertuples()
    assert (line.code, line.row, line.value) == ("legacy_unit", 3, "Tỉnh Vĩnh Phúc")
    assert "Phú Thọ" in line.reason


def test_in_a_provinces_table_only_unknown_names_are_refused_never_dropped(tmp_path):
    """Communes by any spelling are loaded; the province's own row and its departments are
    left out and counted; another province's commune, or a name that is neither, is refused."""
    method = catalog.index766_method(SEP)
    scores = {g.field: f"{g.max * 0.8:.2f}" for g in method.groups}
    names = ["UBND tỉnh Phú Thọ", "Sở Y tế", "Thanh Sơn", "UBND phường Việt Trì", "Xã Quảng Điền",
             "Nhà văn hóa Atlantis"]
    rows = [{"TEN": name, "ROW_STT": i, "TONG_SCORE": "80", **scores} for i, name in enumerate(names, start=1)]
    p = plan_load(write_json(tmp_path / "units.json", rows), period=SEP, province="25", compare=False)
    resolver = reference.resolver()
    assert p.rows.drop_duplicates("row").set_index("row").unit_code.to_dict() == {
        3: resolver.commune("Xã Thanh Sơn", "25").code, 4: resolver.commune("Phường Việt Trì", "25").code}
    assert [(r.row, r.code) for r in p.errors.itertuples()] == [(5, "not_in_province"), (6, "unknown_unit")]
    assert [n.key for n in p.notes] == ["index766_skipped", "index766_loaded"] and p.notes[0].counts["n"] == 2
    assert p.warnings.empty  # six equal totals share rank 1: any numbering 1…6 of the tie is right


def test_a_csv_copy_with_vietnamese_headings_is_read_too(tmp_path):
    method = catalog.index766_method(SEP)
    header = ["STT", "Tên đơn vị", *[catalog.get(g.indicator).name_vi.split("–")[1].strip() for g in method.groups],
              "Tổng điểm"]
    row = ["1", "Thành phố Hà Nội", *[f"{g.max * 0.8:.2f}".replace(".", ",") for g in method.groups],
           f"{80:.2f}".replace(".", ",")]
    p = plan_load(write_csv(tmp_path / "copy.csv", header, [row]), period=SEP, compare=False)
    assert (p.kind, p.fmt, p.ok) == ("index766", "csv", True), p.rejections.to_dict("records")
    assert p.rows.set_index("indicator").value["index766_online_service"] == pytest.approx(17.6)


def test_an_excel_copy_with_a_two_row_merged_heading(tmp_path):
    """'Điểm thành phần' merged over the group columns, the name and total merged down two rows."""
    method = catalog.index766_method(NOV)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["BẢNG XẾP HẠNG CHỈ SỐ PHỤC VỤ NGƯỜI DÂN, DOANH NGHIỆP"])
    ws.append(["Xếp hạng", "Tên đơn vị", "Điểm thành phần"] + [None] * (len(method.groups) - 1) + ["Tổng điểm"])
    ws.append([None, None] + [catalog.get(g.indicator).name_vi.split("–")[1].strip() for g in method.groups] + [None])
    last = 2 + len(method.groups)
    for column in (1, 2, last + 1):
        ws.merge_cells(start_row=2, start_column=column, end_row=3, end_column=column)
    ws.merge_cells(start_row=2, start_column=3, end_row=2, end_column=last)
    phu_tho = record("Tỉnh Phú Thọ")
    ws.append([1, "Tỉnh Phú Thọ"] + [float(phu_tho[g.field]) for g in method.groups] + [float(phu_tho["TONG_SCORE"])])
    wb.save(tmp_path / "merged.xlsx")
    p = plan_load(tmp_path / "merged.xlsx", period=NOV, compare=False)
    assert (p.kind, p.ok) == ("index766", True), p.rejections.to_dict("records")
    got = p.rows.set_index("indicator").value
    assert got["index766_online_payment"] == float(phu_tho["CLGQ"]) and p.rows.row.iloc[0] == 4
    assert p.warnings.empty  # rank 1 of one


def test_a_json_file_is_no_report_and_broken_json_is_refused_in_one_line(tmp_path):
    p = plan_load(PROVINCES_JSON, kind="report", period=NOV, compare=False)
    assert list(p.errors.code) == ["bad_format"] and "--kind index766" in p.errors.suggestion.iloc[0]
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    for bad in (deep, write_json(tmp_path / "object.json", {"a": 1}),
                tmp_path / "cut.json"):
        if bad.name == "cut.json":
            bad.write_text(PROVINCES_JSON.read_text(encoding="utf-8")[:500], encoding="utf-8")
        p = plan_load(bad, period=NOV, compare=False)
        assert p.fatal and list(p.errors.code) == ["bad_format"], bad.name


# ----------------------------------------------------------------------------- any report, the command line


def test_a_report_giving_766_groups_follows_the_months_method(tmp_path):
    header = ["period", "unit", "indicator", "value"]
    p = plan_load(write_csv(tmp_path / "r.csv", header, [
        [SEP, "Huế", "index766_online_service", "15"],    # out of 22 in 2025-09: fine
        [SEP, "Huế", "index766_online_payment", "8"],     # no such group before 2025-10
        [NOV, "Huế", "index766_online_service", "15"],    # out of 12 from 2025-10
        [NOV, "Huế", "index766_online_payment", "8"],
    ]), compare=False)
    assert [(r.row, r.code) for r in p.errors.itertuples()] == [(3, "method_mismatch"), (4, "group_above_max")]
    assert p.errors.reason.iloc[0] == ("index766_online_payment is no group of the Decision 766 index of 2025-09: "
                                       "that month is scored on the 5-group method in use since 2022-06")


def test_the_command_line_and_a_rebuild(tmp_path, warehouse_copy):
    result = run_etl("load", str(COMMUNES_JSON), "--period", SEP, "--province", "Phú Thọ", "--lang", "vi")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "17 dòng không phải tỉnh hay xã (sở, ban, ngành, cơ quan cấp tỉnh, dòng tổng) không được nạp" in \
        result.stdout
    assert "(index766, json" in result.stdout
    with duckdb.connect(str(warehouse_copy), read_only=True) as con:
        loaded = con.execute("SELECT count(*) FROM observation WHERE NOT is_demo AND level = 'commune'").fetchone()[0]
    assert loaded == 148 * 6
    build.build(warehouse_copy, verbose=False)  # the recorded load is re-read from the archive
    with duckdb.connect(str(warehouse_copy), read_only=True) as con:
        kinds = con.execute("SELECT kind, options FROM load_history WHERE load_id > 0").fetchall()
        again = con.execute("SELECT count(*) FROM observation WHERE NOT is_demo AND level = 'commune'").fetchone()[0]
    assert again == loaded and kinds[0][0] == "index766" and json.loads(kinds[0][1])["province"] == "Phú Thọ"
