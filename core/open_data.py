"""The warehouse as open data: every published view as Parquet and CSV, described by a
Frictionless ``datapackage.json`` (fields with types, units and descriptions, the licences of
each resource, the sources, the demo flag explained).

It lives in ``core`` because two layers write the same package: ``python -m etl export DIR``
and the app's "Download all data" button (a zip). Both hand in a DuckDB connection on which the
warehouse is attached as ``wh`` (``etl.warehouse.reading``, ``dashboard.db.cursor``). What the
warehouse does not say itself (field descriptions, which sources a view draws on) is in
data/meta/open_data.toml; a view or column it does not describe stops the export, so a new
view cannot be published undescribed.

CSV cells are neutralised like every other download (:func:`core.safety.neutralise`): a text
that a spreadsheet would run as a formula gets a leading apostrophe. Parquet keeps the values.
"""

from __future__ import annotations

import io
import json
import tomllib
import zipfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from core import catalog, i18n, paths
from core.safety import FORMULA_PREFIXES, neutralise

SPEC_FILE = paths.META / "open_data.toml"
BATCH_ROWS = 100_000  # rows held in memory at a time while writing
TYPES = {"VARCHAR": "string", "BOOLEAN": "boolean", "INTEGER": "integer", "BIGINT": "integer",
         "SMALLINT": "integer", "DOUBLE": "number", "FLOAT": "number", "DATE": "date", "TIMESTAMP": "datetime"}


class ExportError(RuntimeError):
    """The package cannot be written as asked (one line: what and why)."""


@dataclass(frozen=True)
class Written:
    """What an export wrote: the folder, rows per view and bytes on disk."""

    directory: Path
    rows: dict[str, int]
    bytes: int


@cache
def spec() -> dict:
    return tomllib.loads(SPEC_FILE.read_text(encoding="utf-8"))


def published_views(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The views of the attached warehouse ``wh``, in the order open_data.toml lists them;
    a view the file does not describe (or describes but the warehouse lacks) stops the export."""
    found = {name for (name,) in con.execute(
        "SELECT view_name FROM duckdb_views() WHERE database_name = 'wh' AND schema_name = 'main' AND NOT internal"
    ).fetchall()}
    described = list(spec()["view"])
    if found != set(described):
        raise ExportError(f"{SPEC_FILE.name} describes the views {sorted(described)}, the warehouse has "
                          f"{sorted(found)}: describe each published view there")
    return described


def write_package(con: duckdb.DuckDBPyConnection, directory: Path) -> Written:
    """Write ``directory``/datapackage.json, csv/VIEW.csv and parquet/VIEW.parquet for every
    published view of the warehouse attached as ``wh`` on ``con``."""
    directory = Path(directory)
    (directory / "csv").mkdir(parents=True, exist_ok=True)
    (directory / "parquet").mkdir(parents=True, exist_ok=True)
    sources = con.execute("SELECT id, producer, url, version, licence FROM wh.source ORDER BY id").df()
    licences = dict(zip(sources["id"], sources["licence"]))
    resources, rows = [], {}
    for view in published_views(con):
        withheld = set(spec()["view"][view].get("withheld", []))
        columns = [(name, data_type) for name, data_type in con.execute(
            "SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = 'wh' AND schema_name = 'main' "
            "AND table_name = ? ORDER BY column_index", [view]).fetchall() if name not in withheld]
        rows[view] = _write_view(con, view, columns, directory)
        resources.append(_resource(con, view, columns, licences))
    package = _package(resources, sources, licences)
    (directory / "datapackage.json").write_text(json.dumps(package, ensure_ascii=False, indent=2), encoding="utf-8")
    size = sum(f.stat().st_size for f in directory.rglob("*") if f.is_file())
    return Written(directory, rows, size)


def zip_bytes(con: duckdb.DuckDBPyConnection, directory: Path) -> bytes:
    """The package written into ``directory`` (an empty temporary folder), as one zip."""
    write_package(con, directory)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for path in sorted(directory.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(directory).as_posix())
    return buffer.getvalue()


def _write_view(con: duckdb.DuckDBPyConnection, view: str, columns: list[tuple[str, str]], directory: Path) -> int:
    """One pass over the view: Parquet as the values are, CSV neutralised; batch by batch."""
    selected = ", ".join(_quote(name) for name, _ in columns)
    reader = con.sql(f"SELECT {selected} FROM wh.main.{_quote(view)}").to_arrow_reader(BATCH_ROWS)
    csv_path, parquet_path = directory / "csv" / f"{view}.csv", directory / "parquet" / f"{view}.parquet"
    csv_schema = pa.schema([pa.field(name, pa.string() if data_type == "TIMESTAMP" else reader.schema.field(name).type)
                            for name, data_type in columns])
    count = 0
    with pq.ParquetWriter(parquet_path, reader.schema, compression="zstd") as parquet, \
            pacsv.CSVWriter(csv_path, csv_schema) as csv:
        for batch in reader:
            parquet.write_batch(batch)
            csv.write_batch(_csv_batch(batch, columns, csv_schema))
            count += batch.num_rows
    return count


def _csv_batch(batch: pa.RecordBatch, columns: list[tuple[str, str]], schema: pa.Schema) -> pa.RecordBatch:
    """Timestamps as ISO 8601 text; text a spreadsheet would run as a formula neutralised by
    :func:`core.safety.neutralise` (only the columns of the batch that hold such a cell go
    through pandas, so the common case stays in Arrow)."""
    arrays = []
    for (name, data_type), array in zip(columns, batch.columns):
        if data_type == "TIMESTAMP":
            array = pc.strftime(array, format="%Y-%m-%dT%H:%M:%S")
        elif pa.types.is_string(array.type) and _has_formula_start(array):
            safe = neutralise(pd.DataFrame({name: array.to_pylist()}))[name]
            array = pa.array(safe.tolist(), type=pa.string())
        arrays.append(array)
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _has_formula_start(array: pa.Array) -> bool:
    starts = [pc.starts_with(array, prefix) for prefix in FORMULA_PREFIXES]
    hit = starts[0]
    for more in starts[1:]:
        hit = pc.or_(hit, more)
    return bool(pc.any(hit).as_py())


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _field(view: str, name: str, data_type: str) -> dict:
    described = spec()["view"][view].get("field", {}).get(name) or spec()["field"].get(name)
    if described is None:
        raise ExportError(f"{SPEC_FILE.name}: no description of {view}.{name}: "
                          f"add it under [field] or [view.{view}.field]")
    if data_type not in TYPES:
        raise ExportError(f"{view}.{name}: no Frictionless type for the DuckDB type {data_type}")
    field = {"name": name, "type": TYPES[data_type], "description": described["description"]}
    if name == "is_demo":
        field["description"] = spec()["package"]["demo_flag"]
    if "unit" in described:
        field["unit"] = described["unit"]
    return field


def _resource(con: duckdb.DuckDBPyConnection, view: str, columns: list[tuple[str, str]], licences: dict) -> dict:
    return {
        "name": view,
        "path": f"csv/{view}.csv",
        "format": "csv",
        "mediatype": "text/csv",
        "encoding": "utf-8",
        "title": view,
        "description": i18n.t(f"methods.view_{view}", "en"),
        "description_vi": i18n.t(f"methods.view_{view}", "vi"),
        "parquet": f"parquet/{view}.parquet",
        "licenses": _licences(_view_sources(con, view), licences),
        "schema": {"fields": [_field(view, name, data_type) for name, data_type in columns]},
    }


def _view_sources(con: duckdb.DuckDBPyConnection, view: str) -> list[str]:
    """The sources whose licences apply to ``view`` (open_data.toml); an empty list means the
    project's own licence."""
    entry = spec()["view"][view]
    if "sources_from" not in entry:
        return list(entry["sources"])
    origin = entry["sources_from"]
    if origin in spec()["view"]:  # ranks are made of another view's values
        return _view_sources(con, origin)
    return [s for (s,) in con.execute(f"SELECT DISTINCT {_quote(origin)} FROM wh.main.{_quote(view)} ORDER BY 1")
            .fetchall() if s is not None]


def _licence(source_id: str | None, text: str | None) -> dict:
    """A source's licence as Frictionless wants it; a report loaded by staff states none
    (its row in ref.source has no licence), and says so."""
    names = spec()["licence"]
    if not isinstance(text, str) or not text:
        text = spec()["package"]["unstated_licence"]
    name = next((names[prefix] for prefix in names if text.startswith(prefix)), "other-at")
    title = f"{source_id}: {text}" if source_id else text
    return {"name": name, "title": title}


def _licences(source_ids: list[str], licences: dict) -> list[dict]:
    if not source_ids:
        return [_licence(None, spec()["package"]["project_licence"])]
    missing = [s for s in source_ids if s not in licences]
    if missing:
        raise ExportError(f"{SPEC_FILE.name} names sources the warehouse lacks: {', '.join(missing)}")
    return [_licence(s, licences[s]) for s in source_ids]


def _package(resources: list[dict], sources: pd.DataFrame, licences: dict) -> dict:
    package = spec()["package"]
    seen: dict[str, dict] = {}
    for licence in [_licence(None, package["project_licence"])] + [_licence(s, t) for s, t in licences.items()]:
        seen.setdefault(licence["title"], licence)
    return {
        "name": package["name"],
        "title": package["title"],
        "description": package["description"],
        "demo_flag": package["demo_flag"],
        "licenses": list(seen.values()),
        "sources": [
            {"title": f"{row.id}: {row.producer} ({row.version})", **({"path": row.url}
                                                                        if str(row.url).startswith("http") else {})}
            for row in sources.itertuples()
        ],
        "units": {code: {"label_vi": unit.label_vi, "label_en": unit.label_en}
                  for code, unit in catalog.units().items()},
        "resources": resources,
    }
