"""Synthetic input files for templates, tests and benchmarks (deterministic, seeded)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from core import catalog
from etl import reference

PROVINCE_INDICATORS = [i.code for i in catalog.indicators().values()
                       if "province" in i.levels and not i.is_rate and i.aggregation == "sum"]


def months_back(n: int, end: dt.date | None = None) -> list[str]:
    """The ``n`` months ending with the month before ``end`` (default: today), oldest first."""
    end = end or dt.date.today()
    y, m = end.year, end.month
    out = []
    for _ in range(n):
        m -= 1
        if m == 0:
            y, m = y - 1, 12
        out.append(f"{y:04d}-{m:02d}")
    return out[::-1]


def province_report(months: int = 36, indicators: list[str] | None = None, seed: int = 1) -> pd.DataFrame:
    """Long report: every province x month x indicator (counts), names as written by staff."""
    rng = np.random.default_rng(seed)
    provinces = reference.provinces()
    indicators = indicators or PROVINCE_INDICATORS
    periods = months_back(months)
    idx = pd.MultiIndex.from_product([periods, provinces.name, indicators], names=["period", "unit", "indicator"])
    frame = idx.to_frame(index=False)
    frame["value"] = rng.integers(0, 50_000, len(frame))
    return frame


def wide_province_report(months: int = 36, seed: int = 1) -> pd.DataFrame:
    long = province_report(months, seed=seed)
    wide = long.pivot_table(index=["period", "unit"], columns="indicator", values="value", aggfunc="first")
    return wide.reset_index()[["unit", "period", *PROVINCE_INDICATORS]]


def dossier_frame(n: int, months: int = 3, n_communes: int = 200, duplicates: int = 0, seed: int = 7,
                  names: bool = False) -> pd.DataFrame:
    """``n`` dossiers over ``months`` past months in ``n_communes`` communes; the first
    ``duplicates`` ids repeated at the end (identical rows)."""
    rng = np.random.default_rng(seed)
    communes = reference.communes().sample(n_communes, random_state=seed)
    pick = rng.integers(0, n_communes, n)
    start = pd.Timestamp(months_back(months)[0] + "-01")
    span = (pd.Timestamp(months_back(1)[0] + "-01") + pd.offsets.MonthEnd(1) - start).total_seconds()
    received = start + pd.to_timedelta(rng.uniform(0, span * 0.9, n), unit="s")
    due = received + pd.to_timedelta(rng.integers(1, 15, n), unit="D")
    took = pd.to_timedelta(rng.uniform(0, 20 * 86400, n), unit="s")
    resolved = (received + took).where(rng.random(n) < 0.85)
    resolved = resolved.where(resolved < pd.Timestamp.now().floor("D"))
    frame = pd.DataFrame({
        "dossier_id": [f"HS{i:09d}" for i in range(n)],
        "procedure_code": rng.choice(["1.001234", "2.000567", "1.009876"], n),
        "commune": (communes.name.to_numpy() if names else communes.code.to_numpy())[pick],
        "province": communes.province_code.to_numpy()[pick],
        "channel": rng.choice(["online", "in person", "postal"], n, p=[0.6, 0.35, 0.05]),
        "received_at": received.strftime("%Y-%m-%d %H:%M:%S"),
        "due_at": due.strftime("%Y-%m-%d %H:%M:%S"),
        "resolved_at": pd.Series(resolved).dt.strftime("%Y-%m-%d %H:%M:%S").fillna("").to_numpy(),
        "paid_online": rng.random(n) < 0.3,
    })
    if duplicates:
        frame = pd.concat([frame, frame.head(duplicates)], ignore_index=True)
    return frame


def write(frame: pd.DataFrame, path: Path, title: str | None = None, sheet: str = "Data") -> Path:
    path = Path(path)
    if path.suffix == ".csv":
        frame.to_csv(path, index=False)
    elif path.suffix == ".parquet":
        frame.to_parquet(path, index=False)
    else:
        with pd.ExcelWriter(path, engine="openpyxl") as xl:
            start = 2 if title else 0
            frame.to_excel(xl, sheet_name=sheet, index=False, startrow=start)
            if title:
                xl.sheets[sheet].cell(row=1, column=1, value=title)
    return path
