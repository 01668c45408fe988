"""The rows of a dossier export (checked in SQL by :mod:`etl.load.dossier_rows`, worded here):
an id, a receiving commune, received and due times, a resolved time if any (not before it was
received), no time in the future, a known channel, a yes/no paid_online. Repeated ids are
counted once and a province covered in part is pointed out (warnings)."""

from __future__ import annotations

from etl.load.rules import Reason

MISSING_ID = Reason("missing_id").says("reason", "suggestion", "column")

BAD_TIME = Reason("bad_time")
NOT_A_TIME = BAD_TIME.says("reason", "suggestion", "column")
NO_TIME = BAD_TIME.says("reason_empty", "suggestion", "column")

FUTURE_TIME = Reason("future_time").says("reason", "suggestion", "column")
RESOLVED_BEFORE_RECEIVED = Reason("resolved_before_received").says("reason", "suggestion", "column")
BAD_CHANNEL = Reason("bad_channel").says("reason", "suggestion", "column")
BAD_BOOL = Reason("bad_bool").says("reason", "suggestion", "column")

DUPLICATE_DOSSIER = Reason("duplicate_dossier", severity="warning").says("reason", "suggestion", "n")
DUPLICATES_NOT_LISTED = Reason("duplicates_not_listed", severity="warning").says("reason", "suggestion", "listed",
                                                                                  "beyond", "total")
PARTIAL_PROVINCE = Reason("partial_province", severity="warning").says("reason", "suggestion", "n", "total",
                                                                        "province")
