"""Where provinces are heading (core/projection.py): the Theil–Sen projection on constructed
series with known answers, the status rules, and the Overview and Rankings showing them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from core import catalog, projection

ROOT = Path(__file__).resolve().parent.parent
GOAL = {"value": 90.0, "comparison": ">=", "deadline": "2025-12"}


def test_a_straight_line_of_slope_1_reaches_the_value_it_points_to():
    found = projection.project([50, 51, 52, 53, 54, 55], ahead=3, bounds=(0, 100))
    assert (found.value, found.low, found.high, found.slope) == (58.0, 58.0, 58.0, 1.0)


def test_one_outlier_does_not_move_the_theil_sen_slope():
    slope, intercept, slopes = projection.theil_sen(range(6), [50, 51, 52, 90, 54, 55])
    assert (slope, intercept) == (1.0, 50.0)  # 10 of the 15 pairwise slopes are 1
    assert len(slopes) == 15
    ordinary = np.polyfit(range(6), [50, 51, 52, 90, 54, 55], 1)[0]
    assert ordinary > 2  # least squares would be dragged up
    assert projection.project([50, 51, 52, 90, 54, 55], ahead=3, bounds=(0, 100)).value == 58.0


def test_a_projection_is_capped_at_the_top_of_the_scale():
    found = projection.project([95, 96, 97, 98, 99, 100], ahead=6, bounds=(0, 100))
    assert (found.value, found.high) == (100.0, 100.0)
    assert projection.project([5, 4, 3, 2, 1, 0], ahead=6, bounds=(0, 100)).value == 0.0


def test_missing_months_are_left_out_of_the_pairs():
    found = projection.project([50, np.nan, 52, 53, np.nan, 55], ahead=1, bounds=(0, 100))
    assert found.value == 56.0


def test_on_track_at_risk_and_off_track():
    band = [0.1, 0.9]
    on = projection.project([80, 82, 84, 86, 88, 90], ahead=3, bounds=(0, 100), band=band)
    assert projection.status(on, GOAL) == "on_track"  # 96, band 96–96
    wobbly = projection.project([80, 86, 83, 85, 84, 88], ahead=3, bounds=(0, 100), band=band)
    assert wobbly.low < 90 <= wobbly.value  # the projection meets 90, the band's lower edge does not
    assert projection.status(wobbly, GOAL) == "at_risk"
    flat = projection.project([80, 80, 80, 80, 80, 80], ahead=3, bounds=(0, 100), band=band)
    assert projection.status(flat, GOAL) == "off_track"
    lower_is_better = {"value": 0.0, "comparison": "<=", "deadline": "2025-12"}
    falling = projection.project([10, 8, 6, 4, 2, 1], ahead=6, bounds=(0, 100), band=band)
    assert projection.status(falling, lower_is_better) == "on_track"


def test_from_the_deadline_on_a_province_has_met_or_missed_its_target():
    code = catalog.headline().code  # ≥ 90 % by 2025-12
    series = pd.DataFrame({"code": ["A", "A", "B", "B"], "period": ["2025-12", "2026-01"] * 2,
                           "value": [91.0, 85.0, 89.0, 95.0]})
    found = projection.outlooks(series, code, "2026-01").set_index("code")["status"].to_dict()
    assert found == {"A": "met", "B": "missed"}  # the deadline month's value decides


def test_the_overview_counts_provinces_per_status_and_rankings_show_each(warehouse, db):
    code = catalog.headline().code
    series = db.execute("SELECT unit_code AS code, period, value FROM observation WHERE indicator = ? "
                        "AND level = 'province' AND period <= '2025-09'", [code]).df()
    counts = projection.counts(projection.outlooks(series, code, "2025-09"))
    assert sum(counts.values()) == 34
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params["indicator"], at.query_params["period"] = code, "2025-09"
    at.run()
    assert not at.exception
    expected = (f"Hướng tới mục tiêu ≥ 90,00 % đến Tháng 12/2025: {counts['on_track']} đúng hướng, "
                f"{counts['at_risk']} có nguy cơ, {counts['off_track']} chệch hướng.")
    assert expected in [c.value for c in at.caption]
    at.switch_page("pages/2_rankings.py")
    at.run()
    table = at.dataframe[0].value
    cells = table["Hướng tới mục tiêu"]
    assert cells.str.startswith("đúng hướng").sum() == counts["on_track"]
    phu_tho = table[table["Tỉnh, thành phố"] == "Phú Thọ"].iloc[0]["Hướng tới mục tiêu"]
    assert phu_tho.split(":")[0] in ("đúng hướng", "có nguy cơ", "chệch hướng") and "dự báo" in phu_tho


@pytest.mark.parametrize("period, statuses", [("2026-01", {"met", "missed"})])
def test_after_the_deadline_the_overview_says_met_or_missed(warehouse, period, statuses):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params["indicator"], at.query_params["period"] = catalog.headline().code, period
    at.run()
    line = next(c.value for c in at.caption if c.value.startswith("Hướng tới mục tiêu"))
    assert "đã đạt" in line and "không đạt" in line and "đúng hướng" not in line


def test_trends_continue_each_line_dashed_to_the_deadline_with_its_band(warehouse, db):
    from dashboard import figures

    code = catalog.headline().code
    fig = figures.trend(code, ("25", "01"), "vi", None, "2025-09")  # a deck for September stops there
    drawn = {t.meta["series"]: t for t in fig.data if (t.meta or {}).get("segment") == "projection"}
    bands = {t.meta["series"]: t for t in fig.data if (t.meta or {}).get("segment") == "band"}
    assert set(drawn) == set(bands) == {"25", "01"}
    phu_tho = drawn["25"]
    assert phu_tho.x == ("2025-09-01", "2025-12-01") and phu_tho.line.dash == "dash"
    assert phu_tho.y[0] == pytest.approx(88.01)  # from September's value
    series = db.execute("SELECT unit_code AS code, period, value FROM observation WHERE indicator = ? "
                        "AND level = 'province' AND period <= '2025-09'", [code]).df()
    expected = projection.outlooks(series, code, "2025-09").set_index("code").loc["25"]
    assert phu_tho.y[1] == pytest.approx(expected["projected"])
    assert bands["25"].y[1:3] == pytest.approx((expected["high"], expected["low"]))
    assert 0 <= expected["low"] <= expected["projected"] <= expected["high"] <= 100
    latest = figures.trend(code, ("25",), "vi", None)  # to 2026-10: the 2025-12 deadline has passed
    assert not [t for t in latest.data if (t.meta or {}).get("segment") in ("projection", "band")]


def test_the_overview_says_it_in_english(warehouse):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params["indicator"], at.query_params["period"] = catalog.headline().code, "2025-09"
    at.query_params["lang"] = "en"
    at.run()
    line = next(c.value for c in at.caption if c.value.startswith("Heading for the target"))
    assert line.startswith("Heading for the target ≥ 90.00% by Dec 2025: ") and " on track, " in line
