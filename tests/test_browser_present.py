"""Decks in a real browser (Debian Chromium through Playwright): a saved 5-slide deck walked
with the keyboard at its own address, chrome-free, full screen with F, the same slides in a
fresh browser context (another machine); the exported HTML file opened offline, walked, its
map drawn, no request made at all, and advancing by itself. Screenshots go to tests/artifacts/."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

import pytest
from test_browser import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    FILLED_CHOROPLETHS,
    LOCAL_HOSTS,
    _free_port,
    _start_server,
    _stop,
)

from dashboard.present import compose, decks, permalink

playwright_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs /usr/bin/chromium (make browser)")

ROOT = Path(__file__).resolve().parent.parent
NAME = "Giao ban tháng 9"
ONLINE = "online_application_rate"
VIEWS = [
    permalink.view("present.headline", province="25", indicator=ONLINE, period="2025-09"),
    permalink.view("rankings.bars", indicator=ONLINE, period="2025-09", region="all", province="25"),
    permalink.view("overview.map", indicator=ONLINE, period="2025-09", province="25"),
    permalink.view("trends.lines", indicator=ONLINE, provinces="25,01", history="1"),
]
FRAME = "iframe[data-testid='stIFrame']"


@pytest.fixture(scope="module")
def saved(warehouse, tmp_path_factory) -> Path:
    """A decks file with one saved deck: a title slide and four views."""
    path = tmp_path_factory.mktemp("decks") / "decks.json"
    decks.save(NAME, [v.permalink() for v in VIEWS], path)
    return path


@pytest.fixture(scope="module")
def expected(saved) -> list[str]:
    deck = decks.saved_deck(NAME, saved)
    return [NAME, *(s.title for s in compose.build_slides(deck, "vi"))]


@pytest.fixture(scope="module")
def server(warehouse, saved):
    port = _free_port()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "DX_DB": str(warehouse), "DX_DECKS": str(saved), "DX_PUBLIC_URL": "https://dx.example.gov.vn"}
    with open(ARTIFACTS / "streamlit_present.log", "w") as log:
        proc = _start_server(port, log, env, "--server.address", "127.0.0.1")
        yield f"http://localhost:{port}"
        _stop(proc)


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def guarded(browser, **options):
    """A fresh context (a machine of its own) that aborts and records requests leaving localhost."""
    context = browser.new_context(**options)
    context.external = []  # type: ignore[attr-defined]

    def guard(route):
        url = route.request.url
        if url.startswith(("data:", "blob:", "file:")) or (urlparse(url).hostname or "") in LOCAL_HOSTS:
            route.continue_()
        else:
            context.external.append(url)  # type: ignore[attr-defined]
            route.abort()

    context.route("**/*", guard)
    return context


def test_a_saved_deck_is_walked_with_the_keyboard_and_opens_the_same_on_another_machine(server, browser, saved,
                                                                                       expected):
    url = f"{server}/present?{decks.saved_deck(NAME, saved).url_query('vi')}"
    assert url.endswith("/present?deck=Giao+ban+th%C3%A1ng+9&lang=vi&play=1")
    context = guarded(browser, viewport={"width": 1600, "height": 900})
    page = context.new_page()
    page.goto(url)
    frame = page.frame_locator(FRAME)
    frame.locator("html[data-shown='1']").wait_for(timeout=90_000)

    def title() -> str:
        return frame.locator(".slide.current h1").inner_text()

    # keys go to the page (a clicker sends PageUp/PageDown); the deck listens there too
    walked = [title()]
    for key in ("ArrowRight", "Space", "PageDown", "PageDown", "PageDown", "PageUp", "ArrowLeft", "Home", "End"):
        page.keyboard.press(key)
        walked.append(title())
    a, b, c, d, e = expected
    assert walked == [a, b, c, d, e, e, d, c, a, e]
    assert frame.locator(".slide.current .count").inner_text() == "5 / 5"
    frame.locator(".slide.current .main-svg").first.wait_for(timeout=30_000)
    page.screenshot(path=str(ARTIFACTS / "present_play.png"))

    # chrome-free: the deck fills the window; no sidebar, header or widget shows
    assert page.locator(FRAME).bounding_box() == {"x": 0, "y": 0, "width": 1600, "height": 900}
    for hidden in ("stSidebar", "stHeader", "stToolbar"):
        assert not page.locator(f"[data-testid='{hidden}']").is_visible(), hidden
    assert page.locator("[data-testid='stSelectbox'], [data-testid='stButton']").count() == 0
    page.keyboard.press("f")
    page.wait_for_function("() => document.fullscreenElement !== null", timeout=10_000)
    assert page.evaluate("document.fullscreenElement.dataset.testid") == "stIFrame"
    assert context.external == []
    context.close()

    # the same address on another machine (a fresh context), a 1920 × 1080 screen
    other = guarded(browser, viewport={"width": 1920, "height": 1080})
    page = other.new_page()
    page.goto(url)
    frame = page.frame_locator(FRAME)
    frame.locator("html[data-shown='1']").wait_for(timeout=90_000)
    assert frame.locator(".slide").evaluate_all("slides => slides.map(s => s.dataset.title)") == expected
    title_px = frame.locator(".slide.current h1").evaluate(
        "h => parseFloat(getComputedStyle(h).fontSize) * parseFloat(document.getElementById('deck').style.zoom)")
    assert title_px >= 40  # titles readable from the back of a hall
    page.screenshot(path=str(ARTIFACTS / "present_play_1920.png"))
    assert other.external == []
    other.close()


def test_the_html_file_shows_its_slides_offline_and_asks_for_nothing(browser, saved, expected, tmp_path):
    out = tmp_path / "giao-ban.html"
    done = subprocess.run(
        [sys.executable, "-m", "dashboard.present", "export", "--deck", NAME, "--format", "html", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=300, env={**os.environ, "DX_DECKS": str(saved)})
    assert done.returncode == 0, done.stderr
    context = browser.new_context(viewport={"width": 1920, "height": 1080}, offline=True)
    page = context.new_page()
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(out.as_uri())
    page.wait_for_function("() => document.documentElement.dataset.ready === '1'", timeout=60_000)
    titles = []
    for _ in expected:
        titles.append(page.locator(".slide.current h1").inner_text())
        if titles[-1] != NAME:
            assert page.locator(".slide.current .main-svg").count() >= 1, titles[-1]  # an interactive chart
        if titles[-1] == expected[3]:
            page.wait_for_function(f"() => ({FILLED_CHOROPLETHS})() >= 34", timeout=30_000)
            page.screenshot(path=str(ARTIFACTS / "present_html_map.png"))
        page.keyboard.press("ArrowRight")
    assert titles == expected
    assert requests == [out.as_uri()]  # the file itself, nothing else
    page.goto(f"{out.as_uri()}?auto=1")  # auto-advance, a slide a second
    page.wait_for_function("() => document.documentElement.dataset.shown === '3'", timeout=20_000)
    context.close()
