"""The loading API used by the command line and the in-app upload page.

    plan = plan_load("report.xlsx", kind="report", uploader="lan")   # parse + validate, no write
    plan.summary, plan.rejections, plan.rows                          # what would happen
    result = apply_load(plan, accept_valid=False)                     # all-or-nothing by default
    history()                                                         # loads, newest last
    undo(result.load_id)                                              # revert one load

Safety:
- nothing is written unless the whole file is valid (or ``accept_valid``: valid rows are
  loaded and every rejected row is kept in ``clean.quarantine`` with its reason);
- the same bytes with the same options, already loaded and not undone, are not loaded again;
- the warehouse is changed through ``warehouse.updating`` (copy, modify, publish, fsync,
  ``os.replace``): readers keep the old file until the new one is complete, and a crash or
  kill at any point leaves the last good warehouse intact;
- every received file is archived under its checksum (``archive``), in the raw archive of
  the warehouse written to; the warehouse records the load, and ``python -m etl build``
  replays the recorded loads from the archive (:func:`plan_replay`, :func:`apply_replay`).
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import os
import re
import tempfile
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from core import i18n, paths
from etl import warehouse
from etl.load import archive, limits, readers
from etl.load import validate as VAL
from etl.load.notes import Note
from etl.load.readers import FileRejected, UsageError
from etl.load.rules import found
from etl.load.rules.file import JSON_REPORT

KINDS = ("report", "legacy", "dossiers", "index766")
PERIOD_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
IDENTITY_OPTIONS = ("kind", "period", "sheet", "province")
EXAMPLES = 5

Progress = Callable[..., None]


def default_uploader() -> str:
    env = os.environ.get("DX_UPLOADER")
    if env:
        return env
    try:
        return getpass.getuser()
    except Exception:  # pragma: no cover
        return "unknown"


# --------------------------------------------------------------------------- results

@dataclass
class LoadPlan:
    """A parsed and validated file, not yet written. ``rows`` are the observations that
    would be loaded; ``rejections`` one line per problem (:mod:`etl.load.rules.found`)."""

    path: Path
    file_name: str
    kind: str
    options: dict
    sha256: str
    size_bytes: int
    uploader: str
    received_at: dt.datetime
    fmt: str = "csv"
    layout: str = ""
    rows: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=VAL.OBS_COLUMNS))
    rejections: pd.DataFrame = field(default_factory=found.empty)
    rows_read: int = 0
    values_read: int = 0
    rows_rejected: int = 0
    fatal: bool = False  # the whole file is unusable (encoding, size, layout...)
    notes: list[Note] = field(default_factory=list)
    already_loaded: int | None = None  # load id of the same file already in the warehouse
    changes: pd.DataFrame | None = None  # vs the warehouse at planning time
    duration_s: float = 0.0
    unit_names: dict[str, str] = field(default_factory=dict)  # "Name (code)" of the units in rows, for summaries

    @property
    def errors(self) -> pd.DataFrame:
        return self.rejections[self.rejections.severity == "error"]

    @property
    def warnings(self) -> pd.DataFrame:
        return self.rejections[self.rejections.severity == "warning"]

    @property
    def ok(self) -> bool:
        """True when the file can be loaded as a whole."""
        return not self.fatal and self.errors.empty and len(self.rows) > 0

    @property
    def summary(self) -> dict:
        return summarise(self, self.changes)


@dataclass
class LoadResult:
    status: str  # 'loaded' | 'rejected' | 'already_loaded' | 'dry_run'
    plan: LoadPlan
    load_id: int | None = None
    rows_loaded: int = 0
    changes: pd.DataFrame | None = None
    message_key: str = ""  # what became of the file: load_report.<message_key> in data/i18n.toml
    message_values: dict[str, Any] = field(default_factory=dict)

    def message_text(self, lang: str = "en") -> str:
        return i18n.sentence(f"load_report.{self.message_key}", lang, self.message_values) if self.message_key else ""

    @property
    def message(self) -> str:
        return self.message_text("en")

    @property
    def exit_code(self) -> int:
        if self.status in ("loaded", "already_loaded"):
            return 0
        if self.status == "dry_run":
            return 0 if self.plan.ok else 1
        return 1

    @property
    def summary(self) -> dict:
        out = summarise(self.plan, self.changes if self.changes is not None else self.plan.changes)
        out.update(status=self.status, load_id=self.load_id, message=self.message,
                   message_key=self.message_key, message_values=self.message_values)
        if self.status == "loaded":
            out["values_loaded"] = self.rows_loaded
        return out


class UndoError(ValueError):
    """The load cannot be undone (unknown, the demo data, already undone)."""


@dataclass
class UndoResult:
    load_id: int
    changes: pd.DataFrame  # level, unit_code, indicator, period, old_value (the load's), new_value (restored)
    file_name: str | None = None

    @property
    def summary(self) -> dict:
        c = self.changes
        return {"load_id": self.load_id, "file_name": self.file_name, "values_affected": len(c),
                "values_restored": int(c.new_value.notna().sum()) if len(c) else 0,
                "values_removed": int(c.new_value.isna().sum()) if len(c) else 0}


# --------------------------------------------------------------------------- planning

def _check_options(kind: str | None, period: str | None) -> None:
    if kind is not None and kind not in KINDS:
        raise UsageError(f"--kind must be one of {', '.join(KINDS)} (got {kind!r})", list(KINDS))
    if period is not None and not PERIOD_RE.match(period):
        raise UsageError(f"--period must be YYYY-MM, e.g. 2025-07 (got {period!r})")


def _detect_kind(path: Path, fmt: str, sheet: str | None) -> str:
    """dossiers or index766 when the header (a JSON file: the portal's answer) says so, else report."""
    from etl.load.dossiers import looks_like_dossiers
    from etl.load.index766 import looks_like_portal

    if fmt == "json":
        return "index766"
    if fmt == "parquet":
        return "dossiers" if looks_like_dossiers(readers.parquet_metadata(path).schema.names) else "report"
    if fmt in readers.EXCEL_FORMATS:
        name = readers.choose_sheet(path, sheet)
        head = readers.read_excel_grid(path, name).rows[:readers.HEADER_SCAN_ROWS]
    else:
        with open(path, "rb") as handle:
            data = handle.read(1 << 16)
        try:
            text = readers.decode_csv_bytes(data)
        except FileRejected:
            text = data.decode("utf-8", "ignore")
        head, _ = readers.csv_grid_head(text)
    if any(looks_like_portal(row) for row in head):
        return "index766"
    return "dossiers" if any(looks_like_dossiers([str(c) for c in row]) for row in head) else "report"


def plan_load(path: str | Path, kind: str | None = None, period: str | None = None, sheet: str | None = None,
              province: str | None = None, uploader: str | None = None, *, db: str | Path | None = None,
              file_name: str | None = None, now: dt.datetime | None = None,
              progress: Progress | None = None, compare: bool = True) -> LoadPlan:
    """Parse and validate a file; nothing is written. ``kind`` None detects dossier exports
    (else 'report'). Raises :class:`UsageError` for a bad request (missing file, bad option,
    several data sheets and no ``sheet``); a bad file gives a plan with ``fatal`` set."""
    started = dt.datetime.now()
    plan = _new_plan(path, kind, period, sheet, province, uploader, file_name, now or started, progress)
    path = plan.path
    try:
        plan.fmt = readers.sniff_format(path)
        plan.kind = kind or _detect_kind(path, plan.fmt, sheet)
        plan.options["kind"] = plan.kind
        readers.check_size(path, plan.kind)
        if progress:
            progress("reading")
        if plan.fmt == "json" and plan.kind != "index766":
            raise FileRejected(JSON_REPORT())
        if plan.kind == "dossiers":
            _plan_dossiers(plan, province, now, progress, sheet)
        elif plan.kind == "index766":
            if progress:
                progress("validating")
            _plan_index766(plan, period, province, sheet, now)
        else:
            table = readers.read_table(path, sheet)
            plan.options["sheet"] = table.sheet
            if progress:
                progress("validating")
            checked = VAL.check_report(table, plan.kind, period, province, now=now)
            plan.layout = checked.layout
            _adopt(plan, checked)
            errors = plan.errors
            plan.fatal = bool(errors.code.isin(["bad_format", "empty_file"]).any()) or (
                checked.values_read > 0 and errors.row.isna().any() and plan.rows.empty)
    except FileRejected as exc:
        _refuse(plan, exc)
    if compare:
        _compare(plan, db)
    # Named here, where the reference data is loaded for the resolver anyway: a plan made in
    # a child process (etl.load.sandbox) is summarised without loading it again.
    plan.unit_names = {code: unit_label(level, code) for level, code in
                       plan.rows[["level", "unit_code"]].drop_duplicates().itertuples(index=False)}
    plan.duration_s = (dt.datetime.now() - started).total_seconds()
    return plan


def _new_plan(path: str | Path, kind: str | None, period: str | None, sheet: str | None, province: str | None,
              uploader: str | None, file_name: str | None, received_at: dt.datetime,
              progress: Progress | None = None) -> LoadPlan:
    """A plan for a file not read yet: options checked, the file a readable regular file
    (a folder or a FIFO is named as such, and never opened), its checksum taken."""
    _check_options(kind, period)
    path = Path(path)
    limits.regular_file(path)
    sha, size = archive.sha256_of(path, progress)
    return LoadPlan(path=path, file_name=file_name or path.name, kind=kind or "report",
                    options={"kind": kind, "period": period, "sheet": sheet, "province": province},
                    sha256=sha, size_bytes=size, uploader=uploader or default_uploader(), received_at=received_at)


def _refuse(plan: LoadPlan, exc: FileRejected) -> None:
    """Mark the whole file unusable, with its one rejection line."""
    plan.fatal = True
    plan.rejections = found.of(exc.said, exc.row, exc.column, exc.value)
    plan.rows = pd.DataFrame(columns=VAL.OBS_COLUMNS)


def refused_plan(path: str | Path, exc: FileRejected, kind: str | None = None, period: str | None = None,
                 sheet: str | None = None, province: str | None = None, uploader: str | None = None, *,
                 db: str | Path | None = None, file_name: str | None = None, now: dt.datetime | None = None,
                 compare: bool = True) -> LoadPlan:
    """The plan of a file that could not be checked at all (:mod:`etl.load.sandbox`: the check
    ran out of memory or time): the same shape as any refused file."""
    plan = _new_plan(path, kind, period, sheet, province, uploader, file_name, now or dt.datetime.now())
    plan.fmt = readers.sniff_format(plan.path)
    _refuse(plan, exc)
    if compare:
        _compare(plan, db)
    return plan


def _plan_index766(plan: LoadPlan, period: str | None, province: str | None, sheet: str | None,
                   now: dt.datetime | None) -> None:
    """The portal's Decision 766 table (etl/load/index766.py)."""
    from etl import reference
    from etl.load import index766

    portal = index766.read(plan.path, sheet)
    plan.options["sheet"] = portal.sheet
    checked = index766.check(portal, period, province, reference.resolver(), now)
    plan.layout = "portal"
    _adopt(plan, checked)
    plan.fatal = checked.fatal


def _adopt(plan, checked) -> None:
    """A check's rows, rejections, counts and notes into the plan (every kind of file)."""
    plan.rows = checked.rows
    plan.rejections = checked.rejections
    plan.rows_read = checked.rows_read
    plan.values_read = checked.values_read
    plan.notes.extend(checked.notes)
    errors = plan.errors
    plan.rows_rejected = int(errors.row.dropna().nunique()) + int(errors.row.isna().any())


def _plan_dossiers(plan: LoadPlan, province: str | None, now: dt.datetime | None, progress,
                   sheet: str | None = None) -> None:
    from etl.load.dossiers import summarise_dossiers

    # Bounded and on both cores: the aggregation spills to a private temp folder rather than
    # growing past the memory limit (1.5 GB is ample for 10 M rows; more above).
    size = plan.path.stat().st_size if isinstance(plan.path, Path) and plan.path.exists() else 0
    with tempfile.TemporaryDirectory(prefix="dossiers_duckdb_") as spill:
        con = duckdb.connect(config={**warehouse.DUCKDB_CONFIG, "threads": min(2, os.cpu_count() or 1),
                                     "memory_limit": f"{limits.dossier_memory_mb(size)}MB",
                                     "temp_directory": spill})
        try:
            summary = summarise_dossiers(con, plan.path, province=province, now=now, sheet=sheet,
                                         progress=(lambda stage: progress(stage)) if progress else None)
        finally:
            con.close()
    plan.layout = "dossiers"
    obs = summary.observations.copy()
    obs["row"] = pd.NA
    obs["source"] = None
    obs["note"] = "aggregated from dossiers"
    plan.rows = obs[VAL.OBS_COLUMNS]
    plan.rejections = summary.rejections
    plan.rows_read = summary.rows_read
    plan.values_read = summary.rows_read
    plan.rows_rejected = summary.rows_rejected
    plan.notes.extend(summary.notes)


# --------------------------------------------------------------------------- reading the warehouse

def _db_path(db: str | Path | None) -> Path:
    return Path(db).resolve() if db is not None else paths.warehouse_path()


def _reader(db: Path):
    """A read-only view of the published file (``wh``) that never returns a cached old
    snapshot; a damaged file raises :class:`etl.warehouse.WarehouseUnreadable`."""
    return warehouse.reading(db)


def _find_loaded(con: duckdb.DuckDBPyConnection, plan: LoadPlan, schema: str = "") -> int | None:
    prefix = f"{schema}." if schema else ""
    rows = con.execute(
        f"SELECT load_id, options FROM {prefix}meta.load WHERE sha256 = ? AND status = 'loaded' ORDER BY load_id DESC",
        [plan.sha256]).fetchall()
    mine = {k: plan.options.get(k) for k in IDENTITY_OPTIONS}
    for load_id, options in rows:
        theirs = json.loads(options or "{}")
        if {k: theirs.get(k) for k in IDENTITY_OPTIONS} == mine:
            return int(load_id)
    return None


def _changes(con: duckdb.DuckDBPyConnection, rows: pd.DataFrame, schema: str = "") -> pd.DataFrame:
    """Loaded values against what readers see now: old_value (None = new), is_demo, load id."""
    prefix = f"{schema}." if schema else ""
    con.register("_incoming", rows[["level", "unit_code", "indicator", "period", "value"]])
    try:
        return con.execute(f"""
            SELECT n.level, n.unit_code, n.indicator, n.period, o.value AS old_value, n.value AS new_value,
                   o.is_demo AS old_is_demo, o.load_id AS old_load_id
            FROM _incoming n
            LEFT JOIN {prefix}pub.observation o
              ON o.indicator = n.indicator AND o.period = n.period AND o.level = n.level AND o.unit_code = n.unit_code
        """).df()
    finally:
        con.unregister("_incoming")


def _compare(plan: LoadPlan, db: str | Path | None) -> None:
    path = _db_path(db)
    if not path.exists():
        return
    try:
        with _reader(path) as con:
            plan.already_loaded = _find_loaded(con, plan, "wh")
            if len(plan.rows):
                plan.changes = _changes(con, plan.rows, "wh")
    except duckdb.Error:
        pass


# --------------------------------------------------------------------------- summaries

@cache
def _unit_names() -> dict[str, str]:
    from etl import reference

    names = dict(zip(reference.provinces().code, reference.provinces().name))
    names.update(zip(reference.communes().code, reference.communes().name))
    return names


def unit_label(level: str, code: str) -> str:
    name = _unit_names().get(code)
    return f"{name} ({code})" if name else str(code)


def summarise(plan: LoadPlan, changes: pd.DataFrame | None) -> dict:
    rows = plan.rows
    out: dict[str, Any] = {
        "file_name": plan.file_name, "kind": plan.kind, "format": plan.fmt, "layout": plan.layout,
        "sheet": plan.options.get("sheet"), "sha256": plan.sha256, "size_bytes": plan.size_bytes,
        "rows_read": plan.rows_read, "values_read": plan.values_read,
        "values_valid": len(rows), "rows_rejected": plan.rows_rejected,
        "rejections": len(plan.errors), "warnings": len(plan.warnings),
        "fatal": plan.fatal, "already_loaded": plan.already_loaded, "notes": list(plan.notes),
        "duration_s": round(plan.duration_s, 3),
    }
    if len(rows):
        out["units"] = {lvl: int(n) for lvl, n in rows.groupby("level").unit_code.nunique().items()}
        periods = sorted(rows.period.unique())
        out["periods"] = periods
        out["period_range"] = f"{periods[0]} … {periods[-1]}" if len(periods) > 1 else periods[0]
        out["indicators"] = sorted(rows.indicator.unique())
        out["unit_examples"] = [plan.unit_names[u] for u in rows.unit_code.drop_duplicates().head(EXAMPLES)]
    if plan.rejections is not None and len(plan.errors):
        out["rejections_by_reason"] = {k: int(v) for k, v in plan.errors.code.value_counts().items()}
    if changes is not None and len(changes):
        new = changes.old_value.isna()
        same = ~new & ((changes.old_value - changes.new_value).abs() <= 1e-9 * changes.new_value.abs().clip(lower=1))
        changed = ~new & ~same
        out["values_new"] = int(new.sum())
        out["values_unchanged"] = int(same.sum())
        out["values_changed"] = int(changed.sum())
        out["demo_values_replaced"] = int((~new & changes.old_is_demo.fillna(False).astype(bool)).sum())
        ex = (changes[changed].assign(delta=lambda d: (d.new_value - d.old_value).abs())
              .sort_values("delta", ascending=False))
        out["change_examples"] = [
            {"unit": plan.unit_names[r.unit_code], "indicator": r.indicator, "period": r.period,
             "old": r.old_value, "new": r.new_value, "old_is_demo": bool(r.old_is_demo)}
            for r in ex.head(EXAMPLES).itertuples(index=False)
        ]
    return out


# --------------------------------------------------------------------------- writing

def _source_rows(plan: LoadPlan, load_id: int) -> tuple[pd.Series, list[dict]]:
    """source_id per observation and the ref.source rows: one per distinct 'source' text. Values
    without one are credited to the file and its load number, which is what a reader can look
    up in the load history (the uploader is in the description)."""
    base = f"load:{load_id}"
    sources = plan.rows.source if "source" in plan.rows else pd.Series(dtype=object)
    distinct = [s for s in dict.fromkeys(sources.dropna().tolist()) if s]
    ids = {s: f"{base}:{i + 1}" for i, s in enumerate(distinct)}
    source_id = sources.map(lambda s: ids.get(s, base) if isinstance(s, str) else base)
    desc = f"{plan.file_name} ({plan.kind}, load {load_id}, uploaded by {plan.uploader})"
    rows = [{"id": base, "producer": f"{plan.file_name} (#{load_id})", "description": desc}]
    rows += [{"id": i, "producer": s, "description": desc} for s, i in ids.items()]
    return source_id, rows


def write_load(con: duckdb.DuckDBPyConnection, plan: LoadPlan, load_id: int, *, status: str = "loaded",
               accept_valid: bool = False, started_at: dt.datetime | None = None,
               finished_at: dt.datetime | None = None, undone_at: Any = None,
               archived: str | None = None) -> int:
    """Insert one load (meta.load, raw.file, ref.source, observations, quarantine) into an
    open warehouse connection; the caller publishes. Returns the number of values written."""
    now = dt.datetime.now()
    options = dict(plan.options, accept_valid=accept_valid, format=plan.fmt, layout=plan.layout)
    rows = plan.rows
    source_id, sources = _source_rows(plan, load_id)
    obs = pd.DataFrame({
        "load_id": load_id, "indicator": rows.indicator.astype(object), "period": rows.period.astype(object),
        "level": rows.level.astype(object), "unit_code": rows.unit_code.astype(object),
        "value": pd.to_numeric(rows.value, errors="coerce").astype("float64"),
        "numerator": pd.to_numeric(rows.numerator, errors="coerce").astype("float64"),
        "denominator": pd.to_numeric(rows.denominator, errors="coerce").astype("float64"),
        "source_id": source_id.astype(object), "is_demo": False,
        "note": rows.note.astype(object),
    })
    _insert_row(con, "meta.load", {
        "load_id": load_id, "kind": plan.kind, "file_name": plan.file_name, "sha256": plan.sha256, "status": status,
        "rows_read": plan.rows_read, "rows_loaded": len(obs), "rows_rejected": plan.rows_rejected,
        "uploader": plan.uploader, "options": json.dumps(options, ensure_ascii=False),
        "started_at": started_at or now, "finished_at": finished_at or now, "undone_at": undone_at,
    })
    _insert_row(con, "raw.file", {
        "load_id": load_id, "file_name": plan.file_name, "kind": plan.kind, "sha256": plan.sha256,
        "size_bytes": plan.size_bytes, "uploader": plan.uploader, "received_at": plan.received_at,
        "archived_path": archived,
    })
    for s in sources:
        con.execute("INSERT OR REPLACE INTO ref.source (id, producer, url, version, licence, checksum, "
                    "loaded_at, description) "
                    "VALUES (?, ?, NULL, NULL, NULL, ?, ?, ?)",
                    [s["id"], s["producer"], plan.sha256, finished_at or now, s["description"]])
    _check_contract(obs)
    con.register("_obs", obs)
    try:
        con.execute("INSERT INTO clean.observation_history BY NAME SELECT * FROM _obs")
    finally:
        con.unregister("_obs")
    rej = plan.rejections
    if len(rej):
        q = pd.DataFrame({
            "load_id": load_id, "row_number": pd.to_numeric(rej.row, errors="coerce").astype("Int64"),
            "column_name": rej.column.astype(object),
            "value": rej.value.astype(object),
            "reason": [f"{c}: {r}" if s == "error" else f"{c} (warning): {r}"
                       for c, r, s in zip(rej.code, rej.reason, rej.severity)],
            "suggestion": rej.suggestion.astype(object),
        })
        con.register("_quarantine", q)
        try:
            con.execute("INSERT INTO clean.quarantine BY NAME SELECT * FROM _quarantine")
        finally:
            con.unregister("_quarantine")
    return len(obs)


def _insert_row(con: duckdb.DuckDBPyConnection, table: str, row: dict[str, Any]) -> None:
    """One row, its values matched to the table's columns by name (never by position)."""
    con.execute(f"INSERT INTO {table} ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})", list(row.values()))


def _check_contract(obs: pd.DataFrame) -> None:
    """Last line of defence before the clean layer (a failure here is a bug, not bad data):
    known level, GSO-shaped unit code, catalog indicator, YYYY-MM period, finite value,
    one row per key."""
    from core import catalog

    problems = []
    if not obs.level.isin(["province", "commune"]).all():
        problems.append("level")
    width = obs.level.map({"province": 2, "commune": 5})
    if not (obs.unit_code.str.len().eq(width) & obs.unit_code.str.isdigit()).all():
        problems.append("unit_code")
    if not obs.indicator.isin(list(catalog.indicators())).all():
        problems.append("indicator")
    if not obs.period.str.fullmatch(r"\d{4}-(0[1-9]|1[0-2])").all():
        problems.append("period")
    if not (obs.value.notna() & (obs.value.abs() < float("inf"))).all():
        problems.append("value")
    if obs.duplicated(["indicator", "period", "level", "unit_code"]).any():
        problems.append("duplicate keys")
    if problems:
        raise RuntimeError(f"internal error: observations break the clean-layer contract ({', '.join(problems)})")


class _AlreadyLoaded(Exception):
    def __init__(self, load_id: int):
        self.load_id = load_id


def _reject(plan: LoadPlan, message_key: str, directory: Path, **values: Any) -> LoadResult:
    try:
        ext = archive.extension(plan.path, plan.fmt)
        stored, whole = archive.store_refused(plan.path, plan.sha256, ext, limits.current().refused_archive_bytes,
                                              directory) if plan.path.is_file() else (None, False)
        archive.log_rejected({
            "sha256": plan.sha256, "file_name": plan.file_name, "kind": plan.kind, "options": plan.options,
            "uploader": plan.uploader, "received_at": plan.received_at.isoformat(sep=" "),
            "size_bytes": plan.size_bytes, "archived_name": stored.name if stored else None,
            "archived_whole": whole,
            "rejections": len(plan.errors),
            "reasons": {k: int(v) for k, v in plan.errors.code.value_counts().items()},
        }, directory)
    except (OSError, FileRejected, UsageError, warehouse.WriteFailed):  # the archive is best effort for refused files
        pass
    return LoadResult("rejected", plan, message_key=message_key, message_values=values)


def apply_load(plan: LoadPlan, accept_valid: bool = False, db: str | Path | None = None,
               progress: Progress | None = None) -> LoadResult:
    """Write a planned file into the warehouse (atomically) or refuse it.

    - the same file with the same options already loaded -> 'already_loaded', nothing changes;
    - any error and not ``accept_valid`` (or an unusable file, or no valid value) ->
      'rejected', the warehouse stays byte-for-byte as it was;
    - otherwise a new load id; rejected rows go to ``clean.quarantine``.

    The file is archived next to the warehouse written to (``db``), never next to another.
    Raises :class:`etl.warehouse.WarehouseError` when the warehouse cannot be read or the
    warehouse, archive or manifest cannot be written; nothing is loaded then.
    """
    path = _db_path(db)
    if not path.exists():
        raise UsageError(f"no warehouse at {path}: run `python -m etl build` first")
    directory = paths.raw_archive_dir(path)
    if plan.fatal:
        return _reject(plan, "result_fatal", directory)
    if len(plan.errors) and not accept_valid:
        return _reject(plan, "result_rejected", directory, rows=plan.rows_rejected)
    if plan.rows.empty:
        return _reject(plan, "result_nothing_valid", directory)
    with _reader(path) as con:
        existing = _find_loaded(con, plan, "wh")
    if existing is not None:
        plan.already_loaded = existing
        return LoadResult("already_loaded", plan, load_id=existing, message_key="result_already_loaded",
                          message_values={"load_id": existing})

    ext = archive.extension(plan.path, plan.fmt)
    stored = archive.store(plan.path, plan.sha256, ext, directory)
    started = dt.datetime.now()
    if progress:
        progress("writing")
    try:
        with warehouse.updating(path) as con:
            existing = _find_loaded(con, plan)
            if existing is not None:
                raise _AlreadyLoaded(existing)
            load_id = int(con.execute("SELECT coalesce(max(load_id), 0) + 1 FROM meta.load").fetchall()[0][0])
            changes = _changes(con, plan.rows)
            written = write_load(con, plan, load_id, accept_valid=accept_valid, started_at=started,
                                 archived=str(stored))
            if progress:
                progress("publishing")
    except _AlreadyLoaded as exc:
        plan.already_loaded = exc.load_id
        return LoadResult("already_loaded", plan, load_id=exc.load_id, message_key="result_already_loaded",
                          message_values={"load_id": exc.load_id})
    plan.changes = changes
    return LoadResult("loaded", plan, load_id=load_id, rows_loaded=written, changes=changes,
                      message_key="result_loaded", message_values={"load_id": load_id})


# --------------------------------------------------------------------------- history and undo

def history(db: str | Path | None = None) -> pd.DataFrame:
    """Every load, oldest first (load 0 is the demo data), with its file and counts."""
    with _reader(_db_path(db)) as con:
        return con.execute("""
            SELECT l.load_id, l.kind, l.file_name, l.status, l.rows_read, l.rows_loaded, l.rows_rejected,
                   l.uploader, l.started_at, l.finished_at, l.undone_at, l.sha256, f.size_bytes,
                   f.received_at, l.options,
                   (SELECT count(*) FROM wh.clean.quarantine q WHERE q.load_id = l.load_id) AS quarantined
            FROM wh.meta.load l LEFT JOIN wh.raw.file f USING (load_id)
            ORDER BY l.load_id
        """).df()


def quarantine(load_id: int, db: str | Path | None = None) -> pd.DataFrame:
    with _reader(_db_path(db)) as con:
        return con.execute("SELECT * FROM wh.clean.quarantine WHERE load_id = ? ORDER BY row_number",
                           [load_id]).df()


def undo(load_id: int, db: str | Path | None = None, user: str | None = None) -> UndoResult:
    """Mark a load undone (its rows stay in history) and republish: each value it set goes
    back to the previous load's value, or the demo value, or disappears."""
    path = _db_path(db)
    load_id = int(load_id)
    if load_id == 0:
        raise UndoError("load 0 is the demo data and cannot be undone (load real data to replace it)")
    with warehouse.updating(path) as con:
        found = con.execute("SELECT status, file_name FROM meta.load WHERE load_id = ?", [load_id]).fetchall()
        row = found[0] if found else None
        if row is None:
            raise UndoError(f"there is no load {load_id} (see `python -m etl history`)")
        if row[0] != "loaded":
            raise UndoError(f"load {load_id} is already {row[0]}")
        before = con.execute("""
            SELECT DISTINCT h.level, h.unit_code, h.indicator, h.period, o.value AS old_value
            FROM clean.observation_history h
            LEFT JOIN pub.observation o USING (indicator, period, level, unit_code)
            WHERE h.load_id = ?
        """, [load_id]).df()
        con.execute(
            "UPDATE meta.load SET status = 'undone', undone_at = ?, "
            "options = json_merge_patch(coalesce(options, '{}'), ?)::VARCHAR WHERE load_id = ?",
            [dt.datetime.now(), json.dumps({"undone_by": user or default_uploader()}), load_id])
    with _reader(path) as con:
        con.register("_before", before)
        changes = con.execute("""
            SELECT b.level, b.unit_code, b.indicator, b.period, b.old_value, o.value AS new_value,
                   o.is_demo AS new_is_demo, o.load_id AS new_load_id
            FROM _before b LEFT JOIN wh.pub.observation o USING (indicator, period, level, unit_code)
            ORDER BY b.level, b.indicator, b.period, b.unit_code
        """).df()
    return UndoResult(load_id, changes, row[1])


# --------------------------------------------------------------------------- replay

@dataclass
class Replay:
    """One recorded load, checked and re-read for a rebuild: ``plan`` is None when the load is
    (or is now being) dropped, which keeps its record but none of its values."""

    entry: dict
    plan: LoadPlan | None = None
    stored: Path | None = None
    drop_now: bool = False


def plan_replay(loads: list[dict], directory: Path, drop: Collection[int] = ()) -> list[Replay]:
    """Check and re-read every recorded load (``warehouse.recorded_loads`` or the recovery
    manifest) before a rebuild writes anything.

    Each load's archived file must be in ``directory`` (or at its recorded path, then copied
    into ``directory``), unaltered, and must give the same number of values as when it was
    loaded. Otherwise :class:`etl.warehouse.RebuildRefused` names every such load, its file
    and the expected path: a rebuild never quietly reverts a load. The loads in ``drop`` (and
    those dropped before) are kept in the record as ``dropped``, without their values."""
    known = {int(entry["load_id"]) for entry in loads}
    unknown = sorted(set(drop) - known)
    if unknown:
        raise warehouse.RebuildRefused(
            f"--drop-load {unknown[0]}: there is no load {unknown[0]} in the record (see `python -m etl history`)")
    problems: dict[int, str] = {}
    replays = []
    for entry in loads:
        load_id = int(entry["load_id"])
        if entry["status"] == "dropped" or load_id in drop:
            replays.append(Replay(entry, drop_now=entry["status"] != "dropped"))
            continue
        try:
            replays.append(_replay_one(entry, directory))
        except _NotReplayable as exc:
            problems[load_id] = f"load {load_id} ({entry['file_name']}): {exc}"
    if problems:
        options = " ".join(f"--drop-load {load_id}" for load_id in problems)
        raise warehouse.RebuildRefused(
            "the rebuild would lose recorded loads, so nothing was changed:\n  " + "\n  ".join(problems.values())
            + f"\nRestore the archived files, or rebuild without those loads: python -m etl build {options}"
            " (docs/operations.md)")
    return replays


class _NotReplayable(Exception):
    pass


def _replay_one(entry: dict, directory: Path) -> Replay:
    sha = entry.get("sha256")
    recorded = Path(entry["archived_path"]) if entry.get("archived_path") else None
    if not sha or recorded is None:
        raise _NotReplayable("no archived file is recorded for it")
    expected = directory / recorded.name
    found = next((p for p in (expected, recorded) if p.is_file()), None)
    if found is None:
        raise _NotReplayable(f"archived file missing, expected at {expected}")
    try:
        actual = archive.sha256_of(found)[0]
    except OSError as exc:
        raise _NotReplayable(f"archived file {found} cannot be read ({exc.strerror})") from exc
    if actual != sha:
        raise _NotReplayable(f"archived file {found} was altered (its checksum is not {sha})")
    if found != expected:
        found = archive.store(found, sha, expected.suffix.lstrip("."), directory)
    options = entry.get("options") or {}
    received = _parse_time(entry.get("received_at"))
    try:
        plan = plan_load(found, kind=entry["kind"], period=options.get("period"), sheet=options.get("sheet"),
                         province=options.get("province"), uploader=entry.get("uploader"),
                         file_name=entry["file_name"], compare=False, now=received or dt.datetime.now())
    except UsageError as exc:
        raise _NotReplayable(f"{found.name} cannot be re-read ({exc})") from exc
    plan.received_at = received or plan.received_at
    accepted = len(plan.rows) if (plan.errors.empty or options.get("accept_valid")) and not plan.fatal else 0
    if accepted != entry.get("rows_loaded"):
        raise _NotReplayable(f"re-reading {found.name} now gives {accepted:,} values, not the "
                             f"{entry.get('rows_loaded') or 0:,} it loaded (the reference data or the rules changed)")
    return Replay(entry, plan, found)


def apply_replay(con: duckdb.DuckDBPyConnection, replays: list[Replay]) -> int:
    """Write the checked loads into a warehouse being built (same load ids, status and times;
    the caller publishes). Returns how many loads were replayed with their values."""
    replayed = 0
    for r in replays:
        entry = r.entry
        times = {key: _parse_time(entry.get(key)) for key in ("started_at", "finished_at", "undone_at")}
        if r.plan is None:
            _record_dropped(con, entry, times, r.drop_now)
            continue
        options = entry.get("options") or {}
        write_load(con, r.plan, int(entry["load_id"]), status=entry["status"],
                   accept_valid=bool(options.get("accept_valid")), archived=str(r.stored), **times)
        replayed += 1
    return replayed


def _record_dropped(con: duckdb.DuckDBPyConnection, entry: dict, times: dict, drop_now: bool) -> None:
    """Keep a dropped load in the record (history shows it; its id is never reused)."""
    options = dict(entry.get("options") or {})
    if drop_now:
        options["dropped_at"] = dt.datetime.now().isoformat(sep=" ", timespec="seconds")
    _insert_row(con, "meta.load", {
        "load_id": entry["load_id"], "kind": entry["kind"], "file_name": entry["file_name"],
        "sha256": entry.get("sha256"), "status": "dropped", "rows_read": entry.get("rows_read"),
        "rows_loaded": entry.get("rows_loaded"), "rows_rejected": entry.get("rows_rejected"),
        "uploader": entry.get("uploader"), "options": json.dumps(options, ensure_ascii=False), **times,
    })
    _insert_row(con, "raw.file", {
        "load_id": entry["load_id"], "file_name": entry["file_name"], "kind": entry["kind"],
        "sha256": entry.get("sha256"), "size_bytes": entry.get("size_bytes"), "uploader": entry.get("uploader"),
        "received_at": _parse_time(entry.get("received_at")), "archived_path": entry.get("archived_path"),
    })


def _parse_time(value: Any) -> dt.datetime | None:
    if not value:
        return None
    try:
        return dt.datetime.fromisoformat(str(value))
    except ValueError:
        return None
