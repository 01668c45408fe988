"""The commune- and province-month indicators of a dossier export, from the counts either
counting path hands over (:class:`etl.load.dossier_sql.Counts`).

The counts are small (communes × months, ~40 k entries for a national year), so they are summed
into dense commune × month grids with numpy: no hash table, no SQL plan, no string sorting. The
frame has one row per commune (and province) × month × indicator; a rate only where its
denominator is above 0. Which indicator each count is published as, and which rates two counts
make, is the catalog's (``dossier_count``, ``numerator``/``denominator``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from core import catalog
from etl.load.dossier_sql import Counts

OBSERVATION_COLUMNS = ["level", "unit_code", "province_code", "indicator", "period", "value", "numerator",
                       "denominator"]



def count_indicators() -> dict[str, str]:
    """Indicator -> the grid it counts ("received", "online", "resolved", "on_time")."""
    return {i.code: i.dossier_count for i in catalog.indicators().values() if i.dossier_count}


def rate_indicators() -> dict[str, tuple[str, str]]:
    """Rate -> (numerator grid, denominator grid), for the catalog's rates of two dossier counts."""
    counted = count_indicators()
    return {rate.code: (counted[rate.numerator], counted[rate.denominator]) for rate in catalog.rates()
            if rate.numerator in counted and rate.denominator in counted}


def indicator_frame(counts: Counts) -> pd.DataFrame:
    """Every commune with a dossier counted gets a value (possibly 0) for every month from the
    first to the last month with one; province values are the sums of their communes."""
    unit_of, units = pd.factorize(np.asarray(counts.unit_codes, dtype=object))
    province_of = np.empty(len(units), dtype=object)
    province_of[unit_of] = counts.province_codes
    entries = (counts.received, counts.resolved)
    months = np.concatenate([e.month for e in entries])
    if not len(months):
        return empty_observations()
    first = int(months.min())
    span = int(months.max()) - first + 1
    grids = {}
    for entry, (count, subset) in zip(entries, (("received", "online"), ("resolved", "on_time"))):
        cells = unit_of[entry.unit] * span + (entry.month - first)
        grids[count], grids[subset] = (np.bincount(cells, weights, len(units) * span).reshape(len(units), span)
                                       for weights in (entry.n, entry.k))
    # Entries sum to 0 where every row was a losing copy of a repeated id: such a commune-month
    # is not in the export, as if its rows were not.
    counted = (grids["received"] != 0) | (grids["resolved"] != 0)
    if not counted.any():
        return empty_observations()
    communes = counted.any(axis=1)
    month_range = np.flatnonzero(counted.any(axis=0))
    kept = slice(month_range[0], month_range[-1] + 1)
    grids = {name: grid[communes][:, kept] for name, grid in grids.items()}
    periods = [f"{m // 12:04d}-{m % 12 + 1:02d}" for m in range(first + kept.start, first + kept.stop)]
    province_index, provinces = pd.factorize(province_of[communes])
    province_grids = {}
    for name, grid in grids.items():
        province_grids[name] = np.zeros((len(provinces), len(periods)))
        np.add.at(province_grids[name], province_index, grid)
    return _frame([("commune", units[communes], province_of[communes], grids),
                   ("province", np.asarray(provinces, dtype=object), np.asarray(provinces, dtype=object),
                    province_grids)], periods)


def _frame(levels: list, periods: list[str]) -> pd.DataFrame:
    """Long rows from the grids, strings taken from small dictionaries (one Arrow take per column)."""
    labels, names, provinces, unit_pos, period_pos, values, numerators, denominators = ([] for _ in range(8))
    offset = 0
    for level, level_names, level_provinces, grids in levels:
        cells = len(level_names) * len(periods)
        units = np.repeat(np.arange(len(level_names)), len(periods)) + offset
        months = np.tile(np.arange(len(periods)), len(level_names))
        for indicator, grid in count_indicators().items():
            labels.append((level, indicator, cells))
            unit_pos.append(units)
            period_pos.append(months)
            values.append(grids[grid].ravel())
            numerators.append(np.full(cells, np.nan))
            denominators.append(np.full(cells, np.nan))
        for indicator, (top, bottom) in rate_indicators().items():
            rated = np.flatnonzero(grids[bottom].ravel() > 0)
            num, den = grids[top].ravel()[rated], grids[bottom].ravel()[rated]
            labels.append((level, indicator, len(rated)))
            unit_pos.append(units[rated])
            period_pos.append(months[rated])
            values.append(100.0 * num / den)
            numerators.append(num)
            denominators.append(den)
        names.append(level_names)
        provinces.append(level_provinces)
        offset += len(level_names)
    block = np.repeat(np.arange(len(labels)), [n for _, _, n in labels])
    unit_pos, period_pos = np.concatenate(unit_pos), np.concatenate(period_pos)
    table = pa.table({
        "level": pa.array([lv for lv, _, _ in labels], pa.string()).take(block),
        "unit_code": pa.array(np.concatenate(names).astype(str)).take(unit_pos),
        "province_code": pa.array(np.concatenate(provinces).astype(str)).take(unit_pos),
        "indicator": pa.array([ind for _, ind, _ in labels], pa.string()).take(block),
        "period": pa.array(periods, pa.string()).take(period_pos),
        "value": np.concatenate(values),
        "numerator": np.concatenate(numerators),
        "denominator": np.concatenate(denominators),
    })
    return table.to_pandas()


def empty_observations() -> pd.DataFrame:
    return pa.table({c: pa.array([], pa.float64() if c in ("value", "numerator", "denominator") else pa.string())
                     for c in OBSERVATION_COLUMNS}).to_pandas()
