"""A briefing to bytes: Word (python-docx, the charts as PNG pictures) and PDF (Chromium
prints an HTML page of the same content, the charts as SVG).

One :class:`Renderer` serves every briefing of a run: Debian's Chromium (through playwright,
never a downloaded browser) starts once, with one page that holds plotly.js; a briefing's three
charts are drawn there in one call, each laid out once by ``Plotly.toImage`` as SVG for the
PDF (vector; Chromium prints it 1.7–2.5× faster than the same charts as PNG) and that SVG
drawn on a canvas as PNG for Word; a second page prints the PDF. Nothing is fetched: the page
is a local file and every other request is refused.
"""

from __future__ import annotations

import base64
import io
import json
import tempfile
import threading
from collections.abc import Iterable, Iterator
from html import escape
from pathlib import Path
from urllib.parse import unquote

import plotly.offline
import streamlit as st
from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls
from docx.shared import Cm, Pt, RGBColor
from plotly.utils import PlotlyJSONEncoder

from charts import deck as deck_charts
from core import i18n
from dashboard import db
from dashboard.briefing import content
from dashboard.briefing.content import Brief, Table

FORMATS = ("docx", "pdf")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
SCALE = 1.5  # chart pixels per CSS pixel: 220 dpi across the page, sharp in print (2 costs a third more)
DEMO_RGB = RGBColor(0xA6, 0x3A, 0x00)
FONT = "DejaVu Sans"  # Vietnamese glyphs in Chromium (fonts-dejavu-core); Word falls back to its own


DRAW = """async ([specs, scale, png]) => Promise.all(specs.map(async s => {
    const svg = await Plotly.toImage(s.figure, {format: 'svg', width: s.width, height: s.height});
    if (!png) return [svg, null];
    const image = new Image();
    image.src = svg;
    await image.decode();
    const canvas = document.createElement('canvas');
    canvas.width = s.width * scale;
    canvas.height = s.height * scale;
    canvas.getContext('2d').drawImage(image, 0, 0, canvas.width, canvas.height);
    return [svg, canvas.toDataURL('image/png')];
}))"""


class Renderer:
    """Chromium and plotly.js, started once for many briefings (a context manager)."""

    def __enter__(self) -> Renderer:
        from playwright.sync_api import sync_playwright  # starts a driver process: only when rendering

        self._folder = tempfile.TemporaryDirectory(prefix="dx-briefing-")
        page_file = Path(self._folder.name) / "charts.html"
        page_file.write_text(f"<!doctype html><meta charset='utf-8'><script>{plotly.offline.get_plotlyjs()}"
                             "</script>", encoding="utf-8")
        self._playwright = sync_playwright().start()
        self._browser = self._playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        self._charts = self._browser.new_page()
        self._printer = self._browser.new_page()
        for page in (self._charts, self._printer):
            page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(("file:", "data:"))
                       else route.abort())
        self._charts.goto(page_file.as_uri())
        return self

    def __exit__(self, *exc) -> None:
        self._browser.close()
        self._playwright.stop()
        self._folder.cleanup()

    def draw(self, brief: Brief, *, png: bool) -> tuple[list[bytes], list[bytes] | None]:
        """The briefing's charts as SVG (for the PDF: vector, its text as text) and, if ``png``,
        that SVG drawn on a canvas as PNG (for Word), all drawn by plotly.js in the open page in
        one call: each figure is laid out once for both. The slides' fonts (Vietnamese in DejaVu)."""
        specs = [{"figure": json.loads(json.dumps(deck_charts.slide_figure(c.figure, font_scale=1),
                                                   cls=PlotlyJSONEncoder)), "width": c.width, "height": c.height}
                 for c in brief.charts]
        drawn = self._charts.evaluate(DRAW, [specs, SCALE, png])
        svgs = [unquote(svg.split(",", 1)[1]).encode("utf-8") for svg, _ in drawn]  # 'data:image/svg+xml,…'
        return svgs, [base64.b64decode(url.split(",", 1)[1]) for _, url in drawn] if png else None

    def pdf(self, brief: Brief, svgs: list[bytes]) -> bytes:
        self._printer.set_content(html(brief, svgs), wait_until="load")
        t = i18n.translator(brief.lang)
        mark = f"<b style='color:#a63a00'>{escape(t('briefing.demo'))}</b> · " if brief.demo else ""
        footer = (f"<div style='font: 8px \"{FONT}\", sans-serif; width: 100%; padding: 0 12mm; color: #555'>"
                  f"{mark}{escape(brief.title)} · <span class='pageNumber'></span>/<span class='totalPages'></span>"
                  "</div>")
        return self._printer.pdf(format="A4", print_background=True, display_header_footer=True,
                                 header_template="<div></div>", footer_template=footer,
                                 margin={"top": "14mm", "bottom": "16mm", "left": "14mm", "right": "14mm"})


# --------------------------------------------------------------------------- PDF (HTML printed)

STYLE = f"""
body {{ font-family: "{FONT}", sans-serif; font-size: 9.5pt; color: #1a1a1a; margin: 0; }}
h1 {{ font-size: 17pt; margin: 0 0 2mm; }} h2 {{ font-size: 12pt; margin: 6mm 0 2mm; color: #0b3d6e; }}
h3 {{ font-size: 10pt; margin: 3mm 0 1mm; }}
.facts, .note, figcaption, .sources {{ color: #555; }}
.demo {{ background: #a63a00; color: white; font-weight: bold; padding: 2mm 3mm; margin: 2mm 0; }}
.headline li {{ font-size: 11pt; margin: 1mm 0; }}
table {{ border-collapse: collapse; width: 100%; margin: 1mm 0 2mm; }}
th, td {{ border: 0.5pt solid #bbb; padding: 1mm 1.5mm; text-align: left; vertical-align: top; }}
th {{ background: #eef2f6; }}
figure {{ margin: 3mm 0; break-inside: avoid; }} img {{ width: 100%; }}
"""


def _table_html(table: Table) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in table.header)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in row) + "</tr>" for row in table.rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def html(brief: Brief, svgs: list[bytes]) -> str:
    """The briefing as one HTML document (the PDF's source; the charts' SVG inline as data URIs)."""
    t = i18n.translator(brief.lang)
    parts = [f"<h1>{escape(brief.title)}</h1>", f"<p class='facts'>{escape(brief.facts)}</p>"]
    if brief.demo:
        parts.append(f"<p class='demo'>{escape(t('briefing.demo'))}</p>")
    parts += [f"<h2>{escape(t('briefing.headline'))}</h2>",
              "<ul class='headline'>" + "".join(f"<li>{escape(x)}</li>" for x in brief.headline) + "</ul>",
              _table_html(brief.indicators), f"<h2>{escape(t('briefing.outlook'))}</h2>"]
    parts.append(_table_html(brief.outlook) + f"<p class='note'>{escape(t('briefing.outlook_note'))}</p>"
                 if brief.outlook else f"<p>{escape(t('briefing.outlook_none'))}</p>")
    parts.append(f"<h2>{escape(t('briefing.i766'))}</h2>")
    parts.append(_table_html(brief.i766) if brief.i766 else f"<p>{escape(t('briefing.i766_none'))}</p>")
    parts.append(f"<h2>{escape(t('briefing.attention'))}</h2>")
    for heading, count, items in brief.attention:
        parts.append(f"<h3>{escape(heading)} · {escape(t('attention.count', n=count))}</h3>")
        if items is None:
            parts.append(f"<p>{escape(t('attention.none'))}</p>")
            continue
        parts.append(_table_html(items))
        if count > len(items.rows):
            parts.append(f"<p class='note'>{escape(t('briefing.attention_more', n=count - len(items.rows)))}</p>")
    parts.append(f"<h2>{escape(brief.lagging_title)}</h2>")
    parts.append(_table_html(brief.lagging) if brief.lagging else f"<p>{escape(t('briefing.lagging_none'))}</p>")
    parts.append(f"<h2>{escape(t('briefing.charts'))}</h2>")
    for chart, svg in zip(brief.charts, svgs, strict=True):
        data = base64.b64encode(svg).decode("ascii")
        parts.append(f"<figure><img alt='{escape(chart.caption)}' src='data:image/svg+xml;base64,{data}'>"
                     f"<figcaption>{escape(chart.caption)}</figcaption></figure>")
    parts.append(f"<h2>{escape(t('briefing.sources'))}</h2>")
    parts += [f"<p class='sources'>{escape(s)}</p>" for s in brief.sources]
    parts.append(f"<p class='sources'>{escape(brief.footer)}</p>")
    return (f"<!doctype html><html lang='{brief.lang}'><head><meta charset='utf-8'><title>{escape(brief.title)}"
            f"</title><style>{STYLE}</style></head><body>{''.join(parts)}</body></html>")


# --------------------------------------------------------------------------- Word

def _docx_row(cells: list, *, header: bool = False) -> str:
    props = "<w:trPr><w:tblHeader/></w:trPr>" if header else ""  # repeated on each page
    bold = "<w:rPr><w:b/></w:rPr>" if header else ""
    return f"<w:tr>{props}" + "".join(
        f'<w:tc><w:p><w:r>{bold}<w:t xml:space="preserve">{escape(str(c), quote=False)}</w:t></w:r></w:p></w:tc>'
        for c in cells) + "</w:tr>"


def _docx_table(doc, table: Table) -> None:
    """A grid table, its rows written as one piece of XML (python-docx's cell by cell API costs
    a third of a second per briefing)."""
    out = doc.add_table(rows=0, cols=len(table.header))
    out.style = "Table Grid"
    rows = _docx_row(table.header, header=True) + "".join(_docx_row(r) for r in table.rows)
    out._tbl.extend(parse_xml(f"<w:tbl {nsdecls('w')}>{rows}</w:tbl>"))


def _demo(paragraph, text: str) -> None:
    run = paragraph.add_run(text)
    run.bold = True
    run.font.color.rgb = DEMO_RGB


def docx_bytes(brief: Brief, pngs: list[bytes]) -> bytes:
    t = i18n.translator(brief.lang)
    doc = Document()
    doc.core_properties.title = brief.title
    doc.core_properties.language = brief.lang
    normal = doc.styles["Normal"]
    normal.font.name, normal.font.size = "Arial", Pt(10)
    section = doc.sections[0]
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    section.left_margin = section.right_margin = Cm(1.8)
    footer = section.footer.paragraphs[0]
    if brief.demo:
        _demo(footer, t("briefing.demo") + " · ")
    footer.add_run(brief.title)
    doc.add_heading(brief.title, level=0)
    doc.add_paragraph(brief.facts)
    if brief.demo:
        _demo(doc.add_paragraph(), t("briefing.demo"))
    doc.add_heading(t("briefing.headline"), level=1)
    for line in brief.headline:
        doc.add_paragraph(line, style="List Bullet")
    _docx_table(doc, brief.indicators)
    doc.add_heading(t("briefing.outlook"), level=1)
    if brief.outlook:
        _docx_table(doc, brief.outlook)
        doc.add_paragraph(t("briefing.outlook_note"))
    else:
        doc.add_paragraph(t("briefing.outlook_none"))
    doc.add_heading(t("briefing.i766"), level=1)
    if brief.i766:
        _docx_table(doc, brief.i766)
    else:
        doc.add_paragraph(t("briefing.i766_none"))
    doc.add_heading(t("briefing.attention"), level=1)
    for heading, count, items in brief.attention:
        doc.add_heading(f"{heading} · {t('attention.count', n=count)}", level=3)
        if items is None:
            doc.add_paragraph(t("attention.none"))
            continue
        _docx_table(doc, items)
        if count > len(items.rows):
            doc.add_paragraph(t("briefing.attention_more", n=count - len(items.rows)))
    doc.add_heading(brief.lagging_title, level=1)
    if brief.lagging:
        _docx_table(doc, brief.lagging)
    else:
        doc.add_paragraph(t("briefing.lagging_none"))
    doc.add_heading(t("briefing.charts"), level=1)
    for chart, png in zip(brief.charts, pngs, strict=True):
        doc.add_picture(io.BytesIO(png), width=Cm(17.4 if chart.height < chart.width else 14))
        doc.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER
        doc.add_paragraph(chart.caption, style="Caption")
    doc.add_heading(t("briefing.sources"), level=1)
    for line in [*brief.sources, brief.footer]:
        doc.add_paragraph(line)
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()


def briefings(codes: Iterable[str], period: str, lang: str,
              formats: Iterable[str] = FORMATS) -> Iterator[tuple[Brief, dict[str, bytes]]]:
    """Each province's briefing and its files by format, one Chromium for them all."""
    with Renderer() as renderer:
        for code in codes:
            brief = content.build(code, period, lang)
            svgs, pngs = renderer.draw(brief, png="docx" in formats)
            yield brief, {fmt: docx_bytes(brief, pngs) if fmt == "docx" else renderer.pdf(brief, svgs)
                          for fmt in formats}


_one_at_a_time = threading.Lock()


@db.cached_per_warehouse(st.cache_data, max_entries=64)
def document(code: str, period: str, lang: str, fmt: str) -> bytes:
    """One briefing file for the profile's download button, made when it is clicked (its own
    Chromium: a click is rare; the same file again comes from the cache). One at a time per app
    process, so that a room clicking together starts one Chromium after another, not fifty."""
    with _one_at_a_time:
        ((_, files),) = briefings([code], period, lang, (fmt,))
    return files[fmt]
