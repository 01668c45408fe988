"""Data refresh (Cập nhật dữ liệu): data staff upload a report, check it (dry run), confirm
the load, and undo loads. Login required (``python -m etl users add``); viewers and
anonymous readers see no controls.

Flow: upload → options (kind, period, province, Excel sheet, accept valid rows) → "Kiểm tra
(chạy thử)" runs ``plan_load`` in a child process with a memory and time limit
(``etl.load.sandbox``: no file can take the server down; nothing is written) → summary and rejection report (table +
CSV) → "Xác nhận nạp" runs ``apply_load`` (atomic; the raw file is archived with checksum,
size, uploader = the logged-in user, and time) → result. The dashboard's query cache is keyed
on the warehouse file's signature, so every page shows the new data on its next query.
"""

from __future__ import annotations

from dashboard.shell import ensure_app_shell

ensure_app_shell()  # before anything renders: see dashboard/shell.py

import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from core.safety import plain
from core import fmt, i18n
from dashboard import auth, queries, state, ui
from etl.load import apply as loader
from etl.load import sandbox
from etl.load.readers import UsageError
from etl.load.rules import title as reason_title
from etl.load.rules.found import localised
from etl.warehouse import WarehouseError

lang = state.current_lang()


def t(key: str, **values: Any) -> str:
    return i18n.t(key, lang, **values)


S = "_dx.refresh."  # session-state prefix of this page
ss = st.session_state
EXTENSIONS = {".csv": ".csv", ".txt": ".csv", ".xlsx": ".xlsx", ".xlsm": ".xlsx", ".xls": ".xls",
              ".parquet": ".parquet", ".pq": ".parquet"}
UPLOAD_TYPES = ["csv", "xlsx", "xlsm", "xls", "parquet"]
HISTORY_UNDO_ROWS = 15
CHANGES_SHOWN = 500
UPLOAD_DIR_PREFIX = "dx-upload-"
STALE_UPLOAD_SECONDS = 24 * 3600

ui.header(t("refresh.title"), lang, t("refresh.subtitle"))

# --------------------------------------------------------------------------- login gate

user = auth.current_user()
if user is None:
    auth.login_form(lang)
    st.stop()

auth.user_bar(user, lang)
if not user.is_staff:
    st.warning(t("refresh.viewer_denied"), icon=":material/lock:")
    st.stop()


# --------------------------------------------------------------------------- helpers

def _number(value: Any) -> str:
    return "–" if value is None or fmt.is_missing(value) else fmt.number(value, 0, lang)


def _size(n: Any) -> str:
    if n is None or fmt.is_missing(n):
        return "–"
    n = float(n)
    if n < 1024:
        return f"{fmt.number(n, 0, lang)} B"
    if n < 1024 ** 2:
        return f"{fmt.number(n / 1024, 1, lang)} KB"
    return f"{fmt.number(n / 1024 ** 2, 1, lang)} MB"


def _time(value: Any) -> str:
    if value is None or fmt.is_missing(value):
        return ""
    return pd.Timestamp(value).strftime("%Y-%m-%d %H:%M")


def _clean_staged() -> None:
    staged = ss.pop(S + "staged", None)
    if staged:
        shutil.rmtree(staged["dir"], ignore_errors=True)
    ss.pop(S + "plan", None)


def _sweep_stale_uploads() -> None:
    """Remove upload folders of sessions that ended without cleaning up."""
    root = Path(tempfile.gettempdir())
    for folder in root.glob(UPLOAD_DIR_PREFIX + "*"):
        try:
            if time.time() - folder.stat().st_mtime > STALE_UPLOAD_SECONDS:
                shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            pass


def _stage(uploaded) -> dict:
    """Save the uploaded bytes to a private temp file with the original name's extension."""
    _clean_staged()
    _sweep_stale_uploads()
    ss.pop("dx_refresh_sheet", None)  # the sheet list is the new workbook's
    folder = Path(tempfile.mkdtemp(prefix=UPLOAD_DIR_PREFIX))
    extension = EXTENSIONS.get(Path(uploaded.name).suffix.lower(), ".csv")
    target = folder / f"upload{extension}"
    uploaded.seek(0)
    with open(target, "wb") as handle:
        shutil.copyfileobj(uploaded, handle, 1 << 22)
    sheets: list[str] = []
    if extension in (".xlsx", ".xls"):
        try:
            sheets = [name for name, _visible in sandbox.excel_sheets(target)]
        except Exception:  # noqa: BLE001 - an unreadable workbook is reported by the dry run
            sheets = []
    staged = {"file_id": uploaded.file_id, "name": uploaded.name, "dir": str(folder), "path": str(target),
              "size": target.stat().st_size, "sheets": sheets}
    ss[S + "staged"] = staged
    return staged


def _reset_upload() -> None:
    """Clear the staged file and the uploader widget (a new key empties it)."""
    _clean_staged()
    ss[S + "upload_gen"] = ss.get(S + "upload_gen", 0) + 1


def _rejection_table(rejections: pd.DataFrame) -> pd.DataFrame:
    """The rejection report as shown (and downloaded), in the reader's language: row, column,
    value, reason, suggestion."""
    r = localised(rejections, lang).reset_index(drop=True)
    return pd.DataFrame({
        t("refresh.col.row"): r["row"].astype("Int64"),
        t("refresh.col.column"): r["column"].astype(object),
        t("refresh.col.value"): r["value"].astype(object),
        t("refresh.col.problem"): r["code"].map(lambda code: reason_title(code, lang)),
        t("refresh.col.reason"): r["reason"].astype(object),
        t("refresh.col.suggestion"): r["suggestion"].astype(object),
        t("refresh.col.severity"): r["severity"].map(lambda s: t(f"refresh.severity_{s}")),
        t("refresh.col.code"): r["code"].astype(object),
    })


def _indicator_name(code: Any) -> str:
    catalog = queries.indicators()
    names = dict(zip(catalog["code"], catalog["name_en" if lang == "en" else "name_vi"]))
    return names.get(code) or str(code)


def _changes_table(changes: pd.DataFrame) -> pd.DataFrame:
    c = changes.head(CHANGES_SHOWN)
    return pd.DataFrame({
        t("refresh.col.unit"): [loader.unit_label(lv, code) for lv, code in zip(c["level"], c["unit_code"])],
        t("refresh.col.indicator"): c["indicator"].map(_indicator_name),
        t("refresh.col.period"): c["period"],
        t("refresh.col.old_value"): c["old_value"],
        t("refresh.col.new_value"): c["new_value"],
        t("refresh.col.old_is_demo"): c["old_is_demo"].map(  # missing (pd.NA) for a value new to the warehouse
            lambda v: "" if fmt.is_missing(v) else (t("common.yes") if bool(v) else t("common.no"))),
    })


def _loadable(plan: loader.LoadPlan, accept_valid: bool) -> bool:
    if plan.fatal or plan.rows.empty:
        return False
    return plan.errors.empty or accept_valid


# --------------------------------------------------------------------------- last actions

result = ss.pop(S + "result", None)
if result is not None:
    summary = result["summary"]
    if result["status"] == "loaded":
        st.success(t(
            "refresh.loaded", load_id=result["load_id"], file=plain(summary["file_name"]),
            values=_number(summary.get("values_loaded")), changed=_number(summary.get("values_changed", 0)),
            new=_number(summary.get("values_new", 0)), demo=_number(summary.get("demo_values_replaced", 0)),
        ), icon=":material/check_circle:")
    elif result["status"] == "already_loaded":
        st.info(t("refresh.already_loaded", load_id=result["load_id"]), icon=":material/info:")
    else:
        st.error(t("refresh.rejected", message=plain(result["message"])), icon=":material/block:")

undo_done = ss.pop(S + "undo_result", None)
if undo_done is not None:
    st.success(t("refresh.undone", load_id=undo_done["load_id"], file=plain(undo_done.get("file_name") or ""),
                 restored=_number(undo_done["values_restored"]), removed=_number(undo_done["values_removed"])),
               icon=":material/undo:")

# --------------------------------------------------------------------------- upload

st.subheader(t("refresh.upload_title"))
st.caption(t("refresh.upload_help", mb=_number(st.get_option("server.maxUploadSize"))))
uploaded = st.file_uploader(
    t("refresh.file"), type=UPLOAD_TYPES, key=f"dx_refresh_file_{ss.get(S + 'upload_gen', 0)}",
    help=t("refresh.file_help"),
)
staged = ss.get(S + "staged")
if uploaded is None:
    if staged:
        _clean_staged()
    staged = None
elif staged is None or staged["file_id"] != uploaded.file_id:
    staged = _stage(uploaded)

if staged is not None:
    kinds = [None, "report", "legacy", "dossiers"]
    c1, c2, c3 = st.columns(3)
    kind = c1.selectbox(
        t("refresh.kind"), kinds, key="dx_refresh_kind",
        format_func=lambda k: t(f"refresh.kind_{k or 'auto'}"), help=t("refresh.kind_help"),
    )
    period = c2.text_input(t("refresh.period"), key="dx_refresh_period", placeholder="2025-09",
                           help=t("refresh.period_help")).strip() or None
    provinces = queries.provinces()
    names = dict(zip(provinces["code"], provinces["name"]))
    province = c3.selectbox(
        t("refresh.province"), [""] + provinces.sort_values("name")["code"].tolist(), key="dx_refresh_province",
        format_func=lambda c: names.get(c, t("filter.none")) if c else t("filter.none"),
        help=t("refresh.province_help"),
    ) or None
    sheet = None
    if staged["sheets"]:
        sheet = st.selectbox(
            t("refresh.sheet"), [None] + staged["sheets"], key="dx_refresh_sheet",
            format_func=lambda s: t("refresh.sheet_auto") if s is None else s, help=t("refresh.sheet_help"),
        )
    accept_valid = st.checkbox(t("refresh.accept_valid"), key="dx_refresh_accept_valid",
                               help=t("refresh.accept_valid_help"))
    options = {"file_id": staged["file_id"], "kind": kind, "period": period, "province": province, "sheet": sheet,
               "uploader": user.name}

    # A plan belongs to one file and one set of options; changing either asks for a new dry run.
    held = ss.get(S + "plan")
    if held is not None and held["options"] != options:
        ss.pop(S + "plan", None)
        held = None

    if st.button(t("refresh.dry_run"), key="dx_refresh_dry_run", type="secondary", icon=":material/fact_check:"):
        try:
            with st.spinner(t("refresh.checking")):
                plan = sandbox.plan_load(  # a child process with a memory and time limit
                    staged["path"], kind=kind, period=period, sheet=sheet, province=province,
                    uploader=user.name, file_name=staged["name"],
                )
            held = {"options": options, "plan": plan}
            ss[S + "plan"] = held
        except UsageError as exc:
            ss.pop(S + "plan", None)
            held = None
            message = str(exc)
            if exc.choices:
                message += " — " + t("refresh.choices", choices=", ".join(exc.choices))
            st.error(t("refresh.usage_error", message=plain(message)), icon=":material/warning:")
        except Exception as exc:  # noqa: BLE001 - shown to the user, never a traceback
            ss.pop(S + "plan", None)
            held = None
            st.error(t("refresh.unexpected", message=plain(f"{type(exc).__name__}: {exc}")), icon=":material/block:")

    if held is not None:
        plan: loader.LoadPlan = held["plan"]
        summary = plan.summary
        st.markdown(f"#### {t('refresh.report_title')}")
        st.caption(t(
            "refresh.file_facts", file=plain(plan.file_name), size=_size(plan.size_bytes), fmt=plan.fmt,
            kind=t(f"refresh.kind_{plan.kind}"), sha=plan.sha256[:16], uploader=plain(plan.uploader),
        ) + (t("refresh.sheet_fact", sheet=plain(summary["sheet"])) if summary.get("sheet") else ""))
        m1, m2, m3, m4 = st.columns(4)
        m1.metric(t("refresh.m.rows_read"), _number(summary["rows_read"]))
        m2.metric(t("refresh.m.values_valid"), _number(summary["values_valid"]))
        m3.metric(t("refresh.m.rows_rejected"), _number(summary["rows_rejected"]))
        m4.metric(t("refresh.m.values_changed"), _number(summary.get("values_changed", 0)))
        if summary["values_valid"]:
            st.caption(t(
                "refresh.scope", periods=plain(summary.get("period_range", "–")),
                indicators=plain(", ".join(_indicator_name(code) for code in summary.get("indicators", []))),
                units=", ".join(f"{_number(n)} {t('refresh.level_' + lv)}" for lv, n in summary.get("units", {}).items()),
                new=_number(summary.get("values_new", 0)), unchanged=_number(summary.get("values_unchanged", 0)),
                demo=_number(summary.get("demo_values_replaced", 0)),
            ))
        for note in plan.notes:
            st.caption("· " + note.text(lang, _number))

        if plan.fatal:
            st.error(t("refresh.fatal"), icon=":material/block:")
        elif plan.already_loaded is not None:
            st.info(t("refresh.already_loaded", load_id=plan.already_loaded), icon=":material/info:")
        elif not plan.errors.empty:
            key = "refresh.has_errors_accept" if accept_valid and len(plan.rows) else "refresh.has_errors"
            st.warning(t(key, rows=_number(plan.rows_rejected), valid=_number(len(plan.rows))),
                       icon=":material/warning:")
        elif len(plan.rows):
            st.success(t("refresh.all_valid", valid=_number(len(plan.rows))), icon=":material/check_circle:")

        if len(plan.rejections):
            title = "refresh.rejections_title" if len(plan.errors) else "refresh.warnings_title"
            st.markdown(f"##### {t(title)}")
            shown = _rejection_table(plan.rejections)
            st.dataframe(shown, hide_index=True, width="stretch")
            ui.table_downloads(shown, f"{Path(plan.file_name).stem}.rejections", lang, key="dx_refresh_rej")

        if plan.changes is not None and len(plan.changes):
            with st.expander(t("refresh.changes_title", n=_number(len(plan.changes)))):
                st.dataframe(_changes_table(plan.changes), hide_index=True, width="stretch")

        can_load = _loadable(plan, accept_valid) and plan.already_loaded is None
        if st.button(t("refresh.confirm"), key="dx_refresh_confirm", type="primary", disabled=not can_load,
                     icon=":material/upload:"):
            with st.spinner(t("refresh.loading")):
                try:
                    outcome = loader.apply_load(plan, accept_valid=accept_valid)
                except UsageError as exc:
                    st.error(t("refresh.usage_error", message=plain(exc)), icon=":material/warning:")
                    st.stop()
                except Exception as exc:  # noqa: BLE001 - the warehouse is unchanged (atomic load)
                    st.error(t("refresh.unexpected", message=plain(f"{type(exc).__name__}: {exc}")), icon=":material/block:")
                    st.stop()
            ss[S + "result"] = {"status": outcome.status, "load_id": outcome.load_id,
                                "summary": outcome.summary, "message": outcome.message_text(lang)}
            if outcome.status in ("loaded", "already_loaded"):
                _reset_upload()
            else:
                ss.pop(S + "plan", None)
            st.rerun()
        if not can_load:
            st.caption(t("refresh.confirm_disabled"))

# --------------------------------------------------------------------------- history and undo

st.divider()
st.subheader(t("refresh.history_title"))
try:
    hist = loader.history()
except Exception as exc:  # noqa: BLE001 - an unreadable warehouse is shown, not raised
    st.error(t("refresh.history_error", message=plain(exc)), icon=":material/warning:")
    st.stop()

hist = hist.sort_values("load_id", ascending=False).reset_index(drop=True)
table = pd.DataFrame({
    t("refresh.col.load_id"): hist["load_id"],
    t("refresh.col.kind"): hist["kind"].map(lambda k: t(f"refresh.kind_{k}") if i18n.has(f"refresh.kind_{k}") else k),
    t("refresh.col.file"): hist["file_name"],
    t("refresh.col.status"): hist["status"].map(lambda s: t(f"refresh.status_{s}") if i18n.has(f"refresh.status_{s}") else s),
    t("refresh.col.rows_loaded"): hist["rows_loaded"],
    t("refresh.col.rows_rejected"): hist["rows_rejected"],
    t("refresh.col.uploader"): hist["uploader"],
    t("refresh.col.received_at"): hist["received_at"].map(_time),
    t("refresh.col.finished_at"): hist["finished_at"].map(_time),
    t("refresh.col.undone_at"): hist["undone_at"].map(_time),
    t("refresh.col.size"): hist["size_bytes"].map(_size),
    t("refresh.col.sha256"): hist["sha256"].fillna(""),
})
st.dataframe(table, hide_index=True, width="stretch")
ui.table_downloads(table, "load-history", lang, key="dx_refresh_hist")

undoable = hist[(hist["status"] == "loaded") & (hist["load_id"] > 0)].head(HISTORY_UNDO_ROWS)
pending = ss.get(S + "undo_pending")
if pending is not None and pending not in set(undoable["load_id"].astype(int)):
    ss.pop(S + "undo_pending", None)
    pending = None

if undoable.empty:
    st.caption(t("refresh.nothing_to_undo"))
else:
    st.markdown(f"##### {t('refresh.undo_title')}")
    st.caption(t("refresh.undo_help"))
    for row in undoable.itertuples(index=False):
        load_id = int(row.load_id)
        left, right = st.columns([5, 1], vertical_alignment="center")
        left.markdown(t(
            "refresh.undo_row", load_id=load_id, file=plain(row.file_name or "–"), uploader=plain(row.uploader or "–"),
            time=_time(row.finished_at), values=_number(row.rows_loaded),
        ))
        if right.button(t("refresh.undo"), key=f"dx_refresh_undo_{load_id}", icon=":material/undo:",
                        disabled=pending is not None):
            ss[S + "undo_pending"] = load_id
            st.rerun()
        if pending == load_id:
            with st.container(border=True):
                st.warning(t("refresh.undo_confirm_text", load_id=load_id, file=plain(row.file_name or "–")),
                           icon=":material/undo:")
                yes, no, _ = st.columns([1, 1, 3])
                if yes.button(t("refresh.undo_confirm"), key="dx_refresh_undo_yes", type="primary"):
                    ss.pop(S + "undo_pending", None)
                    try:
                        done = loader.undo(load_id, user=user.name)
                    except (loader.UndoError, FileNotFoundError, WarehouseError) as exc:
                        st.error(t("refresh.undo_refused", message=plain(exc)), icon=":material/block:")
                    else:
                        ss[S + "undo_result"] = done.summary
                        st.rerun()
                if no.button(t("refresh.undo_cancel"), key="dx_refresh_undo_no"):
                    ss.pop(S + "undo_pending", None)
                    st.rerun()
