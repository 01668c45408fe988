"""Tables and sentences of the pages (Rankings, Province profile, Communes, Data & methods, Data refresh).

Pure functions (pandas in, pandas/str out; no Streamlit), so they are tested without an app.
Tables come out as shown *and* downloaded: column names and text in the reader's language.
A table whose numbers stay numbers (Rankings) says in ``attrs`` how to write them:
``attrs["formats"]`` (column -> ``core.fmt`` function, "88,01 %" in Vietnamese, "88.01%" in
English) for the screen (:func:`shown`: a column then sorts 1, 2, 3…, not 1, 10, 11),
``attrs["excel"]`` (column -> number format, scale) for the Excel download, and
``attrs["hidden"]`` the columns only downloads carry (the n of a rank written "9/34"), and
``attrs["row_formats"]`` (column -> [(rows, function)]) where the format depends on the row
(a commune's rank is out of its own province's number of communes).
Columns holding lists (sparklines) are dropped from downloads by :func:`for_download`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from pandas.io.formats.style import Styler

from charts import labels
from core import catalog, fmt, i18n, similar
from core.safety import plain

KINDS = {"xa": "xã", "phuong": "phường", "dac_khu": "đặc khu"}  # URL code -> warehouse value


def _name_col(lang: str) -> str:
    return "name_en" if lang == "en" else "name_vi"


# --------------------------------------------------------------------------- vectorised text


def values_text(values: Any, unit: catalog.Unit | str, decimals: int, lang: str) -> pd.Series:
    """``fmt.value`` for a whole column (one format call per cell, ~1 µs each):
    vi '1.234,5 tỷ đồng', '88,01 %'; en '1,234.5 bn VND', '88.01%'; missing -> '–'."""
    arr = pd.Series(values, dtype="float64").tolist()  # Python floats: numpy scalars format slowly
    d = max(int(decimals), 0)
    spec = f"{{:,.{d}f}}"
    suffix = (unit if isinstance(unit, catalog.Unit) else catalog.unit(unit)).suffix(lang)
    half = 0.5 * 10 ** -d  # -0.001 -> "0.00", not "-0.00" (as fmt.number)
    out = ["–" if v != v else spec.format(0.0 if -half < v < 0 else v) for v in arr]
    if lang == "vi":
        out = [x.replace(",", "\0").replace(".", ",").replace("\0", ".") for x in out]
    out = [x if x == "–" else x + suffix for x in out]
    return pd.Series(out, dtype=object)


def ranks_text(position: Any, total: Any, lang: str = "vi") -> pd.Series:
    """'9/34', vi '1.712/3.321' for a whole column; missing -> '–'."""
    pos = pd.Series(position, dtype="Float64").to_numpy(dtype="float64", na_value=float("nan"))
    tot = pd.Series(total, dtype="Float64").to_numpy(dtype="float64", na_value=float("nan"))
    sep = "." if lang == "vi" else ","
    return pd.Series(
        ["–" if p != p or n != n else f"{int(p):,}/{int(n):,}".replace(",", sep) for p, n in zip(pos, tot)],
        dtype=object,
    )


def excel_format(unit: catalog.Unit | str, decimals: int, *, difference: bool = False) -> tuple[str, float]:
    """The Excel number format of a unit's values and the scale to store them with: a
    percentage is stored as a share (88.01 -> 0.8801, '0.00%'); a difference of percentages
    is in points ('+0.00;-0.00;0.00'); counts and amounts with thousands ('#,##0')."""
    unit = unit if isinstance(unit, catalog.Unit) else catalog.unit(unit)
    places = "." + "0" * int(decimals) if int(decimals) > 0 else ""
    if difference:
        body = f"#,##0{places}"
        return f"+{body};-{body};{body}", 1.0
    if unit.suffix("en").strip() == "%":
        return f"0{places}%", 0.01
    return f"#,##0{places}", 1.0


def rank_format(ranks: pd.Series, total: Any, lang: str) -> Callable[[Any], str]:
    """How a rank column is written: '9/34', and '7/34 (đồng hạng)' for a rank two or more
    provinces share (equal values: the next rank is then 9, not 8)."""
    counts = pd.Series(ranks).value_counts()
    tied = set(counts[counts > 1].index)
    word = i18n.t("common.tied", lang)
    return lambda r: fmt.rank(r, total, lang) + (f" ({word})" if r in tied else "")


def top_table(rows: pd.DataFrame, indicator: dict, lang: str) -> pd.DataFrame:
    """Overview's top and bottom five: rank, province, value, rank change (as numbers)."""
    t = i18n.translator(lang)
    unit, decimals = indicator["unit"], int(indicator["decimals"])
    rank, value, change = t("common.rank"), t("common.value"), t("common.change")
    out = pd.DataFrame({
        rank: pd.array(rows["rank"], dtype="Int64"),
        t("common.province"): rows["name"].tolist(),
        value: pd.Series(rows["value"], dtype="float64").to_numpy(),
        change: pd.array(rows["rank_change"], dtype="Int64"),
    })
    out.attrs["formats"] = {
        rank: rank_format(out[rank], rows["n_ranked"].max(), lang),
        value: lambda v: fmt.value(v, unit, decimals, lang),
        change: fmt.rank_change,
    }
    return out


def rendered_once(styler: Styler) -> Styler:
    """The Styler, writing its cells once. Streamlit renders a Styler's cells on every run of
    a page (``_translate``: about 10 ms for the 34 provinces); a table cached with its Styler
    (``dashboard.table_views``) is then written once for every session. Only formats, no
    styles depending on the run, so what it wrote first stays right. (Streamlit accepts a
    ``Styler`` of that exact type only: hence the instance's method, not a subclass.)"""
    translate, memo = styler._translate, {}

    def once(*args: Any, **kwargs: Any) -> dict:
        key = repr((args, sorted(kwargs.items())))  # booleans, numbers and strings (Streamlit's, to_html's)
        if key not in memo:
            memo[key] = translate(*args, **kwargs)
        return memo[key]

    styler._translate = once
    return styler


def shown(table: pd.DataFrame) -> Any:
    """The table as read on screen: numbers written by ``attrs["formats"]`` (a pandas Styler,
    so the cells stay numbers and sort as numbers), without ``attrs["hidden"]`` columns. All
    3,321 communes cost about 0.4 s of Styler a run (0.1 s as text); the text sorted its ranks
    1, 10, 100, so correct sorting wins."""
    visible = table.drop(columns=table.attrs.get("hidden", []))
    visible.attrs = {}  # (functions: Streamlit would warn that it cannot send them)
    formats = {c: f for c, f in table.attrs.get("formats", {}).items() if c in visible.columns}
    row_formats = {c: f for c, f in table.attrs.get("row_formats", {}).items() if c in visible.columns}
    if not formats and not row_formats:
        return visible
    styler = visible.style.format(formats, na_rep="–")
    for column, groups in row_formats.items():  # (rows, format) pairs: a format that depends on the row
        for rows, format_ in groups:
            styler = styler.format(format_, subset=(rows, [column]), na_rep="–")
    return rendered_once(styler)


def written(table: pd.DataFrame) -> pd.DataFrame:
    """The table as text, for a short static table (``st.table``, which reads cells as
    Markdown: each cell is escaped). A Styler costs Streamlit ~5 ms a run even for 5 rows."""
    visible = table.drop(columns=table.attrs.get("hidden", []))
    formats = table.attrs.get("formats", {})
    return pd.DataFrame({
        column: [plain("–" if fmt.is_missing(v) else formats[column](v) if column in formats else str(v))
                 for v in visible[column].tolist()]
        for column in visible.columns
    })


def kind_label(kind: str, lang: str) -> str:
    """'xã' -> vi 'Xã', en 'Commune'."""
    code = {v: k for k, v in KINDS.items()}.get(kind, kind)
    return i18n.t(f"kind.{code}", lang)


def for_download(table: pd.DataFrame) -> pd.DataFrame:
    """The table without list columns (sparklines do not fit in CSV/Excel cells)."""
    keep = [c for c in table.columns if not table[c].map(lambda v: isinstance(v, (list, np.ndarray))).any()]
    out = table[keep]
    out.attrs = table.attrs  # (how its numbers are written)
    return out


# --------------------------------------------------------------------------- province profile


def profile_table(profile: pd.DataFrame, lang: str) -> pd.DataFrame:
    """One row per indicator (``queries.province_profile``): topic, indicator, value, change
    on the previous month, rank 'x/34', rank change '▲2', and the trend (list of values); the
    numbers as numbers, each row written in its indicator's unit (``attrs["row_formats"]``,
    and ``attrs["excel_rows"]`` for the Excel file)."""
    t = i18n.translator(lang)
    rows = profile.to_dict("records")
    value, delta, rank, n = t("common.value"), t("profile.col_change_value"), t("common.rank"), t("common.n_ranked")
    change = t("common.change")
    now = pd.Series([r["value"] for r in rows], dtype="float64")
    before = pd.Series([r["prev_value"] for r in rows], dtype="float64")
    out = pd.DataFrame({
        t("profile.col_topic"): [t(f"topic.{r['topic']}") for r in rows],
        t("profile.col_indicator"): [r[_name_col(lang)] for r in rows],
        value: now,
        delta: (now - before).round(6),  # 3.08, not 3.0799999999999983, in a CSV
        rank: pd.Series([r["rank"] for r in rows], dtype="Int64"),
        n: pd.Series([r["n_ranked"] for r in rows], dtype="Int64"),
        change: pd.Series([r["rank_change"] for r in rows], dtype="Int64"),
        t("profile.col_trend"): [
            [None if fmt.is_missing(v) else float(v) for v in (r["trend"] if r["trend"] is not None else [])]
            for r in rows
        ],
    })
    units = pd.Series([(r["unit"], int(r["decimals"])) for r in rows])
    groups = [(units.index[units == key], key) for key in dict.fromkeys(units)]
    out.attrs["hidden"] = [n]
    n_all = out[n].max()
    out.attrs["formats"] = {rank: lambda r: fmt.rank(r, n_all, lang), change: fmt.rank_change}
    out.attrs["row_formats"] = {
        value: [(idx, lambda v, u=u, d=d: fmt.value(v, u, d, lang)) for idx, (u, d) in groups],
        delta: [(idx, lambda x, u=u, d=d: fmt.difference(x, u, d, lang)) for idx, (u, d) in groups],
    }
    out.attrs["excel"] = {rank: ("0", 1.0), n: ("0", 1.0), change: ("+0;-0;0", 1.0)}
    out.attrs["excel_rows"] = {
        value: [(idx, excel_format(u, d)) for idx, (u, d) in groups],
        delta: [(idx, excel_format(u, d, difference=True)) for idx, (u, d) in groups],
    }
    return out


def similar_table(code: str, peers: pd.DataFrame, provinces: pd.DataFrame, context: pd.DataFrame,
                  indicators: list[tuple[str, dict, pd.DataFrame]], lang: str) -> pd.DataFrame:
    """The province (first, distance 0) and its similar provinces (``queries.similar_provinces``),
    nearest first: the distance, per indicator in ``indicators`` ((column name, catalog row,
    ``queries.province_values``)) the month's value, then the context they were compared on
    (region last: the widest column is the one cut on a narrow screen); as numbers."""
    t = i18n.translator(lang)
    order = [code, *peers["code"]]
    prov = provinces.set_index("code").loc[order]
    ctx = context.set_index("code").loc[order]
    col_distance, people, wards = t("similar.col_distance"), t("common.population"), t("similar.col_wards")
    area, communes = t("similar.col_area"), t("similar.col_communes")
    out = pd.DataFrame({
        t("common.province"): [t("similar.this_province", name=prov["name"].iloc[0]), *prov["name"].iloc[1:]],
        col_distance: [0.0, *peers["distance"].round(2)],
    })
    out.attrs["formats"] = {col_distance: lambda d: fmt.number(d, 2, lang)}
    out.attrs["excel"] = {col_distance: ("0.00", 1.0)}
    for column, ind, values in indicators:
        unit, decimals = ind["unit"], int(ind["decimals"])
        out[column] = values.set_index("code")["value"].reindex(order).to_numpy(dtype="float64")
        out.attrs["formats"][column] = lambda v, u=unit, d=decimals: fmt.value(v, u, d, lang)
        out.attrs["excel"][column] = excel_format(unit, decimals)
    out[people] = pd.array(ctx["population"], dtype="Int64")
    out[area] = ctx["area_km2"].to_numpy(dtype="float64")
    out[communes] = pd.array(ctx["n_communes"], dtype="Int64")
    out[wards] = ctx["ward_share"].to_numpy(dtype="float64") * 100
    out[t("common.region")] = prov["region_en" if lang == "en" else "region_vi"].tolist()
    share_unit = similar.scheme().ward_share_unit
    out.attrs["formats"] |= {
        people: lambda v: fmt.number(v, 0, lang), area: lambda v: fmt.number(v, 0, lang),
        communes: lambda v: fmt.number(v, 0, lang),
        wards: lambda v: fmt.value(v, share_unit, 1, lang),
    }
    out.attrs["excel"] |= {people: ("#,##0", 1.0), area: ("#,##0", 1.0), communes: ("0", 1.0),
                           wards: excel_format(share_unit, 1)}
    return out


def index766_groups(profile: pd.DataFrame, period: str) -> pd.DataFrame:
    """The Decision 766 groups of one unit in ``period``: the groups of that month's method
    (``catalog.index766_method``), in its order, with their maxima under it: code, name_vi,
    name_en, value, prev_value, delta (none where the group's maximum changed with the method),
    max_value. Empty if the month has no method or no group."""
    columns = ["code", "name_vi", "name_en", "value", "prev_value", "delta", "max_value"]
    method = catalog.index766_method(period)
    if method is None:
        return pd.DataFrame(columns=columns)
    order = list(method.codes)
    groups = profile[profile["code"].isin(order)].copy()
    groups["_order"] = groups["code"].map({c: i for i, c in enumerate(order)})
    groups = groups.sort_values("_order").drop(columns="_order")
    groups["max_value"] = groups["code"].map(method.max_of).astype("float64")
    before = catalog.index766_method(fmt.add_months(period, -1))
    same_scale = groups["code"].map(lambda c: before is not None and before.max_of(c) == method.max_of(c))
    groups["delta"] = (groups["value"] - groups["prev_value"]).where(same_scale.astype(bool))
    return groups[columns].reset_index(drop=True)


def index766_method_change(period: str) -> tuple[catalog.Method, catalog.Method] | None:
    """(the previous month's method, this month's) when the 766 index changed its method in
    ``period``: its groups are then not comparable with the previous month's."""
    before, now = (catalog.index766_method(p) for p in (fmt.add_months(period, -1), period))
    return (before, now) if before is not None and now is not None and before != now else None


def short_group_name(name: str) -> str:
    """'766 – Công khai, minh bạch' -> 'Công khai, minh bạch'."""
    return name.split("–", 1)[1].strip() if "–" in name else name


def driver(groups: pd.DataFrame) -> dict | None:
    """The group that drove the change of the total since the previous month: the largest
    change in the direction of the total's change (None without a previous month)."""
    if groups.empty or groups["delta"].isna().any():
        return None
    total = float(groups["delta"].sum())
    if abs(total) < 0.005:
        candidates = groups.assign(size=groups["delta"].abs())
    else:
        same = groups[np.sign(groups["delta"]) == np.sign(total)]
        candidates = same.assign(size=same["delta"].abs())
    if candidates.empty:
        return None
    return candidates.sort_values("size", ascending=False).iloc[0].to_dict() | {"total_delta": total}


def index766_sentence(groups: pd.DataFrame, *, total: float | None, prev_total: float | None,
                      name: str, period: str, lang: str) -> str:
    """'Chỉ số 766 của Phú Thọ giảm 0,63 điểm so với Tháng 8/2025 (73,78 → 73,15); nhóm tác
    động nhiều nhất: Dịch vụ công trực tuyến (−0,41 điểm).' In the month the method changed,
    the sentence says so instead of naming a group (the groups of the two months differ). As
    markdown: the names (from the data files) are plain text."""
    name = plain(name)
    prev_month = fmt.month(fmt.add_months(period, -1), lang)
    decimals = catalog.by_role("index766").decimals
    if fmt.is_missing(total):
        return i18n.t("profile.i766_none", lang, name=name, period=fmt.month(period, lang))
    change = index766_method_change(period)
    if fmt.is_missing(prev_total) or (change is None and groups["prev_value"].isna().any()):
        return i18n.t("profile.i766_no_prev", lang, name=name, prev=prev_month,
                      total=fmt.number(total, decimals, lang))
    delta = float(total) - float(prev_total)
    main = None if change is not None else driver(groups)
    words = {1: "profile.i766_up", -1: "profile.i766_down", 0: "profile.i766_same"}
    direction = 0 if abs(delta) < 0.005 else (1 if delta > 0 else -1)
    text = i18n.t(
        words[direction], lang, name=name, delta=fmt.number(abs(delta), decimals, lang), prev=prev_month,
        before=fmt.number(prev_total, decimals, lang), after=fmt.number(total, decimals, lang),
    )
    if change is not None:
        before, now = change
        text += " " + i18n.t("profile.i766_method_changed", lang, period=fmt.month(period, lang),
                             method=now.label(lang), before=len(before.groups), after=len(now.groups))
    elif main is not None and direction != 0:
        group_name = plain(short_group_name(main["name_en" if lang == "en" else "name_vi"]))
        text += " " + i18n.t("profile.i766_driver", lang, group=group_name,
                             delta=fmt.number(main["delta"], decimals, lang, sign=True))
    return text


# --------------------------------------------------------------------------- communes


def index766_group_table(groups: pd.DataFrame, total: Any, prev_total: Any, lang: str) -> pd.DataFrame:
    """The month's groups of Decision 766 and the total: score, maximum under the month's
    method, change on last month (a group's change only where its maximum stayed the same)."""
    t = i18n.translator(lang)
    d = catalog.by_role("index766").decimals
    change = None if fmt.is_missing(prev_total) else total - prev_total
    return pd.DataFrame({
        t("profile.col_group"): [short_group_name(n) for n in groups[_name_col(lang)]] + [t("profile.total")],
        t("profile.col_score"): [fmt.number(v, d, lang) for v in groups["value"]] + [fmt.number(total, d, lang)],
        t("profile.col_max"): [fmt.number(m, 0, lang) for m in groups["max_value"]]
        + [fmt.number(groups["max_value"].sum(), 0, lang)],
        t("profile.col_delta"): [fmt.number(x, d, lang, sign=True) for x in groups["delta"]]
        + [fmt.number(change, d, lang, sign=True)],
    })


def commune_table(df: pd.DataFrame, indicator: dict, lang: str, *, with_province: bool = True,
                  with_criteria: bool = True) -> pd.DataFrame:
    """Communes as shown (``queries.province_communes`` / ``commune_ranking``): name, kind,
    province, value, rank in province 'x/n', national rank 'x/3.321', criteria met; as numbers
    (the ranks' n in columns only downloads carry)."""
    t = i18n.translator(lang)
    unit, decimals = indicator["unit"], int(indicator["decimals"])
    kinds = {k: kind_label(k, lang) for k in df["kind"].dropna().unique()}
    df = df.reset_index(drop=True)  # columns are passed as Series: no copy of the Arrow strings
    value, in_province, national = t("common.value"), t("communes.col_rank_province"), t("communes.col_rank_national")
    n_province, n_national = t("communes.col_n_province"), t("communes.col_n_national")
    columns = {
        t("communes.col_code"): df["code"],
        t("communes.col_name"): df["name"],
        t("communes.col_kind"): df["kind"].map(kinds),
    }
    if with_province:
        columns[t("common.province")] = df["province_name"]
    columns[value] = pd.Series(df["value"], dtype="float64")
    columns[in_province] = pd.Series(df["rank_in_province"], dtype="Int64")
    columns[national] = pd.Series(df["rank_national"], dtype="Int64")
    columns[n_province] = pd.Series(df["n_in_province"], dtype="Int64")
    columns[n_national] = pd.Series(df["n_national"], dtype="Int64")
    formats: dict[str, Callable[[Any], str]] = {value: lambda v: fmt.value(v, unit, decimals, lang)}
    excel = {value: excel_format(unit, decimals), in_province: ("0", 1.0), national: ("#,##0", 1.0),
             n_province: ("0", 1.0), n_national: ("#,##0", 1.0)}
    if with_criteria and "criteria_met" in df:
        criteria = catalog.by_role("dx_criteria")
        column = t("communes.col_criteria")
        columns[column] = pd.Series(df["criteria_met"], dtype="float64")
        formats[column] = lambda v: fmt.value(v, criteria.unit_spec, criteria.decimals, lang)
    out = pd.DataFrame(columns)
    out.attrs["hidden"] = [n_province, n_national]
    n_all = out[n_national].max()
    out.attrs["formats"] = formats | {national: lambda r: fmt.rank(r, n_all, lang)}
    # The rank in its province is out of that province's number of communes: one format per number.
    out.attrs["row_formats"] = {in_province: [
        (rows.index, lambda r, n=n: fmt.rank(r, n, lang)) for n, rows in out.groupby(n_province)
    ]}
    out.attrs["excel"] = excel
    return out


def commune_indicator_table(profile: pd.DataFrame, period: str, lang: str, months: int = 12) -> pd.DataFrame:
    """One row per indicator of one commune (``queries.commune_profile``) at ``period``:
    indicator, value, rank in province, national rank, trend (``months`` months to period)."""
    t = i18n.translator(lang)
    start = fmt.add_months(period, -(months - 1))
    name = _name_col(lang)
    meta: dict[str, dict] = {}
    trend: dict[str, list[float]] = {}
    now: dict[str, dict] = {}
    for r in profile.to_dict("records"):  # ~12 indicators x 16 months
        code = r["indicator"]
        meta.setdefault(code, r)
        if start <= r["period"] <= period:
            trend.setdefault(code, []).append(float(r["value"]))
        if r["period"] == period:
            now[code] = r
    rows = []
    for code, m in meta.items():
        cur = now.get(code, {})
        rows.append({
            t("profile.col_indicator"): m[name],
            t("common.value"): fmt.value(cur.get("value"), m["unit"], int(m["decimals"]), lang),
            t("communes.col_rank_province"): fmt.rank(cur.get("rank_in_province"), cur.get("n_in_province"), lang),
            t("communes.col_rank_national"): fmt.rank(cur.get("rank_national"), cur.get("n_national"), lang),
            t("profile.col_trend"): trend.get(code, []),
        })
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- data & methods


def commune_history_table(profile: pd.DataFrame, lang: str) -> pd.DataFrame:
    """Every month of every indicator of one commune, with its ranks (the drill-down's download)."""
    t = i18n.translator(lang)
    long = profile.assign(
        _name=profile[_name_col(lang)],
        _rank_p=ranks_text(profile["rank_in_province"], profile["n_in_province"], lang).to_numpy(),
        _rank_n=ranks_text(profile["rank_national"], profile["n_national"], lang).to_numpy(),
    )[["indicator", "_name", "period", "value", "_rank_p", "_rank_n", "is_demo"]]
    long.columns = [
        t("methods.col_code"), t("profile.col_indicator"), t("common.period"), t("common.value"),
        t("communes.col_rank_province"), t("communes.col_rank_national"), t("common.demo_flag"),
    ]
    return long


def formula_text(row: dict, names: dict[str, str], lang: str) -> str:
    """How an indicator is computed: '100 × A / B' for rates, 'from <month>: A (18) + B (20) + …'
    for the 766 total, one sum per method."""
    if row.get("aggregation") == "ratio" and row.get("numerator") and row.get("denominator"):
        return (f"100 × {names.get(row['numerator'], row['numerator'])} / "
                f"{names.get(row['denominator'], row['denominator'])}")
    if row.get("code") == catalog.by_role("index766").code:  # the sum of the groups of each method
        def group(g: catalog.Group) -> str:
            return f"{short_group_name(names.get(g.indicator, g.indicator))} ({fmt.number(g.max, 0, lang)})"

        return "; ".join(i18n.t("methods.formula_766", lang, since=fmt.month(m.valid_from, lang),
                                sum=" + ".join(map(group, m.groups))) for m in catalog.index766_methods())
    return i18n.t("methods.formula_reported", lang)


def catalog_table(indicators: pd.DataFrame, lang: str) -> pd.DataFrame:
    """The indicator catalog as shown on Data & methods (one row per indicator)."""
    t = i18n.translator(lang)
    names = dict(zip(indicators["code"], indicators[_name_col(lang)]))
    rows = []
    for r in indicators.to_dict("records"):
        target = ""
        if not fmt.is_missing(r.get("target_value")):
            cmp = {">=": "≥", "<=": "≤"}.get(r.get("target_comparison"), r.get("target_comparison") or "")
            target = (f"{cmp} {fmt.value(r['target_value'], r['unit'], int(r['decimals']), lang)} "
                      f"({fmt.month(r.get('target_deadline'), lang)})")
        levels = r.get("levels") or ""
        if not isinstance(levels, str):
            levels = ",".join(levels)
        rows.append({
            t("methods.col_code"): r["code"],
            t("profile.col_indicator"): r[_name_col(lang)],
            t("methods.col_topic"): t(f"topic.{r['topic']}"),
            t("methods.col_unit"): catalog.unit(r["unit"]).label(lang),
            t("methods.col_direction"): t("methods.higher_better" if r["higher_is_better"] else "methods.lower_better"),
            t("methods.col_formula"): formula_text(r, names, lang),
            t("methods.col_aggregation"): t(f"methods.agg_{r['aggregation']}"),
            t("methods.col_levels"): ", ".join(
                t(f"methods.level_{lv.strip()}") for lv in levels.split(",") if lv.strip()
            ),
            t("methods.col_definition"): (r.get("definition_en") if lang == "en" and r.get("definition_en")
                                          else r.get("definition")) or "",
            t("methods.col_legal_basis"): r.get("legal_basis") or "",
            t("methods.col_target"): target,
        })
    return pd.DataFrame(rows)


def facts_table(facts: pd.DataFrame, checks: pd.DataFrame, lang: str) -> pd.DataFrame:
    """Press facts with the warehouse check: ✓ agrees, ✗ disagrees, '—' context only; and
    whether the warehouse value is real or demo data (demo data are set to match the facts,
    so a demo ✓ says nothing about the world)."""
    t = i18n.translator(lang)
    merged = facts.merge(checks[["id", "observed", "agrees", "is_demo"]], on="id", how="left")
    rows = []
    for r in merged.to_dict("records"):
        checkable = isinstance(r.get("check"), str) and r["check"]
        agrees = r.get("agrees") is True or r.get("agrees") == 1
        if not checkable:
            mark = "—"
        else:
            mark = "✓" if agrees else "✗"
        unit = catalog.units().get(r.get("unit"))  # a rank or a plain number: no unit
        period = r.get("period") or ""
        period_text = period if "/" in period else fmt.month(period, lang) if len(period) == 7 else period
        if r.get("period_is_approximate"):
            period_text += " " + t("methods.approx")
        rows.append({
            t("methods.col_fact"): r["id"],
            t("methods.col_entity"): r["entity"],
            t("methods.col_statement"): (r.get("statement_en") if lang == "en" and r.get("statement_en")
                                         else r["statement"]),
            t("common.value"): {">": "> ", "<": "< ", ">=": "≥ ", "<=": "≤ "}.get(r.get("comparison") or "", "")
            + _fact_value(r["value"], unit, lang),
            t("common.period"): period_text,
            t("methods.col_check"): mark,
            t("methods.col_observed"): "" if not checkable or fmt.is_missing(r.get("observed"))
            else _fact_value(r["observed"], unit, lang),
            t("methods.col_basis"): basis_text(r.get("is_demo"), agrees, lang)
            if checkable and not fmt.is_missing(r.get("observed")) else "",
            t("methods.col_link"): r["source_url"],
        })
    return pd.DataFrame(rows)


def _fact_value(value: Any, unit: catalog.Unit | None, lang: str) -> str:
    """A press fact's number in its unit with the unit's decimals (a rank as a whole number)."""
    return fmt.value(value, unit, None, lang) if unit else fmt.number(value, 0, lang)


def basis_text(is_demo: Any, agrees: bool, lang: str) -> str:
    """'demo, set to match' / 'demo' / 'real': what a fact's warehouse value is."""
    if is_demo is True or is_demo == 1:
        return i18n.t("methods.basis_demo_matched" if agrees else "methods.basis_demo", lang)
    return i18n.t("methods.basis_real", lang)


def markdown_section(text: str, heading: str) -> str:
    """The body of the ``## heading`` section of a Markdown text ('' if absent)."""
    lines, out, inside = text.splitlines(), [], False
    for line in lines:
        if line.startswith("## "):
            if inside:
                break
            inside = line[3:].strip().lower().startswith(heading.lower())
            continue
        if inside:
            out.append(line)
    return "\n".join(out).strip()


# --------------------------------------------------------------------------- Rankings


def rankings_table(values: pd.DataFrame, indicator: dict, national: dict | None, target: dict | None,
                   lang: str) -> pd.DataFrame:
    """The 34 provinces for one indicator and month (``queries.province_values``): rank, the
    number ranked, rank change, value, gap to ``national`` (``queries.comparison_value``: the
    median of provinces for counts), whether the target is met, the demo flag; as numbers."""
    from dashboard import narrative

    t = i18n.translator(lang)
    unit, decimals = indicator["unit"], int(indicator["decimals"])
    nat = float(national["value"]) if national and not fmt.is_missing(national["value"]) else float("nan")
    kind = national.get("kind") if national else None
    rank, n = t("common.rank"), t("common.n_ranked")
    vs = t({"median": "common.vs_median", "peers": "similar.vs_median"}.get(kind, "common.vs_national"))
    value, change = t("common.value"), t("common.change")
    out = pd.DataFrame({
        rank: pd.array(values["rank"], dtype="Int64"),
        n: pd.array(values["n_ranked"], dtype="Int64"),
        t("common.province"): values["name"].tolist(),
        t("common.region"): values["region_en" if lang == "en" else "region_vi"].tolist(),
        value: pd.Series(values["value"], dtype="float64").to_numpy(),
        change: pd.array(values["rank_change"], dtype="Int64"),
        # (one more decimal: a median may end in .5)
        vs: (pd.Series(values["value"], dtype="float64") - nat).round(int(decimals) + 1).to_numpy(),
    })
    total = out[n].max()
    out.attrs["hidden"] = [n]
    out.attrs["formats"] = {
        rank: rank_format(out[rank], total, lang),
        value: lambda v: fmt.value(v, unit, decimals, lang),
        change: fmt.rank_change,
        vs: lambda d: fmt.difference(d, unit, decimals, lang),
    }
    out.attrs["excel"] = {
        rank: ("0", 1.0), n: ("0", 1.0), value: excel_format(unit, decimals), change: ("+0;-0;0", 1.0),
        vs: excel_format(unit, decimals, difference=True),
    }
    if "population" in values:  # a figure per 1,000 inhabitants names the population it divides by
        people = t("common.population")
        out[people] = pd.array(values["population"], dtype="Int64")
        out[t("common.population_basis")] = values["population_basis"].tolist()
        out.attrs["formats"][people] = lambda v: fmt.number(v, 0, lang)
        out.attrs["excel"][people] = ("#,##0", 1.0)
    if target:
        said = {True: t("common.yes"), False: t("common.no"), None: "–"}
        out[t("common.meets_target")] = [said[narrative.meets(v, target)] for v in values["value"]]
    demo = values["is_demo"].fillna(False)
    if bool(demo.any()):
        out[t("common.demo_flag")] = [t("common.yes") if d else "" for d in demo]
    return out


# --------------------------------------------------------------------------- Data refresh

CHANGES_SHOWN = 500


def file_size(n: Any, lang: str) -> str:
    """'1,5 MB' / '1.5 MB'; missing -> '–'."""
    if n is None or fmt.is_missing(n):
        return "–"
    n = float(n)
    if n < 1024:
        return f"{fmt.number(n, 0, lang)} B"
    if n < 1024 ** 2:
        return f"{fmt.number(n / 1024, 1, lang)} KB"
    return f"{fmt.number(n / 1024 ** 2, 1, lang)} MB"


def minute(value: Any) -> str:
    """A time as '2025-10-03 14:05'; missing -> ''."""
    return "" if value is None or fmt.is_missing(value) else pd.Timestamp(value).strftime("%Y-%m-%d %H:%M")


def _reason_title(code: str, lang: str) -> str:
    key = f"reason.{code}.title"
    return i18n.t(key, lang) if i18n.has(key) else str(code)


def rejections_table(rejections: list[dict], lang: str) -> pd.DataFrame:
    """The loader's rejection lines (``python -m etl load --json``) as shown and downloaded:
    row, column, value, problem, reason, suggestion, severity, code, the sentences said in
    ``lang`` from their keys and values, each distinct one once."""
    said: dict[tuple, tuple[str, str]] = {}

    def words(r: dict) -> tuple[str, str]:
        params = r.get("params") or {}
        key = (r["reason_key"], r.get("suggestion_key"), _params_key(params))
        if key not in said:
            suggestion = r.get("suggestion_key")
            said[key] = (i18n.sentence(r["reason_key"], lang, params),
                         i18n.sentence(suggestion, lang, params) if suggestion else "")
        return said[key]

    t = i18n.translator(lang)
    sentences = [words(r) for r in rejections]
    frame = pd.DataFrame(rejections, columns=["row", "column", "value", "code", "severity"])
    return pd.DataFrame({
        t("refresh.col.row"): frame["row"].astype("Int64"),
        t("refresh.col.column"): frame["column"].astype(object),
        t("refresh.col.value"): frame["value"].astype(object),
        t("refresh.col.problem"): frame["code"].map(lambda code: _reason_title(code, lang)),
        t("refresh.col.reason"): pd.Series([s[0] for s in sentences], dtype=object),
        t("refresh.col.suggestion"): pd.Series([s[1] for s in sentences], dtype=object),
        t("refresh.col.severity"): frame["severity"].map(lambda s: t(f"refresh.severity_{s}")),
        t("refresh.col.code"): frame["code"].astype(object),
    })


def _params_key(params: dict) -> str:
    return repr(sorted(params.items()))


def changes_table(changes: list[dict], indicator_names: dict[str, str], lang: str) -> pd.DataFrame:
    """Values a load would change (the loader lists the first ones), old next to new; a value
    new to the warehouse has no old value and no demo flag."""
    t = i18n.translator(lang)
    c = pd.DataFrame(changes[:CHANGES_SHOWN],
                     columns=["unit", "indicator", "period", "old_value", "new_value", "old_is_demo"])
    return pd.DataFrame({
        t("refresh.col.unit"): c["unit"].astype(object),
        t("refresh.col.indicator"): c["indicator"].map(lambda code: indicator_names.get(code) or str(code)),
        t("refresh.col.period"): c["period"].astype(object),
        t("refresh.col.old_value"): pd.to_numeric(c["old_value"]),
        t("refresh.col.new_value"): pd.to_numeric(c["new_value"]),
        t("refresh.col.old_is_demo"): c["old_is_demo"].map(
            lambda v: "" if v is None or fmt.is_missing(v) else t("common.yes" if v else "common.no")),
    })


def load_history_table(history: pd.DataFrame, lang: str) -> pd.DataFrame:
    """Every load, newest first, with who sent which file when, its size and checksum."""
    t = i18n.translator(lang)
    h = history.sort_values("load_id", ascending=False).reset_index(drop=True)

    def said(prefix: str, value: Any) -> str:
        return t(f"{prefix}{value}") if i18n.has(f"{prefix}{value}") else value

    loaded, rejected = t("refresh.col.rows_loaded"), t("refresh.col.rows_rejected")
    out = pd.DataFrame({
        t("refresh.col.load_id"): h["load_id"],
        t("refresh.col.kind"): h["kind"].map(lambda k: said("refresh.kind_", k)),
        t("refresh.col.file"): h["file_name"],
        t("refresh.col.status"): h["status"].map(lambda s: said("refresh.status_", s)),
        loaded: pd.array(h["rows_loaded"], dtype="Int64"),
        rejected: pd.array(h["rows_rejected"], dtype="Int64"),
        t("refresh.col.uploader"): h["uploader"],
        t("refresh.col.received_at"): h["received_at"].map(minute),
        t("refresh.col.finished_at"): h["finished_at"].map(minute),
        t("refresh.col.undone_at"): h["undone_at"].map(minute),
        t("refresh.col.size"): h["size_bytes"].map(lambda n: file_size(n, lang)),
        t("refresh.col.sha256"): h["sha256"].fillna(""),
    })

    def count(n: Any) -> str:  # "662.960", not "662960"
        return fmt.number(n, 0, lang)

    out.attrs["formats"] = {loaded: count, rejected: count}
    out.attrs["excel"] = {loaded: ("#,##0", 1.0), rejected: ("#,##0", 1.0)}
    return out


# --------------------------------------------------------------------------- published figures


def period_text(period: str | None, lang: str) -> str:
    """A period as the published list writes it, in the reader's words: 'Tháng 8/2025', '2025',
    'Quý 3/2025', 'T7/2025 – T9/2025', 'không nêu' (no period stated)."""
    if not period:
        return i18n.t("published.period_unstated", lang)
    if ".." in period:
        first, last = period.split("..")
        return f"{fmt.month_short(first, lang)} – {fmt.month_short(last, lang)}"
    if "-Q" in period:
        return i18n.t("published.quarter", lang, year=period[:4], quarter=period[-1])
    if "/" in period:
        first, last = period.split("/")
        return f"{fmt.month_short(first, lang)} – {fmt.month_short(last, lang)}"
    return fmt.month(period, lang) if len(period) == 7 else period


def published_table(rows: pd.DataFrame, lang: str) -> pd.DataFrame:
    """A province's published figures and press facts (``queries.province_published``) in the
    product's words: what the figure is, the value as stated, its period, date and basis, the
    source address (a link column)."""
    t = i18n.translator(lang)
    out = []
    for r in rows.to_dict("records"):
        published = r["kind"] == "published"
        if published:
            value = labels.published_value(r, lang)
            basis = r["basis_en" if lang == "en" else "basis_vi"]
        else:
            unit = catalog.units().get(r.get("unit"))
            value = {">": "> ", "<": "< ", ">=": "≥ ", "<=": "≤ "}.get(r.get("comparison") or "", "") + \
                _fact_value(r["value"], unit, lang)
            basis = t("methods.approx") if r.get("period_is_approximate") else ""
        out.append({
            t("published.col_kind"): t("published.kind_published" if published else "published.kind_press"),
            t("published.col_figure"): r["name_en"] if lang == "en" and r.get("name_en") else r["name_vi"],
            t("published.col_value"): value,
            t("published.col_period"): period_text(r.get("period"), lang),
            t("published.col_as_of"): fmt.day(r.get("as_of")) if published else "",
            t("published.col_basis"): basis,
            t("published.col_source"): r["source_url"],
        })
    return pd.DataFrame(out, columns=[t(f"published.col_{c}") for c in
                                      ("kind", "figure", "value", "period", "as_of", "basis", "source")])


def published_check_table(checks: pd.DataFrame, lang: str) -> pd.DataFrame:
    """Every published figure beside the warehouse value of its month (``queries.published_checks``):
    published and warehouse values written alike, the difference (warehouse − published; points
    of % for rates), whether the warehouse value is demo or real, and whether the figure is
    comparable (a monthly value on the same basis: ✓ / ✗) or why not."""
    t = i18n.translator(lang)
    out = []
    for r in checks.to_dict("records"):
        observed = not fmt.is_missing(r.get("warehouse_value"))
        unit = catalog.units().get(r["unit_code"])
        if not observed:
            difference = ""
        elif unit is not None and r["measure"] == "value":
            difference = fmt.difference(r["difference"], unit, int(r["decimals"]), lang)
        else:
            difference = fmt.number(r["difference"], int(r["decimals"]), lang, sign=True)
        if r["comparable"]:
            verdict = t("published.comparable_yes")
            if not fmt.is_missing(r.get("agrees")):
                verdict += " · " + t("published.agrees" if r["agrees"] else "published.disagrees")
        else:
            verdict = t(f"published.reason.{r['reason']}")
        out.append({
            t("methods.col_fact"): r["id"],
            t("published.col_province"): t("published.national") if fmt.is_missing(r.get("province_name"))
            else r["province_name"],
            t("published.col_figure"): r["name_en"] if lang == "en" else r["name_vi"],
            t("published.col_period"): period_text(r.get("period"), lang),
            t("published.col_as_of"): fmt.day(r.get("as_of")),
            t("published.col_value"): labels.published_value(r, lang),
            t("published.col_warehouse"): labels.published_value(
                {**r, "value": r["warehouse_value"], "comparison": "="}, lang) if observed else "–",
            t("published.col_difference"): difference,
            t("published.col_warehouse_is"): basis_text(r.get("is_demo"), r.get("agrees") is True, lang)
            if observed else "",
            t("published.col_comparable"): verdict,
            t("published.col_basis"): r["basis_en" if lang == "en" else "basis_vi"],
            t("published.col_source"): r["source_url"],
        })
    return pd.DataFrame(out)
