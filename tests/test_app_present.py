"""The Present page and "add to deck" in Streamlit's AppTest: a chart added from Rankings
becomes a slide of my deck, is ordered, saved by name into the decks file (by logged-in data
staff: saved decks are shared), and the saved deck's own address (``play=1``) shows it alone,
served as a static file."""

from __future__ import annotations

from pathlib import Path

import pytest
from markdown_support import shown
from streamlit.testing.v1 import AppTest

from dashboard import users
from dashboard.present import decks, serve

ROOT = Path(__file__).resolve().parent.parent
PRESENT = "pages/8_present.py"
RANKINGS_BARS = ("/rankings?indicator=online_application_rate&period=2025-09&province=25&region=all"
                 "&chart=bars")


STAFF, STAFF_PW = "lan", "staff password 57"


@pytest.fixture
def decks_file(warehouse, tmp_path, monkeypatch) -> Path:
    """An empty decks file, and a users file with one data staff login."""
    path = tmp_path / "decks.json"
    monkeypatch.setenv("DX_DECKS", str(path))
    monkeypatch.setenv("DX_USERS", str(tmp_path / "users.toml"))
    monkeypatch.setenv("DX_PBKDF2_ITERATIONS", "200000")
    users.add_user(STAFF, STAFF_PW, "staff")
    return path


def log_in(at: AppTest) -> None:
    """Log in on the Data refresh page (the login is the session's, for every page)."""
    at.switch_page("pages/7_data_refresh.py").run()
    at.text_input(key="dx_login_name").input(STAFF)
    at.text_input(key="dx_login_password").input(STAFF_PW)
    next(b for b in at.button if b.label == "Đăng nhập").click().run()


def run(script: str | None = None, **params: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    if script:
        at.switch_page(script)
        at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(at: AppTest) -> list[str]:
    """The markdown of the page as a reader sees it."""
    return [shown(m.value) for m in at.markdown]


def test_a_chart_added_from_rankings_is_saved_by_name_and_gets_its_own_address(decks_file):
    at = run("pages/2_rankings.py", indicator="online_application_rate", period="2025-09", province="25")
    at.button(key="deck.add.rankings.bars").click().run()
    assert [t.value for t in at.toast] == ["Đã thêm vào bài trình chiếu (1 trang)."]
    at.button(key="deck.add.rankings.movers").click().run()
    at.switch_page(PRESENT).run()
    assert "Đăng nhập (trang Cập nhật dữ liệu)" in [p.proto.label for p in at.get("page_link")]
    assert not [b for b in at.button if b.key == "present.save"]  # readers present and download, staff save
    log_in(at)
    at.switch_page(PRESENT).run()
    assert texts(at)[:2] == ["1. Xếp hạng Tỷ lệ hồ sơ trực tuyến · Tháng 9/2025",
                             "2. Thay đổi thứ hạng từ Tháng 6/2025 đến Tháng 9/2025"]
    at.button(key="deck.down.0").click().run()
    assert texts(at)[0].startswith("1. Thay đổi thứ hạng")

    at.text_input(key="deck.name").input("national").run()
    at.button(key="present.save").click().run()
    assert at.error[0].value == "Tên này dành cho bài trình chiếu có sẵn; hãy chọn tên khác."
    at.text_input(key="deck.name").input("Giao ban tháng 9").run()
    at.button(key="present.save").click().run()
    assert at.success[0].value == "Đã lưu bài “Giao ban tháng 9”."
    assert decks.saved(decks_file)["Giao ban tháng 9"][1] == RANKINGS_BARS
    assert at.selectbox(key="w.deck").value == "Giao ban tháng 9"
    assert at.query_params["deck"] == "Giao ban tháng 9"
    assert at.get("code")[0].value == "/present?deck=Giao+ban+th%C3%A1ng+9&lang=vi&play=1"


def test_the_decks_own_address_shows_the_deck_alone(decks_file):
    decks.save("Giao ban", [RANKINGS_BARS], decks_file)
    at = run(PRESENT, deck="Giao ban", play="1")
    frames = at.get("iframe")
    assert len(frames) == 1 and frames[0].proto.src.startswith("/app/static/decks/")
    assert frames[0].proto.src.endswith(".html?auto=0&keys=parent")
    served = serve.DECKS / frames[0].proto.src.split("?")[0].rsplit("/", 1)[1]
    html = served.read_text(encoding="utf-8")
    assert "<h1>Giao ban</h1>" in html and "<h1>Xếp hạng Tỷ lệ hồ sơ trực tuyến · Tháng 9/2025</h1>" in html
    assert '<script src="../vendor/plotly-' in html  # plotly.js from static/, not through the websocket
    assert (serve.VENDOR / html.split('<script src="../vendor/')[1].split('"')[0]).stat().st_size > 4_000_000
    main = at.main
    assert not main.selectbox and not main.button and not main.text_input and not main.title  # no widgets
    assert any("display: none" in h.proto.body for h in at.get("html"))  # sidebar, header, toolbar hidden


def test_an_unknown_deck_in_the_address_is_named_as_text(decks_file):
    at = run(PRESENT, deck="[Bấm](http://evil.example)", play="1")
    assert shown(at.error[0].value) == ("Không có bài trình chiếu “[Bấm](http://evil.example)”. "
                                        "Bài đã bị xóa hoặc đổi tên?")
    assert "](" not in at.error[0].value
    assert not at.get("iframe")


def test_the_ready_made_province_deck_in_english(decks_file):
    at = run(PRESENT, deck="province", province="25", period="2025-09", lang="en")
    assert at.selectbox(key="w.deck").value == "province"
    assert at.selectbox(key="w.province").value == "25"
    labels = [b.label for b in at.get("download_button")]
    assert labels == ["Download HTML", "Download PDF", "Download PPTX"]
    assert at.get("code")[0].value == "/present?deck=province&province=25&period=2025-09&lang=en&play=1"
    at.button(key="present.copy").click().run()
    assert at.selectbox(key="w.deck").value == "mine"
    assert texts(at)[0] == "1. Phú Thọ — 9/34, 88.01%"
    assert len(texts(at)) == 8
