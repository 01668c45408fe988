"""Published figures (data/meta/published.csv): per-province figures that news sites and
provincial portals published, kept beside the monthly values and never mixed into them.

The file keeps the list as it arrived (indicator, province as written, period, value, unit,
source_url, quote, note: unchanged, so every figure can be checked against its source) and adds
curated columns: an id, the scope and resolved province code, the as-of date, the comparison
("more than" is ">"), the unit, a name for figures the catalog does not name, the basis in the
product's own words, and whether the figure is a monthly value on the same basis as a warehouse
indicator (``comparable``, else a ``reason``). docs/data.md, "Published figures", says how each
kind of figure was judged.

:func:`published_frame` checks every row and adds what the warehouse needs; a row that does
not pass stops the build with its id. The build writes it to ``ref.published`` (the
``published`` and ``published_check`` views); the demo generator meets its comparable rows
(``etl/demo_spec.py``).
"""

from __future__ import annotations

import calendar
import re
import tomllib
from datetime import date
from functools import cache
from pathlib import Path

import pandas as pd

from core import catalog, i18n, paths
from core.names import nfc
from etl import reference

PUBLISHED_FILE = paths.META / "published.csv"
SPEC_FILE = paths.META / "published.toml"
SOURCE_ID = "published"  # its row in data/meta/sources.toml
RAW_COLUMNS = ["indicator", "province", "period", "value", "unit", "source_url", "quote", "note"]
CURATED_COLUMNS = ["scope", "province_code", "as_of", "comparison", "unit_code", "name_vi", "name_en",
                   "basis_vi", "basis_en", "comparable", "reason"]
COLUMNS = ["id", *RAW_COLUMNS, *CURATED_COLUMNS]
SCOPES = {"province", "communes", "part", "national"}  # communes: the province's communes only
COMPARISONS = {"=", ">", "<"}
OTHER = "other"  # a figure no catalog or list indicator names: the row names it (name_vi, name_en)
NATIONAL = re.compile(r"^toàn quốc\b", re.IGNORECASE)
PERIOD = re.compile(r"^(?P<year>\d{4})(?:-(?P<month>\d{2})(?:\.\.(?P<last>\d{4}-\d{2}))?|-Q(?P<quarter>[1-4]))?$")
MONTHS = {name.lower(): n for n, name in enumerate(calendar.month_name) if name} | {
    name.lower(): n for n, name in enumerate(calendar.month_abbr) if name}


class PublishedError(ValueError):
    """A row of the list cannot be used; the message names the row and the column."""


@cache
def spec() -> dict:
    return tomllib.loads(SPEC_FILE.read_text(encoding="utf-8"))


def period_months(period: str) -> tuple[str | None, str | None]:
    """The first and last month a period covers: '2025-07' (a month), '2025' (a year), '2025-Q3',
    '2025-07..2025-09' (a span), '' (not stated: None, None). ValueError for anything else."""
    if period == "":
        return None, None
    found = PERIOD.match(period)
    if not found:
        raise ValueError(period)
    year = found["year"]
    if found["quarter"]:
        last = 3 * int(found["quarter"])
        first, last = f"{year}-{last - 2:02d}", f"{year}-{last:02d}"
    elif found["month"]:
        first, last = f"{year}-{found['month']}", found["last"] or f"{year}-{found['month']}"
    else:
        first, last = f"{year}-01", f"{year}-12"
    if not ("01" <= first[5:] <= "12" and "01" <= last[5:] <= "12" and first <= last):
        raise ValueError(period)
    return first, last


def stated_dates(text: str, year: int) -> set[date]:
    """The dates a note or a quote states: 2025-08-25, 29/8/2025, 25-7-2025, 25/8 and ..08-24
    (in ``year``), 'December 15 (2025)', 'Dec 15 2025', 'July 31, 2025', '12 Dec 2025'."""
    found = []
    for y, m, d in re.findall(r"(\d{4})-(\d{2})-(\d{2})", text):
        found.append((y, m, d))
    for d, m, y in re.findall(r"(?<![\d/-])(\d{1,2})[/-](\d{1,2})[/-](\d{4})", text):
        found.append((y, m, d))
    for d, m in re.findall(r"(?<![\d/-])(\d{1,2})/(\d{1,2})(?![\d/])", text):
        found.append((year, m, d))
    for m, d in re.findall(r"\.\.(\d{2})-(\d{2})(?!\d)", text):
        found.append((year, m, d))
    for name, d, y in re.findall(r"\b([A-Z][a-z]+)\.? (\d{1,2})\b,?(?: \(?(\d{4})\)?)?", text):
        if name.lower() in MONTHS:
            found.append((y or year, MONTHS[name.lower()], d))
    for d, name, y in re.findall(r"\b(\d{1,2}) ([A-Z][a-z]+) (\d{4})\b", text):
        if name.lower() in MONTHS:
            found.append((y, MONTHS[name.lower()], d))
    dates = set()
    for y, m, d in found:
        try:
            dates.add(date(int(y), int(m), int(d)))
        except ValueError:
            continue
    return dates


def _known_indicators() -> dict[str, dict]:
    """Every indicator a row may name: the catalog's (first) and the list's own."""
    known = {code: {"name_vi": i.name_vi, "name_en": i.name_en} for code, i in catalog.indicators().items()}
    return {**spec()["indicator"], **known}


def _refuse(row: dict, column: str, why: str) -> PublishedError:
    return PublishedError(f"{PUBLISHED_FILE.name} row {row['id']}, column {column} ({row[column]!r}): {why}")


def _check_row(row: dict, known: dict[str, dict], units: set[str], reasons: set[str]) -> None:
    if row["indicator"] != OTHER and row["indicator"] not in known:
        raise _refuse(row, "indicator", "neither a catalog indicator, one of published.toml, nor 'other'")
    if (row["indicator"] == OTHER) != bool(row["name_vi"] and row["name_en"]):
        raise _refuse(row, "name_vi", "a figure of indicator 'other' is named in both languages, and only "
                      "such a figure")
    if row["unit_code"] not in units:
        raise _refuse(row, "unit_code", f"not a unit of the catalog or published.toml ({', '.join(sorted(units))})")
    if not re.fullmatch(r"https?://[^\s\"'<>]+", row["source_url"]):
        raise _refuse(row, "source_url", "not an http(s) address")
    if not re.fullmatch(r"-?\d+(\.\d+)?", row["value"]):
        raise _refuse(row, "value", "not a number written with a decimal point")
    try:
        period_months(row["period"])
    except ValueError:
        raise _refuse(row, "period", "not YYYY, YYYY-MM, YYYY-Qn, YYYY-MM..YYYY-MM or empty") from None
    if row["scope"] not in SCOPES or row["comparison"] not in COMPARISONS:
        raise _refuse(row, "scope", f"scope must be one of {sorted(SCOPES)}, comparison one of {sorted(COMPARISONS)}")
    if not (row["basis_vi"] and row["basis_en"]):
        raise _refuse(row, "basis_vi", "every figure needs its basis in both languages")
    if row["comparable"] not in ("true", "false") or (row["comparable"] == "true") == bool(row["reason"]):
        raise _refuse(row, "comparable", "true, or false with a reason")
    if row["reason"] and row["reason"] not in reasons:
        raise _refuse(row, "reason", f"not one of {', '.join(sorted(reasons))} (data/i18n.toml published.reason)")
    if row["comparable"] == "true" and (row["scope"] not in ("province", "communes")
                                        or len(row["period"]) != 7 or row["indicator"] == OTHER):
        raise _refuse(row, "comparable", "a comparable figure is one province's (or its communes') value for one month")


def _check_place(row: dict) -> None:
    """The province as written resolves (names.py, resolver.py) to the curated code; national
    rows say 'Toàn quốc' and have none. A parenthesis is a remark ("Hanoi (commune level)")."""
    written = nfc(row["province"])
    if row["scope"] == "national" or NATIONAL.match(written):
        if not (row["scope"] == "national" and NATIONAL.match(written) and row["province_code"] == ""):
            raise _refuse(row, "scope", "'Toàn quốc' rows, and only they, are national, without a province code")
        return
    name = re.sub(r"\s*\(.*\)\s*$", "", written)
    resolved = reference.resolver().province(name).code
    if resolved != row["province_code"]:
        raise _refuse(row, "province_code", f"{name!r} is province {resolved}")


def _check_as_of(row: dict, source_text: str) -> None:
    """The as-of date is a date the row's source states: in its note or quote, or in those of
    another row of the same address and period (``source_text``: a list of groups states it once)."""
    if not row["as_of"]:
        return
    try:
        as_of = date.fromisoformat(row["as_of"])
    except ValueError:
        raise _refuse(row, "as_of", "not YYYY-MM-DD") from None
    first, last = period_months(row["period"])
    year = int((first or row["as_of"])[:4])
    stated = stated_dates(source_text, year)
    if as_of not in stated:
        raise _refuse(row, "as_of", f"not stated by the note or quote of the source (it states {sorted(stated)})")
    if first and not first <= row["as_of"][:7] <= last:
        raise _refuse(row, "as_of", f"outside the period {row['period']}")


def published_frame() -> pd.DataFrame:
    """The list, checked, with what the warehouse needs: numbers, months, the scale and decimals
    as written, the names of the figure and what it compares with (``compares_with``, ``measure``).
    Read once per file and process (the build and the demo generator both ask)."""
    return _published_frame(PUBLISHED_FILE).copy()


@cache
def _published_frame(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    if list(frame.columns) != COLUMNS:
        raise PublishedError(f"{path.name}: columns must be {', '.join(COLUMNS)}")
    if not frame["id"].is_unique:
        raise PublishedError(f"{path.name}: ids must be unique")
    known = _known_indicators()
    if bad := [code for code, entry in spec()["indicator"].items()
               if "rank_of" in entry and entry["rank_of"] not in catalog.indicators()]:
        raise PublishedError(f"{SPEC_FILE.name}: [indicator.{bad[0]}] ranks an indicator the catalog lacks")
    units = set(catalog.units()) | set(spec()["unit"])
    reasons = {key.rsplit(".", 1)[1] for key in i18n.messages() if key.startswith("published.reason.")}
    rows = frame.to_dict("records")
    sources: dict[tuple[str, str], str] = {}
    for row in rows:
        key = (row["source_url"], row["period"])
        sources[key] = f"{sources.get(key, '')} {row['note']} {row['quote']}"
    for row in rows:
        _check_row(row, known, units, reasons)
        _check_place(row)
        _check_as_of(row, sources[(row["source_url"], row["period"])])
    months = frame["period"].map(period_months)
    named = frame["indicator"].map(lambda code: known.get(code, {}))
    ranks = frame["indicator"].map(lambda code: known.get(code, {}).get("rank_of"))
    return frame.assign(
        value=frame["value"].astype(float),
        decimals=frame["value"].str.partition(".")[2].str.len(),
        out_of=frame["unit"].str.extract(r"/(\d+)", expand=False).astype(float),
        first_month=[first for first, _ in months],
        last_month=[last for _, last in months],
        as_of=pd.to_datetime(frame["as_of"].replace("", None), format="%Y-%m-%d").dt.date,
        province_code=frame["province_code"].replace("", None),
        name_vi=frame["name_vi"].where(frame["name_vi"] != "", named.map(lambda n: n.get("name_vi"))),
        name_en=frame["name_en"].where(frame["name_en"] != "", named.map(lambda n: n.get("name_en"))),
        compares_with=ranks.where(ranks.notna(), frame["indicator"].where(frame["indicator"] != OTHER)),
        measure=ranks.isna().map({True: "value", False: "rank"}),
        suffix_vi=frame["unit_code"].map(lambda code: _suffixes(code)[0]),
        suffix_en=frame["unit_code"].map(lambda code: _suffixes(code)[1]),
        comparable=frame["comparable"] == "true",
        reason=frame["reason"].replace("", None),
        row_number=range(1, len(frame) + 1),
    )


def _suffixes(unit_code: str) -> tuple[str, str]:
    """How a value of the unit ends, in Vietnamese and English (catalog units first)."""
    if unit_code in catalog.units():
        unit = catalog.unit(unit_code)
        return unit.suffix("vi"), unit.suffix("en")
    entry = spec()["unit"][unit_code]
    return entry["suffix_vi"], entry["suffix_en"]
