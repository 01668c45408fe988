"""The documented SQL views, in one place: name and one example query each.

The Data & methods page renders this list (descriptions from ``data/i18n.toml``
``methods.view_<name>``, columns read live from the warehouse). ``tests/test_views_doc.py``
checks that it names exactly the warehouse's views (``etl/warehouse.py`` ``VIEWS``), that
every example runs against a built warehouse, and that the view table of docs/sql-views.md
names the same views. Examples use the bare view names, as an analyst types them in ``duckdb``.
"""

from __future__ import annotations

from typing import NamedTuple


class View(NamedTuple):
    name: str
    example: str


VIEWS: tuple[View, ...] = (
    View("province", "SELECT name, n_communes FROM province ORDER BY n_communes DESC LIMIT 5;"),
    View(
        "population",
        "SELECT population, year, basis, is_primary, source_url FROM population\nWHERE province_code = '01';"
        "   -- the primary row and the figures that disagree",
    ),
    View(
        "commune",
        "SELECT name, kind FROM commune\nWHERE province_code = '46' AND name_ascii ILIKE '%quang dien%';",
    ),
    View(
        "legacy_province",
        "SELECT l.name AS old, p.name AS new\nFROM legacy_province l JOIN province p ON p.code = l.province_code\n"
        "WHERE p.code = '25';",
    ),
    View("indicator", "SELECT code, numerator, denominator FROM indicator WHERE aggregation = 'ratio';"),
    View("target", "SELECT indicator, value, comparison, deadline FROM target WHERE scope = 'national';"),
    View(
        "index766_group",
        "SELECT valid_from, valid_to, max_value FROM index766_group\n"
        "WHERE indicator = 'index766_online_service';   -- 22 until 2025-09, 12 from 2025-10",
    ),
    View("region", "SELECT code, name_vi, name_en FROM region ORDER BY code;"),
    View(
        "observation",
        "SELECT period, value FROM observation\nWHERE indicator = 'online_application_rate' AND level = 'province'\n"
        "  AND unit_code = '01'\nORDER BY period;",
    ),
    View(
        "province_rank",
        "SELECT rank, n_ranked FROM province_rank\n"
        "WHERE province_code = '25' AND indicator = 'online_application_rate'\n"
        "  AND period = '2025-09';   -- 9, 34",
    ),
    View(
        "commune_rank",
        "SELECT commune_code, value, rank_in_province FROM commune_rank\n"
        "WHERE indicator = 'applications_received' AND period = '2025-07' AND province_code = '46'\n"
        "ORDER BY rank_in_province LIMIT 5;",
    ),
    View("press_fact", "SELECT statement, value, source_url FROM press_fact WHERE entity = 'Phú Thọ';"),
    View(
        "fact_check",
        "SELECT id, observed, agrees, is_demo FROM fact_check\n"
        "WHERE NOT agrees OR NOT is_demo;   -- all but demo values set to match",
    ),
    View(
        "published",
        "SELECT name_en, value, as_of, basis_en, source_url FROM published\nWHERE province_code = '75' ORDER BY as_of;",
    ),
    View(
        "published_check",
        "SELECT id, published_value, warehouse_value, difference, is_demo, agrees\nFROM published_check "
        "WHERE comparable;   -- monthly values on the same basis",
    ),
    View("event", "SELECT date, label_en FROM event WHERE kind = 'reform' ORDER BY date;"),
    View("source", "SELECT id, version, licence, loaded_at FROM source;"),
    View("load_history", "SELECT load_id, kind, status, rows_loaded, finished_at FROM load_history;"),
)

# A national rate is recomputed from numerators and denominators, never averaged.
NATIONAL_RATE_EXAMPLE = """SELECT period, 100 * sum(numerator) / sum(denominator) AS national_rate
FROM observation WHERE indicator = 'online_application_rate' AND level = 'province'
GROUP BY period ORDER BY period;"""


def names() -> list[str]:
    return [v.name for v in VIEWS]
