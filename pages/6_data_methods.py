"""Data & methods: what is demo data, indicator definitions, sources with licences and
freshness, the press facts checked against the warehouse, the published figures beside the
warehouse value of their month and how facts anchor the demo, the re-basing rules (63 → 34),
the known limits of the boundary layer, and the SQL views analysts can query.
URL: /data_methods?lang=vi"""

from __future__ import annotations

from dashboard.shell import ensure_app_shell

ensure_app_shell()  # before anything renders: see dashboard/shell.py

from datetime import datetime

import pandas as pd
import streamlit as st

from core import attention, fmt, i18n, paths, projection, similar
from core import catalog as indicator_catalog
from core.safety import plain
from dashboard import db, downloads, queries, tables, ui, views_doc

lang, t = ui.page_language()

st.title(t("methods.title"))

# ---- how much of the data is demo
counts = queries.demo_counts()
n_all = int(counts["n"].sum())
n_demo = int(counts.loc[counts["is_demo"].fillna(False).astype(bool), "n"].sum())
ui.demo_banner(n_demo > 0, lang)
st.header(t("methods.demo"))
st.markdown(t(
    "methods.demo_share", n_demo=fmt.number(n_demo, 0, lang), n=fmt.number(n_all, 0, lang),
    share=fmt.percent(100 * n_demo / n_all if n_all else 0, 1, lang), n_real=fmt.number(n_all - n_demo, 0, lang),
))
st.markdown(t("methods.demo_what"))
st.dataframe(
    pd.DataFrame({
        t("methods.col_level"): [t(f"methods.level_{lv}") for lv in counts["level"]],
        t("methods.col_is_demo"): [t("common.yes") if d else t("common.no") for d in counts["is_demo"]],
        t("methods.col_n"): [fmt.number(n, 0, lang) for n in counts["n"]],
        t("methods.col_n_indicators"): counts["n_indicators"].tolist(),
        t("methods.col_first"): [fmt.month(p, lang) for p in counts["first_period"]],
        t("methods.col_last"): [fmt.month(p, lang) for p in counts["last_period"]],
    }),
    hide_index=True, key="methods.demo",
)

# ---- indicator definitions
catalog = queries.indicators()
st.header(t("methods.indicators", n=len(catalog)))
catalog_table = tables.catalog_table(catalog, lang)
st.dataframe(
    catalog_table, hide_index=True, width="stretch", key="methods.indicators", height=35 * (len(catalog_table) + 1) + 3,
    column_config={
        t("methods.col_definition"): st.column_config.TextColumn(width="large"),
        t("methods.col_legal_basis"): st.column_config.TextColumn(width="large"),
        t("methods.col_formula"): st.column_config.TextColumn(width="large"),
    },
)
ui.table_downloads(catalog_table, downloads.file_stem("indicators", lang), lang, key="methods.indicators_dl")

# ---- sources, licences, freshness
st.header(t("methods.sources"))
_, _, mtime_ns, size = db.signature()
st.markdown(t(
    "methods.warehouse_file", path=db.path().name,
    mtime=datetime.fromtimestamp(mtime_ns / 1e9).strftime("%Y-%m-%d %H:%M"),
    size=fmt.number(size / 1e6, 1, lang),
))
sources = queries.sources_detail()
sources_table = pd.DataFrame({
    t("methods.col_source"): sources["id"],
    t("methods.col_loaded_at"): pd.to_datetime(sources["loaded_at"]).dt.strftime("%Y-%m-%d %H:%M"),
    t("methods.col_version"): sources["version"],
    t("methods.col_licence"): [  # the known sources' in the reader's language, a loaded file's as stored
        t(f"source_licence.{i}") if i18n.has(f"source_licence.{i}") else x
        for i, x in zip(sources["id"], sources["licence"])
    ],
    t("methods.col_producer"): [
        t(f"source_producer.{i}") if i18n.has(f"source_producer.{i}") else x
        for i, x in zip(sources["id"], sources["producer"])
    ],
    t("methods.col_url"): sources["url"],
    t("methods.col_checksum"): sources["checksum"].fillna("").str[:12],
    t("methods.col_description"): [
        t(f"source_desc.{i}") if i18n.has(f"source_desc.{i}") else d
        for i, d in zip(sources["id"], sources["description"])
    ],
})
st.dataframe(
    sources_table, hide_index=True, width="stretch", key="methods.sources",
    column_config={
        t("methods.col_producer"): st.column_config.TextColumn(width="large"),
        t("methods.col_licence"): st.column_config.TextColumn(width="large"),
    },
)
ui.table_downloads(sources_table, "sources", lang, key="methods.sources_dl")
with st.expander(t("methods.loads")):
    loads = queries.load_history()
    st.dataframe(
        loads.rename(columns={c: t(f"methods.load_{c}") for c in loads.columns}), hide_index=True, width="stretch",
        key="methods.loads",
    )

# ---- press facts and the agreement check
st.header(t("methods.facts"))
facts = queries.press_facts()
checks = queries.fact_checks()
n_ok = int(checks["agrees"].sum())
st.markdown(t(
    "methods.facts_summary", n=len(facts), n_check=len(checks), n_ok=n_ok, n_bad=len(checks) - n_ok,
))
n_ok_demo = int((checks["agrees"] & checks["is_demo"].fillna(False).astype(bool)).sum())
st.markdown(t("methods.facts_basis", n_ok=n_ok, n_demo=n_ok_demo, n_real=n_ok - n_ok_demo))
if n_ok < len(checks):
    st.error(t("methods.facts_bad", n=len(checks) - n_ok, ids=plain(", ".join(checks.loc[~checks["agrees"], "id"]))),
             icon=":material/cancel:")
facts_table = tables.facts_table(facts, checks, lang)
st.dataframe(
    facts_table, hide_index=True, width="stretch", key="methods.facts", height=560,
    column_config={
        t("methods.col_statement"): st.column_config.TextColumn(width="large"),
        t("methods.col_link"): st.column_config.LinkColumn(display_text=r"https?://(?:www\.)?([^/]+)/.*"),
    },
)
ui.table_downloads(facts_table, downloads.file_stem("press-facts", lang), lang, key="methods.facts_dl")

# ---- published figures beside the warehouse value of their month, and how facts anchor the demo
st.header(t("published.methods_title"))
checks = queries.published_checks()
checked = checks[checks["comparable"] & checks["agrees"].notna()]
n_ok = int(checked["agrees"].astype(bool).sum())
st.markdown(t("published.methods_summary", n=len(checks), n_comparable=int(checks["comparable"].sum()),
              n_checked=len(checked), n_ok=n_ok, n_bad=len(checked) - n_ok))
if n_ok < len(checked):
    st.error(t("published.methods_bad", n=len(checked) - n_ok,
               ids=plain(", ".join(checked.loc[~checked["agrees"].astype(bool), "id"]))), icon=":material/cancel:")
pending = checks[checks["comparable"] & checks["agrees"].isna()]
if len(pending):
    st.caption(t("published.methods_pending", n=len(pending), ids=plain(", ".join(pending["id"]))))
st.markdown(t("published.methods_anchor"))
published_table = tables.published_check_table(checks, lang)
st.dataframe(
    published_table, hide_index=True, width="stretch", key="methods.published", height=560,
    column_config={
        t("published.col_figure"): st.column_config.TextColumn(width="medium"),
        t("published.col_basis"): st.column_config.TextColumn(width="large"),
        t("published.col_source"): st.column_config.LinkColumn(display_text=r"https?://(?:www\.)?([^/]+)/.*"),
    },
)
ui.table_downloads(published_table, downloads.file_stem("published", lang), lang, key="methods.published_dl")

# ---- re-basing 63 -> 34
st.header(t("methods.rebase"))
merges = queries.legacy_merges()
n_alone = int((merges["n_old"] == 1).sum())
for key in ("methods.rebase_sum", "methods.rebase_ratio"):
    st.markdown(f"- {t(key)}")
st.markdown(f"- {t('methods.rebase_none', n_alone=n_alone, n_merged=len(merges) - n_alone)}")
st.markdown(f"- {t('methods.rebase_commune')}")
st.dataframe(
    pd.DataFrame({
        t("common.province"): merges["name"],
        t("methods.col_n_old"): merges["n_old"],
        t("methods.col_old_names"): merges["old_names"],
        t("methods.col_keeps_index"): [t("common.yes") if n == 1 else t("common.no") for n in merges["n_old"]],
    }),
    hide_index=True, width="stretch", key="methods.rebase",
)

# ---- the boundary layer's known limits
st.header(t("methods.boundaries"))
st.markdown(t("methods.boundaries_intro"))
for key in ("defect_cantho", "defect_laichau", "defect_melinh", "defect_coast", "defect_islands"):
    st.markdown(f"- {t('methods.' + key)}")
st.markdown(t("methods.boundaries_replace"))
provenance = (paths.GEO / "PROVENANCE.md").read_text(encoding="utf-8")
with st.expander(t("methods.boundaries_verbatim")):
    st.markdown(tables.markdown_section(provenance, "Known defects"))
    st.markdown(tables.markdown_section(provenance, "Measured"))

# ---- SQL views
st.header(t("methods.views"))
st.markdown(t("methods.views_intro"))
columns = queries.view_columns()
by_view = columns.groupby("view", sort=False)["column_name"].agg(list).to_dict()
for view in views_doc.VIEWS:
    st.markdown(f"**`{view.name}`** — {t('methods.view_' + view.name)}")
    st.caption(f"{t('methods.view_columns')}: " + ", ".join(f"`{c}`" for c in by_view.get(view.name, [])))
    st.code(view.example, language="sql")
st.markdown(t("methods.national_rate"))
st.code(views_doc.NATIONAL_RATE_EXAMPLE, language="sql")

# ---- population and per-inhabitant figures
st.header(t("methods.population"))
st.markdown(t("methods.population_intro"))
bases = queries.population_bases()
for row in bases.itertuples():
    st.markdown("- " + t("methods.population_basis_line", basis=plain(row.basis), reference=plain(row.reference),
                         n=row.n, total=fmt.number(row.total, 0, lang)))
st.markdown(t("methods.population_total", total=fmt.number(bases["total"].sum(), 0, lang)))
st.markdown(t("methods.population_counts", names=", ".join(i.name(lang) for i in indicator_catalog.per_capita())))
st.markdown(t("methods.population_commune"))
st.markdown(t("methods.population_replace"))

# ---- similar provinces (core/similar.py, data/meta/similar.toml)
st.header(t("similar.title"))
peer_scheme = similar.scheme()
st.markdown(t("similar.methods_intro", n=peer_scheme.neighbours))
st.markdown(t("similar.method", region=fmt.number(peer_scheme.region, 1, lang)))
st.markdown(t("similar.methods_weights", weights="; ".join(
    f"{t('similar.feature_' + name)}: {fmt.number(weight, 1, lang)}" for name, weight in peer_scheme.features)))

# ---- the whole warehouse as open data
st.header(t("methods.open_data"))
st.markdown(t("methods.open_data_intro"))
st.download_button(
    t("methods.open_data_button"), data=downloads.open_data_zip, file_name="dx-dashboard-data.zip",
    mime="application/zip", key="methods.open_data", on_click="ignore", icon=":material/download:",
)

# ---- where provinces are heading (core/projection.py) and the Needs attention rules (core/attention.py)
st.header(t("outlook.method_title"))
heading_for = projection.settings()
st.markdown(t("outlook.method", window=heading_for["window"], min_months=heading_for["min_months"],
              low=fmt.number(heading_for["band"][0], 1, lang), high=fmt.number(heading_for["band"][1], 1, lang)))
st.markdown(t("outlook.method_indicators", names=plain(", ".join(
    i.name(lang) for i in indicator_catalog.indicators().values() if projection.projected(i.code)))))
st.header(t("attention.methods_title"))
st.markdown(t("attention.methods_intro"))
for rule in attention.RULES:
    st.markdown(f"- **{t(f'attention.heading.{rule}')}**: {plain(attention.rule_text(rule, lang))}")
