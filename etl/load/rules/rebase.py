"""Legacy rows (63 old provinces) onto the 34: a rate needs its counts, an index carries over
only where its old province maps alone, and a sum needs every old province of the new one
(:func:`etl.rebase.rebase_legacy`). A rejection shows the unit as the file spelled it and names
the old province it was read as."""

from __future__ import annotations

from typing import TYPE_CHECKING

from etl.load.notes import Note
from etl.load.rules import Reason
from etl.load.rules.context import OBS_COLUMNS
from etl.rebase import rebase_legacy
from etl.reference import legacy_provinces

if TYPE_CHECKING:
    from etl.load.rules.context import Report

PROBLEMS = {  # the problems of etl.rebase.rebase_legacy
    "rate_without_counts": Reason("rebase_rate_without_counts").says("reason", "suggestion", "indicator", "period",
                                                                     "old", "old_code"),
    "not_additive": Reason("rebase_not_additive").says("reason", "suggestion", "indicator", "period", "old",
                                                       "old_code"),
    "incomplete": Reason("rebase_incomplete").says("reason", "suggestion", "indicator", "period", "old", "old_code",
                                                   "missing"),
}


def rebase(r: Report) -> None:
    """The observations of a legacy report re-based onto the 34 provinces (``r.obs``), and the
    rows that cannot be: rebase_rate_without_counts, rebase_not_additive, rebase_incomplete."""
    obs = r.obs
    if r.kind != "legacy" or not len(obs):
        return
    unit_text = dict(zip(r.c.row, r.c.unit))
    frame = obs.rename(columns={"unit_code": "legacy_code"})[
        ["indicator", "period", "legacy_code", "value", "numerator", "denominator", "row"]]
    rebased, rejected = rebase_legacy(frame)
    legacy_name = dict(zip(legacy_provinces().code, legacy_provinces().name))
    for x in rejected.itertuples(index=False):
        values = {"indicator": x.indicator, "period": x.period, "old": legacy_name[x.legacy_code],
                  "old_code": x.legacy_code}
        if x.problem == "incomplete":
            values["missing"] = x.missing
        r.found.add(PROBLEMS[x.problem](**values), x.row, r.cells.unit_column, unit_text.get(x.row, x.legacy_code))
    sources = obs.groupby(["indicator", "period", "province_code"]).agg(
        row=("row", "min"), n=("unit_code", "nunique"), source=("source", "first"),
        rows=("row", lambda s: ", ".join(map(str, sorted(set(s))[:8]))))
    out = rebased.merge(sources.reset_index().rename(columns={"province_code": "unit_code"}),
                        on=["indicator", "period", "unit_code"], how="left")
    out["level"] = "province"
    out["province_code"] = out.unit_code
    out["note"] = [f"re-based from {n} old province(s), rows {rows}" for n, rows in zip(out.n_legacy, out.rows)]
    r.notes.append(Note("rebased", {"old": len(obs), "new": len(out)}))
    r.obs = out[OBS_COLUMNS]
