"""Text from outside stays text, a damaged warehouse gives one plain message, an unexpected
error shows no details, the tables' own export menu is off, and a login says the same for
every user name: the whole app in Streamlit's AppTest (tests/test_browser.py looks at the
same payloads in Chromium).

Markdown is checked as Streamlit receives it: a link or an image can only come out of it if
the source holds ``](`` or a bare ``http://`` (GFM autolinks); ``core.safety.plain`` turns
both into escaped, inert text.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import duckdb
import pytest
from markdown_support import shown
from streamlit.testing.v1 import AppTest

from core import i18n
from core.safety import plain
from dashboard import db, users

ROOT = Path(__file__).resolve().parent.parent
PAGES = ("overview", "rankings", "trends", "province", "communes", "data_methods", "data_refresh", "present",
         "attention")


def payload(name: str) -> str:
    """A link and an external image, as the tester sent them (one per parameter)."""
    return f"[Phiên hết hạn {name}](http://evil.example/{name}) ![p](http://evil.example/{name}.png)"


def run(page: str, **params: str) -> AppTest:
    """Open ``/?page=<url path>&…`` (as ``/<url path>?…`` in a browser) without asserting
    anything about exceptions: the tests here look at them."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params["page"] = page
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    return at


def markdown_sources(at: AppTest) -> list[str]:
    """Every string of the page that Streamlit renders as markdown: texts, alerts, headings,
    metric labels and values, widget labels and help, expander and tab labels, page links."""
    out = [str(e.value) for kind in ("markdown", "caption", "warning", "info", "error", "success", "title",
                                     "header", "subheader", "toast") for e in at.get(kind)]
    out += [text for m in at.metric for text in (m.label, m.value, m.proto.delta, m.help or "")]
    out += [e.label for e in at.expander] + [t.label for t in at.tabs] + [p.value for p in at.get("page_link")]
    for kind in ("selectbox", "multiselect", "radio", "text_input", "slider", "checkbox", "button"):
        out += [text for w in at.get(kind) for text in (w.label, w.help or "")]
    return out


def assert_inert(at: AppTest) -> None:
    for source in markdown_sources(at):
        assert "](" not in source and "http://" not in source, source


# ----------------------------------------------------------------------------- reflected (URL)

# Which page warns about which parameter (the others ignore it or read it without warning).
WARNED = {
    "overview": ("indicator", "period", "province", "lang"),
    "rankings": ("indicator", "period", "province", "lang"),
    "trends": ("indicator", "lang"),
    "province": ("province", "period", "lang"),
    "communes": ("indicator", "period", "lang"),
    "data_methods": ("lang",),
    "data_refresh": ("lang",),
    "present": ("period", "lang"),
    "attention": ("period", "lang"),
}


@pytest.mark.parametrize("page", PAGES)
def test_a_link_in_a_url_parameter_is_shown_as_text_on_every_page(warehouse, page):
    at = run(page, **{name: payload(name) for name in ("indicator", "period", "province", "lang")})
    assert not at.exception, [e.value for e in at.exception]
    assert_inert(at)
    warnings = [w.value for w in at.warning]
    for name in WARNED[page]:
        assert any(plain(payload(name)) in w for w in warnings), (name, warnings)
        assert any(payload(name) in shown(w) for w in warnings)  # the reader sees the text as sent


def test_an_unknown_page_in_the_link_is_shown_as_text(warehouse):
    at = run(payload("page"))
    assert not at.exception
    assert_inert(at)
    warning = next(w.value for w in at.warning if "evil" in w.value)
    assert shown(warning) == i18n.t("warn.unknown_page", "vi", value=payload("page"))
    assert at.title[0].value == "Tổng quan"


def test_a_search_text_from_the_link_is_shown_as_text(warehouse):
    at = run("communes", q="zz [x](http://evil.example/q)")
    assert not at.exception
    assert_inert(at)
    assert any("zz [x](http://evil.example/q)" in shown(i.value) for i in at.info)


# ----------------------------------------------------------------------------- stored (a loaded file)

@pytest.fixture
def loaded_payload(warehouse_copy, tmp_path) -> Path:
    """A warehouse with one loaded report whose 'source' column holds a link and an image
    (it becomes a producer in ref.source, shown under every chart that uses those values)."""
    from etl.load import apply_load, plan_load

    report = tmp_path / "nguon.csv"
    source = payload("source")
    report.write_text(
        "period,unit,indicator,value,source\n"
        f"2025-09,Phú Thọ,online_application_rate,88.01,{source}\n"
        f"2025-09,Phú Thọ,index766_total,73.15,{source}\n", encoding="utf-8")
    assert apply_load(plan_load(report, db=warehouse_copy), db=warehouse_copy).status == "loaded"
    return warehouse_copy


@pytest.mark.parametrize("page, params", [
    ("overview", {"period": "2025-09"}),
    ("rankings", {"period": "2025-09"}),
    ("trends", {"provinces": "25"}),
    ("province", {"province": "25", "period": "2025-09"}),
])
def test_a_link_in_a_loaded_source_column_is_shown_as_text_in_captions(loaded_payload, page, params):
    at = run(page, **params)
    assert not at.exception, [e.value for e in at.exception]
    assert_inert(at)
    captions = [c.value for c in at.caption if c.value.startswith("Nguồn")]
    assert any(plain(payload("source")) in c for c in captions), captions
    assert any(payload("source") in shown(c) for c in captions)


# ----------------------------------------------------------------------------- table export

def test_the_tables_own_menu_exports_nothing():
    """Streamlit's 'Download as CSV' (and clipboard copy) would carry a cell such as
    =HYPERLINK(…) raw; it is off for every st.dataframe, data editor and chart table view.
    The app's own CSV/Excel buttons neutralise formulas (tests/test_dashboard_core.py)."""
    from streamlit import config

    project = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert project["client"]["disableDataExport"] is True
    assert config.get_option("client.disableDataExport") is True  # as the app runs here


# ----------------------------------------------------------------------------- damaged warehouse

def _cut_catalogue_intact(source: Path, target: Path) -> None:
    """``source`` cut short at the first length where the file still opens (catalogue and
    meta.build_info, as the app's first check reads them) but the province table does not."""
    data = source.read_bytes()
    for share in (0.95, 0.9, 0.85, 0.8, 0.75, 0.7):
        target.write_bytes(data[: int(len(data) * share)])
        con = duckdb.connect(":memory:")
        try:
            con.execute(f"ATTACH '{target}' AS wh (READ_ONLY)")
            con.execute("SELECT count(*) FROM wh.meta.build_info").fetchall()
        except duckdb.Error:
            continue
        try:
            con.execute("SELECT * FROM wh.main.province").fetchall()
        except duckdb.Error:
            return
        finally:
            con.close()
    pytest.fail("no cut of the warehouse opens but fails later")


DAMAGE = {
    "truncated": lambda source, target: target.write_bytes(source.read_bytes()[: source.stat().st_size // 2]),
    "overwritten": lambda source, target: target.write_bytes(os.urandom(source.stat().st_size)),
    "a folder": lambda source, target: target.mkdir(),
    "an empty duckdb file": lambda source, target: duckdb.connect(str(target)).close(),
    "cut, catalogue intact": _cut_catalogue_intact,
}


def damage(kind: str, warehouse: Path, tmp_path: Path, monkeypatch) -> Path:
    """A warehouse path holding ``kind`` of damage; DX_DB points at it."""
    target = tmp_path / "wh" / "warehouse.duckdb"
    target.parent.mkdir()
    DAMAGE[kind](warehouse, target)
    monkeypatch.setenv("DX_DB", str(target))
    db.reset()
    return target


def assert_one_plain_message(at: AppTest, lang: str, damaged: Path) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert [e.value for e in at.error] == [i18n.t("app.bad_warehouse", lang)]
    everything = "\n".join(markdown_sources(at))
    assert str(damaged.parent) not in everything and "Traceback" not in everything and "IO Error" not in everything


# Every page with the damage the tester made (found when the file is opened) and with a file
# whose damage shows only when a page reads a table (then the page stops part-way). The
# Data refresh page says it at its login form too: it reads its tables before asking who you are.
@pytest.mark.parametrize("kind, page", [
    *((kind, page) for kind in ("truncated", "overwritten", "a folder") for page in PAGES),
    *(("cut, catalogue intact", page) for page in PAGES),
    ("an empty duckdb file", "rankings"),
])
def test_a_damaged_warehouse_gives_one_plain_message_on_every_page(kind, page, warehouse, tmp_path, monkeypatch):
    damaged = damage(kind, warehouse, tmp_path, monkeypatch)
    assert_one_plain_message(run(page), "vi", damaged)


def test_the_damaged_warehouse_message_is_in_english_too(warehouse, tmp_path, monkeypatch):
    damaged = damage("truncated", warehouse, tmp_path, monkeypatch)
    assert_one_plain_message(run("trends", lang="en"), "en", damaged)
    assert i18n.t("app.bad_warehouse", "en") != i18n.t("app.bad_warehouse", "vi")


@pytest.mark.parametrize("page", ["overview", "present", "data_refresh"])
def test_a_warehouse_of_another_schema_says_to_rebuild_it(page, warehouse_copy):
    """Code updated, warehouse not yet rebuilt: one message saying what to run, not a
    missing-column error."""
    con = duckdb.connect(str(warehouse_copy))
    con.execute("UPDATE meta.build_info SET value = '3' WHERE key = 'schema_version'")
    con.close()
    db.reset()
    at = run(page)
    assert not at.exception, [e.value for e in at.exception]
    assert [e.value for e in at.error] == [i18n.t("app.old_warehouse", "vi")]
    assert "python -m etl ensure" in at.error[0].value


def test_an_unexpected_error_shows_readers_no_details(warehouse_copy):
    """A warehouse of an older shape (a view missing) is not damage: the page fails, and
    the reader sees Streamlit's generic box without the exception text, trace or path.
    AppTest still reports the exception, so tests keep catching it."""
    con = duckdb.connect(str(warehouse_copy))
    con.execute("DROP VIEW press_fact")
    con.close()
    at = run("data_methods")
    assert len(at.exception) == 1
    error = at.exception[0]
    assert error.stack_trace == [] and "This app has encountered an error" in error.value
    assert "press_fact" not in error.value and str(warehouse_copy.parent) not in error.value


# ----------------------------------------------------------------------------- login

STAFF, STAFF_PW = "lan", "staff password 57"


@pytest.fixture
def users_file(warehouse, tmp_path, monkeypatch) -> Path:
    path = tmp_path / "secret-folder" / "users.toml"
    monkeypatch.setenv("DX_USERS", str(path))
    monkeypatch.setenv("DX_PBKDF2_ITERATIONS", "200000")
    monkeypatch.setenv("DX_LOGIN_MAX_FAILURES", "3")
    monkeypatch.setenv("DX_LOGIN_LOCK_SECONDS", "900")
    users.add_user(STAFF, STAFF_PW, "staff", path)
    return path


def _attempt(at: AppTest, name: str, password: str) -> dict:
    at.text_input(key="dx_login_name").input(name)
    at.text_input(key="dx_login_password").input(password)
    next(b for b in at.button if b.label == i18n.t("auth.submit", "vi")).click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return {
        "said": [(kind, e.value) for kind in ("error", "warning", "info", "success") for e in at.get(kind)],
        "name box": at.text_input(key="dx_login_name").value,
        "password box": at.text_input(key="dx_login_password").value,
        "uploaders": len(at.file_uploader),
    }


def test_a_known_and_an_unknown_name_get_the_same_answers_until_and_after_the_lock(users_file):
    """Three wrong passwords lock 'lan'; 'lan' and 'lam' (no such user) see the same thing
    after each of five attempts, and the fourth and fifth (locked) look like the first.
    The typed name stays in its box; the password box is emptied."""
    known, unknown = run("data_refresh"), run("data_refresh")
    for attempt in range(5):
        seen_known = _attempt(known, STAFF, f"wrong {attempt}")
        seen_unknown = _attempt(unknown, "lam", f"wrong {attempt}")
        assert (seen_known["name box"], seen_unknown["name box"]) == (STAFF, "lam")
        assert {**seen_known, "name box": None} == {**seen_unknown, "name box": None}, attempt
        assert seen_known["said"] == [("error", i18n.t("auth.invalid", "vi", n=3, minutes=15))]
        assert seen_known["password box"] == "" and seen_known["uploaders"] == 0
    assert users.get_user(STAFF).is_locked()
    # While locked, even the right password gets the same answer: a lock that said "locked"
    # to the right password would tell a guesser when they had found it.
    assert _attempt(known, STAFF, STAFF_PW) == seen_known


def test_every_failed_login_costs_one_pbkdf2_run_and_one_write(users_file, monkeypatch):
    """What an attempt costs does not depend on whether the name exists or is locked (the
    time is not measured here; the work is counted)."""
    import hashlib

    runs = []
    real = hashlib.pbkdf2_hmac
    monkeypatch.setattr(hashlib, "pbkdf2_hmac", lambda *a, **k: runs.append(a[3]) or real(*a, **k))

    def cost(name: str, password: str) -> tuple[list[int], bool]:
        runs.clear()
        before = users_file.stat().st_mtime_ns, users_file.stat().st_ino
        users.authenticate(name, password)
        return list(runs), (users_file.stat().st_mtime_ns, users_file.stat().st_ino) != before

    unknown = cost("lam", "wrong")
    assert unknown == ([200_000], True)
    for _ in range(3):  # the third failure locks
        assert cost(STAFF, "wrong") == unknown
    assert users.get_user(STAFF).is_locked()
    assert cost(STAFF, "wrong") == unknown
    assert cost(STAFF, STAFF_PW) == unknown


def test_the_login_page_shows_no_server_path(users_file, tmp_path, monkeypatch):
    at = run("data_refresh")
    _attempt(at, "lam", "wrong")
    monkeypatch.setenv("DX_USERS", str(tmp_path / "secret-folder" / "nobody.toml"))  # no users yet
    empty = run("data_refresh")
    assert "python -m dashboard users add" in "\n".join(i.value for i in empty.info)
    for page in (at, empty):
        everything = "\n".join(markdown_sources(page))
        assert "secret-folder" not in everything and ".toml" not in everything
