"""Loading report files and dossier exports into the warehouse (issue: data refresh).

Public API (used by ``python -m etl load|history|undo`` and the upload page)::

    from etl.load import plan_load, apply_load, history, undo
    plan = plan_load(path, kind="report", period=None, sheet=None, province=None, uploader="lan")
    plan.ok, plan.summary, plan.rejections, plan.rows
    result = apply_load(plan, accept_valid=False)     # LoadResult: status, load_id, exit_code
    history()                                         # DataFrame of loads
    undo(load_id)                                     # UndoResult

    from etl.load import aggregate_dossiers, plan_replay, apply_replay   # rebuilds (etl.build)

The names are imported on first use (PEP 562), so that ``python -m etl load`` can start the
child process that checks a file (:mod:`etl.load.sandbox`) before pandas and DuckDB are loaded.
"""

from __future__ import annotations

import importlib

_HOMES = {
    "etl.load.apply": ["LoadPlan", "LoadResult", "UndoError", "UndoResult", "apply_load", "history", "plan_load",
                       "quarantine", "plan_replay", "apply_replay", "undo"],
    "etl.load.dossiers": ["aggregate_dossiers", "summarise_dossiers"],
    "etl.load.errors": ["FileRejected", "UsageError"],
    "etl.load.readers": ["excel_sheets"],
}
_HOME = {name: module for module, names in _HOMES.items() for name in names}

__all__ = list(_HOME)


def __getattr__(name: str):
    if name not in _HOME:
        raise AttributeError(f"module 'etl.load' has no attribute {name!r}")
    value = getattr(importlib.import_module(_HOME[name]), name)
    globals()[name] = value
    return value
