"""Decks for bridge meetings (dashboard/present), without Streamlit or a browser where they can:
views as permalinks, the slides of the two ready-made decks, the HTML renderer, saved decks,
the QR code's address, the command line and its three exports.

The exports run the real command line once per format on the province deck (Phú Thọ,
September 2025): the PPTX read back with python-pptx, the PDF with pypdf. Chromium draws the
PDF and kaleido the PPTX's pictures (Debian's /usr/bin/chromium: `make browser`).
tests/test_browser_present.py walks the decks in Chromium.
"""

from __future__ import annotations

import ast
import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from dashboard.present import compose, decks, permalink, render, slides

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
needs_chromium = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium (make browser)")
PUBLIC = "https://dx.example.gov.vn"
ONLINE = "online_application_rate"


@pytest.fixture(scope="module")
def province_deck(warehouse) -> decks.Deck:
    return decks.province("25", "2025-09")


@pytest.fixture(scope="module")
def province_slides(province_deck) -> list[slides.Slide]:
    return compose.build_slides(province_deck, "vi")


# ----------------------------------------------------------------------------- views


def test_a_view_is_the_pages_own_permalink_with_the_chart_named():
    view = permalink.view("rankings.bars", indicator=ONLINE, period="2025-09", region="all", province="25", lang="en")
    link = view.permalink()
    assert link == f"/rankings?indicator={ONLINE}&period=2025-09&region=all&province=25&chart=bars"
    assert permalink.parse(link) == view
    assert permalink.parse(f"https://dx.example.gov.vn{link}&lang=en&play=1") == view  # host, lang, play ignored
    for bad in ("", "/rankings?chart=pie", "/nowhere?chart=bars", "/rankings?a=1&a=2&chart=bars", "x" * 2000):
        with pytest.raises(permalink.BadPermalink):
            permalink.parse(bad)


def test_every_chart_of_every_page_can_go_into_a_deck():
    """Each ``ui.chart(..., key=...)`` of pages/ has a slide builder, so its "add to deck" works."""
    charted = set()
    for page in (ROOT / "pages").glob("*.py"):
        for node in ast.walk(ast.parse(page.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "chart"
                    and getattr(node.func.value, "id", None) == "ui"):
                charted |= {k.value.value for k in node.keywords if k.arg == "key"}
    assert len(charted) >= 10  # the ten charts of pages 1–5
    assert charted <= set(permalink.PAGES) and set(permalink.PAGES) == set(slides.BUILDERS)


# ----------------------------------------------------------------------------- ready-made decks


def test_the_province_deck_for_phu_tho_in_september_2025(province_slides):
    titles = [s.title for s in province_slides]
    assert titles == [
        "Phú Thọ — 9/34, 88,01 %",
        "Tỷ lệ hồ sơ trực tuyến theo tỉnh, thành phố · Tháng 9/2025",
        "Tỷ lệ hồ sơ trực tuyến theo tháng · Phú Thọ",
        "Phú Thọ: Bộ chỉ số 766 theo nhóm, điểm so với tối đa · Tháng 9/2025",
        "Phú Thọ: Bộ chỉ số 766, thay đổi từng nhóm từ Tháng 8/2025 đến Tháng 9/2025",
        "Kinh phí lũy kế năm 2025 · Phú Thọ",
        "Tỷ lệ hồ sơ trực tuyến theo xã, phường · Phú Thọ · Tháng 9/2025",
        "Phú Thọ: 10 xã, phường có tỷ lệ hồ sơ trực tuyến thấp nhất · Tháng 9/2025",
    ]
    demo_source = "Nguồn: Số liệu minh họa — KHÔNG PHẢI SỐ LIỆU CHÍNH THỨC"
    for slide in province_slides:  # every slide says its source, its month and that it is demo
        assert slide.figure is not None and slide.demo, slide.title
        assert slide.footer.startswith(demo_source) and slide.footer.endswith(" · số liệu minh họa")
    assert province_slides[0].footer == f"{demo_source} · Kỳ: Tháng 9/2025 · số liệu minh họa"
    assert " · Kỳ: Tháng 1/2025 – Tháng 9/2025" in province_slides[5].footer  # spending: up to the deck's month


def test_the_province_slides_show_its_rank_its_outline_and_stop_at_the_decks_month(province_slides):
    from charts import deck as deck_charts

    headline, national_map, trend = province_slides[0], province_slides[1], province_slides[2]
    cards = [a["text"].replace("<b>", "").replace("</b>", "") for a in headline.figure["layout"]["annotations"]]
    assert cards[:6] == ["Tỷ lệ hồ sơ trực tuyến · Tháng 9/2025", "88,01 %", "+7,64 điểm % so với Tháng 8/2025",
                         "Thứ hạng trong 34 tỉnh, thành phố", "9/34", "▲2 bậc so với Tháng 8/2025"]
    outlined = [t for t in national_map.figure["data"] if t.get("name") == "highlight"]
    assert outlined[0]["locations"] == ["25"]
    drawn = [t for t in trend.figure["data"] if t.get("meta", {}).get("segment") not in ("projection", "band")]
    assert max(x for t in drawn for x in t["x"] if x) == "2025-09-01"  # (a legend-only trace has x None)
    heading = [t for t in trend.figure["data"] if t.get("meta", {}).get("segment") == "projection"]
    assert heading and heading[0]["x"] == ["2025-09-01", "2025-12-01"]  # dashed on to the target's deadline
    assert national_map.figure["layout"]["font"]["family"] == deck_charts.theme.SLIDE_FONT_FAMILY
    assert "title" not in trend.figure["layout"]  # the slide carries the title


def test_the_national_deck_names_the_provinces_that_miss_the_target(warehouse, db):
    built = compose.build_slides(decks.national("2025-09"), "en")
    (national,), = db.execute(
        "SELECT 100 * sum(numerator) / sum(denominator) FROM observation WHERE indicator = ? "
        "AND level = 'province' AND period = '2025-09'", [ONLINE]).fetchall()
    (missing,), = db.execute(
        "SELECT count(*) FROM observation WHERE indicator = ? AND level = 'province' AND period = '2025-09' "
        "AND value < 90", [ONLINE]).fetchall()
    assert [s.title.split(" · ")[0] for s in built] == [
        f"Nationwide — Online application rate, Sep 2025: {national:.2f}%",
        "Online application rate by province",
        "Online application rate ranking",
        "Change in rank from Jun 2025 to Sep 2025",
        "Online application rate by month",
        "Cumulative spending 2025",
        f"{missing} of 34 provinces miss the online application rate target",
    ]
    below = built[-1].figure["data"][0]
    assert len(below["y"]) == missing


def test_a_view_that_names_nothing_is_a_slide_saying_why(warehouse):
    slide = slides.build("/rankings?indicator=nope&period=2025-09&chart=bars", "vi")
    assert slide.title == "Không hiển thị được trang này" and slide.figure is None
    assert slide.message == "Không có “nope” cho tham số “indicator” trong kho dữ liệu."
    assert slides.build("/rankings?chart=pie", "en").message == "The link is not a chart of the dashboard."


# ----------------------------------------------------------------------------- the HTML


def test_the_deck_document_has_every_slide_its_footer_and_counter(province_deck, province_slides):
    title = compose.title_slide(province_deck, province_slides, "vi")
    html = render.document(title, province_slides, lang="vi", plotly_src="../vendor/plotly.min.js")
    assert html.count('<section class="slide') == 9
    assert re.findall(r"<h1>([^<]*)</h1>", html) == ["Phú Thọ", *(s.title for s in province_slides)]
    assert [f"{i} / 9" for i in range(1, 10)] == re.findall(r'class="count">([^<]*)<', html)
    assert html.count("SỐ LIỆU MINH HỌA") == 9
    assert '<script src="../vendor/plotly.min.js"></script>' in html and len(html) < 1_500_000
    figures = json.loads(re.search(r'id="deck-figures">(.*?)</script>', html).group(1))
    assert len(figures) == 8
    # the two maps of 34 outlines name one shared copy, read by plotly.js from PlotlyGeoAssets
    assert sum(t.get("geojson") == render.PROVINCES_KEY for f in figures for t in f["data"]) == 2
    assert f'"{render.PROVINCES_KEY}":' in html and '"topojson":{"asia_110m"' in html
    inline = render.document(title, province_slides, lang="vi")
    assert "<script src=" not in inline and len(inline) > 4_500_000  # plotly.js inside


def test_text_from_outside_stays_text_in_the_deck(warehouse, tmp_path, monkeypatch):
    monkeypatch.setenv("DX_DECKS", str(tmp_path / "decks.json"))
    name = decks.save('<img src=x onerror="alert(1)"> Giao ban', [permalink.view("overview.map").permalink()])
    html = compose.html(decks.saved_deck(name), "vi", plotly_src="p.js")
    assert "<img src=x" not in html and "&lt;img src=x onerror=&quot;alert(1)&quot;&gt; Giao ban" in html


def test_the_title_slide_has_a_qr_code_to_the_public_address_never_localhost(province_deck, province_slides,
                                                                               monkeypatch):
    monkeypatch.setenv("DX_PUBLIC_URL", PUBLIC + "/")
    url = f"{PUBLIC}/present?deck=province&province=25&period=2025-09&lang=vi&play=1"
    title = compose.title_slide(province_deck, province_slides, "vi")
    assert title.url == url and title.subtitle == "Tháng 9/2025 · Bảng điều hành chuyển đổi số"
    html = render.document(title, province_slides, lang="vi", plotly_src="p.js")
    assert render.qr_svg(url) in html and "Quét mã để mở bài trình chiếu này" in html
    for local in ("", "http://localhost:8501", "http://127.0.0.1", "ftp://dx.example.gov.vn"):
        monkeypatch.setenv("DX_PUBLIC_URL", local)
        title = compose.title_slide(province_deck, province_slides, "en")
        assert title.url is None
        html = render.document(title, province_slides, lang="en", plotly_src="p.js")
        assert "<svg" not in html and "No public address is configured (DX_PUBLIC_URL)" in html
    assert compose.deck_url(decks.mine(list(province_deck.views)), "vi") is None  # unsaved: no address


# ----------------------------------------------------------------------------- saved decks


def test_decks_are_saved_by_name_beside_the_warehouse_and_kept_by_a_rebuild(warehouse_copy, monkeypatch):
    from etl import build

    monkeypatch.delenv("DX_DECKS", raising=False)
    assert decks.decks_path() == warehouse_copy.parent / "decks.json"
    views = list(decks.province("25", "2025-09").views[:3])
    assert decks.save("  Giao ban  tháng 9 ", views) == "Giao ban tháng 9"
    assert decks.saved_deck("Giao ban tháng 9").views == tuple(views)
    build.build(warehouse_copy, verbose=False)
    assert decks.saved() == {"Giao ban tháng 9": views}
    for name, reason in (("national", r"present\.reserved_name"), ("", r"present\.bad_name"),
                         ("x" * 61, r"present\.bad_name"), ("a\u0007b", r"present\.bad_name")):
        with pytest.raises(decks.DeckError, match=reason):
            decks.save(name, views)
    with pytest.raises(decks.DeckError, match=r"present\.bad_size"):
        decks.save("empty", [])
    with pytest.raises(permalink.BadPermalink):
        decks.save("bad", ["/nowhere?chart=x"])
    decks.delete("Giao ban tháng 9")
    assert decks.saved() == {}


# ----------------------------------------------------------------------------- the command line


def cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dashboard.present", *args], cwd=ROOT, capture_output=True,
                          text=True, env={**os.environ, **(env or {})}, timeout=300)


def test_the_command_line_says_what_is_wrong(warehouse, tmp_path):
    out = str(tmp_path / "x.html")
    bad_month = cli("export", "--period", "2099-01", "--format", "html", "--out", out)
    assert bad_month.returncode == 2 and "no data for period '2099-01'" in bad_month.stderr
    assert cli("export", "--province", "99", "--period", "2025-09", "--format", "html", "--out", out).returncode == 2
    no_deck = cli("export", "--deck", "Nope", "--format", "pdf", "--out", out)
    assert no_deck.returncode == 2 and "no saved deck named 'Nope'" in no_deck.stderr
    missing = cli("export", "--period", "2025-09", "--format", "html", "--out", out,
                  env={"DX_DB": str(tmp_path / "none.duckdb")})
    assert missing.returncode == 3 and not Path(out).exists()
    old = tmp_path / "old.duckdb"
    shutil.copyfile(warehouse, old)
    con = duckdb.connect(str(old))
    con.execute("UPDATE meta.build_info SET value = '3' WHERE key = 'schema_version'")
    con.close()
    outdated = cli("export", "--period", "2025-09", "--format", "html", "--out", out, env={"DX_DB": str(old)})
    assert outdated.returncode == 3 and "python -m etl ensure" in outdated.stderr
    assert "Traceback" not in outdated.stderr


@pytest.fixture(scope="module")
def exported(warehouse, tmp_path_factory) -> dict[str, Path]:
    """The province deck written by the command line in each format (with a public address)."""
    folder = tmp_path_factory.mktemp("exports")
    files = {}
    for fmt in ("pptx", "pdf", "html"):
        files[fmt] = folder / f"phu-tho.{fmt}"
        done = cli("export", "--province", "25", "--period", "2025-09", "--format", fmt, "--out", str(files[fmt]),
                   env={"DX_PUBLIC_URL": PUBLIC})
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith(f"{files[fmt]} ({fmt}, 9 slides, ")
    return files


@needs_chromium
def test_the_pptx_has_a_slide_per_view_with_its_title_as_text_and_its_chart_as_a_picture(exported,
                                                                                          province_slides):
    from pptx import Presentation
    from pptx.enum.shapes import MSO_SHAPE_TYPE

    deck = Presentation(str(exported["pptx"]))
    assert len(deck.slides) == 9 and deck.slide_width * 9 == deck.slide_height * 16
    assert [s.shapes.title.text for s in deck.slides] == ["Phú Thọ", *(s.title for s in province_slides)]
    pictures = [[p for p in s.shapes if p.shape_type == MSO_SHAPE_TYPE.PICTURE] for s in deck.slides]
    assert len(pictures[0]) == 1  # the QR code
    for slide, found in zip(province_slides, pictures[1:]):
        assert len(found) == 1 and found[0].image.size == (3584, 1600), slide.title  # 2 × 1792 × 800
    texts = [[shape.text_frame.text for shape in s.shapes if shape.has_text_frame] for s in deck.slides]
    assert all("SỐ LIỆU MINH HỌA" in t for t in texts)
    assert all(any(t.startswith("Nguồn: ") and "Tháng 9/2025" in t for t in page) for page in texts)
    assert f"{PUBLIC}/present?deck=province&province=25&period=2025-09&lang=vi&play=1" in texts[0]
    assert deck.slides[1].notes_slide.notes_text_frame.text == province_slides[0].permalink


@needs_chromium
def test_the_pdf_has_a_page_per_slide_with_vietnamese_text_in_a_font_that_has_it(exported, province_slides):
    from pypdf import PdfReader

    pdf = PdfReader(str(exported["pdf"]))
    assert len(pdf.pages) == 9
    assert [float(v) for v in pdf.pages[0].mediabox[2:]] == [1440.0, 810.0]  # 1920 × 1080 CSS px
    assert "Phú Thọ — 9/34, 88,01 %" in pdf.pages[1].extract_text()
    assert "Phú Thọ: 10 xã, phường có tỷ lệ hồ sơ trực\ntuyến thấp nhất" in pdf.pages[8].extract_text()
    fonts = {str(f.get_object().get("/BaseFont", "")).split("+")[-1]
             for page in pdf.pages for f in (page["/Resources"].get("/Font") or {}).values()}
    assert {"DejaVuSans", "DejaVuSans-Bold"} <= fonts and not any("Liberation" in f for f in fonts)


@needs_chromium
def test_the_html_file_carries_everything_it_needs(exported):
    html = exported["html"].read_text(encoding="utf-8")
    assert "<script src=" not in html and "<link" not in html  # plotly.js and the style inline
    assert html.count('<section class="slide') == 9 and "Phú Thọ — 9/34, 88,01 %" in html
    assert "window.PlotlyGeoAssets" in html


@needs_chromium
def test_vietnamese_letters_render_in_the_png_pictures():
    """kaleido's Chromium draws "ọ" as an o with a dot below, not as a missing-glyph box: the
    make target installs fonts-dejavu-core (full Vietnamese coverage)."""
    import plotly.graph_objects as go
    from PIL import Image

    from charts import theme
    from dashboard import downloads

    def ink(text: str) -> tuple[int, bytes]:
        fig = go.Figure(layout=dict(width=200, height=120, margin=dict(l=0, r=0, t=0, b=0), xaxis_visible=False,
                                    yaxis_visible=False, font=dict(family=theme.SLIDE_FONT_FAMILY, size=60)))
        fig.add_annotation(x=0.5, y=0.5, xref="paper", yref="paper", text=text, showarrow=False)
        image = Image.open(io.BytesIO(downloads.figure_image(fig, width=200, height=120, footer=None))).convert("L")
        return sum(image.histogram()[:128]), image.tobytes()

    (o, _), (o_dot, drawn), (_, missing) = ink("o"), ink("ọ"), ink("\ue000")
    assert o < o_dot < o * 1.5 and drawn != missing
    assert ink("Phú Thọ")[1] != ink("Phu Tho")[1]
