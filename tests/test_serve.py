"""Serving a meeting: the served configuration, and ``make serve WORKERS=2`` for real (two
``streamlit run`` processes behind Debian's HAProxy, deploy/serve.py, Chromium as viewers).

A Streamlit session, its websocket and its uploads live in one process, so the proxy must
keep each browser on one worker (by cookie: delegates in one room share an address), and a
load made during the meeting must reach every worker (they read one warehouse file).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from core import i18n
from deploy import serve

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
STAFF, STAFF_PW = "lan", "staff password 57"
REPORT_NAME = "ha_noi_hop_cau.csv"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_served_configuration_turns_the_file_watcher_off():
    """What `make run` and `make serve` start with, as Streamlit itself reads the project's
    .streamlit/config.toml: no source watcher (it cost each new session 300–550 ms) and no
    rerun on save."""
    shown = subprocess.run([sys.executable, "-m", "streamlit", "config", "show"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.splitlines()
    assert 'fileWatcherType = "none"' in shown
    assert "runOnSave = false" in shown


def test_the_proxy_configuration_is_valid_and_sticky_by_cookie(tmp_path):
    config = tmp_path / "haproxy.cfg"
    config.write_text(serve.haproxy_config(8501, [8511, 8512, 8513]), encoding="utf-8")
    text = config.read_text()
    assert "cookie DXW insert" in text and "balance source" not in text
    assert "compression offload" in text  # the workers never gzip (docs/operations.md)
    assert text.count("\n    server w") == 3 and "server w3 127.0.0.1:8513 cookie w3" in text
    if Path(serve.HAPROXY).exists():
        subprocess.run([serve.HAPROXY, "-c", "-q", "-f", str(config)], check=True)


needs_stack = pytest.mark.skipif(
    not (Path(CHROMIUM).exists() and Path(serve.HAPROXY).exists()),
    reason="needs /usr/bin/chromium and /usr/sbin/haproxy (make browser proxy)")


@pytest.fixture(scope="module")
def stack(warehouse, tmp_path_factory):
    """Two workers and the proxy, on a private warehouse copy with one staff user."""
    from dashboard import users

    folder = tmp_path_factory.mktemp("serve")
    path = folder / "warehouse.duckdb"
    shutil.copyfile(warehouse, path)
    env = {"DX_DB": str(path), "DX_RAW": str(folder / "raw"), "DX_USERS": str(folder / "users.toml"),
           "DX_PBKDF2_ITERATIONS": "200000"}
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        users.add_user(STAFF, STAFF_PW, "staff")
        running = serve.start(2, _free_port(), _free_port(), "127.0.0.1")
        try:
            yield running, path, folder
        finally:
            running.stop()


def _settle(page, timeout: float = 90_000) -> None:
    page.wait_for_selector("h1", timeout=timeout)
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=timeout)
    page.wait_for_timeout(300)


def _shows(page, text: str, timeout: float = 90_000) -> None:
    """Wait until the page shows ``text`` as a reader sees it (without the invisible word
    joiners core.safety.plain puts into file names)."""
    page.wait_for_function("t => document.body.innerText.replaceAll('\\u2060', '').includes(t)",
                           arg=text, timeout=timeout)


@needs_stack
def test_viewers_stay_on_their_worker_uploads_reach_it_and_a_load_reaches_both(stack):
    from playwright.sync_api import sync_playwright

    running, path, folder = stack
    url = f"http://127.0.0.1:{running.port}"
    vi = i18n.translator("vi")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            contexts = [browser.new_context(viewport={"width": 1400, "height": 1000}) for _ in range(2)]
            pages = []
            for ctx in contexts:
                page = ctx.new_page()
                page.goto(f"{url}/province?province=01&period=2025-09&indicator=online_application_rate")
                _settle(page)
                pages.append(page)
            workers = [{c["name"]: c["value"] for c in ctx.cookies()}.get("DXW") for ctx in contexts]
            # Two delegates on one address land on different workers (fewest connections first).
            assert sorted(workers) == ["w1", "w2"], workers
            assert REPORT_NAME not in pages[1].inner_text("body").replace("\u2060", "")

            # Staff in the first context upload a report: the upload goes to its own worker
            # (Streamlit refuses an upload for a session it does not hold) and is loaded.
            page = pages[0]
            page.goto(f"{url}/data_refresh")
            _settle(page)
            page.get_by_label("Tên đăng nhập").fill(STAFF)
            page.locator("input[type=password]").fill(STAFF_PW)
            page.get_by_role("button", name="Đăng nhập").click()
            page.wait_for_selector("input[type=file]", state="attached", timeout=90_000)
            report = folder / REPORT_NAME
            report.write_text("period,unit,indicator,value\n2025-09,Hà Nội,online_application_rate,91.5\n",
                              encoding="utf-8")
            page.locator("input[type=file]").set_input_files(str(report))
            page.get_by_role("button", name=vi("refresh.dry_run")).click()
            page.get_by_text(vi("refresh.all_valid", valid="1")).wait_for(timeout=90_000)
            page.get_by_role("button", name=vi("refresh.confirm")).click()
            _shows(page, f"{REPORT_NAME}: lần nạp #1")
            page.screenshot(path=str(ARTIFACTS / "serve_loaded_through_proxy.png"))
            assert {c["name"]: c["value"] for c in contexts[0].cookies()}["DXW"] == workers[0]

            # The other worker's profile of Hà Nội cites the loaded file on its next page run.
            other = pages[1]
            other.reload()
            _settle(other)
            _shows(other, REPORT_NAME)
            other.screenshot(path=str(ARTIFACTS / "serve_other_worker_sees_load.png"))
        finally:
            browser.close()
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        assert con.execute("SELECT value FROM observation WHERE unit_code = '01' AND period = '2025-09' "
                           "AND indicator = 'online_application_rate'").fetchone()[0] == pytest.approx(91.5)
    finally:
        con.close()


@needs_stack
def test_the_proxy_serves_the_static_files_from_its_cache_compressed(stack):
    """plotly.js (4.5 MB, every deck viewer's) leaves a worker once; the proxy answers every
    later fetch from memory (an Age header) and gzips it, so no worker compresses it."""
    import urllib.request

    running, _, _ = stack
    script = next(p.name for p in (ROOT / "static" / "vendor").glob("plotly-*.min.js"))
    answers = []
    for _ in range(2):
        request = urllib.request.Request(f"http://127.0.0.1:{running.port}/app/static/vendor/{script}",
                                         headers={"Accept-Encoding": "gzip", "Cookie": "DXW=w1"})
        with urllib.request.urlopen(request, timeout=30) as reply:  # noqa: S310 (local proxy)
            answers.append((reply.headers.get("Content-Encoding"), reply.headers.get("Age"), len(reply.read())))
    (first_encoding, _, _), (encoding, age, size) = answers
    assert first_encoding == encoding == "gzip" and age is not None  # (the first may be cached already)
    assert size < (ROOT / "static" / "vendor" / script).stat().st_size / 1.5
