"""The demo generator: data/meta/demo.toml and the catalog drive it, anchors hold at their own months
only, and what it makes is plausible (docs/demo.md)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core import catalog, paths
from etl import demo, demo_spec
from etl.demo_spec import Anchor, SpecError
from etl.reference import legacy_provinces

THROWAWAY_INDICATOR = """
[[indicator]]
code = "portal_visits"
name_vi = "Lượt truy cập cổng dịch vụ công"
name_en = "Public-service portal visits"
unit = "count"
plausible_max = 10_000_000
decimals = 0
higher_is_better = true
aggregation = "sum"
levels = ["province"]
topic = "public_services"
definition_vi = "Số lượt truy cập cổng dịch vụ công của tỉnh trong tháng."
definition_en = "Visits to the province's public-service portal in the month."
legal_basis = "(test)"
"""
# A stock without noise: 2 visits a month per commune of size, growing 1 % a month from 2024-01.
THROWAWAY_SPEC = """
[indicator.portal_visits]
shape = "stock"
per_size = 2
path = { start = 1, growth = 0.01 }
"""
MINIMAL_SPEC = """
seed = 1
first_month = "2024-01"
last_month = "2026-10"
pull_months = 3.0
margin = 0.02
rank_gap = [0.3, 3.3]
[communes]
weight_sigma = 0.45
kind_factor = {}
monthly_jitter = 0.05
"""


@pytest.fixture(scope="module")
def made() -> demo.DemoData:
    return demo.generate()


def series(data: demo.DemoData, indicator: str, unit: str, level: str = "province") -> pd.Series:
    o = data.observations
    rows = o[(o.indicator == indicator) & (o.unit_code == unit) & (o.level == level)]
    return rows.set_index("period").value.sort_index()


@pytest.fixture
def catalog_with_portal_visits(tmp_path, monkeypatch):
    """The real catalog plus one throwaway indicator, for the length of a test."""
    path = tmp_path / "indicators.toml"
    path.write_text((paths.META / "indicators.toml").read_text(encoding="utf-8") + THROWAWAY_INDICATOR,
                    encoding="utf-8")
    monkeypatch.setenv("DX_CATALOG", str(path))


def spec_file(tmp_path, text: str):
    path = tmp_path / "demo.toml"
    path.write_text(text, encoding="utf-8")
    return path


# ---- the spec drives the engine ---------------------------------------------------------------

def test_every_catalog_indicator_has_a_demo_spec_and_is_generated(made):
    assert made.without_spec == ()
    assert set(made.observations.indicator.unique()) == set(catalog.indicators())
    assert demo_spec.read_spec().generated() == set(catalog.indicators())


def test_a_new_indicator_with_a_demo_spec_is_generated_with_its_declared_shape(
        made, catalog_with_portal_visits, tmp_path):
    spec = spec_file(tmp_path, demo_spec.SPEC_FILE.read_text(encoding="utf-8") + THROWAWAY_SPEC)
    data = demo.generate(spec)
    size = legacy_provinces().set_index("code").n_communes
    months_since_start = {"2024-03": 2, "2025-09": 20}
    # 2025-09: one current province, size = the communes its old provinces had.
    phu_tho = size[legacy_provinces().province_code.eq("25").to_numpy()].sum()
    assert series(data, "portal_visits", "25")["2025-09"] == round(2 * phu_tho * 1.01 ** months_since_start["2025-09"])
    # 2024-03: generated for the old provinces (Phú Thọ, Vĩnh Phúc, Hòa Bình) and re-based by summing.
    old = [round(2 * size[code] * 1.01 ** months_since_start["2024-03"]) for code in ("17", "25", "26")]
    assert series(data, "portal_visits", "25")["2024-03"] == sum(old)
    assert data.without_spec == ()
    # Every indicator draws from its own random stream: the others' numbers are unchanged.
    others = data.observations[data.observations.indicator != "portal_visits"].reset_index(drop=True)
    pd.testing.assert_frame_equal(others, made.observations)


def test_a_catalog_indicator_without_a_demo_spec_is_reported_and_gets_no_values(catalog_with_portal_visits):
    data = demo.generate()
    assert data.without_spec == ("portal_visits",)
    assert "portal_visits" not in set(data.observations.indicator.unique())


def test_the_build_reports_indicators_without_a_demo_spec(capsys):
    from etl import build

    build._report({"path": "w.duckdb", "seconds": 1.0, "demo_rows": 5, "legacy_rows_not_rebased": 0,
                   "demo_without_spec": ["portal_visits"], "suspicious_areas": []})
    assert "catalog indicators without a demo spec (data/meta/demo.toml), so no demo values: portal_visits" \
        in capsys.readouterr().out


@pytest.mark.parametrize("entry, message", [
    ('[indicator.bts_stations]\nshape = "wave"\n', "shape must be one of"),
    ('[indicator.bts_stations]\nshape = "stock"\nspeed = 3\n', "unknown keys ['speed']"),
    ('[indicator.bts_stations]\nshape = "stock"\npath = { start = 1, growth = 0.1, slope = 2 }\n',
     "at most one of growth, slope, end, rise"),
    ('[indicator.edocs_sent]\nshape = "share"\nof = "edocs_received"\npath = { start = 0.6 }\n',
     "needs ['edocs_received'], which must have a demo spec earlier in the file"),
    ('[indicator.bts_stations]\nshape = "rate"\npath = { start = 50 }\n', "rate is the shape of the catalog's rates"),
    ('[indicator.no_such_thing]\nshape = "stock"\n', "no such indicator in the catalog"),
])
def test_a_faulty_spec_is_refused_naming_its_entry(tmp_path, entry, message):
    with pytest.raises(SpecError, match=r"demo\.toml") as refused:
        demo_spec.read_spec(spec_file(tmp_path, MINIMAL_SPEC + entry))
    assert message in str(refused.value)


@pytest.mark.parametrize("text, message", [
    ("seed = ", "demo.toml: not valid TOML"),
    (MINIMAL_SPEC.replace("margin = 0.02\n", ""), "demo.toml: missing ['margin']"),
    (MINIMAL_SPEC.replace("monthly_jitter = 0.05\n", ""), "demo.toml: missing ['monthly_jitter']"),
])
def test_a_malformed_spec_file_is_refused_with_what_is_wrong(tmp_path, text, message):
    with pytest.raises(SpecError, match=message.replace("[", r"\[").replace("]", r"\]")):
        demo_spec.read_spec(spec_file(tmp_path, text))


def test_a_press_fact_about_an_indicator_without_a_spec_is_refused(tmp_path):
    spec = demo_spec.read_spec(spec_file(tmp_path, MINIMAL_SPEC))
    with pytest.raises(SpecError, match="anchor F01a is about online_application_rate, which has no demo spec"):
        demo_spec.anchors(spec)


# ---- anchors ------------------------------------------------------------------------------------

def test_anchors_are_the_checkable_press_facts_plus_the_specs_own():
    found = {a.id: a for a in demo_spec.anchors(demo_spec.read_spec())}
    assert found["F01a"] == Anchor("F01a", "online_application_rate", "25", "province", "2025-09", "2025-09",
                                   "value", "=", 88.01)
    assert (found["F05a"].kind, found["F05a"].first, found["F05a"].last) == ("sum", "2025-07", "2025-09")
    assert (found["F14"].kind, found["F14"].first, found["F14"].last) == ("ratio", "2024-01", "2024-12")
    assert (found["D01"].kind, found["D01"].first, found["D01"].value) == ("rank", "2025-08", 11)
    assert "F03c" not in found and "F08a" not in found  # context and targets do not anchor the demo


def test_anchors_include_the_comparable_published_figures_at_their_own_month():
    found = {a.id: a for a in demo_spec.anchors(demo_spec.read_spec())}
    assert found["P008"] == Anchor("P008", "index766_total", "19", "province", "2025-08", "2025-08", "value", "=",
                                   86.97)
    assert (found["P009"].indicator, found["P009"].kind, found["P009"].value) == ("index766_total", "rank", 1)
    assert (found["P062"].comparison, found["P062"].value) == ("<", 53340)  # "nearly 53,340"
    assert (found["P126"].unit, found["P126"].level, found["P126"].value) == ("46", "province", 91.17)  # communes
    assert "P001" not in found  # a weekly snapshot of 25/7 is no month's value
    assert (found["P012"].indicator, found["P012"].value) == ("index766_online_service", 17.49)  # out of 22


def test_766_groups_meet_their_anchors_and_the_total_the_rest(made):
    o = made.observations.query("level == 'province' and unit_code == '19' and period == '2025-08'")
    values = o.set_index("indicator").value
    groups = [code for code in catalog.get("index766_total").components if catalog.index766_group_max(code, "2025-08")]
    assert len(groups) == 5  # the 5-group method of August 2025
    assert values["index766_total"] == pytest.approx(86.97) == pytest.approx(values[groups].sum())
    assert (values["index766_transparency"], values["index766_progress"], values["index766_satisfaction"],
            values["index766_digitisation"]) == (15.67, 19.31, 17.86, 16.64)
    gia_lai = series(made, "index766_total", "52")
    assert gia_lai["2025-11"] == pytest.approx(91.06)
    assert abs(gia_lai["2025-12"] - gia_lai["2025-11"]) < 4  # the bend fades; no spike


def test_a_months_rank_anchors_are_arranged_together(tmp_path):
    """With Gia Lai 6th in August 2025 as well, the five anchored above it stay in their order."""
    sixth = ('\n[[anchor]]\nid = "T2"\nindicator = "index766_total"\nunit_code = "52"\nlevel = "province"\n'
             'period = "2025-08"\ncheck = "rank"\ncomparison = "="\nvalue = 6\nwhy = "test"\n')
    data = demo.generate(spec_file(tmp_path, demo_spec.SPEC_FILE.read_text(encoding="utf-8") + sixth))
    august = data.observations.query("indicator == 'index766_total' and level == 'province' "
                                     "and period == '2025-08'").set_index("unit_code").value
    assert august.sort_values(ascending=False).index[:6].tolist() == ["19", "44", "38", "75", "42", "52"]


@pytest.mark.parametrize("comparison, bound, decimals, target", [
    ("=", 88.01, 2, 88.01),
    ("<", 1, 2, 0.98),  # Hà Nội "below 1 %"
    (">", 25, 2, 25.5),
    (">", 10_200, 0, 10_404),
    (">=", 16, 0, 16),  # a whole number already at its bound stays there
    ("<", 17, 0, 16),
])
def test_an_inequality_is_met_a_margin_inside_its_bound(comparison, bound, decimals, target):
    anchor = Anchor("X", "any", "01", "province", "2025-07", "2025-07", "value", comparison, bound)
    assert anchor.target(0.02, decimals) == target and anchor.holds(target)


def test_ha_noi_dips_below_1_percent_in_july_2025_only(made):
    rate = series(made, "online_application_rate", "01")
    assert rate["2025-07"] < 1 and rate["2025-08"] == pytest.approx(23.45)
    before = rate[:"2025-06"]
    assert len(before) == 18 and before.min() > 20 and rate["2025-06"] > 40
    assert before.is_monotonic_increasing or before.diff().min() > -2  # a slow climb, with noise


def test_a_spec_anchor_moves_the_rank(tmp_path):
    text = demo_spec.SPEC_FILE.read_text(encoding="utf-8").replace("value = 11\n", "value = 14\n")
    assert "value = 14\n" in text
    data = demo.generate(spec_file(tmp_path, text))
    august = data.observations.query("indicator == 'online_application_rate' and level == 'province' "
                                     "and period == '2025-08'").set_index("unit_code").value
    assert (august > august["25"]).sum() == 13  # 14th


def test_a_commune_floor_takes_dossiers_from_the_provinces_largest_commune_and_keeps_its_total(made, tmp_path):
    floor = ('\n[[anchor]]\nid = "T1"\nindicator = "applications_received"\nunit_code = "19867"\nlevel = "commune"\n'
             'period = "2025-07"\ncheck = "month_at_least"\ncomparison = ">="\nvalue = 2000\nwhy = "test"\n')
    data = demo.generate(spec_file(tmp_path, demo_spec.SPEC_FILE.read_text(encoding="utf-8") + floor))
    assert series(made, "applications_received", "19867", "commune")["2025-07"] < 2000
    assert series(data, "applications_received", "19867", "commune")["2025-07"] == 2040  # 2 % inside the floor
    for indicator in ("applications_received", "online_applications", "applications_resolved"):
        assert series(data, indicator, "46")["2025-07"] == series(made, indicator, "46")["2025-07"]  # Huế


def test_stocks_continue_across_the_merger(made):
    o = made.observations
    for indicator in ("bts_stations", "mobile_subscribers", "eid_level2_accounts"):
        wide = o[(o.indicator == indicator) & (o.level == "province")].pivot(index="unit_code", columns="period",
                                                                           values="value")
        step = wide["2025-07"] / wide["2025-06"]
        assert step.between(0.995, 1.04).all(), (indicator, step.describe())


def test_two_runs_give_the_same_numbers(made):
    pd.testing.assert_frame_equal(demo.generate().observations, made.observations)


# ---- plausible values ---------------------------------------------------------------------------

def test_counts_are_whole_and_never_negative_and_money_has_one_decimal(made):
    o = made.observations
    units = o.indicator.map({code: indicator.unit for code, indicator in catalog.indicators().items()})
    counts, money = o[units == "count"].value, o[units == "bn_vnd"].value
    assert (counts >= 0).all() and (counts == np.round(counts)).all()
    assert (money >= 0).all() and np.allclose(money, np.round(money, 1))


def test_rates_lie_between_0_and_100_and_equal_numerator_over_denominator(made):
    is_rate = {code: indicator.is_rate for code, indicator in catalog.indicators().items()}
    rates = made.observations[made.observations.indicator.map(is_rate).astype(bool)]
    assert rates.value.between(0, 100).all()
    assert np.allclose(rates.value, 100 * rates.numerator / rates.denominator)


def test_scores_stay_within_their_group_maximum_and_add_up(made):
    total = catalog.get("index766_total")
    o = made.observations
    groups = o[o.indicator.isin(total.components)]
    maxima = [catalog.index766_group_max(code, period) for code, period in zip(groups.indicator, groups.period)]
    assert None not in maxima  # every group value belongs to its month's method
    assert (groups.value >= 0).all() and (groups.value <= maxima).all()
    summed = groups.groupby(["period", "level", "unit_code"]).value.sum()
    totals = o[o.indicator == total.code].set_index(["period", "level", "unit_code"]).value
    assert np.allclose(totals.sort_index(), summed.sort_index())


def test_each_month_has_the_groups_of_its_method(made):
    """Five groups (online services out of 22) until 2025-09, six from 2025-10 (online services
    out of 12 and online payment out of 10), for provinces and communes alike."""
    o = made.observations
    hue = o[(o.unit_code == "46") & (o.level == "province") & o.indicator.str.startswith("index766_")]
    counts = hue[hue.indicator != "index766_total"].groupby("period").indicator.nunique()
    assert set(counts[:"2025-09"]) == {5} and set(counts["2025-10":]) == {6}
    online = o[o.indicator == "index766_online_service"]
    assert online[online.period <= "2025-09"].value.max() > 12 >= online[online.period >= "2025-10"].value.max()
    payment = o[o.indicator == "index766_online_payment"]
    assert payment.period.min() == "2025-10" and set(payment.level) == {"province", "commune"}


def test_criteria_are_whole_numbers_up_to_17_that_never_fall(made):
    o = made.observations
    met = o[o.indicator == "dx_criteria_met"].pivot(index="unit_code", columns="period", values="value")
    assert met.shape == (3321, 16) and met.columns[0] == "2025-07"  # communes, from the reform on
    assert (met == np.round(met)).all().all() and met.min().min() >= 0 and met.max().max() <= 17
    assert (met.diff(axis=1).iloc[:, 1:] >= 0).all().all()
