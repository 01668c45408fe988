"""The reasons a load refuses a file or a row: stable codes, each with its short title and its
sentences in Vietnamese and English (data/i18n.toml ``[reason.<code>]``), sentences that take
exactly the values their rule passes, numbers in the reader's notation, and the same words on
the command line (``--lang vi``), in the rejection CSV and in the docs."""

from __future__ import annotations

import csv
import re
import string
from pathlib import Path

import pytest
from load_support import past, write_csv

from core import i18n
from etl.__main__ import main
from etl.load import plan_load, rules
from etl.load.rules import REASONS, Message, Reason
from etl.load.rules.found import localised

ROOT = Path(__file__).resolve().parent.parent
H = ["period", "unit", "indicator", "value"]
P = past(2)

# Reports, tests/test_load_hostile.py's generated files and archived rejections rely on these codes.
CODES = {
    "empty_file", "encoding", "too_large", "cell_too_large", "too_demanding", "bad_format", "missing_column",
    "bad_period", "future_period", "unknown_indicator", "wrong_level", "unknown_unit", "ambiguous_unit",
    "not_in_province", "legacy_unit", "unknown_province", "before_unit_existed", "missing_value", "non_numeric",
    "negative_count", "not_whole_number", "rate_out_of_range", "out_of_range", "implausible_value",
    "incomplete_counts", "numerator_gt_denominator", "zero_denominator", "rate_mismatch", "conflicting_count",
    "duplicate", "total_mismatch", "rebase_rate_without_counts", "rebase_not_additive", "rebase_incomplete",
    "missing_id", "bad_time", "future_time", "resolved_before_received", "bad_channel", "bad_bool",
    "duplicate_dossier", "duplicates_not_listed", "partial_province",
    "method_mismatch", "total_not_sum", "group_above_max", "rank_mismatch", "needs_province",
}
WARNINGS = {"total_mismatch", "duplicate_dossier", "duplicates_not_listed", "partial_province", "rank_mismatch"}


def fields(key: str, lang: str) -> set[str]:
    """The named fields of a sentence ({value!r} and {n:,} count as value and n)."""
    return {name for _, name, _, _ in string.Formatter().parse(i18n.messages()[key][lang]) if name}


def sections() -> list[str]:
    """The reason codes of data/i18n.toml, in its order."""
    return [key.split(".")[1] for key in i18n.messages() if key.startswith("reason.") and key.endswith(".title")]


def test_the_reason_codes_are_the_stable_ones_each_declared_once_with_its_severity():
    assert set(rules.load_all()) == CODES
    assert {code for code, reason in REASONS.items() if reason.severity == "warning"} == WARNINGS
    with pytest.raises(ValueError, match="declared twice"):
        Reason("duplicate")


@pytest.mark.parametrize("lang", i18n.LANGS)
def test_every_reason_has_its_title_and_every_sentence_in_both_languages(lang):
    rules.load_all()
    assert sorted(sections()) == sorted(CODES)
    missing = [f"reason.{code}.title" for code in CODES if lang not in i18n.messages().get(f"reason.{code}.title", {})]
    for message in rules.MESSAGES:
        missing += [key for key in (message.reason_key, message.suggestion_key)
                    if key and lang not in i18n.messages().get(key, {})]
    assert missing == []


def test_every_sentence_takes_exactly_the_values_its_rule_passes():
    rules.load_all()
    wrong = []
    for message in rules.MESSAGES:
        keys = [key for key in (message.reason_key, message.suggestion_key) if key]
        for lang in i18n.LANGS:
            taken = set().union(*(fields(key, lang) for key in keys))
            if taken != set(message.params):
                wrong.append((message.reason_key, message.suggestion_key, lang, sorted(taken), message.params))
        wrong += [(key, "vi/en differ") for key in keys if fields(key, "vi") != fields(key, "en")]
    assert wrong == []


def test_no_sentence_is_left_without_a_rule_that_says_it():
    rules.load_all()
    said = {key for m in rules.MESSAGES for key in (m.reason_key, m.suggestion_key) if key}
    unused = [key for key in i18n.messages() if key.startswith("reason.") and not key.endswith(".title")
              and key not in said]
    assert unused == []


def test_a_rule_passing_other_values_than_its_sentences_take_fails_loudly():
    from etl.load.rules import units

    with pytest.raises(TypeError, match=r"reason\.unknown_unit\.reason takes"):
        units.UNKNOWN(value="Atlantis")  # no closest
    with pytest.raises(TypeError):
        units.UNKNOWN(value="Atlantis", closest="Huế", extra=1)
    assert isinstance(units.UNKNOWN, Message)


def test_a_rejection_is_said_in_either_language_numbers_in_the_readers_notation(tmp_path):
    rows = [[P, "Huế", "bts_stations", 10 ** 26], [P, "Hue Xyz", "bts_stations", 5]]
    p = plan_load(write_csv(tmp_path / "bad.csv", H, rows))
    assert list(p.rejections.code) == ["implausible_value", "unknown_unit"]
    big = p.rejections.iloc[0]
    assert big.reason == "1e+26 is more than 100,000, the most one unit can report for bts_stations in a month"
    assert (big.reason_key, big.params) == ("reason.implausible_value.reason",
                                            {"value": 1e26, "bound": 100_000.0, "indicator": "bts_stations"})
    vi = localised(p.rejections, "vi")
    assert vi.reason.iloc[0] == ("1e+26 lớn hơn 100.000, mức tối đa một đơn vị có thể báo cáo cho bts_stations "
                                 "trong một tháng")
    assert vi.suggestion.iloc[0] == i18n.t("reason.implausible_value.suggestion", "vi")
    assert vi.reason.iloc[1] == "không rõ đơn vị 'Hue Xyz'"
    assert vi.suggestion.iloc[1] == p.rejections.suggestion.iloc[1].replace("closest: ", "gần nhất: ")
    assert list(localised(p.rejections, "en").reason) == list(p.rejections.reason)  # English as stored


def test_a_file_refused_as_a_whole_is_said_in_either_language(tmp_path):
    path = write_csv(tmp_path / "cp1258.csv", H, [[P, "Cà Mau", "bts_stations", 5]], encoding="cp1258")
    line = localised(plan_load(path).rejections, "vi").iloc[0]
    assert line.code == "encoding" and line.reason.startswith("tệp không phải UTF-8 hợp lệ (byte ")
    assert "“CSV UTF-8 (Comma delimited) (*.csv)”" in line.suggestion and "Lưu như" in line.suggestion


def test_the_command_line_speaks_english_or_vietnamese_with_lang_vi(tmp_path, warehouse_copy, capsys):
    bad = write_csv(tmp_path / "bad.csv", H, [[P, "Huế", "bts_stations", 5], [P, "Huế", "stations_5g", "x"]])
    assert main(["load", str(bad), "--dry-run"]) == 1
    out = capsys.readouterr().out
    assert "DRY RUN" in out and "Problems by reason:" in out and "non-numeric value [non_numeric]" in out
    assert "row 3, value, 'x' – value is not a number; write digits" in out
    assert main(["load", str(bad), "--dry-run", "--lang", "vi", "--report", str(tmp_path / "vi.csv")]) == 1
    out = capsys.readouterr().out
    assert "CHẠY THỬ – không ghi gì vào kho dữ liệu" in out and "Lỗi theo lý do:" in out
    assert "giá trị không phải số [non_numeric]" in out
    assert "dòng 3, value, 'x' – value không phải là số; ghi bằng chữ số" in out
    assert re.search(r"dòng đã đọc: +2\n", out) and "Báo cáo dòng bị từ chối: " in out
    with open(tmp_path / "vi.csv", encoding="utf-8-sig") as handle:
        (line,) = list(csv.DictReader(handle))
    assert (line["code"], line["reason_title"], line["reason"]) == \
        ("non_numeric", "giá trị không phải số", "value không phải là số")


def test_the_docs_list_every_reason_with_its_words():
    """docs/loading.md's table of reasons is the one data/i18n.toml gives (paste it from here)."""
    rules.load_all()
    table = ["| code | reason | lý do | severity |", "| --- | --- | --- | --- |"]
    table += [f"| `{code}` | {i18n.t(f'reason.{code}.title', 'en')} | {i18n.t(f'reason.{code}.title', 'vi')} | "
              f"{REASONS[code].severity} |" for code in sections()]
    docs = (ROOT / "docs" / "loading.md").read_text(encoding="utf-8")
    assert "\n".join(table) in docs, "\n".join(table)
