"""The real app in a real browser (Debian Chromium through Playwright; never
`playwright install`): one `streamlit run` server and one browser for the whole module.

Every page of the navigation is opened; the browser may load nothing from outside the
server (each non-localhost request is aborted and recorded), no page may show a Streamlit
exception, and the Overview map must fill its 34 provinces. Links and images sent in a URL or
stored by a loaded file are shown as text. Screenshots are written to tests/artifacts/
(git-ignored) for a person to look at.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import quote, urlparse

import pytest

from core import catalog, fmt

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]
LOCAL_HOSTS = {"localhost", "127.0.0.1", "[::1]", "::1"}

playwright_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs /usr/bin/chromium (make browser)")

FILLED_CHOROPLETHS = """
() => Array.from(document.querySelectorAll('path.choroplethlocation')).filter(p => {
    const fill = p.style.fill || getComputedStyle(p).fill;
    return fill && fill !== 'none' && !fill.startsWith('rgba(0, 0, 0, 0)');
}).length
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_server(port: int, log, env: dict, *options: str) -> subprocess.Popen:
    """``streamlit run app.py`` headless on ``port``, once its health check answers."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.headless", "true",
         "--server.port", str(port), *options],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2).read() == b"ok":
                return proc
        except OSError:
            time.sleep(0.3)
    proc.kill()
    pytest.fail(f"streamlit did not start: see {log.name}")


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="module")
def server(warehouse):
    port = _free_port()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with open(ARTIFACTS / "streamlit.log", "w") as log:
        proc = _start_server(port, log, {**os.environ, "DX_DB": str(warehouse)}, "--server.address", "127.0.0.1")
        yield f"http://localhost:{port}"
        _stop(proc)


def test_the_server_asks_no_outside_host_for_its_address(warehouse, tmp_path):
    """Started as `make run` starts it (headless, every interface), the server prints its
    local URL and does not ask checkip.amazonaws.com for an external IP (the project's
    .streamlit/config.toml sets browser.serverAddress); offline that lookup warned and cost 2 s."""
    with open(tmp_path / "streamlit.log", "w") as log:
        _stop(_start_server(_free_port(), log, {**os.environ, "DX_DB": str(warehouse)}))
    printed = (tmp_path / "streamlit.log").read_text()
    assert "URL: http://localhost:" in printed
    assert "external IP" not in printed and "External URL" not in printed


@pytest.fixture(scope="module")
def context():
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        ctx = browser.new_context(viewport={"width": 1500, "height": 1900}, accept_downloads=True)
        ctx.external = []  # type: ignore[attr-defined]

        def guard(route):
            url = route.request.url
            host = urlparse(url).hostname or ""
            if url.startswith(("data:", "blob:")) or host in LOCAL_HOSTS:
                route.continue_()
            else:
                ctx.external.append(url)  # type: ignore[attr-defined]
                route.abort()

        ctx.route("**/*", guard)
        yield ctx
        ctx.close()
        browser.close()


def _settle(page, charts: int = 0, timeout: float = 90_000) -> None:
    """Wait for the script run to finish and ``charts`` plotly charts to be drawn."""
    page.wait_for_selector("h1", timeout=timeout)
    page.wait_for_function(
        "n => document.querySelectorAll('.js-plotly-plot .main-svg').length >= n", arg=charts, timeout=timeout
    )
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=timeout
    )
    page.wait_for_timeout(300)


def _open(context, url: str, charts: int, shot: str):
    page = context.new_page()
    page.on("websocket", lambda ws: context.external.append(ws.url)
            if (urlparse(ws.url).hostname or "") not in LOCAL_HOSTS else None)
    page.goto(url)
    _settle(page, charts)
    page.screenshot(path=str(ARTIFACTS / f"{shot}.png"))
    assert page.locator("[data-testid='stException']").count() == 0, f"exception on {url}"
    return page


def test_overview_map_fills_34_provinces_offline(server, context):
    # The first request after the server starts is a permalink to a page: it must still get
    # app.py's shell (menu, language switch), see dashboard/shell.py.
    page = _open(context, f"{server}/overview?indicator=online_application_rate&period=2025-09&province=25",
                 charts=1, shot="1_overview")
    page.wait_for_function(f"() => ({FILLED_CHOROPLETHS})() >= 34", timeout=30_000)
    assert page.evaluate(FILLED_CHOROPLETHS) == 34
    body = page.inner_text("body")
    assert "Phú Thọ xếp thứ 9/34 về tỷ lệ hồ sơ trực tuyến (88,01 %), tăng 2 bậc so với tháng trước." in body
    assert "Số liệu minh họa" in body
    assert "English" in body and "Xếp hạng" in body  # language switch and menu from app.py
    assert context.external == []
    page.close()


PHONE_OVERFLOW = """() => {
    const width = document.documentElement.clientWidth;
    const wide = Array.from(document.querySelectorAll('[data-testid="stMain"] *')).filter(e => {
        const r = e.getBoundingClientRect();
        return r.width > 0 && r.right > width + 1 && !e.closest('[data-testid="stDataFrame"]');
    });
    return {scroll: document.documentElement.scrollWidth, width, wide: wide.length};
}"""


def test_on_a_phone_the_headline_and_the_ranking_read_and_nothing_overflows(server, context):
    """390 × 844 (a phone): the sidebar is closed, the Overview's headline figures and the
    Rankings chart are within the screen, its value labels are not cut, no page scrolls sideways."""
    phone = context.browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    try:
        page = phone.new_page()
        page.goto(f"{server}/overview?indicator=online_application_rate&period=2025-09")
        _settle(page, 1)
        page.screenshot(path=str(ARTIFACTS / "phone_overview.png"))
        assert page.locator('[data-testid="stSidebar"][aria-expanded="true"]').count() == 0
        metric = page.locator('[data-testid="stMetric"]').first
        box = metric.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390 and box["y"] < 844
        assert "Cả nước" in metric.inner_text() and "%" in metric.inner_text()
        assert page.evaluate(PHONE_OVERFLOW) == {"scroll": 390, "width": 390, "wide": 0}

        page.goto(f"{server}/rankings?indicator=online_application_rate&period=2025-09")
        _settle(page, 2)
        page.screenshot(path=str(ARTIFACTS / "phone_rankings.png"), full_page=True)
        chart = page.locator(".js-plotly-plot").first
        frame = chart.bounding_box()
        assert frame and frame["x"] >= 0 and frame["x"] + frame["width"] <= 390
        assert "9. Phú Thọ" in chart.inner_text()
        right = frame["x"] + frame["width"]
        labels = chart.locator("text", has_text="%")  # the value labels and the reference lines' notes
        edges = [b["x"] + b["width"] for b in (labels.nth(i).bounding_box() for i in range(labels.count())) if b]
        assert edges and max(edges) <= right + 1, (max(edges), right)
        assert page.evaluate(PHONE_OVERFLOW) == {"scroll": 390, "width": 390, "wide": 0}
    finally:
        phone.close()


def test_rankings_csv_download_language_switch_and_permalink(server, context):
    page = _open(context, f"{server}/rankings?indicator=online_application_rate&period=2025-09&province=25",
                 charts=2, shot="2_rankings")
    assert "9. Phú Thọ" in page.inner_text(".js-plotly-plot >> nth=0")
    with page.expect_download() as download:
        page.get_by_role("button", name="Tải CSV").click()
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8-sig"))))
    phu_tho = next(r for r in rows if r["Tỉnh, thành phố"] == "Phú Thọ")  # numbers for programs
    assert (phu_tho["Hạng"], phu_tho["Số tỉnh xếp hạng"], phu_tho["Giá trị"][:5]) == ("9", "34", "88.01")
    assert download.value.suggested_filename == "ty-le-ho-so-truc-tuyen_2025-09.csv"

    page.get_by_text("English", exact=True).click()
    page.wait_for_function("() => document.querySelector('h1').innerText.includes('Rankings')", timeout=60_000)
    _settle(page, 2)
    assert "lang=en" in page.url and "period=2025-09" in page.url and "province=25" in page.url
    page.wait_for_function("() => document.body.innerText.includes('88.01%')", timeout=60_000)  # redrawn in English
    permalink = page.url
    page.close()
    reopened = _open(context, permalink, charts=2, shot="2_rankings_en")
    assert reopened.locator("h1").inner_text().startswith("Rankings")
    assert "Sep 2025" in reopened.inner_text("body")
    assert context.external == []
    reopened.close()


def test_trends_page(server, context):
    page = _open(context, f"{server}/trends?indicator=online_application_rate&provinces=25,01",
                 charts=2, shot="3_trends")
    text = page.inner_text("body")
    assert "tái tính" in text and "Kinh phí" in text
    assert context.external == []
    page.close()


def test_every_page_in_the_navigation_opens_without_errors_or_external_requests(server, context):
    """Click through the menu (pages 4–7 included when present) in one browser tab."""
    page = _open(context, f"{server}/", charts=1, shot="0_home")
    links = page.locator("[data-testid='stSidebarNavLink']")
    paths = [urlparse(links.nth(i).get_attribute("href")).path for i in range(links.count())]
    assert {"/overview", "/rankings", "/trends"} <= set(paths)
    for path in paths:
        page.locator(f"[data-testid='stSidebarNavLink'][href$='{path}']").click()
        page.wait_for_url(f"**{path}*", timeout=60_000)
        _settle(page, 0)
        page.screenshot(path=str(ARTIFACTS / f"nav_{path.strip('/')}.png"))
        assert page.locator("[data-testid='stException']").count() == 0, f"exception on {path}"
    page.close()
    assert context.external == []


# ----------------------------------------------------------------------------- pages 4–6

COMMUNE_POINTS = "() => document.querySelectorAll('.scattergeo path.point').length"


@pytest.mark.parametrize(
    "path, charts, shot, texts",
    [
        ("province?province=25&period=2025-09", 3, "4_province",
         ["Hồ sơ Phú Thọ", "88,01 %", "{index766_phu_tho}", "Dịch vụ công trực tuyến"]),
        ("communes?q=quang%20dien&period=2025-09", 2, "5_communes",
         ["Xã Quảng Điền", "Xã thuộc Huế · mã 19867", "6 trên 3.321"]),
        ("data_methods", 0, "6_data_methods",
         ["Định nghĩa 29 chỉ tiêu", "30 khớp ✓", "0 không khớp", "Cần Thơ phủ lên một phần Đồng Tháp cũ"]),
        ("province?province=46&period=2025-11&lang=en", 3, "4_province_en", ["Profile of Huế", "Main driver"]),
    ],
    ids=["province", "communes", "data_methods", "province-en"],
)
def test_profile_communes_and_methods_pages(server, context, db, path, charts, shot, texts):
    (index766,), = db.execute(
        "SELECT value FROM observation WHERE indicator = ? AND unit_code = '25' AND period = '2025-09'",
        [catalog.by_role("index766").code]).fetchall()
    known = {"index766_phu_tho": fmt.value(index766, catalog.by_role("index766").unit_spec, 2, "vi")}
    page = _open(context, f"{server}/{path}", charts=charts, shot=shot)
    body = page.inner_text("body")
    for text in texts:
        assert text.format(**known) in body, text
    if shot == "4_province":
        # the commune map: 148 points over the one filled province outline, drawn offline
        page.wait_for_function(f"() => ({COMMUNE_POINTS})() >= 148", timeout=30_000)
        assert page.evaluate(COMMUNE_POINTS) == 148
        assert page.evaluate(FILLED_CHOROPLETHS) == 1
    assert context.external == []
    page.close()


def test_server_side_png_export_of_the_map_with_kaleido():
    """kaleido drives the same system Chromium (downloads nothing); the local topojson is
    used instead of cdn.plot.ly."""
    pytest.importorskip("kaleido")
    import pandas as pd

    from charts import maps
    from dashboard import downloads

    codes = maps.geojson_codes()
    df = pd.DataFrame({"code": codes, "name": codes, "value": range(34)})
    indicator = {"unit": "percent", "decimals": 2, "higher_is_better": True, "name_vi": "x", "name_en": "x"}
    png = downloads.figure_image(maps.choropleth(df, indicator=indicator), width=500, height=700, footer=None)
    assert png.startswith(b"\x89PNG") and len(png) > 20_000  # a drawn map, not a blank page
    (ARTIFACTS / "kaleido_map.png").write_bytes(png)


# ----------------------------------------------------------------------------- outside text is text

def payload(name: str) -> str:
    """A link and an external image, as the tester sent them (one per parameter)."""
    return f"[Phiên hết hạn {name}](http://evil.example/{name}) ![p](http://evil.example/{name}.png)"


# Everything else Streamlit's markdown turns into markup, even escaped (core.safety.plain):
# autolinks, icons, its logo, typographic arrows. Shown literally, each is plain text.
REWRITTEN = "http://evil.example/auto www.evil.example x@evil.example :material/warning: :streamlit: a -> b -- c"
EVIL_ELEMENTS = """
() => [...document.querySelectorAll('a[href*="evil.example"], img[src*="evil.example"]')].map(e => e.outerHTML)
"""
# The pages whose chart captions show Hà Nội's loaded values, and the parameters each warns
# about when they are unknown.
WARNED = {
    "overview": ("indicator", "period", "province", "lang"),
    "rankings": ("indicator", "period", "province", "lang"),
    "trends": ("indicator", "lang"),
    "province": ("province", "period", "lang"),
}
LOGIN, LOGIN_PW = "lan", "staff password 57"


@pytest.fixture(scope="module")
def payload_server(warehouse, tmp_path_factory):
    """A server on a warehouse copy with one loaded report whose 'source' column holds the
    payload (Hà Nội, the latest month: what pages show when a link's values are unknown), and
    a users file with one staff user."""
    import duckdb

    from dashboard import users
    from etl.load import apply_load, plan_load

    folder = tmp_path_factory.mktemp("payload")
    path = folder / "warehouse.duckdb"
    shutil.copyfile(warehouse, path)
    con = duckdb.connect(str(path), read_only=True)
    latest = con.execute("SELECT max(period) FROM observation WHERE level = 'province'").fetchone()[0]
    con.close()
    report = folder / "nguon.csv"
    report.write_text(
        "period,unit,indicator,value,source\n"
        f"{latest},Hà Nội,online_application_rate,91.5,{payload('source')}\n"
        f"{latest},Hà Nội,index766_total,80.5,{payload('source')}\n", encoding="utf-8")
    env = {**os.environ, "DX_DB": str(path), "DX_RAW": str(folder / "raw"), "DX_USERS": str(folder / "users.toml"),
           "DX_PBKDF2_ITERATIONS": "200000", "DX_LOGIN_MAX_FAILURES": "3"}
    with pytest.MonkeyPatch.context() as patch:
        for key in ("DX_DB", "DX_RAW", "DX_USERS", "DX_PBKDF2_ITERATIONS"):
            patch.setenv(key, env[key])
        assert apply_load(plan_load(report, db=path), db=path).status == "loaded"
        users.add_user(LOGIN, LOGIN_PW, "staff")
    port = _free_port()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with open(ARTIFACTS / "streamlit_payload.log", "w") as log:
        proc = _start_server(port, log, env, "--server.address", "127.0.0.1")
        yield f"http://localhost:{port}"
        _stop(proc)


def _drawn(page, timeout: float = 90_000) -> None:
    """Wait until no element is still a placeholder (the page is drawn, not only run)."""
    page.wait_for_function("() => !document.querySelector('[data-testid^=\"stSkeleton\"]')", timeout=timeout)


def _visible_text(text: str) -> str:
    """Text as a reader sees it (without the invisible word joiners of core.safety.plain)."""
    return text.replace("\u2060", "")


def test_links_and_images_from_urls_and_loaded_files_are_shown_as_text(payload_server, context):
    """The tester's payload in ?indicator=, ?period=, ?province=, ?lang= on the four pages whose
    chart captions also carry a loaded file's source column, and in ?page= on the root URL
    (with every other pattern Streamlit rewrites): no link or image to evil.example in the
    DOM, nothing requested from it, the text itself on screen. The other pages' warnings are
    the same element, checked on every page in tests/test_app_safety.py."""
    params = "&".join(f"{name}={quote(payload(name))}" for name in ("indicator", "period", "province", "lang"))
    for path, warned in WARNED.items():
        page = _open(context, f"{payload_server}/{path}?{params}", charts=0, shot=f"payload_{path}")
        _drawn(page)
        page.screenshot(path=str(ARTIFACTS / f"payload_{path}.png"))
        assert page.evaluate(EVIL_ELEMENTS) == [], path
        text = _visible_text(page.inner_text("body"))
        for name in warned:
            assert payload(name) in text, (path, name)
        captions = page.locator("[data-testid='stCaptionContainer']").all_inner_texts()
        assert any(payload("source") in _visible_text(c) for c in captions), (path, captions)
        page.close()

    wanted = f"{payload('page')} {REWRITTEN}"
    page = _open(context, f"{payload_server}/?page={quote(wanted)}", charts=0, shot="payload_page")
    _drawn(page)
    assert page.evaluate(EVIL_ELEMENTS) == []
    assert wanted in _visible_text(page.inner_text("body"))
    page.close()
    assert context.external == []


def test_tables_offer_no_built_in_csv_download(payload_server, context):
    """The table's own menu has no 'Download as CSV' (it would carry cells raw); the app's
    CSV/Excel buttons under the table are there."""
    page = _open(context, f"{payload_server}/data_methods", charts=0, shot="methods_table_menu")
    table = page.locator("[data-testid='stDataFrame']").nth(2)  # sources: producers from loaded files
    table.scroll_into_view_if_needed()
    table.hover()
    toolbar = page.locator("[data-testid='stElementToolbar'] button")
    toolbar.first.wait_for(timeout=10_000)
    page.screenshot(path=str(ARTIFACTS / "methods_table_menu.png"))
    labels = [toolbar.nth(i).get_attribute("aria-label") for i in range(toolbar.count())]
    assert "Search" in labels and "Download as CSV" not in labels, labels
    assert page.get_by_role("button", name="Tải CSV").count() >= 3
    page.close()


def test_a_failed_login_keeps_the_name_and_says_nothing_about_it(payload_server, context):
    page = _open(context, f"{payload_server}/data_refresh", charts=0, shot="login_form")
    for name in (LOGIN, "lam"):
        page.get_by_label("Tên đăng nhập").fill(name)
        page.locator("input[type=password]").fill("wrong password")
        page.get_by_role("button", name="Đăng nhập").click()
        page.wait_for_function("() => document.querySelector('input[type=password]').value === ''", timeout=60_000)
        page.wait_for_selector("[data-testid='stAlertContentError']", timeout=60_000)
        _settle(page)
        assert page.get_by_label("Tên đăng nhập").input_value() == name
        errors = page.locator("[data-testid='stAlertContentError']").all_inner_texts()
        assert len(errors) == 1 and errors[0].endswith(  # after the icon's name
            "Sai tên đăng nhập hoặc mật khẩu. Sau 3 lần sai liên tiếp, tài khoản bị khóa 15 phút "
            "(quản trị viên có thể mở khóa sớm hơn)."), errors
        page.screenshot(path=str(ARTIFACTS / f"login_failed_{name}.png"))
        assert "users.toml" not in page.inner_text("body")
    page.close()


def test_needs_attention_page_shows_the_digest_with_a_copy_button(server, context):
    page = _open(context, f"{server}/attention?in_province=46&period=2025-09", charts=0, shot="9_attention")
    # The code block's highlighter is a script of its own, loaded after the page has run.
    page.wait_for_function("() => document.body.innerText.includes('CẦN CHÚ Ý: Huế')", timeout=60_000)
    body = page.inner_text("body")
    assert "CẦN CHÚ Ý: Huế, Tháng 9/2025" in body and "Số liệu minh họa" in body
    assert "Xã Chân Mây – Lăng Cô" in body
    block = page.locator("[data-testid='stCode']")
    block.hover()
    assert block.locator("button").count() >= 1  # Streamlit's copy-to-clipboard button
    assert context.external == []
    page.close()
