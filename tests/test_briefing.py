"""The monthly briefing of a province (dashboard/briefing): Phú Thọ, September 2025, written
once by the ETL's front door ``python -m etl briefing`` (which runs ``python -m dashboard.briefing``
in a child process) as Word and PDF, read back with python-docx and pypdf and checked against
the warehouse: the title, the headline figures with their rank (88,01 %, 9th of 34), three
charts (PNG pictures in Word, vector in the PDF), the demo mark and the sources. The profile
page offers both files, and a click in Chromium on the real server downloads the PDF; a bad
argument exits 2. All 34 briefings are timed in benchmarks/briefing.py, not here.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from docx import Document
from pypdf import PdfReader
from streamlit.testing.v1 import AppTest

from core import catalog, fmt

ROOT = Path(__file__).resolve().parent.parent
needs_chromium = pytest.mark.skipif(not Path("/usr/bin/chromium").exists(),
                                    reason="needs /usr/bin/chromium (make browser)")
TITLE = "Báo cáo nhanh tháng 9/2025 — Phú Thọ"
DEMO = "SỐ LIỆU MINH HỌA — không phải số liệu chính thức"


def etl(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "etl", *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ}, timeout=300)


@pytest.fixture(scope="module")
def written(warehouse, tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("briefings")
    done = etl("briefing", "--province", "25", "--period", "2025-09", "--out", str(folder))
    assert done.returncode == 0, done.stderr
    files = {p.suffix[1:]: p for p in folder.iterdir()}
    assert sorted(p.name for p in files.values()) == ["bao-cao-nhanh_phu-tho_2025-09.docx",
                                                      "bao-cao-nhanh_phu-tho_2025-09.pdf"]
    return files


@pytest.fixture(scope="module")
def headline(db) -> str:
    """'Tỷ lệ hồ sơ trực tuyến: 88,01 % · hạng 9/34', written from the warehouse's own rows."""
    ind = catalog.headline()
    value, rank, n = db.execute(
        "SELECT o.value, r.rank, r.n_ranked FROM observation o JOIN province_rank r ON r.indicator = o.indicator "
        "AND r.province_code = o.unit_code AND r.period = o.period WHERE o.indicator = ? AND o.level = 'province' "
        "AND o.unit_code = '25' AND o.period = '2025-09'", [ind.code]).fetchone()
    line = f"{ind.name('vi')}: {fmt.value(value, ind.unit_spec, ind.decimals, 'vi')} · hạng {fmt.rank(rank, n)}"
    assert line == "Tỷ lệ hồ sơ trực tuyến: 88,01 % · hạng 9/34"  # the figures of docs/architecture.md
    return line


@needs_chromium
def test_the_word_briefing_has_the_headline_three_charts_the_demo_mark_and_the_sources(written, headline):
    doc = Document(str(written["docx"]))
    paragraphs = [p.text for p in doc.paragraphs]
    assert paragraphs[0] == TITLE and doc.core_properties.title == TITLE
    assert DEMO in paragraphs[:4]
    assert doc.sections[0].footer.paragraphs[0].text == f"{DEMO} · {TITLE}"  # on every page
    assert any(p.startswith(headline + " (▲2) · +7,64 điểm % so với Tháng 8/2025") for p in paragraphs)
    assert len(doc.inline_shapes) == 3
    headings = [p.text for p in doc.paragraphs if p.style.name.startswith("Heading")]
    assert headings[:5] == ["Số liệu chính", "Hướng tới mục tiêu", "Chỉ số chuyển đổi số theo Quyết định 766",
                            "Cần chú ý", "1. Chưa đạt mục tiêu · 5 trường hợp"]
    assert "10 xã, phường xếp cuối tỉnh · Tỷ lệ hồ sơ trực tuyến" in headings
    sources = paragraphs[paragraphs.index("Nguồn") + 1:]
    assert sources[0].startswith("Nguồn: ") and sources[0].endswith("· Kỳ: Tháng 9/2025 · số liệu minh họa")
    assert any("etl/demo.py" in s for s in sources)
    lagging = doc.tables[-1]
    assert [c.text for c in lagging.rows[1].cells][2] == "148/148"  # the last commune of 148 comes first


@needs_chromium
def test_the_pdf_briefing_says_the_same_in_a_font_with_vietnamese_letters(written, headline):
    reader = PdfReader(str(written["pdf"]))
    text = "\n".join(page.extract_text() for page in reader.pages)
    first = reader.pages[0].extract_text()
    assert first.startswith(TITLE) and DEMO in first and headline in first
    assert "Hướng tới mục tiêu" in text and "Nguồn: " in text and "etl/demo.py" in text
    # The three charts are vector (SVG): their text is the PDF's text, in the same font.
    assert not any(page.images for page in reader.pages)
    for caption in ("Tỷ lệ hồ sơ trực tuyến: Phú Thọ so với cả nước, và dự báo đến hạn",
                    "Tỷ lệ hồ sơ trực tuyến: 34 tỉnh, thành phố · Tháng 9/2025", "Chỉ số 766 theo nhóm · Tháng 9/2025"):
        assert caption in text
    assert "9. Phú Thọ" in text and "Cả nước: 81,52 %" in text  # the ranking chart's bar label and national line
    fonts = {str(f.get_object().get("/BaseFont", "")).split("+")[-1]
             for page in reader.pages for f in (page["/Resources"].get("/Font") or {}).values()}
    assert fonts == {"DejaVuSans", "DejaVuSans-Bold"}  # the charts' too: no fallback font without Vietnamese
    assert text.count(f"{DEMO} · {TITLE}") == len(reader.pages)  # the footer of every page


def test_the_english_briefing_is_titled_in_english(warehouse):
    from dashboard.briefing import content

    brief = content.build("25", "2025-09", "en")
    assert brief.title == "Monthly brief, September 2025 — Phú Thọ"
    assert brief.headline[0].startswith("Online application rate: 88.01% · rank 9/34")
    assert brief.file_name("pdf") == "monthly-brief_phu-tho_2025-09.pdf"


def test_the_profile_offers_the_briefing_as_word_and_pdf(warehouse):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params.update(page="province", province="25", period="2025-09")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels[:2] == ["Báo cáo nhanh (Word)", "Báo cáo nhanh (PDF)"]


@needs_chromium
def test_a_click_on_the_profile_downloads_the_pdf(warehouse, tmp_path):
    """Through the real server: the file is made on the click, in the server's download thread."""
    from playwright.sync_api import sync_playwright

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with open(tmp_path / "streamlit.log", "w") as log:
        server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.headless",
                                   "true", "--server.port", str(port), "--server.address", "127.0.0.1"],
                                  cwd=ROOT, env={**os.environ, "DX_DB": str(warehouse)}, stdout=log,
                                  stderr=subprocess.STDOUT)
    try:
        for _ in range(200):
            try:
                if urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                time.sleep(0.3)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
            page = browser.new_page(accept_downloads=True)
            page.goto(f"http://127.0.0.1:{port}/province?province=25&period=2025-09")
            button = page.get_by_role("button", name="Báo cáo nhanh (PDF)")
            button.wait_for(timeout=60_000)
            with page.expect_download(timeout=120_000) as download:
                button.click()
            saved = tmp_path / download.value.suggested_filename
            download.value.save_as(saved)
            browser.close()
    finally:
        server.terminate()
        server.wait(10)
    assert saved.name == "bao-cao-nhanh_phu-tho_2025-09.pdf"
    assert PdfReader(str(saved)).pages[0].extract_text().startswith(TITLE)


def test_a_usage_error_exits_2_and_writes_nothing(warehouse, tmp_path):
    both = etl("briefing", "--province", "25", "--all", "--out", str(tmp_path))
    assert both.returncode == 2 and "not allowed with argument" in both.stderr
    unknown = etl("briefing", "--province", "99", "--period", "2025-09", "--out", str(tmp_path))
    assert unknown.returncode == 2 and "unknown province code '99'" in unknown.stderr
    one_file = etl("briefing", "--all", "--format", "pdf", "--out", str(tmp_path / "x.pdf"))
    assert one_file.returncode == 2 and "is a file" in one_file.stderr
    assert not any(tmp_path.iterdir())


def test_names_from_loaded_files_reach_word_as_one_line_without_control_characters():
    from dashboard.briefing import content, render

    table = content.Table(["Tên\n"], [["Xã\x07 A\r\nB"]])
    assert (table.header, table.rows) == (["Tên"], [["Xã A B"]])
    assert '<w:t xml:space="preserve">Xã A B</w:t>' in render._docx_row(table.rows[0])
