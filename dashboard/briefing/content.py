"""What a province's monthly briefing says, in the reader's language: plain text and small
tables (lists of rows) and three figures, gathered once from the same queries and figures as
the profile page, so the Word and the PDF writers only lay them out."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
import plotly.graph_objects as go

from core import attention, catalog, fmt, i18n
from core.projection import projected
from dashboard import downloads, figures, queries, tables, ui

LAGGING = 10  # communes listed, from the last in the province up
PER_RULE = 8  # needs-attention items listed per rule (the count says how many in all)


@dataclass
class Table:
    header: list[str]
    rows: list[list[str]]

    def __post_init__(self) -> None:
        # Names come from loaded files: one line, no control characters (which XML, and so Word, refuses).
        self.header = [attention.clean(h) for h in self.header]
        self.rows = [[attention.clean(c) for c in row] for row in self.rows]


@dataclass
class Chart:
    figure: go.Figure
    caption: str
    width: int = 1000
    height: int = 520


@dataclass
class Brief:
    code: str
    name: str
    period: str
    lang: str
    title: str
    facts: str
    demo: bool
    headline: list[str]
    indicators: Table
    outlook: Table | None
    i766: Table | None
    attention: list[tuple[str, int, Table | None]]  # heading, count, its first items
    lagging_title: str
    lagging: Table | None
    charts: list[Chart]
    sources: list[str] = field(default_factory=list)
    footer: str = ""

    def file_name(self, fmt: str) -> str:
        return file_name(self.name, self.period, self.lang, fmt)


def file_name(name: str, period: str, lang: str, fmt: str) -> str:
    """'bao-cao-nhanh_phu-tho_2025-09.pdf'"""
    return f"{downloads.file_stem(i18n.t('briefing.file', lang), name, period)}.{fmt}"


def _headline_line(row: pd.Series, period: str, lang: str) -> str:
    t = i18n.translator(lang)
    d = int(row["decimals"])
    parts = [f"{row['name_en' if lang == 'en' else 'name_vi']}: {fmt.value(row['value'], row['unit'], d, lang)}",
             t("briefing.rank", rank=fmt.rank(row["rank"], row["n_ranked"], lang))
             + (f" ({fmt.rank_change(row['rank_change'])})" if not fmt.is_missing(row["rank_change"]) else "")]
    if not fmt.is_missing(row["prev_value"]):
        parts.append(t("briefing.vs_prev", change=fmt.change(row["value"], row["prev_value"], row["unit"], d, lang),
                       period=fmt.month(fmt.add_months(period, -1), lang)))
    return " · ".join(parts)


def _indicators(profile: pd.DataFrame, lang: str) -> Table:
    t = i18n.translator(lang)
    rows = []
    for r in profile.to_dict("records"):
        d, unit = int(r["decimals"]), r["unit"]
        rows.append([
            r["name_en" if lang == "en" else "name_vi"], fmt.value(r["value"], unit, d, lang),
            "–" if fmt.is_missing(r["prev_value"]) else fmt.difference(r["value"] - r["prev_value"], unit, d, lang),
            fmt.rank(r["rank"], r["n_ranked"], lang), fmt.rank_change(r["rank_change"]),
        ])
    return Table([t("profile.col_indicator"), t("common.value"), t("profile.col_change_value"), t("common.rank"),
                  t("common.change")], rows)


def _outlook(code: str, period: str, lang: str) -> Table | None:
    t = i18n.translator(lang)
    rows = []
    for ind in catalog.indicators().values():
        if not projected(ind.code):
            continue
        frame = queries.outlooks(ind.code, period)
        mine = frame[frame["code"] == code]
        if mine.empty or fmt.is_missing(mine.iloc[0]["status"]):
            continue
        o = mine.iloc[0]
        sign = "≤" if o["comparison"] in ("<=", "<") else "≥"
        projection = "–" if fmt.is_missing(o["projected"]) else (
            f"{fmt.value(o['projected'], ind.unit_spec, 1, lang)} "
            f"({fmt.number(o['low'], 1, lang)}–{fmt.value(o['high'], ind.unit_spec, 1, lang)})")
        rows.append([ind.name(lang), f"{sign} {fmt.value(o['target'], ind.unit_spec, None, lang)}",
                     fmt.month(o["deadline"], lang), projection, t(f"outlook.status.{o['status']}")])
    if not rows:
        return None
    return Table([t("profile.col_indicator"), t("briefing.col_target"), t("briefing.col_deadline"),
                  t("briefing.col_projected"), t("briefing.col_status")], rows)


def _attention(code: str, period: str, lang: str) -> tuple[list[tuple[str, int, Table | None]], bool]:
    t = i18n.translator(lang)
    found = queries.attention(period, code)
    out = []
    for number, rule in enumerate(attention.RULES, start=1):
        items = found.of(rule)
        heading = f"{number}. {t(f'attention.heading.{rule}')}"
        if items.empty:
            out.append((heading, 0, None))
            continue
        rows = [[attention.unit_label(r, lang, with_province=False), attention.indicator_name(r, lang),
                 attention.detail(r, lang)] for r in items.head(PER_RULE).to_dict("records")]
        out.append((heading, len(items), Table([t("attention.col_unit"), t("attention.col_indicator"),
                                                t("attention.col_detail")], rows)))
    return out, bool(found.is_demo)


def _lagging(code: str, period: str, lang: str) -> tuple[Table | None, pd.DataFrame]:
    t = i18n.translator(lang)
    ind = queries.indicator(catalog.headline().code)
    communes = queries.province_communes(code, ind["code"], period)
    ranked = communes[communes["rank_in_province"].notna()].sort_values("rank_in_province", ascending=False)
    last = ranked.head(LAGGING)
    if last.empty:
        return None, communes
    rows = [[r["name"], fmt.value(r["value"], ind["unit"], int(ind["decimals"]), lang),
             fmt.rank(r["rank_in_province"], r["n_in_province"], lang),
             fmt.rank(r["rank_national"], r["n_national"], lang)] for r in last.to_dict("records")]
    return Table([t("communes.col_name"), t("common.value"), t("communes.col_rank_province"),
                  t("communes.col_rank_national")], rows), communes


def _sources(used: pd.DataFrame, period: str, lang: str) -> list[str]:
    """The caption line of every figure shown (marked demo), then each source: producer, address,
    version and when it was loaded."""
    lines = [ui.caption_text(used["source_id"], lang, period=period, demo=used["is_demo"], mark=str)]
    detail = queries.sources_detail().set_index("id")
    for sid in sorted({s for s in used["source_id"] if isinstance(s, str) and s in detail.index}):
        row = detail.loc[sid]
        parts = [row["producer"] or sid, row["url"], row["version"],
                 i18n.t("briefing.loaded", lang, day=fmt.day(row["loaded_at"]))]
        lines.append(" · ".join(str(p) for p in parts if not fmt.is_missing(p) and p))
    return [attention.clean(line) for line in lines]


def build(code: str, period: str, lang: str) -> Brief:
    """The briefing of province ``code`` for ``period`` (both known: the callers check)."""
    t = i18n.translator(lang)
    provs = queries.provinces()
    prov = provs[provs["code"] == code].iloc[0].to_dict()
    name = attention.clean(prov["name"])
    profile = queries.province_profile(code, period)
    by_code = profile.set_index("code")
    headline, i766 = catalog.headline(), catalog.by_role("index766")

    lines = [attention.clean(_headline_line(by_code.loc[c], period, lang)) for c in (headline.code, i766.code)
             if c in by_code.index and not fmt.is_missing(by_code.at[c, "value"])]

    groups = tables.index766_groups(profile, period)
    i766_table = None
    if not groups.empty and groups["value"].notna().all() and i766.code in by_code.index:
        frame = tables.index766_group_table(groups, by_code.at[i766.code, "value"],
                                            by_code.at[i766.code, "prev_value"], lang)
        i766_table = Table(list(frame.columns), frame.astype(str).values.tolist())

    found, attention_demo = _attention(code, period, lang)
    lagging, communes = _lagging(code, period, lang)
    ind_name = headline.name(lang)
    charts = [
        Chart(figures.trend(headline.code, (code,), lang, None, period),
              t("briefing.chart_trend", indicator=ind_name, name=name)),
        Chart(figures.ranking_bars(headline.code, period, lang, "all", code),
              t("briefing.chart_rank", indicator=ind_name, period=fmt.month(period, lang)), height=900),
        Chart(figures.index766_groups(code, period, lang),
              t("briefing.chart_i766", period=fmt.month(period, lang))),
    ]
    flags = pd.Series([*profile["is_demo"], *communes["is_demo"]], dtype="boolean").fillna(False)
    demo = bool(flags.any()) or attention_demo
    return Brief(
        code=code, name=name, period=period, lang=lang,
        title=t("briefing.title", month=int(period[5:7]), year=int(period[:4]),
                month_name=pd.Timestamp(period).month_name(), name=name),
        facts=attention.clean(t("profile.facts_line", kind=t(f"profile.kind_{prov['kind']}"),
                region=prov["region_en" if lang == "en" else "region_vi"] or "–",
                n=fmt.number(prov["n_communes"], 0, lang), area=fmt.number(prov["area_km2"], 0, lang))),
        demo=demo, headline=lines, indicators=_indicators(profile, lang),
        outlook=_outlook(code, period, lang), i766=i766_table, attention=found,
        lagging_title=t("briefing.lagging", n=LAGGING, indicator=ind_name), lagging=lagging, charts=charts,
        sources=_sources(pd.concat([profile[["source_id", "is_demo"]], communes[["source_id", "is_demo"]]]),
                         period, lang),
        footer=t("briefing.footer", url=f"/province?province={code}&period={period}&lang={lang}"),
    )
