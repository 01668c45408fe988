"""Needs attention (core/attention.py, pages/9_attention.py, `python -m etl digest`): the
month's exceptions under data/meta/attention.toml, checked against SQL on the session
warehouse, and each rule on a constructed series with a known answer."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from markdown_support import shown
from streamlit.testing.v1 import AppTest

from core import attention, catalog
from etl.__main__ import main

ROOT = Path(__file__).resolve().parent.parent
PAGE = "pages/9_attention.py"
HEADLINE = catalog.headline()


def run(**params: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    at.switch_page(PAGE)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def table(at: AppTest, rule: str) -> pd.DataFrame:
    """The table of a rule: tables follow the rules' order, one per rule with items."""
    listed = [r for r in attention.RULES if " · 0 " not in heading(at, r)]
    return at.dataframe[listed.index(rule)].value


def heading(at: AppTest, rule: str) -> str:
    return at.header[attention.RULES.index(rule)].value


def sql_count(db, sql: str, *params) -> int:
    return int(db.execute(sql, list(params)).fetchone()[0])


# ----------------------------------------------------------------------------- the page


def test_the_country_lists_every_province_below_the_online_application_target(warehouse, db):
    at = run(period="2025-09")
    assert at.title[0].value == "Cần chú ý"
    below = table(at, "below_target")
    listed = below[below["Chỉ tiêu"] == HEADLINE.name_vi]
    goal = attention.target(HEADLINE.code)["value"]  # 90 %
    expected = sql_count(db, "SELECT count(*) FROM observation WHERE indicator = ? AND level = 'province' "
                             "AND period = '2025-09' AND value < ?", HEADLINE.code, goal)
    assert len(listed) == expected == 33
    phu_tho = listed[listed["Đơn vị"] == "Phú Thọ"].iloc[0]
    assert phu_tho["Chi tiết"] == "88,01 %, mục tiêu ≥ 90,00 % đến Tháng 12/2025"
    assert phu_tho["Hồ sơ"] == "/province?province=25&period=2025-09&lang=vi"
    lt80 = sql_count(db, "SELECT count(*) FROM observation WHERE indicator = 'index766_total' AND level = 'commune' "
                         "AND period = '2025-09' AND value < 80")
    assert heading(at, "bands_766") == f"5. Xã, phường theo điểm Chỉ số 766 · {lt80 + 1524:,} trường hợp".replace(
        "766 · 3,", "766 · 3.")
    assert any("< 80 điểm: 1.770, 80–90 điểm: 1.524" in shown(c.value) for c in at.caption)
    jumps = table(at, "outlier")  # Hà Nội's online rate jumped from 23,45 % to 50,83 % (demo): for data staff
    hanoi = jumps[(jumps["Đơn vị"] == "Hà Nội") & (jumps["Chỉ tiêu"] == HEADLINE.name_vi)].iloc[0]
    assert hanoi["Chi tiết"].startswith("23,45 % → 50,83 % (+27,38 điểm %; thường +1,77 điểm %")
    assert any("Số liệu minh họa" in w.value for w in at.warning)  # demo data, labelled
    assert at.code[0].value.startswith("CẦN CHÚ Ý: Cả nước, Tháng 9/2025\nLưu ý: số liệu minh họa")


def test_hue_lists_its_communes_in_the_766_bands_with_links_to_their_profiles(warehouse, db):
    at = run(in_province="46", period="2025-09")
    bands = table(at, "bands_766")
    counts = db.execute(
        "SELECT count(*) FILTER (WHERE o.value < 80), count(*) FILTER (WHERE o.value >= 80 AND o.value < 90) "
        "FROM observation o JOIN commune c ON c.code = o.unit_code WHERE o.indicator = 'index766_total' "
        "AND o.level = 'commune' AND o.period = '2025-09' AND c.province_code = '46'").fetchone()
    assert counts == (26, 13) and len(bands) == sum(counts)
    assert (bands["Chi tiết"].str.endswith("(< 80 điểm)").sum(), bands["Chi tiết"].str.endswith("(80–90 điểm)").sum()) \
        == counts
    lowest = bands.iloc[0]
    assert lowest["Đơn vị"] == "Xã Chân Mây – Lăng Cô" and lowest["Chi tiết"] == "69,36 điểm (< 80 điểm)"
    assert lowest["Hồ sơ"].startswith("/communes?commune=") and lowest["Hồ sơ"].endswith("&period=2025-09&lang=vi")
    below = table(at, "below_target")
    assert set(below["Đơn vị"]) == {"Huế"} and len(below) == 4
    assert "Không có trường hợp nào." in [m.value for m in at.markdown]  # no improvement: none in Huế


def test_the_page_in_english_writes_english_numbers(warehouse):
    at = run(in_province="46", period="2025-09", lang="en")
    below = table(at, "below_target")
    row = below[below["Indicator"] == "Service index (Decision 766)"].iloc[0]
    assert row["Details"] == "78.64 pts, target ≥ 80.00 pts by Dec 2025"
    assert at.code[0].value.startswith("NEEDS ATTENTION: Huế, Sep 2025\nNote: demo figures")


# ----------------------------------------------------------------------------- the digest command


def test_the_digest_of_hue_is_plain_text_with_counts_that_match_the_warehouse(warehouse, db, capsys):
    assert main(["digest", "--province", "46", "--period", "2025-09"]) == 0
    text = capsys.readouterr().out
    assert text.splitlines()[0] == "CẦN CHÚ Ý: Huế, Tháng 9/2025"
    assert "số liệu minh họa" in text.splitlines()[1]
    lt80 = sql_count(db, "SELECT count(*) FROM observation o JOIN commune c ON c.code = o.unit_code "
                         "WHERE o.indicator = 'index766_total' AND o.level = 'commune' AND o.period = '2025-09' "
                         "AND c.province_code = '46' AND o.value < 80")
    assert f"- < 80 điểm: {lt80} (thấp nhất: Xã Chân Mây – Lăng Cô 69,36 điểm," in text
    missed = [c for c in catalog.indicators() if attention.target(c)]
    n_below = sum(
        not attention.meets(v, attention.target(c)) for c, v in db.execute(
            "SELECT indicator, value FROM observation WHERE level = 'province' AND unit_code = '46' "
            "AND period = '2025-09' AND list_contains(?, indicator)", [missed]).fetchall())
    assert f"\n1. Chưa đạt mục tiêu: {n_below}\n" in text and n_below == 4
    assert "- Huế · Tỷ lệ giải ngân: 85,7 %, mục tiêu ≥ 95,0 % đến Tháng 12/2025" in text
    # plain text: no markup, no control character but the line breaks
    assert not any(mark in text for mark in ("**", "](", "`", "<b>", "\\"))
    assert all(ch == "\n" or unicodedata.category(ch) != "Cc" for ch in text)


def test_the_digest_of_the_country_in_english(warehouse, capsys):
    assert main(["digest", "--period", "2025-09", "--lang", "en"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("NEEDS ATTENTION: Whole country, Sep 2025\n")
    assert "\n- Hà Nội · Online application rate: 50.83%, target ≥ 90.00% by Dec 2025\n" in text  # the lowest first


@pytest.mark.parametrize("args, message", [
    (["--period", "2025-9"], "error: --period must be a month as YYYY-MM (e.g. 2025-09), not '2025-9'"),
    (["--period", "1999-01"], "error: no data for 1999-01 (months with data: 2024-01 to 2026-10)"),
    (["--period", "2025-09", "--province", "99"], "error: no province with code '99'"),
])
def test_a_bad_month_or_province_gives_one_line_and_exit_2(warehouse, capsys, args, message):
    assert main(["digest", *args]) == 2
    out = capsys.readouterr()
    assert out.out == "" and out.err.startswith(message) and out.err.count("\n") == 1


# ----------------------------------------------------------------------------- the rules


def series(values: dict[str, float], indicator: str = HEADLINE.code, unit: str = "25") -> pd.DataFrame:
    return pd.DataFrame([
        {"indicator": indicator, "level": "province", "unit_code": unit, "period": p, "value": v, "is_demo": False,
         "name": "Phú Thọ", "province_code": unit, "province_name": "Phú Thọ"} for p, v in values.items()])


MONTHS = [f"2024-{m:02d}" for m in range(1, 13)] + ["2025-01"]


def test_a_jump_far_outside_the_units_own_changes_is_a_likely_data_error():
    noise = np.random.default_rng(0).normal(0, 0.1, 13)
    steady = dict(zip(MONTHS, [50 + k + noise[k] for k in range(13)]))  # +1 a month, give or take 0.1
    assert attention._outlier(series(steady), "2025-01", attention.rules()["outlier"]).empty
    jump = {**steady, "2025-01": steady["2024-12"] + 10}  # +10: median change about 1, MAD about 0.1
    found = attention._outlier(series(jump), "2025-01", attention.rules()["outlier"])
    assert len(found) == 1
    assert found.iloc[0]["median_change"] == pytest.approx(1.0, abs=0.15)
    assert 0.02 < found.iloc[0]["mad"] < 0.2
    short = {p: v for p, v in jump.items() if p >= "2024-09"}  # 3 earlier changes: no judgement
    assert attention._outlier(series(short), "2025-01", attention.rules()["outlier"]).empty


def test_no_improvement_needs_three_months_without_a_better_value_and_a_missed_target():
    rule = attention.rules()["no_improvement"]
    flat = series({"2024-09": 80.0, "2024-10": 80.0, "2024-11": 79.0, "2025-01": 0, "2024-12": 79.0})
    flat = flat[flat["period"] != "2025-01"]
    found = attention._no_improvement(flat, "2024-12", rule)
    assert found[["value", "previous", "since"]].values.tolist() == [[79.0, 80.0, "2024-09"]]
    better_once = series({"2024-09": 80.0, "2024-10": 80.5, "2024-11": 79.0, "2024-12": 79.0})
    assert attention._no_improvement(better_once, "2024-12", rule).empty
    met = series({"2024-09": 95.0, "2024-10": 94.0, "2024-11": 93.0, "2024-12": 92.0})  # ≥ 90 %: met
    assert attention._no_improvement(met, "2024-12", rule).empty


def test_a_unit_that_reported_last_month_but_not_this_month_is_missing():
    obs = pd.concat([series({"2025-08": 80.0, "2025-09": 81.0}, unit="25"),
                     series({"2025-08": 70.0}, unit="46")])
    found = attention._missing_report(obs, "2025-09", attention.rules()["missing_report"])
    assert found["unit_code"].tolist() == ["46"] and found.iloc[0]["missing"] == (HEADLINE.code,)


def test_the_largest_falls_respect_the_direction_of_the_indicator():
    lower_is_better = next(i for i in catalog.indicators().values()
                           if not i.higher_is_better and attention.target(i.code))
    obs = pd.concat([series({"2025-08": 10.0, "2025-09": 20.0}, lower_is_better.code, "25"),
                     series({"2025-08": 10.0, "2025-09": 5.0}, lower_is_better.code, "46")])
    found = attention._value_fall(obs, "2025-09", attention.rules()["value_fall"])
    assert found["unit_code"].tolist() == ["25"]  # a rise of delayed tasks is the fall
    assert np.isclose(found.iloc[0]["previous"], 10.0)


def test_names_in_the_digest_lose_control_characters():
    assert attention.clean("Xã\x07 A\nLưới\t1\x1b[31m") == "Xã A Lưới 1[31m"


def test_a_rules_file_out_of_order_is_refused(tmp_path):
    text = attention.rules_file().read_text(encoding="utf-8")
    moved = tmp_path / "attention.toml"
    moved.write_text(text.replace("[below_target]", "[below_target_x]"), encoding="utf-8")
    with pytest.raises(attention.RulesError, match="the rules are"):
        attention.rules(moved)
