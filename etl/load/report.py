"""Human-readable load reports: console text and the rejection CSV (UTF-8 with BOM, so
Excel opens the Vietnamese text correctly), in English or Vietnamese (``lang``; the words are
``load_report.*`` and ``reason.*`` in data/i18n.toml)."""

from __future__ import annotations

import os
import tempfile
import textwrap
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from core import fmt, i18n
from core.safety import neutralise
from etl.load.limits import report_target
from etl.load.rules import title
from etl.load.rules.found import REJECTION_COLUMNS, localised

CONSOLE_LINES = 25
# What a report line without a row number is about (any other such line is about the file).
ROWLESS_PLACE = {"duplicate_dossier": "dossier", "duplicates_not_listed": "dossiers", "partial_province": "province"}
LABELS = ("rows_read", "values_to_load", "values_loaded", "rows_rejected", "warnings", "units", "periods",
          "indicators", "values_changed")


def _num(n, lang: str = "en") -> str:
    if n is None or (isinstance(n, float) and n != n):
        return "–"
    return fmt.number(n, 2 if isinstance(n, float) and not n.is_integer() else 0, lang)


def _sayer(lang: str) -> Callable[..., str]:
    """``say(key, **values)``: a sentence of the report (``load_report.*`` in data/i18n.toml) in ``lang``."""
    return lambda key, **values: i18n.sentence(f"load_report.{key}", lang, values)


def summary_text(summary: dict, lang: str = "en") -> str:
    """The summary of a plan or a result (``LoadPlan.summary`` / ``LoadResult.summary``)."""
    say = _sayer(lang)

    labels = {key: say(key) for key in LABELS}
    width = max(map(len, labels.values())) + 1

    def line(key: str, value: str) -> str:
        return f"  {labels[key]:<{width}} {value}"

    lines = []
    status = summary.get("status")
    title_line = {"loaded": "title_loaded", "rejected": "title_rejected", "already_loaded": "title_already_loaded",
                  "dry_run": "title_dry_run"}.get(status)
    head = f"{summary['file_name']}  ({summary['kind']}, {summary['format']}"
    if summary.get("sheet"):
        head += say("sheet", sheet=summary["sheet"])
    if summary.get("layout"):
        head += say("layout", layout=summary["layout"])
    lines.append(head + ")")
    if title_line:
        lines.append(say(title_line, load_id=summary.get("load_id")))
    if summary.get("message_key") and status != "already_loaded":
        lines.append(say(summary["message_key"], **summary["message_values"]))
    values = summary.get("values_read")
    lines.append(line("rows_read", _num(summary["rows_read"], lang))
                 + ("  " + say("values_of_rows", n=_num(values, lang)) if values != summary["rows_read"] else ""))
    if status == "already_loaded":
        return "\n".join(lines)
    loaded = summary.get("values_loaded", summary["values_valid"] if status in (None, "dry_run") else 0)
    lines.append(line("values_to_load" if status in (None, "dry_run") else "values_loaded", _num(loaded, lang)))
    lines.append(line("rows_rejected", _num(summary["rows_rejected"], lang))
                 + ("  " + say("problems", n=_num(summary["rejections"], lang))
                    if summary["rejections"] > summary["rows_rejected"] else ""))
    if summary.get("warnings"):
        lines.append(line("warnings", _num(summary["warnings"], lang)))
    if summary.get("units"):
        units = ", ".join(f"{_num(n, lang)} {i18n.t('refresh.level_' + level, lang)}"
                          for level, n in summary["units"].items())
        lines.append(line("units", f"{units}  " + say("examples", examples=", ".join(summary["unit_examples"][:3]))))
        lines.append(line("periods", f"{len(summary['periods'])} ({summary['period_range']})"))
        lines.append(line("indicators", ", ".join(summary["indicators"])))
    if "values_changed" in summary:
        lines.append(line("values_changed", _num(summary["values_changed"], lang) + "  " + say(
            "changes", new=_num(summary["values_new"], lang), unchanged=_num(summary["values_unchanged"], lang),
            demo=_num(summary["demo_values_replaced"], lang))))
        for ex in summary.get("change_examples", []):
            demo = say("demo_mark") if ex["old_is_demo"] else ""
            lines.append(f"      {ex['unit']}  {ex['indicator']}  {ex['period']}:  "
                         f"{_num(ex['old'], lang)}{demo} → {_num(ex['new'], lang)}")
    for note in summary.get("notes", []):
        lines.append("  " + say("note", note=note.text(lang)))
    if summary.get("already_loaded") and status not in ("already_loaded", "loaded"):
        lines.append("  " + say("was_loaded", load_id=summary["already_loaded"]))
    if summary.get("duration_s") is not None:
        lines.append("  " + say("checked_in", seconds=summary["duration_s"]))
    return "\n".join(lines)


def rejections_text(rejections: pd.DataFrame, limit: int = CONSOLE_LINES, lang: str = "en") -> str:
    """Rejections grouped by reason with counts, then the first ``limit`` lines in detail."""
    if rejections is None or rejections.empty:
        return ""

    say = _sayer(lang)

    lines = []
    errors = rejections[rejections.severity == "error"]
    warnings = rejections[rejections.severity == "warning"]
    for key, frame in (("problems_by_reason", errors), ("warnings_by_reason", warnings)):
        if frame.empty:
            continue
        lines.append(say(key))
        for code, n in frame.code.value_counts().items():
            lines.append(f"  {_num(n, lang):>7}  {title(code, lang)} [{code}]")
    lines.append("")
    lines.append(say("first_problems"))
    shown = localised(pd.concat([errors, warnings]).head(limit), lang)
    for r in shown.itertuples(index=False):
        where = say("row", row=r.row) if pd.notna(r.row) else say("place_" + ROWLESS_PLACE.get(r.code, "file"))
        col = f", {r.column}" if isinstance(r.column, str) and r.column else ""
        val = f", {r.value!r}" if isinstance(r.value, str) and r.value else ""
        text = f"  {where}{col}{val} – {r.reason}"
        if isinstance(r.suggestion, str) and r.suggestion:
            text += f"; {r.suggestion}"
        lines.append(textwrap.shorten(text, 240, placeholder=" …"))
    if len(rejections) > limit:
        lines.append("  " + say("more_lines", n=len(rejections) - limit))
    return "\n".join(lines)


def write_rejections_csv(rejections: pd.DataFrame, path: str | Path, lang: str = "en") -> Path:
    """The rejection report as CSV, its reasons and suggestions in ``lang`` (the column names
    stay as they are: programs read them), every text cell spreadsheet-inert
    (core.safety.neutralise). Written to a new file beside the target and renamed over it, so a
    link planted at the path after :func:`etl.load.limits.report_target` looked is replaced,
    never written through."""
    path = report_target(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = localised(rejections, lang)[REJECTION_COLUMNS].copy() if len(rejections) else \
        pd.DataFrame(columns=REJECTION_COLUMNS)
    frame.insert(4, "reason_title", frame.code.map(lambda c: title(c, lang)))
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
    view["file_name"] = view.file_name.fillna("(demo data)").map(
        lambda s: textwrap.shorten(str(s), 40, placeholder="…"))
    return view.to_string(index=False)


# --------------------------------------------------------------------------- JSON for programs

CHANGES_LISTED = 500  # value changes listed in the JSON document (all are counted)
REJECTION_KEYS = ("row", "column", "value", "code", "severity", "reason", "suggestion",
                  "reason_key", "suggestion_key", "params")
CHANGE_KEYS = ("level", "unit_code", "indicator", "period", "old_value", "new_value", "old_is_demo")


def plain_value(value):
    """A value JSON can hold as itself: numpy and pandas scalars as Python ones, a missing
    value as None, a time as ISO text, containers element by element."""
    if isinstance(value, dict):
        return {str(k): plain_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_value(v) for v in value]
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return None if value != value else value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    if hasattr(value, "item"):  # numpy scalar
        return plain_value(value.item())
    return str(value)


def _records(frame: pd.DataFrame | None, keys: tuple[str, ...], limit: int | None = None) -> list[dict]:
    if frame is None or frame.empty:
        return []
    part = frame if limit is None else frame.head(limit)
    return [{key: plain_value(value) for key, value in zip(keys, row)}
            for row in part[list(keys)].itertuples(index=False, name=None)]


def load_document(result, exit_code: int) -> dict:
    """What ``python -m etl load --json`` prints: the summary (status, load id, counts, the
    message's key and values), the exit code, every rejection with the keys and values of its
    sentences (so a reader's program says them in its language; ``errors`` counts those that
    stop a load, the summary's ``rejections``), the notes' keys and counts,
    and the first :data:`CHANGES_LISTED` value changes against the warehouse with their unit
    names (``changes_total`` counts them all)."""
    from etl.load.apply import unit_label

    plan = result.plan
    summary = result.summary
    changes = result.changes if result.changes is not None else plan.changes
    listed = _records(changes, CHANGE_KEYS, CHANGES_LISTED)
    for change in listed:
        change["unit"] = unit_label(change["level"], change["unit_code"])
    document = plain_value({key: value for key, value in summary.items() if key != "notes"})
    document.update(
        exit_code=exit_code, uploader=plan.uploader, errors=summary["rejections"],
        notes=[{"key": note.key, "counts": plain_value(note.counts)} for note in plan.notes],
        rejections=_records(plan.rejections, REJECTION_KEYS),
        changes_total=0 if changes is None else len(changes), changes=listed,
    )
    return document
