"""Population and natural area of the 34 provinces (data/meta/population.csv), read for
``ref.population``; the ``province`` view takes its primary row per province.

The file keeps every figure found with its source: one primary row per province (what the
product divides by) and the disagreeing or superseded ones. Its bases differ (Resolution
202/2025/QH15's registered residents for the 23 merged provinces, an older statistics-office
table for the 11 unchanged ones; ``basis`` names it per row), so every per-inhabitant figure
is approximate (docs/population.md).

``python -m etl population FILE`` puts a new table with the same columns in place (an official
single-basis table, when one is published): it checks the file as the build does, replaces
the reference file (``DX_POPULATION`` overrides its path) so every later build keeps it, and
replaces ``ref.population`` in the warehouse. A file that fails a check changes nothing.
"""

from __future__ import annotations

import argparse
import io
import math
import os
import re
import sys
from pathlib import Path

import duckdb
import pandas as pd

from core import paths
from core.resolver import ResolveError
from etl import reference, warehouse

SOURCE_ID = "population"  # its row in data/meta/sources.toml (checksum, licence)
COLUMNS = ["province", "population", "area_km2", "year", "basis", "reference", "source_url", "quote", "note",
           "is_primary"]
MAX_BYTES = 1_000_000  # a table of the 34 provinces with notes is ~25 kB
URL = re.compile(r"https?://\S+")


class PopulationError(ValueError):
    """The population file is not usable; the message is one line naming the file and the row."""


def population_file() -> Path:
    """data/meta/population.csv, or the file ``DX_POPULATION`` names (tests work on a copy)."""
    return Path(os.environ.get("DX_POPULATION", paths.META / "population.csv")).resolve()


def read(path: Path | None = None) -> pd.DataFrame:
    """The rows of ``path`` (default :func:`population_file`) as ``ref.population`` holds them,
    with each province resolved to its code. Raises :class:`PopulationError`."""
    path = path or population_file()
    try:
        if path.stat().st_size > MAX_BYTES:
            raise PopulationError(f"{path.name}: {path.stat().st_size:,} bytes, more than a population table "
                                  f"of 34 provinces needs ({MAX_BYTES:,})")
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise PopulationError(f"{path.name}: cannot be read ({exc.strerror or type(exc).__name__})") from None
    except UnicodeDecodeError:
        raise PopulationError(f"{path.name}: not UTF-8 text") from None
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise PopulationError(f"{path.name}: not a CSV table ({str(exc).splitlines()[0] if str(exc) else exc})") \
            from None
    if list(frame.columns) != COLUMNS:
        raise PopulationError(f"{path.name}: columns must be {', '.join(COLUMNS)}, "
                              f"not {', '.join(map(str, frame.columns))}")
    frame = frame.apply(lambda column: column.str.strip())
    rows = [_row(path.name, number, record) for number, record in enumerate(frame.to_dict("records"), start=2)]
    result = pd.DataFrame(rows)
    _one_primary_per_province(path.name, result)
    return result


def _row(file_name: str, number: int, record: dict) -> dict:
    where = f"{file_name} row {number}"
    try:
        province = reference.resolver().province(record["province"])
    except ResolveError as exc:
        raise PopulationError(f"{where}: {record['province']!r} is not one of the 34 provinces "
                              f"({', '.join(exc.candidates) or 'no close name'})") from None
    if record["is_primary"] not in ("yes", "no"):
        raise PopulationError(f"{where}: is_primary must be yes or no, not {record['is_primary']!r}")
    is_primary = record["is_primary"] == "yes"
    population = _number(where, "population", record["population"], whole=True)
    area = _number(where, "area_km2", record["area_km2"], whole=False)
    if is_primary and (population is None or area is None):
        raise PopulationError(f"{where}: a primary row needs both population and area_km2")
    year = record["year"]
    if year and not (re.fullmatch(r"\d{4}", year) and 1900 <= int(year) <= 2100):
        raise PopulationError(f"{where}: year must be a year such as 2025 or empty, not {year!r}")
    if not URL.fullmatch(record["source_url"]):
        raise PopulationError(f"{where}: source_url must be one http(s) address, not {record['source_url']!r}")
    for name in ("basis", "reference"):
        if not record[name]:
            raise PopulationError(f"{where}: every figure names its {name}")
    return {
        "province_code": province.code,
        "province": record["province"],
        "population": population,
        "area_km2": area,
        "year": int(year) if year else None,
        "basis": record["basis"],
        "reference": record["reference"],
        "source_url": record["source_url"],
        "quote": record["quote"] or None,
        "note": record["note"] or None,
        "is_primary": is_primary,
        "row_number": number,
    }


def _number(where: str, name: str, text: str, *, whole: bool) -> float | int | None:
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise PopulationError(f"{where}: {name} must be a plain number (1865270, 13795.5), not {text!r}") from None
    if not math.isfinite(value) or value <= 0 or (whole and not value.is_integer()):
        raise PopulationError(f"{where}: {name} must be a positive {'whole ' if whole else ''}number, not {text!r}")
    return int(value) if whole else value


def _one_primary_per_province(file_name: str, frame: pd.DataFrame) -> None:
    provinces = reference.provinces()
    primaries = frame[frame.is_primary].groupby("province_code").size()
    for code, name in zip(provinces.code, provinces.name):
        if primaries.get(code, 0) != 1:
            raise PopulationError(f"{file_name}: {name} ({code}) has {primaries.get(code, 0)} primary rows; "
                                  "each of the 34 provinces needs exactly one (is_primary = yes)")


def load(con: duckdb.DuckDBPyConnection, path: Path | None = None) -> pd.DataFrame:
    """``ref.population`` becomes the rows of ``path`` (default :func:`population_file`), and its
    ``source`` row records that file's checksum (build and command alike; ``ref.source`` first)."""
    path = path or population_file()
    frame = read(path)
    con.execute("DELETE FROM ref.population")
    con.register("incoming_population", frame)
    con.execute("INSERT INTO ref.population BY NAME SELECT * FROM incoming_population")
    con.unregister("incoming_population")
    con.execute("UPDATE ref.source SET checksum = ? WHERE id = ?", [reference.sha256_file(path), SOURCE_ID])
    return frame


# --------------------------------------------------------------------------- the command


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = ("Replace the population table with FILE (the columns of data/meta/population.csv, one "
                           "primary row per province). The file replaces the reference file, so rebuilds keep it; "
                           "nothing changes if it fails a check (docs/population.md).")
    parser.add_argument("file", type=Path)
    parser.add_argument("--db", type=Path, default=None, help="warehouse (default data/warehouse.duckdb or $DX_DB)")


def command(args: argparse.Namespace) -> int:
    try:
        frame = read(args.file)
    except PopulationError as exc:
        print(f"error: {exc}; nothing was changed", file=sys.stderr)
        return 1
    db = args.db or warehouse.default_path()
    target = population_file()
    try:
        with warehouse.updating(db) as con:
            load(con, args.file)
            # Last step before the warehouse is replaced: a file refused or a write that fails
            # before here changes neither; should the replacement itself fail, the next build
            # reads the new file.
            _write_atomically(target, args.file.read_bytes())
    except (warehouse.WarehouseError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    primary = frame[frame.is_primary]
    print(f"Population table replaced: {len(frame)} rows, {len(primary)} primary, total "
          f"{int(primary.population.sum()):,} ({', '.join(sorted(primary.basis.unique()))}); "
          f"{target} now holds it, so rebuilds keep it")
    return 0


def _write_atomically(target: Path, data: bytes) -> None:
    temp = target.with_name(f"{target.name}.tmp-{os.getpid()}")
    try:
        temp.write_bytes(data)
        os.replace(temp, target)
    except OSError as exc:
        temp.unlink(missing_ok=True)
        raise warehouse.write_failed(str(target), exc) from exc
