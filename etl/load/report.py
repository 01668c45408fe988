"""Human-readable load reports: console text and the rejection CSV (UTF-8 with BOM, so
Excel opens the Vietnamese text correctly)."""

from __future__ import annotations

import os
import tempfile
import textwrap
from pathlib import Path

import pandas as pd

from core.safety import neutralise
from etl.load.limits import report_target
from etl.load.validate import REASONS, REJECTION_COLUMNS

CONSOLE_LINES = 25
# What a report line without a row number is about (any other such line is about the file).
ROWLESS_PLACE = {"duplicate_dossier": "dossier", "duplicates_not_listed": "dossiers", "partial_province": "province"}


def _num(n) -> str:
    if n is None or (isinstance(n, float) and n != n):
        return "–"
    if isinstance(n, float) and not n.is_integer():
        return f"{n:,.2f}"
    return f"{int(n):,}"


def summary_text(summary: dict) -> str:
    """The summary of a plan or a result (``LoadPlan.summary`` / ``LoadResult.summary``)."""
    lines = []
    status = summary.get("status")
    title = {"loaded": f"LOADED as load {summary.get('load_id')}",
             "rejected": "REJECTED – nothing was loaded",
             "already_loaded": f"ALREADY LOADED as load {summary.get('load_id')} – nothing changed",
             "dry_run": "DRY RUN – nothing was written"}.get(status, "")
    head = f"{summary['file_name']}  ({summary['kind']}, {summary['format']}"
    if summary.get("sheet"):
        head += f", sheet {summary['sheet']!r}"
    if summary.get("layout"):
        head += f", {summary['layout']} layout"
    lines.append(head + ")")
    if title:
        lines.append(title)
    if summary.get("message") and status != "already_loaded":
        lines.append(summary["message"])
    lines.append(f"  rows read:        {_num(summary['rows_read'])}"
                 + (f"  ({_num(summary['values_read'])} values)" if summary.get("values_read") != summary["rows_read"] else ""))
    if status == "already_loaded":
        return "\n".join(lines)
    loaded = summary.get("values_loaded", summary["values_valid"] if status in (None, "dry_run") else 0)
    label = "values to load:" if status in (None, "dry_run") else "values loaded:"
    lines.append(f"  {label:<17} {_num(loaded)}")
    lines.append(f"  rows rejected:    {_num(summary['rows_rejected'])}"
                 + (f"  ({_num(summary['rejections'])} problems)" if summary["rejections"] > summary["rows_rejected"] else ""))
    if summary.get("warnings"):
        lines.append(f"  warnings:         {_num(summary['warnings'])}")
    if summary.get("units"):
        units = ", ".join(f"{n:,} {lvl}{'s' if n != 1 else ''}" for lvl, n in summary["units"].items())
        lines.append(f"  units touched:    {units}  (e.g. {', '.join(summary['unit_examples'][:3])})")
        periods = summary["periods"]
        lines.append(f"  periods touched:  {len(periods)} ({summary['period_range']})")
        lines.append(f"  indicators:       {', '.join(summary['indicators'])}")
    if "values_changed" in summary:
        lines.append(f"  values changed:   {_num(summary['values_changed'])}  "
                     f"(new {_num(summary['values_new'])}, unchanged {_num(summary['values_unchanged'])}, "
                     f"demo values replaced {_num(summary['demo_values_replaced'])})")
        for ex in summary.get("change_examples", []):
            demo = " (demo)" if ex["old_is_demo"] else ""
            lines.append(f"      {ex['unit']}  {ex['indicator']}  {ex['period']}:  "
                         f"{_num(ex['old'])}{demo} → {_num(ex['new'])}")
    for note in summary.get("notes", []):
        lines.append(f"  note: {note}")
    if summary.get("already_loaded") and status not in ("already_loaded", "loaded"):
        lines.append(f"  this file was already loaded as load {summary['already_loaded']}")
    if summary.get("duration_s") is not None:
        lines.append(f"  checked in {summary['duration_s']:.2f} s")
    return "\n".join(lines)


def rejections_text(rejections: pd.DataFrame, limit: int = CONSOLE_LINES) -> str:
    """Rejections grouped by reason with counts, then the first ``limit`` lines in detail."""
    if rejections is None or rejections.empty:
        return ""
    lines = []
    errors = rejections[rejections.severity == "error"]
    warnings = rejections[rejections.severity == "warning"]
    for label, frame in (("Problems", errors), ("Warnings", warnings)):
        if frame.empty:
            continue
        lines.append(f"{label} by reason:")
        for code, n in frame.code.value_counts().items():
            lines.append(f"  {n:>7,}  {REASONS.get(code, code)} [{code}]")
    lines.append("")
    lines.append("First problems (row, column, value – reason; suggestion):")
    shown = pd.concat([errors, warnings]).head(limit)
    for r in shown.itertuples(index=False):
        where = f"row {r.row}" if pd.notna(r.row) else ROWLESS_PLACE.get(r.code, "file")
        col = f", {r.column}" if isinstance(r.column, str) and r.column else ""
        val = f", {r.value!r}" if isinstance(r.value, str) and r.value else ""
        text = f"  {where}{col}{val} – {r.reason}"
        if isinstance(r.suggestion, str) and r.suggestion:
            text += f"; {r.suggestion}"
        lines.append(textwrap.shorten(text, 240, placeholder=" …"))
    if len(rejections) > limit:
        lines.append(f"  … and {len(rejections) - limit:,} more (see the CSV report)")
    return "\n".join(lines)


def write_rejections_csv(rejections: pd.DataFrame, path: str | Path) -> Path:
    """The rejection report as CSV, every text cell spreadsheet-inert (core.safety.neutralise).
    Written to a new file beside the target and renamed over it, so a link planted at the path
    after :func:`etl.load.limits.report_target` looked is replaced, never written through."""
    path = report_target(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = rejections[REJECTION_COLUMNS].copy() if len(rejections) else pd.DataFrame(columns=REJECTION_COLUMNS)
    frame.insert(4, "reason_title", frame.code.map(lambda c: REASONS.get(c, c)))
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8-sig", newline="") as out:
            neutralise(frame).to_csv(out, index=False)
        os.chmod(temp, 0o644)  # as an ordinary new file (mkstemp makes it private)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return path


def undo_text(result) -> str:
    s = result.summary
    lines = [f"UNDONE load {s['load_id']} ({s['file_name']})",
             f"  values affected: {s['values_affected']:,}  (restored to an earlier value {s['values_restored']:,}, "
             f"removed {s['values_removed']:,})"]
    c = result.changes
    if len(c):
        from etl.load.apply import unit_label

        for r in c.head(5).itertuples(index=False):
            new = _num(r.new_value) if pd.notna(r.new_value) else "(none)"
            demo = " (demo)" if pd.notna(r.new_value) and bool(r.new_is_demo) else ""
            lines.append(f"      {unit_label(r.level, r.unit_code)}  {r.indicator}  {r.period}:  "
                         f"{_num(r.old_value)} → {new}{demo}")
    return "\n".join(lines)


def history_text(frame: pd.DataFrame) -> str:
    if frame.empty:
        return "no loads"
    cols = ["load_id", "kind", "status", "file_name", "rows_loaded", "rows_rejected", "uploader", "finished_at"]
    view = frame[cols].copy()
    view["finished_at"] = pd.to_datetime(view.finished_at).dt.strftime("%Y-%m-%d %H:%M")
    view["file_name"] = view.file_name.fillna("(demo data)").map(lambda s: textwrap.shorten(str(s), 40, placeholder="…"))
    return view.to_string(index=False)
