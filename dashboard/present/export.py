"""A deck for rooms the server cannot reach: one self-contained HTML file, a PDF, a PPTX.

- **HTML**: the deck's document with plotly.js inline (compose.html): interactive, arrow
  keys, no request at all; opens from a USB stick, or any static web server serves it.
- **PDF**: Debian's Chromium (through playwright, never a downloaded browser) prints that
  same document, one 1920 × 1080 page per slide, text as text.
- **PPTX** (python-pptx): one slide per view, the title as real text, the chart as a PNG at
  twice the slide's pixels (kaleido, with the local topojson: dashboard.downloads), the
  source, month and demo line in the footer, the view's permalink in the notes.
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path
from urllib.parse import unquote_plus

import plotly.graph_objects as go
import segno
from pptx import Presentation
from pptx.dml.color import RGBColor
from pptx.enum.text import PP_ALIGN
from pptx.util import Emu, Inches, Pt

from charts import deck as deck_charts
from core import i18n
from dashboard import downloads
from dashboard.present import compose, decks

FORMATS = ("html", "pdf", "pptx")
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
SLIDE_W, SLIDE_H = Emu(12_192_000), Emu(6_858_000)  # 13.33 × 7.5 in: PowerPoint's 16:9
MARGIN = Inches(0.45)
DEMO_FILL = RGBColor(0xA6, 0x3A, 0x00)


def html_bytes(deck: decks.Deck, lang: str) -> bytes:
    return compose.html(deck, lang).encode("utf-8")


def pdf_bytes(deck: decks.Deck, lang: str) -> bytes:
    """Chromium prints the deck's HTML (?print: every slide drawn, one per page)."""
    from playwright.sync_api import sync_playwright  # starts a driver process: only when printing

    with tempfile.TemporaryDirectory(prefix="dx-deck-") as folder:
        source = Path(folder) / "deck.html"
        source.write_bytes(html_bytes(deck, lang))
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport={"width": 1920, "height": 1080})
                page.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file:")
                           else route.abort())
                page.goto(source.as_uri() + "?print")
                page.wait_for_function("document.documentElement.getAttribute('data-ready') === '1'",
                                       timeout=120_000)
                return page.pdf(width="1920px", height="1080px", print_background=True, prefer_css_page_size=True)
            finally:
                browser.close()


def _text(slide, left: int, top: int, width: int, height: int, text: str, size: int, *, bold: bool = False,
          colour: RGBColor | None = None, align=PP_ALIGN.LEFT, fill: RGBColor | None = None):
    box = slide.shapes.add_textbox(left, top, width, height)
    frame = box.text_frame
    frame.word_wrap = True
    paragraph = frame.paragraphs[0]
    paragraph.alignment = align
    run = paragraph.add_run()
    run.text = text
    run.font.size = Pt(size)
    run.font.bold = bold
    if colour is not None:
        run.font.color.rgb = colour
    if fill is not None:
        box.fill.solid()
        box.fill.fore_color.rgb = fill
    return box


def _frame(prs: Presentation, title: str, footer: str, demo: bool, index: int, count: int, lang: str,
           *, size: int = 32):
    """A slide with its title (the layout's title placeholder: real text), demo mark, footer."""
    slide = prs.slides.add_slide(prs.slide_layouts[5])  # "Title Only"
    heading = slide.shapes.title
    heading.left, heading.top = MARGIN, Inches(0.25)
    heading.width, heading.height = SLIDE_W - 2 * MARGIN - (Inches(2.6) if demo else 0), Inches(1.1)
    heading.text = title
    for paragraph in heading.text_frame.paragraphs:
        paragraph.alignment = PP_ALIGN.LEFT
        for run in paragraph.runs:
            run.font.size, run.font.bold = Pt(size), True
    if demo:
        _text(slide, SLIDE_W - MARGIN - Inches(2.5), Inches(0.35), Inches(2.5), Inches(0.5),
              i18n.t("present.demo_mark", lang), 14, bold=True, colour=RGBColor(0xFF, 0xFF, 0xFF),
              align=PP_ALIGN.CENTER, fill=DEMO_FILL)
    _text(slide, MARGIN, SLIDE_H - Inches(0.65), SLIDE_W - 2 * MARGIN - Inches(1.0), Inches(0.55), footer, 11)
    _text(slide, SLIDE_W - MARGIN - Inches(1.0), SLIDE_H - Inches(0.65), Inches(1.0), Inches(0.55),
          f"{index} / {count}", 12, bold=True, align=PP_ALIGN.RIGHT)
    return slide


def _picture(slide, png: bytes) -> None:
    """The chart in the box between title and footer, as large as its proportions allow."""
    top, bottom = Inches(1.4), SLIDE_H - Inches(0.75)
    box_w, box_h = SLIDE_W - 2 * MARGIN, bottom - top
    ratio = deck_charts.CHART_WIDTH / deck_charts.CHART_HEIGHT
    width, height = (box_w, int(box_w / ratio)) if box_w / box_h < ratio else (int(box_h * ratio), box_h)
    slide.shapes.add_picture(io.BytesIO(png), Emu(MARGIN + (box_w - width) // 2), Emu(top + (box_h - height) // 2),
                             width=Emu(width), height=Emu(height))


def chart_png(figure: dict) -> bytes:
    """A slide's chart as PNG at twice its CSS pixels."""
    fig = go.Figure(figure)
    return downloads.figure_image(fig, "png", width=deck_charts.CHART_WIDTH, height=deck_charts.CHART_HEIGHT,
                                  scale=2, footer=None)  # the slide's own footer sits under it (_frame)


def pptx_bytes(deck: decks.Deck, lang: str) -> bytes:
    built = compose.build_slides(deck, lang)
    title = compose.title_slide(deck, built, lang)
    prs = Presentation()
    prs.slide_width, prs.slide_height = SLIDE_W, SLIDE_H
    count = len(built) + 1
    first = _frame(prs, title.title, title.footer, title.demo, 1, count, lang, size=48)
    _text(first, MARGIN, Inches(2.4), Inches(7.8), Inches(1.2), title.subtitle, 28)
    _text(first, MARGIN, Inches(3.8), Inches(7.8), Inches(1.2), i18n.t("present.keys_help", lang), 14)
    if title.url:
        qr = io.BytesIO()
        segno.make(title.url, error="m").save(qr, kind="png", scale=12, border=2)
        first.shapes.add_picture(io.BytesIO(qr.getvalue()), SLIDE_W - MARGIN - Inches(3.6), Inches(1.6),
                                 width=Inches(3.6), height=Inches(3.6))
        _text(first, SLIDE_W - MARGIN - Inches(4.2), Inches(5.3), Inches(4.2), Inches(1.0), unquote_plus(title.url), 12,
              align=PP_ALIGN.CENTER)
    else:
        _text(first, SLIDE_W - MARGIN - Inches(4.2), Inches(2.6), Inches(4.2), Inches(1.6),
              i18n.t("present.no_public_url", lang), 18, align=PP_ALIGN.CENTER)
    for index, slide in enumerate(built, start=2):
        page = _frame(prs, slide.title, slide.footer, slide.demo, index, count, lang)
        if slide.figure is not None:
            _picture(page, chart_png(slide.figure))
        else:
            _text(page, MARGIN, Inches(2.0), SLIDE_W - 2 * MARGIN, Inches(2.0), slide.message or "", 28)
        page.notes_slide.notes_text_frame.text = slide.permalink
    out = io.BytesIO()
    prs.save(out)
    return out.getvalue()


def export(deck: decks.Deck, lang: str, fmt: str) -> bytes:
    """The deck as ``fmt`` (html, pdf, pptx)."""
    return {"html": html_bytes, "pdf": pdf_bytes, "pptx": pptx_bytes}[fmt](deck, lang)
