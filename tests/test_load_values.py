"""Cell parsing: Vietnamese number separators, periods, yes/no."""

import datetime as dt

import pytest

from etl.load.rules import periods
from etl.load.values import parse_bool, parse_number, parse_period


@pytest.mark.parametrize(
    "text, expected",
    [
        ("88,01", 88.01), ("1.234", 1234), ("1.234,5", 1234.5), ("1,234.5", 1234.5), ("1.234.567", 1234567),
        ("1,234,567", 1234567), ("12.5", 12.5), ("0,5", 0.5), (" 1 234 ", 1234), ("88,01%", 88.01),
        ("-3", -3), ("(12)", -12), (42, 42), (3.25, 3.25), ("1234.567", 1234.567), ("0.123", 0.123),
    ],
)
def test_numbers_with_vietnamese_and_english_separators(text, expected):
    value, error = parse_number(text)
    assert error is None and value == pytest.approx(expected)


@pytest.mark.parametrize("text", ["abc", "12a", "1.23.4", "1,2,3", "1.234,5.6", "--1", True])
def test_non_numbers_are_refused(text):
    value, error = parse_number(text)
    assert value is None and error


def test_periods_in_the_usual_spellings():
    now = dt.datetime(2026, 3, 15)
    for text in ["2025-07", "2025-7", "07/2025", "7/2025", "2025/07", "T7/2025", "Tháng 7/2025",
                 "tháng 07 năm 2025", "2025-07-01", "202507", dt.date(2025, 7, 1), dt.datetime(2025, 7, 9, 10),
                 "Jul 2025", "July 2025", "jul-2025"]:
        assert parse_period(text, now)[0] == "2025-07", text
    assert parse_period("2026-03", now)[0] == "2026-03"
    assert parse_period("2026-04", now)[1] == ("future", {"period": "2026-04", "current": "2026-03"})
    for bad, problem in [("2025-13", "no_such_month"), ("July", "not_a_month"), ("1999-01", "too_early"),
                         ("25-07", "not_a_month"), ("", "empty")]:
        assert parse_period(bad, now)[1].name == problem, bad
    # A quarter, a year or "9 months" is not a month: the rejection says why, not just "malformed".
    for span, texts in {"quarter": ["Quý III/2025", "Quý 3/2025", "Q3 2025"], "year": ["Năm 2025", "2025"],
                        "months": ["9 tháng đầu năm 2025", "6 tháng 2025"]}.items():
        for text in texts:
            assert parse_period(text, now) == (None, (span, None)), text
    _period, said = periods.parse_period("Quý III/2025", now)
    assert said.code == "bad_period" and said.text("en")[0].startswith("a quarter, not a month")
    assert said.text("vi")[0].startswith("đây là một quý, không phải một tháng")


def test_yes_no_values():
    assert parse_bool("có") == (True, None) and parse_bool("không") == (False, None)
    assert parse_bool(1) == (True, None) and parse_bool("FALSE") == (False, None)
    assert parse_bool("maybe")[0] is None
