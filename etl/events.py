"""Dated events drawn on time charts (data/meta/events.csv), read for ``ref.event``.

The app reads them from the warehouse (``event`` view), like every other figure it shows; a
date that does not parse, a repeated date, a missing label or an unknown topic stops the build.
An event with a ``topic`` (a catalog topic, e.g. the Decision 766 method change) is drawn only
on the charts of that topic's indicators; one without, on every time chart."""

from __future__ import annotations

import pandas as pd

from core import catalog, paths

EVENTS_FILE = paths.META / "events.csv"
SOURCE_ID = "events"  # its row in data/meta/sources.toml (checksum, licence)
COLUMNS = ["date", "label_vi", "label_en", "kind", "topic"]


def events_frame() -> pd.DataFrame:
    frame = pd.read_csv(EVENTS_FILE, dtype=str, keep_default_na=False)
    if list(frame.columns) != COLUMNS:
        raise ValueError(f"{EVENTS_FILE.name}: columns must be {', '.join(COLUMNS)}, not {', '.join(frame.columns)}")
    if (frame.drop(columns="topic") == "").any().any():
        raise ValueError(f"{EVENTS_FILE.name}: every event needs a date, both labels and a kind")
    topics = {indicator.topic for indicator in catalog.indicators().values()}
    if unknown := sorted(set(frame.topic) - topics - {""}):
        raise ValueError(f"{EVENTS_FILE.name}: unknown topic {unknown[0]!r} (the catalog's topics: {sorted(topics)})")
    dates = pd.to_datetime(frame.date, format="%Y-%m-%d", errors="coerce")
    if dates.isna().any():
        raise ValueError(f"{EVENTS_FILE.name}: date {frame.date[dates.isna()].iloc[0]!r} is not YYYY-MM-DD")
    if not dates.is_unique:
        raise ValueError(f"{EVENTS_FILE.name}: one event per date")
    return frame.assign(date=dates.dt.date, source_id=SOURCE_ID, topic=frame.topic.where(frame.topic != ""))
