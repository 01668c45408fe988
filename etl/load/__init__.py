"""Loading report files and dossier exports into the warehouse (issue: data refresh).

Public API (used by ``python -m etl load|history|undo`` and the upload page)::

    from etl.load import plan_load, apply_load, history, undo
    plan = plan_load(path, kind="report", period=None, sheet=None, province=None, uploader="lan")
    plan.ok, plan.summary, plan.rejections, plan.rows
    result = apply_load(plan, accept_valid=False)     # LoadResult: status, load_id, exit_code
    history()                                         # DataFrame of loads
    undo(load_id)                                     # UndoResult

    from etl.load import aggregate_dossiers, plan_replay, apply_replay   # rebuilds (etl.build)
"""

from etl.load.apply import (
    LoadPlan,
    LoadResult,
    UndoError,
    UndoResult,
    apply_load,
    apply_replay,
    history,
    plan_load,
    plan_replay,
    quarantine,
    undo,
)
from etl.load.dossiers import aggregate_dossiers, summarise_dossiers
from etl.load.readers import FileRejected, UsageError, excel_sheets
from etl.load.validate import REASONS, REJECTION_COLUMNS

__all__ = [
    "LoadPlan", "LoadResult", "UndoError", "UndoResult", "apply_load", "history", "plan_load", "quarantine",
    "plan_replay", "apply_replay", "undo", "aggregate_dossiers", "summarise_dossiers", "FileRejected", "UsageError",
    "excel_sheets", "REASONS", "REJECTION_COLUMNS",
]
