"""The catalog drives the code: units, roles and translations come from
data/meta/indicators.toml, and one more [[indicator]] entry is all it takes to show a new
indicator (here with a new unit too) on the Rankings page."""

from __future__ import annotations

import ast
import datetime as dt
import json
import re
from pathlib import Path

import pytest
from load_support import run_etl, write_csv
from markdown_support import shown_cells
from streamlit.testing.v1 import AppTest

from core import catalog, fmt, i18n, paths
from etl import build, reference
from etl import warehouse as wh
from etl.load import apply

ROOT = Path(__file__).resolve().parent.parent
RANKINGS = "pages/2_rankings.py"

# A throwaway indicator with its own unit, lower is better: appended to a copy of the catalog.
THROWAWAY = '''
[unit.per_100k]
label_vi = "trên 100.000 dân"
label_en = "per 100,000 people"
suffix_vi = " /100.000 dân"
suffix_en = " per 100k"
decimals = 1
bound = "plausible_max"
tick_format = ",.1f"

[[indicator]]
code = "cyber_incidents_per_100k"
name_vi = "Sự cố an toàn thông tin trên 100.000 dân"
name_en = "Cyber incidents per 100,000 people"
unit = "per_100k"
plausible_max = 1_000
higher_is_better = false
aggregation = "none"
levels = ["province"]
topic = "digital_government"
definition_vi = "Số sự cố an toàn thông tin mạng được ghi nhận trong tháng trên 100.000 dân."
definition_en = "Cyber-security incidents recorded in the month per 100,000 people."
legal_basis = "Thử nghiệm (tests/test_catalog.py)"
'''


def catalog_copy(tmp_path: Path, extra: str = "", *, replace: tuple[str, str] | None = None) -> Path:
    """The real catalog with ``extra`` appended (or one text replaced), as a new file."""
    text = (paths.META / "indicators.toml").read_text(encoding="utf-8")
    if replace:
        assert replace[0] in text
        text = text.replace(replace[0], replace[1], 1)
    path = tmp_path / "indicators.toml"
    path.write_text(text + extra, encoding="utf-8")
    return path


def untranslated(cat: catalog.Catalog) -> list[str]:
    """Every text of the catalog a reader may see that is missing in Vietnamese or English
    (names, definitions and unit labels are also refused by ``catalog.load``)."""
    missing = [f"unit {code}: suffix" for code, unit in cat.units.items()
               if bool(unit.suffix_vi.strip()) != bool(unit.suffix_en.strip())]
    for code, ind in cat.indicators.items():
        missing += [f"indicator {code}: {name}_{lang}" for name in ("name", "definition") for lang in ("vi", "en")
                    if not getattr(ind, f"{name}_{lang}").strip()]
        if not i18n.has(f"topic.{ind.topic}"):
            missing.append(f"indicator {code}: topic.{ind.topic} in data/i18n.toml")
    return missing


# ----------------------------------------------------------------------------- translations


def test_every_catalog_text_is_in_vietnamese_and_english():
    cat = catalog.current()
    assert untranslated(cat) == []
    topics = {i.topic for i in cat.indicators.values()}
    assert {i18n.t(f"topic.{t}", "vi") for t in topics} >= {"Dịch vụ công", "Bộ chỉ số 766"}
    assert catalog.unit("criteria").label("vi") == "tiêu chí (trên 17)"
    assert catalog.unit("criteria").label("en") == "criteria (of 17)"


def test_a_catalog_entry_without_its_english_name_is_refused(tmp_path):
    path = catalog_copy(tmp_path, replace=('name_en = "BTS stations"\n', 'name_en = ""\n'))
    with pytest.raises(catalog.CatalogError, match="indicator bts_stations: name_en is empty"):
        catalog.load(path)


def test_the_etl_refuses_an_inconsistent_catalog_in_one_line(tmp_path):
    bad = catalog_copy(tmp_path, replace=('name_en = "BTS stations"\n', 'name_en = ""\n'))
    db = tmp_path / "warehouse.duckdb"
    result = run_etl("build", env={"DX_CATALOG": str(bad), "DX_DB": str(db), "DX_RAW": str(tmp_path / "raw")})
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        f"error: {bad}: indicator bts_stations: name_en is empty (every text in Vietnamese and English)"]
    assert not db.exists()


def test_a_unit_without_its_english_label_is_refused(tmp_path):
    path = catalog_copy(tmp_path, replace=('label_en = "bn VND"\n', ""))
    with pytest.raises(catalog.CatalogError, match=r"unit bn_vnd: .*label_en"):
        catalog.load(path)


def test_a_topic_without_a_translation_is_found(tmp_path):
    path = catalog_copy(tmp_path, THROWAWAY.replace('topic = "digital_government"', 'topic = "cyber_security"'))
    assert untranslated(catalog.load(path)) == ["indicator cyber_incidents_per_100k: topic.cyber_security in "
                                                "data/i18n.toml"]


# ----------------------------------------------------------------------------- units and roles


def test_each_unit_is_written_as_declared_in_the_catalog():
    assert [fmt.value(15, "criteria", 0, lang) for lang in ("vi", "en")] == ["15/17", "15/17"]
    assert [fmt.value(73.15, "score", 2, lang) for lang in ("vi", "en")] == ["73,15 điểm", "73.15 pts"]
    assert [fmt.value(1234, "count", 0, lang) for lang in ("vi", "en")] == ["1.234", "1,234"]
    assert fmt.difference(-0.63, "score", 2, "vi") == "-0,63 điểm"
    assert fmt.difference(3.08, "percent", 2, "en", sign=False) == "3.08 pp"
    percent = catalog.unit("percent")
    assert (percent.max, percent.tick_suffix("vi"), percent.tick_suffix("en")) == (100, " %", "%")
    assert catalog.unit("bn_vnd").tick_suffix("vi") == ""  # money ticks are bare; the axis is titled


def test_roles_name_the_indicators_the_app_builds_on():
    assert catalog.headline().code == "online_application_rate"
    planned, disbursed, rate = (catalog.by_role(r) for r in ("spending_planned", "spending_disbursed", "spending_rate"))
    assert (rate.numerator, rate.denominator) == (disbursed.code, planned.code)
    assert catalog.by_role("index766").components[0] == "index766_transparency"
    assert catalog.criteria_max() == 17 and catalog.by_role("dx_criteria").upper_bound == 17
    assert catalog.by_role("commune_size").code == "applications_received"
    assert [catalog.by_dossier_count(c).code for c in ("received", "online", "resolved", "on_time")] == [
        "applications_received", "online_applications", "applications_resolved", "resolved_on_time"]
    with pytest.raises(KeyError, match="unknown role"):
        catalog.by_role("nope")


@pytest.mark.parametrize("replace, message", [
    (('role = "headline"\n', ""), "role headline: needs exactly one indicator, has none"),
    (('code = "on_time_rate"\n', 'code = "on_time_rate"\nrole = "headline"\n'),
     r"role headline: needs exactly one indicator, has \['online_application_rate', 'on_time_rate'\]"),
    (('numerator = "spending_disbursed_bn_vnd"', 'numerator = "spending_planned_bn_vnd"'),
     "the spending rate is spending_disbursed / spending_planned"),
    (('unit = "percent"\ndecimals = 2\nhigher_is_better = true\naggregation = "ratio"\n'
      'numerator = "online_applications"',
      'unit = "percentage"\ndecimals = 2\nhigher_is_better = true\naggregation = "ratio"\n'
      'numerator = "online_applications"'), "online_application_rate: unknown unit 'percentage'"),
    (('plausible_max = 100_000\ndecimals = 0\nhigher_is_better = true\naggregation = "sum"\nlevels = ["province"]\n'
      'topic = "infrastructure"\ndefinition_vi = "Số trạm thu', 'decimals = 0\nhigher_is_better = true\n'
      'aggregation = "sum"\nlevels = ["province"]\ntopic = "infrastructure"\ndefinition_vi = "Số trạm thu'),
     "bts_stations: plausible_max is required for count values"),
    (('code = "on_time_rate"\n', 'code = "on_time_rate"\nper_capita = true\n'),
     "on_time_rate: per_capita is for counts"),
    (('code = "dx_criteria_met"\n', 'code = "dx_criteria_met"\nper_capita = true\n'),
     "dx_criteria_met: per_capita is for counts"),
])
def test_an_inconsistent_catalog_is_refused_with_the_entry_named(tmp_path, replace, message):
    with pytest.raises(catalog.CatalogError, match=message):
        catalog.load(catalog_copy(tmp_path, replace=replace))


# ----------------------------------------------------------------------------- the 766 methods


def test_the_766_index_has_five_groups_until_2025_09_and_six_from_2025_10():
    """The online group of 22 points split in October 2025 into online public services (12)
    and online payment (10); each group names the portal field that holds it."""
    five, six = catalog.index766_method("2025-09"), catalog.index766_method("2025-10")
    assert (five.valid_from, five.valid_to, six.valid_from, six.valid_to) == ("2022-06", "2025-09", "2025-10", None)
    assert [(g.indicator, g.max, g.field) for g in five.groups] == [
        ("index766_transparency", 18, "CKMB"), ("index766_progress", 20, "TDGQ"), ("index766_digitisation", 22, "MDSH"),
        ("index766_online_service", 22, "TTTT"), ("index766_satisfaction", 18, "MDHL")]
    assert [(g.indicator, g.max, g.field) for g in six.groups] == [
        ("index766_transparency", 18, "CKMB"), ("index766_progress", 20, "TDGQ"), ("index766_digitisation", 22, "MDSH"),
        ("index766_online_service", 12, "TTTT"), ("index766_online_payment", 10, "CLGQ"),
        ("index766_satisfaction", 18, "MDHL")]
    assert catalog.index766_method("2022-05") is None and catalog.index766_method("2031-01") is six
    assert catalog.index766_group_max("index766_online_payment", "2025-09") is None
    assert catalog.index766_group_max("index766_online_service", "2025-09") == 22
    index = catalog.by_role("index766")
    assert index.components == six.codes  # every group of every method, newest order
    # a group's own bound is its largest maximum; the month's comes from its method
    assert (catalog.get("index766_online_service").max, catalog.get("index766_online_payment").max) == (22, 10)


def test_the_766_definitions_state_the_maxima_of_the_methods():
    """Definitions say a group's maximum in words; they must agree with [[index766_method]]."""
    for code in catalog.by_role("index766").components:
        maxima = {g.max for m in catalog.index766_methods() for g in m.groups if g.indicator == code}
        for text in (catalog.get(code).definition_vi, catalog.get(code).definition_en):
            stated = {float(n) for n in re.findall(r"(\d+) (?:điểm|points)", text)}
            assert stated and stated <= maxima, (code, text)


def test_each_766_method_change_is_an_event_on_the_766_charts():
    events = (paths.META / "events.csv").read_text(encoding="utf-8")
    for method in catalog.index766_methods()[1:]:
        assert re.search(rf"^{method.valid_from}-01,.*,method,index766$", events, flags=re.M), method.valid_from


@pytest.mark.parametrize("replace, message", [
    (("{ indicator = \"index766_satisfaction\", max = 18, field = \"MDHL\" },\n]\n\n[[index766_method]]",
      "{ indicator = \"index766_satisfaction\", max = 17, field = \"MDHL\" },\n]\n\n[[index766_method]]"),
     r"\[\[index766_method\]\] from 2022-06: the groups' maxima add up to 99, not to index766_total's max 100"),
    (('valid_from = "2025-10"', 'valid_from = "2022-01"'), "valid_from must be YYYY-MM months in increasing order"),
    (('field = "CLGQ"', 'field = "TTTT"'), "each group needs its own field"),
    (('{ indicator = "index766_online_payment", max = 10', '{ indicator = "index766_payments", max = 10'),
     "index766_payments is no score indicator of the catalog"),
    (('topic = "index766"\ndefinition_vi = "Nhóm chỉ số công khai',
      'topic = "index766"\nmax = 18\ndefinition_vi = "Nhóm chỉ số công khai'),
     "index766_transparency: a Decision 766 group's maximum is given per method"),
    (('topic = "index766"\nmax = 100\n', 'topic = "index766"\nmax = 100\ncomponents = ["index766_progress"]\n'),
     "the 766 index's groups are listed in \\[\\[index766_method\\]\\]"),
])
def test_an_inconsistent_766_method_is_refused_with_what_is_wrong(tmp_path, replace, message):
    with pytest.raises(catalog.CatalogError, match=message):
        catalog.load(catalog_copy(tmp_path, replace=replace))


def test_the_catalog_marks_the_counts_that_may_be_shown_per_1000_inhabitants(db):
    assert [i.code for i in catalog.per_capita()] == [
        "applications_received", "online_applications", "applications_resolved", "bts_stations", "stations_5g",
        "eid_level2_accounts"]
    assert db.execute("SELECT code FROM indicator WHERE per_capita ORDER BY sort_order").fetchall() == [
        (i.code,) for i in catalog.per_capita()]


def string_constants(path: Path) -> list[tuple[int, str]]:
    """(line, text) of every string in a module's code, docstrings left out."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef)) and node.body
                  and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings]


def test_code_outside_the_catalog_spells_no_indicator_and_no_unit():
    """Indicators and units are named in the catalog only: code asks for a role or a unit.
    Not checked: the demo generator, the example files (templates, samples) and the SQL
    examples of views_doc (documentation); etl/load/validate.py is being rewritten as rules
    (#15 item 3) that take the unit from the catalog. Unit codes are common words ("count"),
    so they are looked for where values are written and drawn."""
    indicator = re.compile(rf"\b({'|'.join(catalog.indicators())})\b")
    skip = {"etl/demo.py", "etl/load/templates.py", "etl/load/samples.py", "dashboard/views_doc.py",
            "etl/load/validate.py"}
    allowed = {("core/fmt.py", "percent"),  # fmt.percent: a share, in the catalog's percent unit
               ("pages/5_communes.py", "criteria"),  # the Communes page's URL parameter
               ("dashboard/present/slides.py", "criteria")}  # the same parameter, read from a permalink
    found = []
    for layer in ("core", "etl", "charts", "dashboard", "pages"):
        for path in sorted((ROOT / layer).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if rel in skip:
                continue
            for line, text in string_constants(path):
                is_unit = text in catalog.units() and layer in ("core", "charts", "dashboard", "pages")
                if (indicator.search(text) or is_unit) and (rel, text) not in allowed:
                    found.append(f"{rel}:{line}: {text!r}")
    assert found == []


# ----------------------------------------------------------------------------- a new indicator


@pytest.fixture
def throwaway_warehouse(tmp_path, monkeypatch) -> Path:
    """A small warehouse (reference tables, no demo data) built with the catalog plus the
    throwaway indicator, and one month of its values for all 34 provinces loaded from a CSV
    file like any report."""
    monkeypatch.setenv("DX_CATALOG", str(catalog_copy(tmp_path, THROWAWAY)))
    path = tmp_path / "warehouse.duckdb"
    monkeypatch.setenv("DX_DB", str(path))
    monkeypatch.setenv("DX_RAW", str(tmp_path / "raw"))
    with wh.creating(path) as con:
        build.load_reference(con, dt.datetime.now())
    codes = reference.provinces()["code"].tolist()
    rows = [["2025-09", code, "", "cyber_incidents_per_100k", f"{1.5 + i * 0.5:.1f}".replace(".", ","), "", "",
             "Cục An toàn thông tin", ""] for i, code in enumerate(codes)]
    report = write_csv(tmp_path / "incidents.csv",
                       ["period", "unit", "province", "indicator", "value",
                        "numerator", "denominator", "source", "note"],
                       rows)
    result = apply.apply_load(apply.plan_load(report, db=path), db=path)
    assert result.status == "loaded", result.summary
    return path


def test_one_catalog_entry_puts_a_new_indicator_on_the_rankings_page(throwaway_warehouse):
    assert catalog.get("cyber_incidents_per_100k").unit_spec.label("vi") == "trên 100.000 dân"
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params.update(indicator="cyber_incidents_per_100k", period="2025-09", province="25")
    at.run()
    at.switch_page(RANKINGS)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    picker = at.selectbox(key="w.indicator")
    assert picker.value == "cyber_incidents_per_100k"
    assert picker.options == ["Sự cố an toàn thông tin trên 100.000 dân"]
    table = shown_cells(at.dataframe[0])
    assert len(table) == 34
    # Lower is better: the province with the fewest incidents (the first code, 1,5) ranks first.
    first = reference.provinces().iloc[0]
    best = table.iloc[0]
    assert (best["Hạng"], best["Tỉnh, thành phố"], best["Giá trị"]) == ("1/34", first["name"], "1,5 /100.000 dân")
    assert table["Giá trị"].iloc[-1] == "18,0 /100.000 dân" and table["Hạng"].iloc[-1] == "34/34"
    assert table["Hạng"].tolist() == [f"{n}/34" for n in range(1, 35)]
    bars = json.loads(at.get("plotly_chart")[0].proto.spec)
    title = bars["layout"]["title"]["text"].replace("<br>", " ")  # (two lines: a phone shows it whole)
    assert title == "Xếp hạng Sự cố an toàn thông tin trên 100.000 dân · Tháng 9/2025"
    assert bars["data"][0]["y"][0] == f"1. {first['name']}"
    assert bars["data"][1]["text"][0].startswith("1,5 /100.000 dân")  # the value column, in the new unit
