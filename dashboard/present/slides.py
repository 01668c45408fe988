"""One slide per view: the chart a page draws for a permalink, with a title, a footer saying
its source, its month and whether its values are demo, restyled for a slide.

Each builder reads the view's parameters as its page does (unknown values are an error slide
here, not a silent default: a deck is prepared in advance), then calls the same query
(dashboard.queries) and cached figure (dashboard.figures) the page calls.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from charts import deck as deck_charts
from charts import labels, rankings, trends
from core import catalog, fmt, i18n
from dashboard import figures, narrative, queries, table_views, tables, ui
from dashboard.present.permalink import BadPermalink, View, parse


@dataclass(frozen=True)
class Slide:
    title: str
    footer: str  # "Nguồn: … · Kỳ: Tháng 9/2025 · số liệu minh họa" (raw text)
    demo: bool  # some value on the slide is demo data
    permalink: str = ""
    figure: dict | None = None  # plotly JSON sized by the slide (charts.deck.slide_figure)
    message: str | None = None  # a slide with no chart says why
    months: tuple[str, ...] = ()  # the months it shows (the title slide sums them up)
    sources: tuple[str, ...] = ()  # source ids


class ViewError(ValueError):
    """A view's parameter names nothing the warehouse has (the message is for readers)."""


def _t(lang: str) -> Callable[..., str]:
    return i18n.translator(lang)


def _one(v: View, name: str, options: Sequence[Any], default: Any, lang: str) -> str:
    raw = v.get(name)
    texts = [str(o) for o in options]
    if raw is None:
        if default is None:
            raise ViewError(i18n.t("present.missing_param", lang, name=name))
        return str(default)
    if raw in texts:
        return raw
    raise ViewError(i18n.t("present.bad_param", lang, name=name, value=raw))


def _province_codes() -> list[str]:
    return queries.provinces()["code"].tolist()


def _province_name(code: str) -> str:
    provs = queries.provinces()
    return provs.loc[provs["code"] == code, "name"].iloc[0]


def _indicator_and_period(v: View, lang: str, level: str = "province") -> tuple[str, str]:
    available = queries.province_indicators() if level == "province" else queries.commune_indicators()
    codes = available["code"].tolist()
    headline = catalog.headline().code
    code = _one(v, "indicator", codes, headline if headline in codes else codes[0], lang)
    periods = queries.periods(code, level)
    if not periods:
        raise ViewError(i18n.t("app.no_data", lang))
    return code, _one(v, "period", periods, periods[-1], lang)


def _title_of(fig: go.Figure) -> str:
    text = fig.layout.title.text if fig.layout.title and fig.layout.title.text else ""
    return re.sub(r"<[^>]+>", "", text.replace("<br>", " "))


def _flags(demo: Any) -> pd.Series:
    return pd.Series(list(demo) if isinstance(demo, Iterable) else [demo], dtype="boolean").fillna(False)


def _slide(v: View, lang: str, *, title: str, sources: Iterable[str], demo: Any, period: str | None = None,
           start: str | None = None, end: str | None = None, fig: go.Figure | None = None,
           message: str | None = None, font_scale: float = deck_charts.FONT_SCALE) -> Slide:
    sources = tuple(sorted({s for s in sources if isinstance(s, str) and s}))
    flags = _flags(demo)
    footer = ui.caption_text(sources, lang, period=period, start=start, end=end, demo=flags, mark=str)
    months = (period,) if period else tuple(m for m in (start, end) if m)
    return Slide(
        title=title, footer=footer, demo=bool(flags.any()), permalink=v.permalink(),
        figure=deck_charts.slide_figure(fig, font_scale=font_scale) if fig is not None else None,
        message=message, months=months, sources=sources,
    )


def _until(v: View, lang: str) -> str | None:
    """A deck's ``until`` (YYYY-MM): time charts stop at the deck's month (the pages ignore it)."""
    until = v.get("until")
    if until is None:
        return None
    if len(until) != 7 or until[4] != "-" or not (until[:4] + until[5:]).isdigit():
        raise ViewError(i18n.t("present.bad_param", lang, name="until", value=until))
    return until


def _split_ids(ids: Iterable[str | None]) -> set[str]:
    return {s for text in ids if isinstance(text, str) for s in text.split(",")}


# --------------------------------------------------------------------------- the pages' charts


def overview_map(v: View, lang: str) -> Slide:
    ind, period = _indicator_and_period(v, lang)
    highlight = _one(v, "province", ["", *_province_codes()], "", lang) or None
    values = queries.province_values(ind, period)
    fig = figures.overview_map(ind, period, lang, highlight, None)
    return _slide(v, lang, title=_title_of(fig), sources=values["source_id"], demo=values["is_demo"],
                  period=period, fig=fig)


def ranking_bars(v: View, lang: str) -> Slide:
    ind, period = _indicator_and_period(v, lang)
    region = _one(v, "region", ["all", "similar", *queries.regions()["code"]], "all", lang)
    highlight = _one(v, "province", ["", *_province_codes()], "", lang) or None
    shown, _, _ = table_views.ranking_rows(ind, period, False, region, highlight)
    fig = figures.ranking_bars(ind, period, lang, region, highlight)
    return _slide(v, lang, title=_title_of(fig), sources=shown["source_id"], demo=shown["is_demo"],
                  period=period, fig=fig, font_scale=_bar_scale(len(shown)))


def movers(v: View, lang: str) -> Slide:
    ind, period = _indicator_and_period(v, lang)
    available = queries.periods(ind)
    spans = [s for s in (1, 3, 6, 12) if fmt.add_months(period, -s) in available]
    if not spans:
        raise ViewError(i18n.t("rankings.no_movers", lang))
    span = int(_one(v, "span", spans, 3 if 3 in spans else spans[0], lang))
    highlight = _one(v, "province", ["", *_province_codes()], "", lang) or None
    start = fmt.add_months(period, -span)
    moved = queries.rank_movers(ind, start, period)
    values = queries.province_values(ind, period)
    title = i18n.t("rankings.movers_title", lang, start=fmt.month(start, lang), end=fmt.month(period, lang))
    if moved.empty or not (moved["change"] != 0).any():
        return _slide(v, lang, title=title, sources=values["source_id"], demo=values["is_demo"], start=start,
                      end=period, message=i18n.t("rankings.no_movers", lang))
    fig = figures.movers(ind, start, period, lang, highlight)
    return _slide(v, lang, title=title, sources=values["source_id"], demo=moved["is_demo"], start=start,
                  end=period, fig=fig, font_scale=1.3)


def trend(v: View, lang: str) -> Slide:
    ind = _one(v, "indicator", queries.province_indicators()["code"], catalog.headline().code, lang)
    known = set(_province_codes())
    if _one(v, "compare", ["chosen", "similar"], "chosen", lang) == "similar":  # as pages/3_trends.py
        anchor = _one(v, "province", _province_codes(), "01", lang)
        codes = (anchor, *queries.similar_provinces(anchor)["code"])
    else:
        codes = tuple(dict.fromkeys(c for c in (v.get("provinces") or "").split(",") if c in known))[:8]
    history = _one(v, "history", ["1", "0"], "1", lang)
    start = None if history == "1" else trends.REBASE_BEFORE
    until = _until(v, lang)
    series = queries.province_series(ind, codes)
    national = queries.national_series(ind)
    if until:
        series, national = series[series["period"] <= until], national[national["period"] <= until]
    shown = sorted(set(national["period"]) | set(series["period"]))
    shown = [p for p in shown if not start or p >= start]
    if not shown:
        raise ViewError(i18n.t("app.no_data", lang))
    fig = figures.trend(ind, codes, lang, start, until)
    title = _title_of(fig)
    if codes:
        title = i18n.t("present.scoped_title", lang, title=title,
                       scope=", ".join(_province_name(c) for c in codes))
    return _slide(v, lang, title=title, sources=set(series["source_id"]) | _split_ids(national["source_ids"]),
                  demo=[*series["is_demo"], *national["is_demo"]], start=shown[0], end=shown[-1], fig=fig)


def spending(v: View, lang: str) -> Slide:
    years = queries.spending_years()
    if not years:
        raise ViewError(i18n.t("app.no_data", lang))
    year = int(_one(v, "year", years, years[-1], lang))
    scope = _one(v, "scope", ["national", *_province_codes()], "national", lang)
    until = _until(v, lang)
    df = queries.spending(year, None if scope == "national" else scope)
    if until:
        df = df[df["period"] <= until]
    if df.empty:
        raise ViewError(i18n.t("app.no_data", lang))
    scope_name = i18n.t("filter.national", lang) if scope == "national" else _province_name(scope)
    fig = figures.spending(year, scope, lang, scope_name, until)
    return _slide(v, lang, title=_title_of(fig), sources=_split_ids(df["source_ids"]), demo=df["is_demo"],
                  start=df["period"].iloc[0], end=df["period"].iloc[-1], fig=fig)


def _profile(v: View, lang: str) -> tuple[str, str, pd.DataFrame]:
    code = _one(v, "province", _province_codes(), "01", lang)
    periods = queries.periods(catalog.headline().code)
    period = _one(v, "period", periods, periods[-1] if periods else None, lang)
    index = catalog.by_role("index766")
    profile = queries.province_profile(code, period)
    rows = profile[profile["code"].isin((index.code, *index.components))]
    if rows.empty or rows["value"].isna().any():
        raise ViewError(i18n.t("profile.i766_none", lang, name=_province_name(code), period=fmt.month(period, lang)))
    return code, period, rows


def index766_groups(v: View, lang: str) -> Slide:
    code, period, rows = _profile(v, lang)
    fig = figures.index766_groups(code, period, lang)
    title = i18n.t("present.i766_groups_title", lang, name=_province_name(code), period=fmt.month(period, lang))
    return _slide(v, lang, title=title, sources=rows["source_id"], demo=rows["is_demo"], period=period, fig=fig)


def index766_waterfall(v: View, lang: str) -> Slide:
    code, period, rows = _profile(v, lang)
    prev = fmt.add_months(period, -1)
    title = i18n.t("present.i766_waterfall_title", lang, name=_province_name(code),
                   prev=fmt.month(prev, lang), period=fmt.month(period, lang))
    if rows["prev_value"].isna().any():
        return _slide(v, lang, title=title, sources=rows["source_id"], demo=rows["is_demo"], period=period,
                      message=i18n.t("profile.i766_no_prev", lang, name=_province_name(code),
                                     prev=fmt.month(prev, lang), total="–"))
    fig = figures.index766_waterfall(code, period, lang)
    return _slide(v, lang, title=title, sources=rows["source_id"], demo=rows["is_demo"], period=period, fig=fig)


def commune_map(v: View, lang: str) -> Slide:
    code = _one(v, "province", _province_codes(), "01", lang)
    periods = queries.periods(catalog.headline().code)
    period = _one(v, "period", periods, periods[-1] if periods else None, lang)
    codes = queries.commune_indicators()["code"].tolist()
    ind = _one(v, "indicator", codes, catalog.headline().code, lang)
    if period not in queries.periods(ind, "commune"):
        raise ViewError(i18n.t("profile.no_commune_data", lang, period=fmt.month(period, lang)))
    communes = queries.province_communes(code, ind, period)
    fig = figures.commune_map(code, ind, period, lang)
    return _slide(v, lang, title=_title_of(fig), sources=communes["source_id"], demo=communes["is_demo"],
                  period=period, fig=fig)


def criteria_histogram(v: View, lang: str) -> Slide:
    ind, period = _indicator_and_period(v, lang, "commune")
    province = _one(v, "in_province", ["", *_province_codes()], "", lang) or None
    kind_codes = [k for k in (v.get("kind") or ",".join(tables.KINDS)).split(",") if k]
    if any(k not in tables.KINDS for k in kind_codes):
        raise ViewError(i18n.t("present.bad_param", lang, name="kind", value=v.get("kind")))
    top = catalog.criteria_max()
    ranges = [f"{a}-{b}" for a in range(top + 1) for b in range(a, top + 1)]
    low, high = (int(x) for x in _one(v, "criteria", ranges, f"0-{top}", lang).split("-"))
    search = (v.get("q") or "")[:100].strip()
    kinds = tuple(tables.KINDS[k] for k in kind_codes)
    shown = queries.communes_shown(ind, period, province, kinds, low, high, search)
    fig = figures.criteria_histogram(ind, period, province, kinds, low, high, search, lang)
    title = _title_of(fig)
    if province:
        title = i18n.t("present.scoped_title", lang, title=title, scope=_province_name(province))
    if shown.empty:
        return _slide(v, lang, title=title, sources=(), demo=False, period=period,
                      message=i18n.t("app.no_data", lang))
    return _slide(v, lang, title=title, sources=shown["source_id"], demo=shown["is_demo"], period=period, fig=fig)


def commune_trend(v: View, lang: str) -> Slide:
    everyone = queries.communes()
    code = _one(v, "commune", everyone["code"], None, lang)
    ind, period = _indicator_and_period(v, lang, "commune")
    profile = queries.commune_profile(code)
    if profile.empty:
        raise ViewError(i18n.t("app.no_data", lang))
    shown_period = period if period in set(profile["period"]) else profile["period"].max()
    series = profile[profile["indicator"] == ind]
    if series.empty:
        raise ViewError(i18n.t("app.no_data", lang))
    fig = figures.commune_trend(code, ind, shown_period, lang)
    return _slide(v, lang, title=_title_of(fig), sources=series["source_id"], demo=series["is_demo"],
                  start=series["period"].min(), end=series["period"].max(), fig=fig)


# --------------------------------------------------------------------------- slides only decks have


def _name(ind: dict, lang: str) -> str:
    return ind["name_en" if lang == "en" else "name_vi"]


def _value(value: Any, ind: dict, lang: str) -> str:
    return fmt.value(value, ind["unit"], int(ind["decimals"]), lang)


def _vs_previous(now: Any, before: Any, ind: dict, period: str, lang: str) -> tuple[str, bool | None]:
    """'+1,20 điểm % so với Tháng 8/2025' and whether that is good."""
    if fmt.is_missing(now) or fmt.is_missing(before):
        return "", None
    change = fmt.change(now, before, ind["unit"], int(ind["decimals"]), lang)
    better = None if now == before else (now > before) == bool(ind["higher_is_better"])
    return f"{change} {i18n.t('overview.vs_prev', lang, period=fmt.month(fmt.add_months(period, -1), lang))}", better


def headline(v: View, lang: str) -> Slide:
    """The national headline figures, or one province's (``province`` given)."""
    ind_code, period = _indicator_and_period(v, lang)
    code = _one(v, "province", ["", *_province_codes()], "", lang) or None
    ind = queries.indicator(ind_code)
    values = queries.province_values(ind_code, period)
    national = queries.national_value(ind_code, period)
    previous = queries.national_value(ind_code, fmt.add_months(period, -1))
    target = ui.national_target(ind)
    t = _t(lang)
    national_label = t("overview.national_median" if national and national["kind"] == "median"
                       else "overview.national_value")
    national_text = _value(national["value"], ind, lang) if national else "–"
    if code is None:
        ranked = values.dropna(subset=["rank"]).sort_values("rank")
        note, good = _vs_previous(national and national["value"], previous and previous["value"], ind, period, lang)
        n_met = narrative.count_meeting(values["value"], target)
        cards = [
            dict(label=f"{national_label} · {_name(ind, lang)}", value=national_text, note=note, good=good),
            dict(label=t("overview.meeting_target"),
                 value=t("overview.meeting_target_value", n=n_met, total=int(values["value"].notna().sum()))
                 if target else "–",
                 note=_target_text(target, ind, lang)),
        ]
        if len(ranked):
            best, worst = ranked.iloc[0], ranked.iloc[-1]
            cards += [dict(label=t("overview.best"), value=best["name"], note=_value(best["value"], ind, lang)),
                      dict(label=t("overview.worst"), value=worst["name"], note=_value(worst["value"], ind, lang))]
        title = t("present.headline_national", indicator=_name(ind, lang), period=fmt.month(period, lang),
                  value=national_text)
        shown = values
    else:
        row = values[values["code"] == code].iloc[0]
        name = row["name"]
        if fmt.is_missing(row["rank"]):
            title = t("present.headline_province_none", name=name, period=fmt.month(period, lang))
        else:
            title = t("present.headline_province", name=name, rank=fmt.rank(row["rank"], row["n_ranked"]),
                      value=_value(row["value"], ind, lang))
        note, good = _vs_previous(row["value"], row["prev_value"], ind, period, lang)
        change = row["rank_change"]
        cards = [
            dict(label=f"{_name(ind, lang)} · {fmt.month(period, lang)}", value=_value(row["value"], ind, lang),
                 note=note, good=good),
            dict(label=t("present.rank_label"), value=fmt.rank(row["rank"], row["n_ranked"]),
                 note=t("present.rank_note", change=fmt.rank_change(change),
                        period=fmt.month(fmt.add_months(period, -1), lang)) if not fmt.is_missing(change) else "",
                 good=None if fmt.is_missing(change) or change == 0 else change > 0),
            dict(label=national_label, value=national_text, note=_target_text(target, ind, lang)),
        ]
        index = catalog.by_role("index766")
        profile = queries.province_profile(code, period).set_index("code")
        if index.code in profile.index and not fmt.is_missing(profile.loc[index.code, "value"]):
            i766 = profile.loc[index.code]
            cards.append(dict(label=t("profile.metric_i766", max=fmt.number(index.upper_bound, 0, lang)),
                              value=fmt.value(i766["value"], i766["unit"], int(i766["decimals"]), lang),
                              note=t("profile.metric_rank", rank=fmt.rank(i766["rank"], i766["n_ranked"]))))
        shown = values[values["code"] == code]
    fig = deck_charts.headline_cards(cards, lang)
    return _slide(v, lang, title=title, sources=shown["source_id"], demo=shown["is_demo"], period=period,
                  fig=fig, font_scale=1.0)


def _target_text(target: dict | None, ind: dict, lang: str) -> str:
    return labels.target_text(target, ind, lang) if target else i18n.t("overview.no_target", lang)


@figures.cached_figure
def _below_target_figure(ind_code: str, period: str, lang: str) -> go.Figure:
    ind = queries.indicator(ind_code)
    values = queries.province_values(ind_code, period)
    target = ui.national_target(ind)
    missing = values[values["value"].notna() & ~values["value"].map(lambda x: bool(narrative.meets(x, target)))]
    return rankings.ranking_bars(missing, indicator=ind, lang=lang, national=queries.comparison_value(ind_code, period),
                                 target=target)


def below_target(v: View, lang: str) -> Slide:
    """The provinces that miss the national target, ranked."""
    ind_code, period = _indicator_and_period(v, lang)
    ind = queries.indicator(ind_code)
    target = ui.national_target(ind)
    values = queries.province_values(ind_code, period)
    reported = values[values["value"].notna()]
    missing = reported[~reported["value"].map(lambda x: bool(narrative.meets(x, target)))]
    t = _t(lang)
    title = t("present.below_target_title", n=len(missing), total=len(reported),
              indicator=narrative.in_sentence(_name(ind, lang)),
              period=fmt.month(period, lang))
    if target is None:
        return _slide(v, lang, title=title, sources=values["source_id"], demo=values["is_demo"], period=period,
                      message=t("overview.no_target"))
    if missing.empty:
        return _slide(v, lang, title=title, sources=values["source_id"], demo=values["is_demo"], period=period,
                      message=t("present.all_meet", target=_target_text(target, ind, lang)))
    return _slide(v, lang, title=title, sources=missing["source_id"], demo=missing["is_demo"], period=period,
                  fig=_below_target_figure(ind_code, period, lang), font_scale=_bar_scale(len(missing)))


def _bar_scale(rows: int) -> float:
    """Type size for a bar per row: as large as lets plotly write every row's label (it drops
    every other one when they would overlap)."""
    return 1.5 if rows < 12 else 1.25 if rows < 20 else 1.0


LAGGING = 10  # communes on the lagging-communes slide


@figures.cached_figure
def _lagging_figure(code: str, ind_code: str, period: str, lang: str) -> go.Figure:
    ind = queries.indicator(ind_code)
    communes = queries.province_communes(code, ind_code, period).dropna(subset=["rank_in_province"])
    last = communes.sort_values("rank_in_province").tail(LAGGING)
    df = last.rename(columns={"rank_in_province": "rank", "n_in_province": "n_ranked"}).assign(rank_change=None)
    return rankings.ranking_bars(df, indicator=ind, lang=lang, target=ui.national_target(ind))


def lagging_communes(v: View, lang: str) -> Slide:
    """The province's communes with the lowest values (its last ``LAGGING`` by rank)."""
    code = _one(v, "province", _province_codes(), None, lang)
    ind_code, period = _indicator_and_period(v, lang, "commune")
    ind = queries.indicator(ind_code)
    communes = queries.province_communes(code, ind_code, period).dropna(subset=["rank_in_province"])
    title = i18n.t("present.lagging_title", lang, n=min(LAGGING, len(communes)), name=_province_name(code),
                   indicator=narrative.in_sentence(_name(ind, lang)), period=fmt.month(period, lang))
    if communes.empty:
        raise ViewError(i18n.t("app.no_data", lang))
    last = communes.sort_values("rank_in_province").tail(LAGGING)
    return _slide(v, lang, title=title, sources=last["source_id"], demo=last["is_demo"], period=period,
                  fig=_lagging_figure(code, ind_code, period, lang))


BUILDERS: dict[str, Callable[[View, str], Slide]] = {
    "overview.map": overview_map,
    "rankings.bars": ranking_bars,
    "rankings.movers": movers,
    "trends.lines": trend,
    "trends.spending": spending,
    "profile.i766_waterfall": index766_waterfall,
    "profile.i766_groups": index766_groups,
    "profile.map": commune_map,
    "communes.criteria": criteria_histogram,
    "communes.trend": commune_trend,
    "present.headline": headline,
    "present.below_target": below_target,
    "present.lagging_communes": lagging_communes,
}


def build(permalink: str, lang: str) -> Slide:
    """The slide of one permalink; a view that cannot be shown is a slide saying why."""
    try:
        v = parse(permalink)
    except BadPermalink:
        return Slide(title=i18n.t("present.unavailable", lang), footer="", demo=False, permalink=str(permalink)[:200],
                     message=i18n.t("present.bad_permalink", lang))
    try:
        return BUILDERS[v.key](v, lang)
    except ViewError as exc:
        return Slide(title=i18n.t("present.unavailable", lang), footer="", demo=False, permalink=v.permalink(),
                     message=str(exc))
