"""Data refresh (Cập nhật dữ liệu): data staff upload a report, check it (dry run), confirm
the load, and undo loads. Login required (``python -m dashboard users add``); viewers and
anonymous readers see no controls.

Flow: upload → options (kind, period, province, Excel sheet, accept valid rows) → "Kiểm tra
(chạy thử)" → summary and rejection report (table + CSV) → "Xác nhận nạp" → result; history
and undo below. The work is dashboard/refresh.py: the loader's command line in a child
process (nothing is written by a dry run; a load is atomic, its raw file archived with
checksum, size, uploader = the logged-in user, and time). The query cache is keyed on the
warehouse file's signature, so every page shows the new data on its next query.
"""

from __future__ import annotations

from dashboard.shell import ensure_app_shell

ensure_app_shell()  # before anything renders: see dashboard/shell.py

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import streamlit as st

from core import fmt
from core.safety import plain
from dashboard import auth, queries, refresh, tables, ui

lang, t = ui.page_language()
S = "_dx.refresh."  # session-state prefix of this page
ss = st.session_state
HISTORY_UNDO_ROWS = 15

ui.header(t("refresh.title"), lang, t("refresh.subtitle"))
# Read before the login: a damaged warehouse is said to everyone at once (app.bad_warehouse).
provinces = queries.provinces()
history = queries.upload_history()

user = auth.current_user()
if user is None:
    auth.login_form(lang)
    st.stop()
auth.user_bar(user, lang)
if not user.is_staff:
    st.warning(t("refresh.viewer_denied"), icon=":material/lock:")
    st.stop()


def number(value: Any) -> str:
    return "–" if value is None or fmt.is_missing(value) else fmt.number(value, 0, lang)


def indicator_names() -> dict[str, str]:
    catalog = queries.indicators()
    return dict(zip(catalog["code"], catalog["name_en" if lang == "en" else "name_vi"]))


def forget_upload(new_widget: bool = False) -> None:
    """Drop the staged file and its plan; ``new_widget`` also empties the uploader (a new key)."""
    refresh.discard(ss.pop(S + "staged", None))
    ss.pop(S + "plan", None)
    if new_widget:
        ss[S + "upload_gen"] = ss.get(S + "upload_gen", 0) + 1


@contextlib.contextmanager
def progress_bar(first: str) -> Iterator[refresh.Progress]:
    """A bar following the loader's stages while it works, gone when it is done."""
    place = st.empty()
    said = refresh.stages(lang)
    place.progress(0.0, text=first)
    try:
        yield lambda stage, done, total: place.progress(refresh.progress_fraction(stage, done, total),
                                                        text=said.get(stage, first))
    finally:
        place.empty()


def say_failure(document: dict) -> None:
    """A check or load that did not run, in one plain message."""
    status = document["status"]
    if status == "warehouse_unreadable":
        st.error(t("app.bad_warehouse"), icon=":material/database:")
    elif status == "usage_error":
        st.error(t("refresh.usage_error", message=plain(refresh.usage_message(document, lang))),
                 icon=":material/warning:")
    else:
        st.error(t("refresh.unexpected", message=plain(document.get("message", ""))), icon=":material/block:")


# --------------------------------------------------------------------------- last actions

if (result := ss.pop(S + "result", None)) is not None:
    if result["status"] == "loaded":
        st.success(t(
            "refresh.loaded", load_id=result["load_id"], file=plain(result["file_name"]),
            values=number(result.get("values_loaded")), changed=number(result.get("values_changed", 0)),
            new=number(result.get("values_new", 0)), demo=number(result.get("demo_values_replaced", 0)),
        ), icon=":material/check_circle:")
    elif result["status"] == "already_loaded":
        st.info(t("refresh.already_loaded", load_id=result["load_id"]), icon=":material/info:")
    else:
        st.error(t("refresh.rejected", message=plain(refresh.message(result, lang))), icon=":material/block:")

if (undone := ss.pop(S + "undo_result", None)) is not None:
    st.success(t("refresh.undone", load_id=undone["load_id"], file=plain(undone.get("file_name") or ""),
                 restored=number(undone["values_restored"]), removed=number(undone["values_removed"])),
               icon=":material/undo:")

# --------------------------------------------------------------------------- upload

st.header(t("refresh.upload_title"))
st.caption(t("refresh.upload_help", mb=number(st.get_option("server.maxUploadSize"))))
with st.expander(t("refresh.templates"), icon=":material/download:"):
    st.caption(t("refresh.templates_help"))
    for i, template in enumerate(refresh.templates()):
        left, right = st.columns([3, 2], vertical_alignment="center")
        left.markdown(t(f"refresh.template_{template.stem}"))
        right.download_button(
            template.name, data=template.read_bytes(), file_name=template.name, key=f"dx_refresh_template_{i}",
            on_click="ignore", icon=":material/description:",
        )
uploaded = st.file_uploader(t("refresh.file"), type=refresh.UPLOAD_TYPES, help=t("refresh.file_help"),
                            key=f"dx_refresh_file_{ss.get(S + 'upload_gen', 0)}")
staged = ss.get(S + "staged")
if uploaded is None:
    if staged:
        forget_upload()
    staged = None
elif staged is None or staged["file_id"] != uploaded.file_id:
    forget_upload()
    ss.pop("dx_refresh_sheet", None)  # the sheet list is the new workbook's
    staged = ss[S + "staged"] = refresh.stage(uploaded, uploaded.name, uploaded.file_id)

if staged is not None:
    c1, c2, c3 = st.columns(3)
    kind = c1.selectbox(t("refresh.kind"), [None, "report", "legacy", "dossiers", "index766"], key="dx_refresh_kind",
                        format_func=lambda k: t(f"refresh.kind_{k or 'auto'}"), help=t("refresh.kind_help"))
    period = c2.text_input(t("refresh.period"), key="dx_refresh_period", placeholder="2025-09",
                           help=t("refresh.period_help")).strip() or None
    labels = ui.province_labels()
    province = c3.selectbox(
        t("refresh.province"), [""] + provinces.sort_values("name")["code"].tolist(), key="dx_refresh_province",
        format_func=lambda c: labels.get(c, t("filter.none")) if c else t("filter.none"),
        help=t("refresh.province_help"),
    ) or None
    sheet = None
    if staged["sheets"]:
        sheet = st.selectbox(t("refresh.sheet"), [None] + staged["sheets"], key="dx_refresh_sheet",
                             format_func=lambda s: t("refresh.sheet_auto") if s is None else s,
                             help=t("refresh.sheet_help"))
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
        ss.pop(S + "plan", None)
        held = None
        with progress_bar(t("refresh.checking")) as progress:
            checked = refresh.check(staged, options, progress)
        if checked["status"] == "dry_run":
            held = ss[S + "plan"] = {"options": options, "plan": checked}
        else:
            say_failure(checked)

    if held is not None:
        plan = held["plan"]
        st.markdown(f"### {t('refresh.report_title')}")
        st.caption(t(
            "refresh.file_facts", file=plain(plan["file_name"]), size=tables.file_size(plan["size_bytes"], lang),
            fmt=plan["format"], kind=t(f"refresh.kind_{plan['kind']}"), sha=plan["sha256"][:16],
            uploader=plain(plan["uploader"]),
        ) + (t("refresh.sheet_fact", sheet=plain(plan["sheet"])) if plan.get("sheet") else ""))
        m1, m2, m3, m4 = st.columns(4)
        m1.metric(t("refresh.m.rows_read"), number(plan["rows_read"]))
        m2.metric(t("refresh.m.values_valid"), number(plan["values_valid"]))
        m3.metric(t("refresh.m.rows_rejected"), number(plan["rows_rejected"]))
        m4.metric(t("refresh.m.values_changed"), number(plan.get("values_changed", 0)))
        if plan["values_valid"]:
            st.caption(t(
                "refresh.scope", periods=plain(plan.get("period_range", "–")),
                indicators=plain(", ".join(indicator_names().get(c) or c for c in plan.get("indicators", []))),
                units=", ".join(f"{number(n)} {t('refresh.level_' + lv)}" for lv, n in plan.get("units", {}).items()),
                new=number(plan.get("values_new", 0)), unchanged=number(plan.get("values_unchanged", 0)),
                demo=number(plan.get("demo_values_replaced", 0)),
            ))
        for note in plan["notes"]:
            st.caption("· " + t(f"refresh.note.{note['key']}", **{k: number(v) for k, v in note["counts"].items()}))

        if plan["fatal"]:
            st.error(t("refresh.fatal"), icon=":material/block:")
        elif plan["already_loaded"] is not None:
            st.info(t("refresh.already_loaded", load_id=plan["already_loaded"]), icon=":material/info:")
        elif plan["errors"]:
            key = "refresh.has_errors_accept" if accept_valid and plan["values_valid"] else "refresh.has_errors"
            st.warning(t(key, rows=number(plan["rows_rejected"]), valid=number(plan["values_valid"])),
                       icon=":material/warning:")
        elif plan["values_valid"]:
            st.success(t("refresh.all_valid", valid=number(plan["values_valid"])), icon=":material/check_circle:")

        if plan["rejections"]:
            st.markdown(f"#### {t('refresh.rejections_title' if plan['errors'] else 'refresh.warnings_title')}")
            shown = tables.rejections_table(plan["rejections"], lang)
            st.dataframe(shown, hide_index=True, width="stretch")
            ui.table_downloads(shown, f"{Path(plan['file_name']).stem}.rejections", lang, key="dx_refresh_rej")

        if plan["changes"]:
            with st.expander(t("refresh.changes_title", n=number(plan["changes_total"]))):
                st.dataframe(tables.changes_table(plan["changes"], indicator_names(), lang),
                             hide_index=True, width="stretch")

        can_load = refresh.loadable(plan, accept_valid)
        if st.button(t("refresh.confirm"), key="dx_refresh_confirm", type="primary", disabled=not can_load,
                     icon=":material/upload:"):
            with progress_bar(t("refresh.loading")) as progress:
                outcome = refresh.load(staged, options, accept_valid, progress)
            if outcome["status"] not in ("loaded", "already_loaded", "rejected"):
                say_failure(outcome)
                st.stop()
            ss[S + "result"] = outcome
            if outcome["status"] == "rejected":
                ss.pop(S + "plan", None)
            else:
                forget_upload(new_widget=True)
            st.rerun()
        if not can_load:
            st.caption(t("refresh.confirm_disabled"))

# --------------------------------------------------------------------------- history and undo

st.divider()
st.header(t("refresh.history_title"))
shown = tables.load_history_table(history, lang)
ui.table(shown)
ui.table_downloads(shown, "load-history", lang, key="dx_refresh_hist")

undoable = history[(history["status"] == "loaded") & (history["load_id"] > 0)]
undoable = undoable.sort_values("load_id", ascending=False).head(HISTORY_UNDO_ROWS)
pending = ss.get(S + "undo_pending")
if pending is not None and pending not in set(undoable["load_id"].astype(int)):
    ss.pop(S + "undo_pending", None)
    pending = None

if undoable.empty:
    st.caption(t("refresh.nothing_to_undo"))
    st.stop()
st.markdown(f"### {t('refresh.undo_title')}")
st.caption(t("refresh.undo_help"))
for row in undoable.itertuples(index=False):
    load_id = int(row.load_id)
    left, right = st.columns([5, 1], vertical_alignment="center")
    left.markdown(t(
        "refresh.undo_row", load_id=load_id, file=plain(row.file_name or "–"), uploader=plain(row.uploader or "–"),
        time=tables.minute(row.finished_at), values=number(row.rows_loaded),
    ))
    if right.button(t("refresh.undo"), key=f"dx_refresh_undo_{load_id}", icon=":material/undo:",
                    disabled=pending is not None):
        ss[S + "undo_pending"] = load_id
        st.rerun()
    if pending != load_id:
        continue
    with st.container(border=True):
        st.warning(t("refresh.undo_confirm_text", load_id=load_id, file=plain(row.file_name or "–")),
                   icon=":material/undo:")
        yes, no, _ = st.columns([1, 1, 3])
        if yes.button(t("refresh.undo_confirm"), key="dx_refresh_undo_yes", type="primary"):
            ss.pop(S + "undo_pending", None)
            done = refresh.undo(load_id, user.name)
            if done["status"] == "undone":
                ss[S + "undo_result"] = done
                st.rerun()
            elif done["status"] == "warehouse_unreadable":
                st.error(t("app.bad_warehouse"), icon=":material/database:")
            else:
                st.error(t("refresh.undo_refused", message=plain(done.get("message", ""))), icon=":material/block:")
        if no.button(t("refresh.undo_cancel"), key="dx_refresh_undo_no"):
            ss.pop(S + "undo_pending", None)
            st.rerun()
