"""Accessibility of every page as a person with a screen reader or low vision meets it:
axe-core (pinned in package-lock.json, installed by `make axe`, injected from node_modules,
never a CDN) runs in Debian's Chromium on each of the 9 pages at 1366 × 900 in Vietnamese.

No serious or critical violation may come from the app's own markup. Left out, and only that:
Streamlit's own sidebar navigation (``[data-testid="stSidebarNav"]``: its list items are
Streamlit's, not ours). Every chart has a text alternative a screen reader reaches (a
one-sentence summary from the chart's data). Each page's findings go to
tests/artifacts/a11y.json and its screenfuls to tests/artifacts/a11y_<page>_<n>.png.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from test_browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, _free_port, _start_server, _stop

ROOT = Path(__file__).resolve().parent.parent
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"

playwright_api = pytest.importorskip("playwright.sync_api")
pytestmark = [
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs /usr/bin/chromium (make browser)"),
    pytest.mark.skipif(not AXE.exists(), reason="needs node_modules/axe-core (make axe)"),
]

QUERY = "indicator=online_application_rate&period=2025-09&province=25"
PAGES = ["overview", "rankings", "trends", "attention", "present", "province", "communes", "data_methods",
         "data_refresh"]
EXCLUDED = [['[data-testid="stSidebarNav"]']]  # Streamlit's own navigation (list items), not the app's markup

CHARTS_DRAWN = """() => Array.from(document.querySelectorAll('[data-testid="stPlotlyChart"]'))
    .every(c => c.querySelector('.main-svg'))"""


@pytest.fixture(scope="module")
def server(warehouse):
    port = _free_port()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with open(ARTIFACTS / "streamlit_a11y.log", "w") as log:
        proc = _start_server(port, log, {**os.environ, "DX_DB": str(warehouse)}, "--server.address", "127.0.0.1")
        yield f"http://localhost:{port}"
        _stop(proc)


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


SCROLLER = "document.querySelector('[data-testid=\"stMain\"]')"  # the page scrolls in it, not the window


def audit(browser, url: str, shot: str) -> list[dict]:
    """axe-core's violations on the page at ``url`` once its script run and charts are done,
    run at each screenful (axe cannot judge the contrast of text scrolled out of sight), one
    entry per rule with each failing element once. Screenshots: <shot>_<n>.png."""
    ctx = browser.new_context(viewport={"width": 1366, "height": 900}, locale="vi-VN")
    page = ctx.new_page()
    page.goto(url)
    page.wait_for_selector("h1", timeout=90_000)
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=90_000)
    page.wait_for_function(CHARTS_DRAWN, timeout=60_000)
    page.wait_for_timeout(1500)  # tables and metric sparklines draw after the charts
    page.add_script_tag(path=str(AXE))
    found: dict[str, dict] = {}
    height = page.evaluate(f"() => {SCROLLER}.scrollHeight")
    for n, top in enumerate(range(0, height, 800)):
        page.evaluate(f"y => {SCROLLER}.scrollTo(0, y)", top)
        page.wait_for_timeout(300)
        page.screenshot(path=str(ARTIFACTS / f"{shot}_{n}.png"))
        result = page.evaluate(
            """exclude => axe.run({include: [document], exclude},
                   {resultTypes: ['violations'],
                    runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21aa', 'best-practice']}})""",
            EXCLUDED,
        )
        for v in result["violations"]:
            seen = found.setdefault(v["id"], {"id": v["id"], "impact": v["impact"], "help": v["help"], "nodes": {}})
            for node in v["nodes"]:
                seen["nodes"].setdefault(json.dumps(node["target"]), {
                    "target": node["target"], "html": node["html"][:200], "why": node["failureSummary"][:300]})
    ctx.close()
    return [v | {"nodes": list(v["nodes"].values())} for v in found.values()]


def serious(violations: list[dict]) -> list[dict]:
    """Serious and critical findings, and headings that skip a level (moderate for axe)."""
    return [v for v in violations if v["impact"] in ("serious", "critical") or v["id"] == "heading-order"]


def test_no_page_has_a_serious_accessibility_violation(server, browser):
    found, report = {}, {}
    for path in PAGES:
        violations = audit(browser, f"{server}/{path}?{QUERY}", f"a11y_{path}")
        report[path] = violations
        found[path] = [(v["id"], len(v["nodes"])) for v in serious(violations)]
    (ARTIFACTS / "a11y.json").write_text(json.dumps(report, ensure_ascii=False, indent=1))
    assert {p: f for p, f in found.items() if f} == {}


def test_every_chart_has_a_text_alternative_a_screen_reader_reaches(server, browser):
    """Each chart is followed by its summary sentence, read from the chart's data: the
    Rankings bars name Phú Thọ's value and rank and the highest province."""
    ctx = browser.new_context(viewport={"width": 1366, "height": 900}, locale="vi-VN")
    page = ctx.new_page()
    page.goto(f"{server}/rankings?{QUERY}")
    page.wait_for_function(CHARTS_DRAWN, timeout=90_000)
    page.wait_for_selector("[data-testid='stPlotlyChart'] .main-svg", timeout=60_000)
    charts = page.locator("[data-testid='stPlotlyChart']").count()
    summaries = page.locator(".dx-chart-summary").all_inner_texts()
    assert charts >= 1 and len(summaries) == charts
    assert "Phú Thọ: 88,01 %, hạng 9/34" in summaries[0]
    ctx.close()
