"""Every SQL statement the pages run, in one module (the contract is ``etl/warehouse.py``
``VIEWS``; names are qualified ``wh.<view>``; user choices arrive only as ``?`` parameters).

Results are cached with ``st.cache_data`` keyed on the warehouse file's signature (inode,
mtime, size), so when the ETL replaces the file the next call reads the new data. With
``DX_NO_CACHE=1`` nothing is cached (benchmarks).

National values (see ``national_series``):
- ``ratio`` indicators: 100 * sum(numerator) / sum(denominator) over the provinces, never an
  average of province rates;
- ``sum`` indicators: the sum over provinces;
- ``none`` indicators (indices, lists of procedures, criteria): no national total; the
  median of provinces, labelled "median" (``kind`` column).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core import attention as core_attention
from core import catalog
from core import projection as core_projection
from core import similar as core_similar
from dashboard import db

TWO_TIER_START = "2025-07"  # first month of the two-tier local government (1 Jul 2025)


# Results are cached per warehouse file (see dashboard.db.cached_per_warehouse).
cached = db.cached_per_warehouse(st.cache_data, max_entries=1024)


# --------------------------------------------------------------------------- reference


@cached
def indicators() -> pd.DataFrame:
    """The indicator catalog, in catalog order, with national target columns joined."""
    return db.query(
        """
        SELECT i.*, t.value AS target_value, t.comparison AS target_comparison,
               t.deadline AS target_deadline, t.basis AS target_basis
        FROM wh.indicator i
        LEFT JOIN (SELECT * FROM wh.target WHERE scope = 'national'
                   QUALIFY row_number() OVER (PARTITION BY indicator ORDER BY deadline) = 1) t
          ON t.indicator = i.code
        ORDER BY i.sort_order
        """
    )


def indicator(code: str) -> dict:
    """One catalog row as a dict (KeyError if unknown)."""
    row = _indicator(code)
    if row is None:
        raise KeyError(code)
    return dict(row)


@cached
def _indicator(code: str) -> dict | None:
    df = indicators()
    row = df[df["code"] == code]
    return None if row.empty else row.iloc[0].to_dict()


@cached
def province_indicators() -> pd.DataFrame:
    """Indicators that have province-level observations (what pages 1–3 offer)."""
    return db.query(
        """
        SELECT i.code, i.name_vi, i.name_en, i.unit, i.topic, i.sort_order,
               min(o.period) AS first_period, max(o.period) AS last_period
        FROM wh.indicator i
        JOIN wh.observation o ON o.indicator = i.code AND o.level = 'province'
        GROUP BY ALL
        ORDER BY i.sort_order
        """
    )


@cached
def targets(indicator_code: str) -> pd.DataFrame:
    return db.query(
        "SELECT * FROM wh.target WHERE indicator = ? ORDER BY deadline, scope", [indicator_code]
    )


@cached
def provinces() -> pd.DataFrame:
    """The 34 provinces with their region names, in code order."""
    return db.query(
        """
        SELECT p.code, p.name, p.full_name, p.name_ascii, p.kind, p.region,
               r.name_vi AS region_vi, r.name_en AS region_en,
               p.lat, p.lon, p.area_km2, p.n_communes
        FROM wh.province p LEFT JOIN wh.region r ON r.code = p.region
        ORDER BY p.code
        """
    )


@cached
def regions() -> pd.DataFrame:
    return db.query("SELECT code, name_vi, name_en FROM wh.region ORDER BY code")


@cached
def sources() -> pd.DataFrame:
    return db.query("SELECT id, producer, url, version, licence, description FROM wh.source ORDER BY id")


@cached
def source_names() -> dict[str, str]:
    """Source id -> producer (for "Source: …" captions)."""
    df = sources()
    return {row.id: row.producer or row.id for row in df.itertuples()}


@cached
def periods(indicator_code: str, level: str = "province") -> list[str]:
    """Months with data for an indicator at a level, oldest first."""
    df = db.query(
        "SELECT DISTINCT period FROM wh.observation WHERE indicator = ? AND level = ? ORDER BY period",
        [indicator_code, level],
    )
    return df["period"].tolist()


@cached
def events(topic: str | None = None) -> pd.DataFrame:
    """Dated events drawn on the time chart of an indicator of ``topic``: date (YYYY-MM-DD
    text), period, labels, kind. Events of another topic (the Decision 766 method change)
    are left out; events without a topic are on every chart."""
    return db.query(
        "SELECT strftime(date, '%Y-%m-%d') AS date, period, label_vi, label_en, kind FROM wh.event "
        "WHERE topic IS NULL OR topic = ? ORDER BY date", [topic],
    )


# --------------------------------------------------------------------------- provinces


@cached
def province_values(indicator_code: str, period: str) -> pd.DataFrame:
    """All provinces for one indicator and month: value, rank (1 = best), rank change since
    the previous month (positive = moved up), previous value, counts, source, demo flag.
    Provinces without a value are included with NaN (not ranked)."""
    return db.query(
        """
        WITH cur AS (
            SELECT unit_code, value, numerator, denominator, source_id, is_demo
            FROM wh.observation WHERE indicator = ? AND level = 'province' AND period = ?
        ), prev AS (
            SELECT unit_code, value FROM wh.observation
            WHERE indicator = ? AND level = 'province'
              AND period = strftime(strptime(? || '-01', '%Y-%m-%d') - INTERVAL 1 MONTH, '%Y-%m')
        )
        SELECT p.code, p.name, p.region, r.name_vi AS region_vi, r.name_en AS region_en,
               c.value, c.numerator, c.denominator, c.source_id, c.is_demo,
               k.rank, k.n_ranked, k.rank_change, prev.value AS prev_value
        FROM wh.province p
        LEFT JOIN wh.region r ON r.code = p.region
        LEFT JOIN cur c ON c.unit_code = p.code
        LEFT JOIN wh.province_rank k
               ON k.province_code = p.code AND k.indicator = ? AND k.period = ?
        LEFT JOIN prev ON prev.unit_code = p.code
        ORDER BY k.rank NULLS LAST, p.name
        """,
        [indicator_code, period, indicator_code, period, indicator_code, period],
    )


@cached
def province_series(indicator_code: str, codes: tuple[str, ...]) -> pd.DataFrame:
    """Monthly values and ranks of some provinces (``codes`` as a tuple for hashing)."""
    if not codes:
        return pd.DataFrame(columns=["period", "code", "name", "value", "rank", "n_ranked", "is_demo", "source_id"])
    return db.query(
        """
        SELECT o.period, p.code, p.name, o.value, k.rank, k.n_ranked, o.is_demo, o.source_id
        FROM wh.observation o
        JOIN wh.province p ON p.code = o.unit_code
        LEFT JOIN wh.province_rank k
               ON k.indicator = o.indicator AND k.period = o.period AND k.province_code = o.unit_code
        WHERE o.indicator = ? AND o.level = 'province' AND list_contains(?, o.unit_code)
        ORDER BY p.code, o.period
        """,
        [indicator_code, list(codes)],
    )


@cached
def national_series(indicator_code: str) -> pd.DataFrame:
    """The national value per month (see module doc): period, value, kind
    ('ratio' | 'sum' | 'median'), n_units reporting, is_demo, source_ids."""
    return db.query(
        """
        WITH ind AS (SELECT aggregation FROM wh.indicator WHERE code = ?),
        obs AS (
            SELECT period, value, numerator, denominator, is_demo, source_id
            FROM wh.observation WHERE indicator = ? AND level = 'province'
        )
        SELECT period,
               CASE (SELECT aggregation FROM ind)
                   WHEN 'ratio' THEN CASE WHEN sum(denominator) > 0
                                          THEN 100.0 * sum(numerator) / sum(denominator) END
                   WHEN 'sum' THEN sum(value)
                   ELSE median(value) END AS value,
               CASE (SELECT aggregation FROM ind)
                   WHEN 'ratio' THEN 'ratio' WHEN 'sum' THEN 'sum' ELSE 'median' END AS kind,
               sum(numerator) AS numerator, sum(denominator) AS denominator,
               count(*) AS n_units, bool_or(is_demo) AS is_demo,
               string_agg(DISTINCT source_id, ',' ORDER BY source_id) AS source_ids
        FROM obs GROUP BY period ORDER BY period
        """,
        [indicator_code, indicator_code],
    )


@cached
def national_value(indicator_code: str, period: str) -> dict | None:
    """The national row of one month (None if no province reported)."""
    df = national_series(indicator_code)
    row = df[df["period"] == period]
    return None if row.empty else row.iloc[0].to_dict()


@cached
def comparison_value(indicator_code: str, period: str) -> dict | None:
    """What each province is compared with: the national value of a rate, the median of a
    score; for a count or an amount (whose national total dwarfs every province, so every
    province lies far "below" it) the median of the provinces' values, kind 'median'."""
    national = national_value(indicator_code, period)
    if national is None or national["kind"] != "sum":
        return national
    values = province_values(indicator_code, period)["value"].dropna()
    return national | {"value": float(values.median()), "kind": "median", "n_units": len(values)}


@cached
def per_1000(indicator_code: str, period: str) -> pd.DataFrame:
    """:func:`province_values` of a count per 1,000 inhabitants of the ``province`` view's
    population (approximate: its bases differ, docs/population.md), ranked among themselves
    (equal values share a rank) with the rank change on the previous month per 1,000; with
    population, population_year and population_basis."""
    values = province_values(indicator_code, period)
    people = db.query("SELECT code, population, population_year, population_basis FROM wh.province")
    out = values.drop(columns=["numerator", "denominator"]).merge(people, on="code", how="left")
    scale = 1000.0 / out["population"].astype("float64")
    out["value"], out["prev_value"] = out["value"] * scale, out["prev_value"] * scale
    ascending = not bool(indicator(indicator_code)["higher_is_better"])
    out["rank"] = out["value"].rank(method="min", ascending=ascending).astype("Int64")
    before = out["prev_value"].rank(method="min", ascending=ascending).astype("Int64")
    out["rank_change"] = before - out["rank"]
    out["n_ranked"] = int(out["value"].notna().sum())
    return out.sort_values(["rank", "name"], na_position="last").reset_index(drop=True)


@cached
def rank_movers(indicator_code: str, start: str, end: str) -> pd.DataFrame:
    """Rank of every province at ``start`` and ``end``; ``change`` > 0 means moved up;
    is_demo when either month's value is demo, demo_start and demo_end each month's flag."""
    return db.query(
        """
        SELECT p.code, p.name, p.region, a.rank AS rank_start, b.rank AS rank_end,
               a.value AS value_start, b.value AS value_end, b.n_ranked,
               a.rank - b.rank AS change, a.is_demo OR b.is_demo AS is_demo,
               a.is_demo AS demo_start, b.is_demo AS demo_end
        FROM wh.province p
        JOIN wh.province_rank a ON a.province_code = p.code AND a.indicator = ? AND a.period = ?
        JOIN wh.province_rank b ON b.province_code = p.code AND b.indicator = ? AND b.period = ?
        ORDER BY change DESC, b.rank
        """,
        [indicator_code, start, indicator_code, end],
    )


@cached
def spending(year: int, province_code: str | None = None) -> pd.DataFrame:
    """Planned and disbursed spending (the catalog's spending_planned and spending_disbursed
    indicators) by month of ``year`` for one province or the whole country (None), with
    cumulative sums within the year and the cumulative disbursement rate
    (100 * cumulative disbursed / cumulative planned)."""
    planned, disbursed = catalog.by_role("spending_planned").code, catalog.by_role("spending_disbursed").code
    return db.query(
        """
        WITH monthly AS (
            SELECT period,
                   sum(value) FILTER (WHERE indicator = ?) AS planned,
                   sum(value) FILTER (WHERE indicator = ?) AS disbursed,
                   bool_or(is_demo) AS is_demo,
                   string_agg(DISTINCT source_id, ',') AS source_ids
            FROM wh.observation
            WHERE level = 'province'
              AND indicator IN (?, ?)
              AND period LIKE ? AND (? IS NULL OR unit_code = ?)
            GROUP BY period
        )
        SELECT *,
               sum(planned) OVER w AS planned_cum,
               sum(disbursed) OVER w AS disbursed_cum,
               CASE WHEN sum(planned) OVER w > 0
                    THEN 100.0 * sum(disbursed) OVER w / sum(planned) OVER w END AS rate_cum
        FROM monthly
        WINDOW w AS (ORDER BY period ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
        ORDER BY period
        """,
        [planned, disbursed, planned, disbursed, f"{int(year):04d}-%", province_code, province_code],
    )


@cached
def spending_years() -> list[int]:
    df = db.query(
        """
        SELECT DISTINCT CAST(substr(period, 1, 4) AS INTEGER) AS year FROM wh.observation
        WHERE indicator = ? AND level = 'province' ORDER BY year
        """,
        [catalog.by_role("spending_planned").code],
    )
    return df["year"].tolist()


# --------------------------------------------------------------------------- province profile,
# communes, data & methods (pages 4–6)

@cached
def province_profile(province_code: str, period: str, months: int = 12) -> pd.DataFrame:
    """Every indicator with province data for one province, in catalog order: value at
    ``period``, previous month's value, rank / n_ranked / rank_change among the 34, source,
    demo flag, the catalog columns (unit, decimals, direction, topic, max_value, components)
    and ``trend`` — the values of the ``months`` months up to ``period``, oldest first (a list,
    for sparklines). Indicators with no value in that window are left out."""
    from core import fmt

    start = fmt.add_months(period, -(months - 1))
    previous = fmt.add_months(period, -1)
    return db.query(
        """
        WITH obs AS (
            SELECT indicator, period, value, source_id, is_demo FROM wh.observation
            WHERE level = 'province' AND unit_code = ? AND period BETWEEN ? AND ?
        ), trend AS (
            SELECT indicator, list(value ORDER BY period) AS trend,
                   list(period ORDER BY period) AS trend_periods
            FROM obs GROUP BY indicator
        )
        SELECT i.code, i.name_vi, i.name_en, i.unit, i.decimals, i.higher_is_better, i.topic,
               i.aggregation, i.max_value, i.components, i.sort_order,
               c.value, c.source_id, c.is_demo, p.value AS prev_value,
               k.rank, k.n_ranked, k.rank_change, t.trend, t.trend_periods
        FROM wh.indicator i
        JOIN trend t ON t.indicator = i.code
        LEFT JOIN obs c ON c.indicator = i.code AND c.period = ?
        LEFT JOIN obs p ON p.indicator = i.code AND p.period = ?
        LEFT JOIN wh.province_rank k
               ON k.indicator = i.code AND k.province_code = ? AND k.period = ?
        ORDER BY i.sort_order
        """,
        [province_code, start, period, period, previous, province_code, period],
    )


@cached
def commune_indicators() -> pd.DataFrame:
    """Indicators that have commune-level observations (catalog order), with their months."""
    return db.query(
        """
        SELECT i.code, i.name_vi, i.name_en, i.unit, i.decimals, i.higher_is_better, i.topic,
               i.aggregation, i.sort_order, min(o.period) AS first_period, max(o.period) AS last_period
        FROM wh.indicator i
        JOIN wh.observation o ON o.indicator = i.code AND o.level = 'commune'
        GROUP BY ALL
        ORDER BY i.sort_order
        """
    )


@cached
def communes() -> pd.DataFrame:
    """The 3,321 communes with their province's name (code order)."""
    return db.query(
        """
        SELECT c.code, c.name, c.name_ascii, c.kind, c.province_code, p.name AS province_name,
               c.lat, c.lon, c.area_km2
        FROM wh.commune c JOIN wh.province p ON p.code = c.province_code
        ORDER BY c.code
        """
    )


@cached
def province_communes(province_code: str, indicator_code: str, period: str) -> pd.DataFrame:
    """The communes of one province for one indicator and month: centroid, kind, value,
    rank within the province and nationally, the catalog's commune_size indicator (applications
    received: the map point size), source and demo flag. Communes without a value are included
    (NaN, not ranked)."""
    return db.query(
        """
        SELECT c.code, c.name, c.kind, c.lat, c.lon,
               o.value, o.source_id, o.is_demo,
               r.rank_in_province, r.n_in_province, r.rank_national, r.n_national,
               a.value AS size_value
        FROM wh.commune c
        LEFT JOIN wh.observation o ON o.unit_code = c.code AND o.level = 'commune'
              AND o.indicator = ? AND o.period = ?
        LEFT JOIN wh.commune_rank r ON r.commune_code = c.code AND r.indicator = ? AND r.period = ?
        LEFT JOIN wh.observation a ON a.unit_code = c.code AND a.level = 'commune'
              AND a.indicator = ? AND a.period = ?
        WHERE c.province_code = ?
        ORDER BY r.rank_in_province NULLS LAST, c.name
        """,
        [indicator_code, period, indicator_code, period, catalog.by_role("commune_size").code, period, province_code],
    )


@cached
def commune_ranking(
    indicator_code: str,
    period: str,
    province_code: str | None = None,
    kinds: tuple[str, ...] = ("xã", "phường", "đặc khu"),
    criteria_min: int = 0,
    criteria_max: int | None = None,
) -> pd.DataFrame:
    """Communes for one indicator and month with their rank in their province and in the
    country, filtered by province (None = all), kind and the number of DX criteria met that
    month (the catalog's criteria indicator: ``criteria_min`` … ``criteria_max``, default all
    of them; with the full range communes with no criteria figure are kept). Sorted by
    national rank."""
    top = catalog.criteria_max()
    criteria_max = top if criteria_max is None else criteria_max
    keep_missing = int(criteria_min) <= 0 and int(criteria_max) >= top
    return db.query(
        """
        SELECT c.code, c.name, c.kind, c.province_code, p.name AS province_name,
               o.value, o.source_id, o.is_demo,
               r.rank_in_province, r.n_in_province, r.rank_national, r.n_national,
               k.value AS criteria_met
        FROM wh.commune c
        JOIN wh.province p ON p.code = c.province_code
        LEFT JOIN wh.observation o ON o.unit_code = c.code AND o.level = 'commune'
              AND o.indicator = ? AND o.period = ?
        LEFT JOIN wh.commune_rank r ON r.commune_code = c.code AND r.indicator = ? AND r.period = ?
        LEFT JOIN wh.observation k ON k.unit_code = c.code AND k.level = 'commune'
              AND k.indicator = ? AND k.period = ?
        WHERE (CAST(? AS VARCHAR) IS NULL OR c.province_code = ?)
          AND list_contains(?, c.kind)
          AND (k.value BETWEEN ? AND ? OR (? AND k.value IS NULL))
        ORDER BY r.rank_national NULLS LAST, c.province_code, c.name
        """,
        [
            indicator_code, period, indicator_code, period, catalog.by_role("dx_criteria").code, period,
            province_code, province_code, list(kinds), int(criteria_min), int(criteria_max),
            keep_missing,
        ],
    )


@cached
def commune_profile(commune_code: str) -> pd.DataFrame:
    """Every monthly value of one commune with its ranks (in its province and national),
    for all commune indicators, in catalog order then by month."""
    return db.query(
        """
        SELECT o.indicator, i.name_vi, i.name_en, i.unit, i.decimals, i.higher_is_better,
               i.aggregation, i.topic, i.sort_order, o.period, o.value, o.source_id, o.is_demo,
               r.rank_in_province, r.n_in_province, r.rank_national, r.n_national
        FROM wh.observation o
        JOIN wh.indicator i ON i.code = o.indicator
        LEFT JOIN wh.commune_rank r ON r.commune_code = o.unit_code AND r.indicator = o.indicator
              AND r.period = o.period
        WHERE o.level = 'commune' AND o.unit_code = ?
        ORDER BY i.sort_order, o.period
        """,
        [commune_code],
    )


@st.cache_resource(show_spinner=False, max_entries=2)
def _commune_resolver(signature: tuple):
    """The name resolver over the warehouse's own units (built once per warehouse file: ~1.5 s;
    kept even with DX_NO_CACHE, like an index)."""
    from core.resolver import UnitResolver

    return UnitResolver(
        db.query("SELECT code, name, full_name FROM wh.province ORDER BY code"),
        db.query("SELECT code, name, kind, province_code FROM wh.commune ORDER BY code"),
        db.query("SELECT code, name, province_code, full_name FROM wh.legacy_province ORDER BY code"),
    )


def search_communes(query: str, limit: int = 50) -> pd.DataFrame:
    """Diacritic-free commune search ("quang dien" finds Xã Quảng Điền): code, name, kind,
    province_code, province_name, rank (0 = exact name), best first."""
    return _commune_resolver(db.signature()).search_communes(query, limit)


def communes_shown(indicator_code: str, period: str, province_code: str | None, kinds: tuple[str, ...],
                   criteria_min: int, criteria_max: int | None, search: str = "") -> pd.DataFrame:
    """The Communes page's ranking, narrowed to a search's hits in their order (best first)."""
    ranking = commune_ranking(indicator_code, period, province_code, kinds, criteria_min, criteria_max)
    if not search:
        return ranking
    hits = search_communes(search, limit=len(communes()))
    order = dict(zip(hits["code"], range(len(hits))))
    shown = ranking[ranking["code"].isin(order)]
    return shown.iloc[shown["code"].map(order).argsort()]


# --------------------------------------------------------------------------- data & methods


@cached
def sources_detail() -> pd.DataFrame:
    """Every source with version, licence, checksum and load time (freshness)."""
    return db.query(
        "SELECT id, producer, url, version, licence, checksum, loaded_at, description "
        "FROM wh.source ORDER BY loaded_at DESC, id"
    )


@cached
def population_bases() -> pd.DataFrame:
    """The bases of the provinces' primary population rows: how many provinces and people each."""
    return db.query(
        "SELECT basis, min(reference) AS reference, count(*) AS n, "
        "sum(population) AS total FROM wh.population WHERE is_primary GROUP BY basis ORDER BY n DESC, basis"
    )


@cached
def similar_context() -> pd.DataFrame:
    """What similar provinces are compared on (core/similar.py): population, area, communes,
    share of wards (phường) among them and region, per province."""
    return db.query(
        """
        SELECT p.code, p.population, p.area_km2, p.n_communes, p.region,
               count(c.code) FILTER (WHERE c.kind = 'phường') / count(c.code) AS ward_share
        FROM wh.province p JOIN wh.commune c ON c.province_code = p.code
        GROUP BY ALL ORDER BY p.code
        """
    )


@cached
def similar_provinces(province_code: str) -> pd.DataFrame:
    """The province's most similar provinces, nearest first: ``code``, ``distance``, ``order``
    (how many and the weights: data/meta/similar.toml)."""
    return core_similar.neighbours(similar_context(), province_code)


@cached
def press_facts() -> pd.DataFrame:
    """All press facts in file order (fact number, then id)."""
    return db.query("SELECT * FROM wh.press_fact ORDER BY fact_no, id")


@cached
def fact_checks() -> pd.DataFrame:
    """Every checkable press fact with the warehouse value (``observed``), ``agrees``, and
    ``is_demo`` (the agreeing value is demo data, set to match the fact)."""
    return db.query("SELECT id, observed, agrees, is_demo FROM wh.fact_check ORDER BY id")


@cached
def demo_counts() -> pd.DataFrame:
    """Observations by level and demo flag, with their months."""
    return db.query(
        """
        SELECT level, is_demo, count(*) AS n, min(period) AS first_period,
               max(period) AS last_period, count(DISTINCT indicator) AS n_indicators
        FROM wh.observation GROUP BY ALL ORDER BY level DESC, is_demo DESC
        """
    )


@cached
def legacy_merges() -> pd.DataFrame:
    """Each of the 34 provinces with the old provinces it was formed from (63 → 34)."""
    return db.query(
        """
        SELECT p.code, p.name, count(l.code) AS n_old,
               string_agg(l.name, ', ' ORDER BY l.code) AS old_names
        FROM wh.province p LEFT JOIN wh.legacy_province l ON l.province_code = p.code
        GROUP BY ALL ORDER BY n_old DESC, p.name
        """
    )


@cached
def load_history() -> pd.DataFrame:
    """Every load, for every reader: without who loaded it (staff logins are not listed in
    public, so the login form's silence about names holds; Data refresh shows them to staff)."""
    return db.query(
        "SELECT load_id, kind, file_name, status, rows_loaded, rows_rejected, "
        "finished_at, undone_at FROM wh.load_history ORDER BY load_id"
    )


@cached
def upload_history() -> pd.DataFrame:
    """Every load with the file as received (size, time, checksum): the Data refresh page's history."""
    return db.query(
        "SELECT h.load_id, h.kind, h.file_name, h.status, h.rows_loaded, h.rows_rejected, h.uploader, "
        "f.received_at, h.finished_at, h.undone_at, f.size_bytes, h.sha256 "
        "FROM wh.load_history h LEFT JOIN wh.raw.file f USING (load_id) ORDER BY h.load_id"
    )


@cached
def view_columns() -> pd.DataFrame:
    """The columns of every documented view, as the warehouse defines them."""
    return db.query(
        """
        SELECT table_name AS view, column_name, data_type, column_index
        FROM duckdb_columns()
        WHERE database_name = 'wh' AND schema_name = 'main' AND NOT internal
        ORDER BY view, column_index
        """
    )


# --------------------------------------------------------------------------- published figures
# (views published and published_check: kept beside the monthly values, never mixed into them)


@cached
def province_published(province_code: str) -> pd.DataFrame:
    """What was published about one province: its published figures (the province, its communes
    or part of it; by month, undated last) then its press facts; ``kind`` says which. Press facts
    carry their unit (``unit``), published figures their own scale and suffixes."""
    return db.query(
        """
        SELECT * FROM (
            SELECT 'published' AS kind, id, name_vi, name_en, value, comparison, decimals, out_of,
                   suffix_vi, suffix_en, period, as_of, basis_vi, basis_en, source_url,
                   coalesce(first_month, '9999-99') AS sort_month
            FROM wh.published WHERE province_code = ?
            UNION ALL BY NAME
            SELECT 'press' AS kind, id, statement AS name_vi, statement_en AS name_en, value, comparison,
                   unit, period, period_is_approximate, source_url, '9999-99' AS sort_month, fact_no
            FROM wh.press_fact WHERE unit_code = ?
        )
        ORDER BY kind DESC, sort_month, as_of NULLS LAST, fact_no, id
        """,
        [province_code, province_code],
    )


@cached
def published_points(indicator_code: str, codes: tuple[str, ...]) -> pd.DataFrame:
    """Published values of one indicator for a single month, about some provinces (or their
    communes, or part of them) and the country (``code`` None): the marked points on Trends."""
    return db.query(
        """
        SELECT f.id, f.province_code AS code, p.name, f.first_month AS period, f.value, f.comparison,
               f.decimals, f.out_of, f.suffix_vi, f.suffix_en, f.as_of, f.basis_vi, f.basis_en
        FROM wh.published f LEFT JOIN wh.province p ON p.code = f.province_code
        WHERE f.compares_with = ? AND f.measure = 'value' AND f.first_month = f.last_month
          AND (f.scope = 'national' OR list_contains(?, f.province_code))
        ORDER BY f.first_month, f.as_of NULLS LAST, f.id
        """,
        [indicator_code, list(codes)],
    )


@cached
def published_checks() -> pd.DataFrame:
    """Every published figure beside the warehouse value of its province and month (view
    ``published_check``), with its names, period, unit, basis and source."""
    return db.query(
        """
        SELECT c.id, c.scope, c.province_code, p.name AS province_name, c.indicator, c.measure,
               c.published_value AS value, c.comparison, c.warehouse_value, c.difference, c.is_demo,
               c.comparable, c.reason, c.agrees, f.name_vi, f.name_en, f.period, f.as_of, f.unit_code,
               f.decimals, f.out_of, f.suffix_vi, f.suffix_en, f.basis_vi, f.basis_en, f.source_url
        FROM wh.published_check c
        JOIN wh.published f USING (id)
        LEFT JOIN wh.province p ON p.code = c.province_code
        ORDER BY c.id
        """
    )


# --------------------------------------------------------------------------- needs attention


@cached
def attention(period: str, province_code: str | None) -> core_attention.Attention:
    """The month's exceptions for the country (None) or one province (core/attention.py,
    rules in data/meta/attention.toml)."""
    return core_attention.find(db.query, period, province_code)


@cached
def outlooks(indicator_code: str, period: str) -> pd.DataFrame:
    """Per province: where a rate with a target is heading (core/projection.py): projected
    value at the deadline with its band, and on_track / at_risk / off_track (met / missed from
    the deadline on). Empty for an indicator that is not projected."""
    if not core_projection.projected(indicator_code):
        return pd.DataFrame(columns=["code", "target", "comparison", "deadline", "projected", "low", "high",
                                     "status"])
    series = db.query(
        "SELECT unit_code AS code, period, value FROM wh.observation "
        "WHERE indicator = ? AND level = 'province' AND period <= ? AND value IS NOT NULL",
        [indicator_code, period],
    )
    return core_projection.outlooks(series, indicator_code, period)
