"""What needs attention in one month, for the country or one province: the exceptions of the
rules in data/meta/attention.toml (below target, largest falls in value and rank, no
improvement, communes in the Decision 766 bands, missing reports, likely data errors), and a
plain-text digest of them for a messaging group.

Pure functions over DataFrames: the caller passes ``query(sql, params) -> DataFrame`` running
parameterised SQL on a connection that has the warehouse attached as ``wh`` (the app:
``dashboard.db.query``; ``python -m etl digest``: a read-only connection of its own), so both
use the same rules without Streamlit. Indicators, targets and directions come from the
catalog; thresholds from the rules file; every number is written by ``core.fmt``.
"""

from __future__ import annotations

import operator
import tomllib
import unicodedata
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core import catalog, fmt, i18n, paths

Query = Callable[[str, Sequence[Any]], pd.DataFrame]
RULES = ("below_target", "value_fall", "rank_fall", "no_improvement", "bands_766", "missing_report", "outlier")
_OPS = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt, "=": operator.eq}
_CMP = {">=": "≥", "<=": "≤"}
ITEM_COLUMNS = ["rule", "indicator", "level", "unit_code", "name", "province_code", "province_name", "value",
                "previous", "rank", "rank_previous", "n_ranked", "band", "since", "median_change", "mad",
                "missing", "is_demo"]


class RulesError(ValueError):
    """The rules file is inconsistent (the message names the rule and the field)."""


def rules_file() -> Path:
    return paths.META / "attention.toml"


@cache
def rules(path: Path | None = None) -> dict[str, dict]:
    """The rules by code, in the order they run; checked once per process."""
    path = path or rules_file()
    raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    listed = [k for k in raw if k != "projection"]
    if listed != list(RULES):
        raise RulesError(f"{path.name}: the rules are {list(RULES)} in this order, not {listed}")
    for code, rule in ((k, raw[k]) for k in RULES):
        if not set(rule.get("levels", ())) <= {"province", "commune"} or not rule.get("levels"):
            raise RulesError(f"{path.name} [{code}]: levels are 'province' and/or 'commune'")
        if rule.get("indicators", "targeted") not in ("targeted", "all"):
            raise RulesError(f"{path.name} [{code}]: indicators is 'targeted' or 'all'")
    return raw


def target(code: str) -> dict | None:
    """An indicator's national target (the earliest deadline, as the other pages show it)."""
    national = sorted((t for t in catalog.get(code).targets if t.get("scope") == "national"),
                      key=lambda t: t["deadline"])
    return national[0] if national else None


def meets(value: float, goal: dict) -> bool:
    return bool(_OPS[goal.get("comparison", ">=")](float(value), float(goal["value"])))


def _watched(rule: dict) -> list[str]:
    codes = list(catalog.indicators())
    return codes if rule.get("indicators", "targeted") == "all" else [c for c in codes if target(c)]


def _direction(codes: pd.Series) -> pd.Series:
    """+1 where a higher value is better, −1 where lower is."""
    return codes.map(lambda c: 1.0 if catalog.get(c).higher_is_better else -1.0)


def _groups_changing(period: str) -> set[str]:
    """766 groups whose maximum is not the same in ``period`` and the month before: their
    change says nothing about the data (the method changed)."""
    now, before = catalog.index766_method(period), catalog.index766_method(fmt.add_months(period, -1))
    if now == before:
        return set()
    codes = {g.indicator for m in (now, before) if m for g in m.groups}
    return {c for c in codes if (now.max_of(c) if now else None) != (before.max_of(c) if before else None)}


# --------------------------------------------------------------------------- reading


def _observations(query: Query, start: str, period: str, province: str | None) -> pd.DataFrame:
    levels = ["province"] if province is None else ["province", "commune"]
    return query(
        """
        SELECT o.indicator, o.level, o.unit_code, o.period, o.value, o.is_demo,
               coalesce(p.name, c.name) AS name,
               CASE WHEN o.level = 'province' THEN o.unit_code ELSE c.province_code END AS province_code,
               coalesce(p.name, cp.name) AS province_name
        FROM wh.observation o
        LEFT JOIN wh.province p ON o.level = 'province' AND p.code = o.unit_code
        LEFT JOIN wh.commune c ON o.level = 'commune' AND c.code = o.unit_code
        LEFT JOIN wh.province cp ON cp.code = c.province_code
        WHERE o.period BETWEEN ? AND ? AND list_contains(?, o.level) AND o.value IS NOT NULL
          AND (CAST(? AS VARCHAR) IS NULL OR (o.level = 'province' AND o.unit_code = ?)
               OR (o.level = 'commune' AND c.province_code = ?))
        """,
        [start, period, levels, province, province, province],
    )


def _ranks(query: Query, period: str, province: str | None) -> pd.DataFrame:
    previous = fmt.add_months(period, -1)
    return query(
        """
        SELECT 'province' AS level, indicator, province_code AS unit_code, period, rank, n_ranked
        FROM wh.province_rank
        WHERE period IN (?, ?) AND (CAST(? AS VARCHAR) IS NULL OR province_code = ?)
        UNION ALL
        SELECT 'commune', indicator, commune_code, period, rank_in_province, n_in_province
        FROM wh.commune_rank
        WHERE period IN (?, ?) AND CAST(? AS VARCHAR) IS NOT NULL AND province_code = ?
        """,
        [period, previous, province, province, period, previous, province, province],
    )


def _bands_frame(query: Query, period: str, province: str | None) -> pd.DataFrame:
    return query(
        """
        SELECT o.indicator, o.level, o.unit_code, o.value, o.is_demo, c.name, c.province_code,
               p.name AS province_name
        FROM wh.observation o
        JOIN wh.commune c ON c.code = o.unit_code
        JOIN wh.province p ON p.code = c.province_code
        WHERE o.indicator = ? AND o.level = 'commune' AND o.period = ? AND o.value IS NOT NULL
          AND (CAST(? AS VARCHAR) IS NULL OR c.province_code = ?)
        ORDER BY o.value, c.name
        """,
        [catalog.by_role("index766").code, period, province, province],
    )


def province_name(query: Query, code: str) -> str | None:
    df = query("SELECT name FROM wh.province WHERE code = ?", [code])
    return None if df.empty else str(df["name"].iloc[0])


def periods(query: Query) -> list[str]:
    """Months with any province value, oldest first."""
    df = query("SELECT DISTINCT period FROM wh.observation WHERE level = 'province' ORDER BY period", [])
    return df["period"].tolist()


# --------------------------------------------------------------------------- the rules


def _at(obs: pd.DataFrame, period: str) -> pd.DataFrame:
    return obs[obs["period"] == period]


def _in(frame: pd.DataFrame, rule: dict) -> pd.DataFrame:
    return frame[frame["indicator"].isin(_watched(rule)) & frame["level"].isin(rule["levels"])]


KEY = ["indicator", "level", "unit_code"]


def _below_target(obs: pd.DataFrame, period: str, rule: dict) -> pd.DataFrame:
    now = _in(_at(obs, period), rule)
    missed = now[_missing_target(now)]
    order = {c: i for i, c in enumerate(catalog.indicators())}
    return missed.assign(_order=missed["indicator"].map(order), _good=missed["value"] * _direction(
        missed["indicator"])).sort_values(["_order", "_good", "name"]).drop(columns=["_order", "_good"])


def _missing_target(frame: pd.DataFrame) -> np.ndarray:
    return np.array([not meets(v, target(c)) for c, v in zip(frame["indicator"], frame["value"])], dtype=bool)


def _with_previous(obs: pd.DataFrame, period: str, rule: dict) -> pd.DataFrame:
    now = _in(_at(obs, period), rule)
    before = _at(obs, fmt.add_months(period, -1))[KEY + ["value"]].rename(columns={"value": "previous"})
    return now.merge(before, on=KEY)


def _value_fall(obs: pd.DataFrame, period: str, rule: dict) -> pd.DataFrame:
    both = _with_previous(obs, period, rule)
    both = both.assign(worse=(both["previous"] - both["value"]) * _direction(both["indicator"]))
    both = both[both["worse"] > 0].sort_values("worse", ascending=False)
    return both.groupby(["indicator", "level"], sort=False).head(int(rule["top"])).drop(columns="worse")


def _rank_fall(obs: pd.DataFrame, ranks: pd.DataFrame, period: str, rule: dict) -> pd.DataFrame:
    both = _with_previous(obs, period, rule)
    now = ranks[ranks["period"] == period][KEY + ["rank", "n_ranked"]]
    before = ranks[ranks["period"] == fmt.add_months(period, -1)][KEY + ["rank"]].rename(
        columns={"rank": "rank_previous"})
    both = both.merge(now, on=KEY).merge(before, on=KEY)
    both = both.assign(_lost=both["rank"] - both["rank_previous"])
    both = both[both["_lost"] >= int(rule["min_places"])].sort_values("_lost", ascending=False, kind="stable")
    return both.groupby(["indicator", "level"], sort=False).head(int(rule["top"])).drop(columns="_lost")


def _wide(obs: pd.DataFrame, months: list[str]) -> pd.DataFrame:
    """One row per series (indicator, level, unit), one column per month (NaN: no value)."""
    return obs[obs["period"].isin(months)].pivot_table(index=KEY, columns="period", values="value",
                                                         aggfunc="first").reindex(columns=months)


def _no_improvement(obs: pd.DataFrame, period: str, rule: dict) -> pd.DataFrame:
    n = int(rule["months"])
    months = [fmt.add_months(period, k) for k in range(-n, 1)]
    now = _in(_at(obs, period), rule)
    wide = _wide(_in(obs, rule), months).dropna()
    if wide.empty:
        return now.iloc[0:0]
    steps = np.diff(wide.to_numpy(), axis=1) * _direction(wide.index.get_level_values("indicator").to_series()
                                                           ).to_numpy()[:, None]
    stuck = wide[(steps <= 0).all(axis=1)].reset_index()[KEY + [months[0]]].rename(columns={months[0]: "previous"})
    out = now.merge(stuck, on=KEY)
    out = out[_missing_target(out)]
    return out.assign(since=months[0]).sort_values("value")


def _bands(bands: pd.DataFrame, rule: dict) -> pd.DataFrame:
    found = []
    for number, band in enumerate(rule["bands"]):
        low, high = band.get("from", -np.inf), band.get("below", np.inf)
        found.append(bands[(bands["value"] >= low) & (bands["value"] < high)].assign(band=number))
    return pd.concat(found) if found else bands.iloc[0:0]


def _missing_report(obs: pd.DataFrame, period: str, rule: dict) -> pd.DataFrame:
    previous = fmt.add_months(period, -1)
    method = catalog.index766_method(period)
    gone = {c for m in catalog.index766_methods() for c in m.codes} - set(method.codes if method else ())
    before = _in(_at(obs, previous), rule)
    before = before[~before["indicator"].isin(gone)]
    now = _at(obs, period)[KEY]
    absent = before.merge(now, on=KEY, how="left", indicator=True)
    absent = absent[absent["_merge"] == "left_only"]
    if absent.empty:
        return absent.drop(columns="_merge")
    order = {c: i for i, c in enumerate(catalog.indicators())}
    absent = absent.assign(_order=absent["indicator"].map(order)).sort_values("_order")
    units = absent.groupby(["level", "unit_code"], sort=False).agg(
        name=("name", "first"), province_code=("province_code", "first"), province_name=("province_name", "first"),
        missing=("indicator", tuple), is_demo=("is_demo", "any")).reset_index()
    return units.assign(indicator=None, value=np.nan, previous=np.nan)


def _outlier(obs: pd.DataFrame, period: str, rule: dict) -> pd.DataFrame:
    history = int(rule["history_months"])
    months = [fmt.add_months(period, k) for k in range(-history - 1, 1)]
    wide = _wide(_in(obs, rule), months)
    if wide.empty:
        return _at(obs, period).iloc[0:0]
    values = wide.to_numpy()
    steps = np.diff(values, axis=1)
    # A 766 group's step across a change of method is no data point (its maximum changed).
    groups = wide.index.get_level_values("indicator")
    for k in range(1, len(months)):
        changing = _groups_changing(months[k])
        if changing:
            steps[np.isin(groups, list(changing)), k - 1] = np.nan
    earlier, last = steps[:, :-1], steps[:, -1]
    enough = (~np.isnan(earlier)).sum(axis=1) >= int(rule["min_history"])
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # 'All-NaN slice': a series without history
        median = np.nanmedian(earlier, axis=1)
        mad = np.nanmedian(np.abs(earlier - median[:, None]), axis=1)
        far = enough & (mad > 0) & (np.abs(last - median) > float(rule["mads"]) * mad)
    found = wide.reset_index()[KEY].assign(previous=values[:, -2], median_change=median, mad=mad)[far]
    out = _at(obs, period).merge(found, on=KEY)
    return out.assign(_far=(out["value"] - out["previous"] - out["median_change"]).abs() / out["mad"]).sort_values(
        "_far", ascending=False).drop(columns="_far")


# --------------------------------------------------------------------------- the month


@dataclass(frozen=True)
class Attention:
    """The month's exceptions: ``items`` (one row per exception, columns ``ITEM_COLUMNS``, in
    the rules' order), the communes per 766 band, and whether any value looked at is demo."""

    period: str
    province: str | None
    province_name: str | None
    items: pd.DataFrame
    band_counts: tuple[int, ...]
    is_demo: bool

    def of(self, rule: str) -> pd.DataFrame:
        return self.items[self.items["rule"] == rule]


def find(query: Query, period: str, province: str | None = None) -> Attention:
    """Every rule of the rules file on ``period`` for the country (``province`` None: the 34
    provinces, and every commune for the 766 bands) or one province (itself and its communes)."""
    spec = rules()
    span = max(int(spec["outlier"]["history_months"]) + 1, int(spec["no_improvement"]["months"]))
    obs = _observations(query, fmt.add_months(period, -span), period, province)
    ranks = _ranks(query, period, province)
    bands = _bands(_bands_frame(query, period, province), spec["bands_766"])
    found = {
        "below_target": _below_target(obs, period, spec["below_target"]),
        "value_fall": _value_fall(obs, period, spec["value_fall"]),
        "rank_fall": _rank_fall(obs, ranks, period, spec["rank_fall"]),
        "no_improvement": _no_improvement(obs, period, spec["no_improvement"]),
        "bands_766": bands,
        "missing_report": _missing_report(obs, period, spec["missing_report"]),
        "outlier": _outlier(obs, period, spec["outlier"]),
    }
    frames = [frame.assign(rule=rule).reindex(columns=ITEM_COLUMNS) for rule, frame in found.items() if len(frame)]
    items = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=ITEM_COLUMNS)
    counts = tuple(int((bands["band"] == n).sum()) for n in range(len(spec["bands_766"]["bands"])))
    name = province_name(query, province) if province else None
    demo = bool(_at(obs, period)["is_demo"].any()) or bool(bands["is_demo"].any())
    return Attention(period, province, name, items, counts, demo)


# --------------------------------------------------------------------------- words


def clean(text: Any) -> str:
    """A name on one line without control characters (the digest is pasted as it is)."""
    return "".join(ch for ch in " ".join(str(text).split()) if unicodedata.category(ch) != "Cc")


def band_label(number: int, lang: str) -> str:
    """'< 80 điểm', '80–90 điểm' (from the rules file; the unit is the 766 index's)."""
    band = rules()["bands_766"]["bands"][number]
    suffix = catalog.by_role("index766").unit_spec.suffix(lang)
    low, high = band.get("from"), band.get("below")
    if low is None:
        return f"< {fmt.number(high, 0, lang)}{suffix}"
    if high is None:
        return f"≥ {fmt.number(low, 0, lang)}{suffix}"
    return f"{fmt.number(low, 0, lang)}–{fmt.number(high, 0, lang)}{suffix}"


def rule_text(rule: str, lang: str) -> str:
    """The rule in words, with its thresholds from the rules file."""
    spec = rules()[rule]
    values = {k: v for k, v in spec.items() if isinstance(v, (int, float, str))}
    if rule == "outlier":
        values["mads"] = fmt.number(spec["mads"], 0, lang)
    if rule == "bands_766":
        values["bands"] = "; ".join(band_label(n, lang) for n in range(len(spec["bands"])))
        values["indicator"] = catalog.by_role("index766").name(lang)
    return i18n.t(f"attention.rule.{rule}", lang, **values)


def unit_label(item: dict, lang: str, *, with_province: bool) -> str:
    name = clean(item["name"])
    if item["level"] == "commune" and with_province:
        return f"{name} ({clean(item['province_name'])})"
    return name


def detail(item: dict, lang: str) -> str:
    """The numbers of one exception in words (plain text)."""
    rule = item["rule"]
    if rule == "missing_report":
        names = ", ".join(catalog.get(c).name(lang) for c in item["missing"])
        return i18n.t("attention.item.missing_report", lang, n=len(item["missing"]), indicators=names)
    ind = catalog.get(item["indicator"])

    def say(v: Any) -> str:
        return fmt.value(v, ind.unit_spec, ind.decimals, lang)

    values = {"value": say(item["value"]), "previous": say(item["previous"])}
    if not fmt.is_missing(item["previous"]):
        values["change"] = fmt.change(item["value"], item["previous"], ind.unit_spec, ind.decimals, lang)
    if rule == "below_target":
        goal = target(ind.code)
        values.update(target=f"{_CMP.get(goal['comparison'], goal['comparison'])} {say(goal['value'])}",
                      deadline=fmt.month(goal["deadline"], lang))
    elif rule == "rank_fall":
        values.update(rank=fmt.rank(item["rank"], item["n_ranked"]), rank_previous=fmt.rank(item["rank_previous"],
                      item["n_ranked"]), places=int(item["rank"] - item["rank_previous"]))
    elif rule == "no_improvement":
        values.update(since=fmt.month(item["since"], lang))
    elif rule == "bands_766":
        values.update(band=band_label(int(item["band"]), lang))
    elif rule == "outlier":
        values.update(usual=fmt.difference(item["median_change"], ind.unit_spec, ind.decimals, lang),
                      mad=fmt.difference(item["mad"], ind.unit_spec, ind.decimals, lang, sign=False))
    return i18n.t(f"attention.item.{rule}", lang, **values)


def indicator_name(item: dict, lang: str) -> str:
    return "" if fmt.is_missing(item.get("indicator")) else catalog.get(item["indicator"]).name(lang)


def digest(found: Attention, lang: str) -> str:
    """The list as plain text for a messaging group: no markup, no control characters; the
    first line says whose list and which month, the second that the figures are demo."""
    where = found.province_name or i18n.t("attention.country", lang)
    lines = [i18n.t("attention.digest_title", lang, where=clean(where), period=fmt.month(found.period, lang))]
    if found.is_demo:
        lines.append(i18n.t("attention.digest_demo", lang))
    spec = rules()
    for number, rule in enumerate(RULES, start=1):
        items = found.of(rule)
        lines.append("")
        lines.append(f"{number}. {i18n.t(f'attention.heading.{rule}', lang)}: {fmt.number(len(items), 0, lang)}")
        lines.append(f"   ({rule_text(rule, lang)})")
        if rule == "bands_766":
            for band, count in enumerate(found.band_counts):
                lowest = items[items["band"] == band].head(int(spec[rule]["digest_max"]))
                names = ", ".join(f"{unit_label(r, lang, with_province=found.province is None)} "
                                  f"{fmt.value(r['value'], catalog.by_role('index766').unit_spec, None, lang)}"
                                  for r in lowest.to_dict("records"))
                lines.append(f"- {band_label(band, lang)}: {fmt.number(count, 0, lang)}"
                             + (f" ({i18n.t('attention.lowest', lang)}: {names})" if names else ""))
            continue
        shown = items.head(int(spec[rule]["digest_max"])).to_dict("records")
        for item in shown:
            what = indicator_name(item, lang)
            lines.append(f"- {unit_label(item, lang, with_province=found.province is None)}"
                         + (f" · {what}" if what else "") + f": {detail(item, lang)}")
        if len(items) > len(shown):
            lines.append("- " + i18n.t("attention.more", lang, n=fmt.number(len(items) - len(shown), 0, lang)))
    return "\n".join(lines) + "\n"
