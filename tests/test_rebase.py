"""Re-basing the 63 old provinces onto the 34: sums, recomputed rates, refusals."""

import math

import pandas as pd

from etl.rebase import rebase_legacy


def legacy_rows(rows):
    return pd.DataFrame(rows, columns=["indicator", "period", "legacy_code", "value", "numerator", "denominator"])


def test_counts_are_summed_and_rates_recomputed_from_summed_counts_never_averaged():
    frame = legacy_rows(
        [
            # Phú Thọ (25) = Hòa Bình (17) + Phú Thọ (25) + Vĩnh Phúc (26)
            ("online_application_rate", "2025-03", "17", 50.0, 50, 100),
            ("online_application_rate", "2025-03", "25", 80.0, 160, 200),
            ("online_application_rate", "2025-03", "26", 60.0, 180, 300),
            ("applications_received", "2025-03", "17", 100, None, None),
            ("applications_received", "2025-03", "25", 200, None, None),
            ("applications_received", "2025-03", "26", 300, None, None),
        ]
    )
    rebased, rejected = rebase_legacy(frame)
    assert rejected.empty
    rate = rebased[rebased.indicator == "online_application_rate"].iloc[0]
    assert rate.unit_code == "25" and rate.n_legacy == 3
    assert rate.numerator == 390 and rate.denominator == 600
    assert math.isclose(rate.value, 65.0)  # (50+160+180)/(100+200+300), not mean(50,80,60)=63.3
    received = rebased[rebased.indicator == "applications_received"].iloc[0]
    assert received.value == 600


def test_rate_without_counts_is_refused_for_a_merged_province_but_kept_when_it_maps_alone():
    frame = legacy_rows(
        [
            ("online_application_rate", "2025-03", "17", 50.0, None, None),
            ("online_application_rate", "2025-03", "25", 80.0, None, None),
            ("online_application_rate", "2025-03", "26", 60.0, None, None),
            ("online_application_rate", "2025-03", "38", 41.5, None, None),  # Thanh Hóa maps alone
        ]
    )
    rebased, rejected = rebase_legacy(frame)
    assert list(rebased.unit_code) == ["38"] and rebased.value.iloc[0] == 41.5
    assert sorted(rejected.legacy_code) == ["17", "25", "26"]
    assert (rejected.problem == "rate_without_counts").all()


def test_an_index_is_not_additive():
    frame = legacy_rows(
        [
            ("index766_total", "2025-03", "17", 70.0, None, None),
            ("index766_total", "2025-03", "25", 80.0, None, None),
            ("index766_total", "2025-03", "26", 75.0, None, None),
            ("index766_total", "2025-03", "01", 81.2, None, None),
        ]
    )
    rebased, rejected = rebase_legacy(frame)
    assert list(rebased.unit_code) == ["01"] and len(rejected) == 3 and (rejected.problem == "not_additive").all()


def test_a_sum_missing_one_old_province_is_refused_as_incomplete():
    frame = legacy_rows(
        [
            ("applications_received", "2025-03", "17", 100, None, None),
            ("applications_received", "2025-03", "25", 200, None, None),
        ]
    )
    rebased, rejected = rebase_legacy(frame)
    assert rebased.empty
    assert (rejected.problem == "incomplete").all()
    assert set(rejected.missing) == {"Vĩnh Phúc (26)"}
