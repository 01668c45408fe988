"""Downloads of the tables and charts readers see.

Tables: CSV (UTF-8 with BOM so Excel shows Vietnamese correctly) and Excel (.xlsx via
openpyxl). Numbers stay numbers: the CSV writes them with a ``.`` decimal point for programs
to read, the Excel file as numbers with the number formats of ``attrs["excel"]`` (see
dashboard/tables.py: a rate is a share with a % format), and a second sheet says what the
table is (definition, unit, source, month, demo, link). Text cells that a spreadsheet would
run as a formula (starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return) get a
leading apostrophe (OWASP "CSV injection").

Charts: the modebar camera button exports PNG in the browser, offline, with the file name
and size from :func:`image_options`; :func:`figure_image` renders on the server with kaleido
and the system Chromium (no download), for reports. A picture leaves the app on its own (into
a slide, a message), so it carries what the page says around it: its title, and a footer with
source, month and demo mark that :func:`marked` writes into the figure (the camera button
draws the figure as it is on the page, so the page's figure carries it too).
"""

from __future__ import annotations

import io
import re
import tempfile
import threading
import unicodedata
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from core import open_data
from core.safety import neutralise, neutralise_cell
from dashboard import db

ROOT = Path(__file__).resolve().parent.parent


def csv_bytes(df: pd.DataFrame) -> bytes:
    return neutralise(df).to_csv(index=False).encode("utf-8-sig")


def _sheet_name(name: str) -> str:
    return re.sub(r"[\[\]:*?/\\]", " ", name)[:31] or "data"


def _write_sheet(writer: pd.ExcelWriter, df: pd.DataFrame, sheet: str, formats: dict,
                 row_formats: dict | None = None) -> None:
    """One sheet with column widths; numeric columns of ``formats`` (column -> (format,
    scale)) and cells of ``row_formats`` (column -> [(rows, (format, scale))]) scaled and
    formatted."""
    safe = neutralise(df)
    for column, (_, scale) in formats.items():
        if column in df.columns and scale != 1:
            safe[neutralise_cell(column)] = df[column] * scale
    cells = {}  # (row position, column position) -> number format
    for column, groups in (row_formats or {}).items():
        if column not in df.columns:
            continue
        at = df.columns.get_loc(column)
        for rows, (number_format, scale) in groups:
            positions = df.index.get_indexer(rows)
            safe.iloc[positions, at] = df[column].iloc[positions] * scale
            cells.update({(p, at): number_format for p in positions})
    safe.to_excel(writer, index=False, sheet_name=sheet)
    worksheet = writer.sheets[sheet]
    for idx, column in enumerate(df.columns, start=1):
        letter = worksheet.cell(row=1, column=idx).column_letter
        width = max([len(str(column))] + [len(str(v)) for v in safe.iloc[:200, idx - 1]])
        worksheet.column_dimensions[letter].width = min(max(width + 2, 8), 60)
        if column in formats:
            for (cell,) in worksheet.iter_rows(min_row=2, min_col=idx, max_col=idx):
                cell.number_format = formats[column][0]
    for (row, column), number_format in cells.items():
        worksheet.cell(row=row + 2, column=column + 1).number_format = number_format


def xlsx_bytes(df: pd.DataFrame, sheet: str = "data", about: pd.DataFrame | None = None,
               about_sheet: str = "about") -> bytes:
    """The table on its sheet, and ``about`` (what it is: field, text) on a second one."""
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        _write_sheet(writer, df, _sheet_name(sheet), df.attrs.get("excel", {}), df.attrs.get("excel_rows"))
        if about is not None:
            _write_sheet(writer, about, _sheet_name(about_sheet), {})
    return buffer.getvalue()


@db.cached_per_warehouse(st.cache_resource, max_entries=1)
def open_data_zip() -> bytes:
    """Every published view as Parquet and CSV with its Frictionless datapackage.json, zipped
    (core/open_data.py; the same package as ``python -m etl export``). Made once per warehouse
    file, in a temporary folder removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="dx-open-data-") as folder, db.cursor() as cur:
        return open_data.zip_bytes(cur, Path(folder))


def file_stem(*parts: str) -> str:
    """'Tỷ lệ hồ sơ', '2025-09' -> 'ty-le-ho-so_2025-09' (safe file names)."""
    cleaned = []
    for part in parts:
        text = unicodedata.normalize("NFD", str(part)).replace("đ", "d").replace("Đ", "D")
        text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
        cleaned.append(re.sub(r"[^0-9a-z]+", "-", text).strip("-"))
    return "_".join(p for p in cleaned if p) or "data"


def image_options(filename: str, fmt: str = "png", width: int = 1600, height: int = 900) -> dict:
    """plotly.js ``toImageButtonOptions``: client-side export, no server, no internet."""
    return {"format": fmt, "filename": filename, "width": width, "height": height, "scale": 1}


FOOTER_COLOUR = "#5c5f6a"  # the captions' grey (dashboard/ui.py): 6:1 on white
FOOTER_LINE = 48  # characters a footer line takes at most (a phone's chart is ~350 px wide)
FOOTER_NAME = "dx-footer"


def footer_lines(text: str) -> list[str]:
    """'Nguồn: … · Kỳ: Tháng 9/2025 · số liệu minh họa' in lines of at most FOOTER_LINE
    characters, broken at a ' · ' or after a ' —' (a longer piece stays whole)."""
    lines: list[str] = []
    for n, part in enumerate(text.split(" · ")):
        for m, piece in enumerate(part.replace(" — ", " —\n").split("\n")):
            joint = " · " if n and not m else " "
            if lines and (n or m) and len(lines[-1]) + len(joint) + len(piece) <= FOOTER_LINE:
                lines[-1] += joint + piece
            else:
                lines.append(piece)
    return lines


def _category_labels(fig: go.Figure, axis: str) -> list[str]:
    """The text labels along the x (``axis`` 'x') or y axis: its ticktext, else the traces'
    categories there (a bar's or waterfall's names)."""
    layout_axis = fig.layout.xaxis if axis == "x" else fig.layout.yaxis
    if layout_axis.ticktext:
        return [str(t) for t in layout_axis.ticktext]
    labels = []
    for trace in fig.data:
        values = getattr(trace, axis, None)
        if values is not None and len(values) and isinstance(values[0], str):
            labels += list(values)
    return labels


def _axis_room(fig: go.Figure) -> int:
    """Pixels the x axis's tick labels (lines of '<br>', ~17 px each) and title take under the
    plot: plotly grows a small bottom margin to them in the browser (automargin)."""
    if fig.layout.xaxis.visible is False or any(t.type in ("choropleth", "scattergeo") for t in fig.data):
        return 0
    lines = max((label.count("<br>") + 1 for label in _category_labels(fig, "x")), default=1)
    title = fig.layout.xaxis.title
    return 12 + 17 * lines + (32 if title and title.text else 0)


def _left_of_plot(fig: go.Figure) -> int:
    """Pixels left of the plot that its y labels take (~6 px a letter, short of most): a footer starts there,
    at the figure's left edge, not under the plot (a ranking's names would push it off the right)."""
    labels = _category_labels(fig, "y")
    margin_l = fig.layout.margin.l if fig.layout.margin.l is not None else 80
    return margin_l + (max(len(label) for label in labels) * 6 if labels else 0)


def _below_plot(fig: go.Figure) -> int:
    """Pixels under the plot that its tick labels and axis title (the bottom margin, grown to
    them) and a legend laid out under it (charts/theme.py: ``y`` below 0, in a margin plotly
    grows) take: where the footer goes. The legend's rows are estimated from its entries'
    names (~7 px a letter, 700 px a row)."""
    margin = fig.layout.margin
    bottom = max(margin.b if margin.b is not None else 80, _axis_room(fig))  # (80: plotly's default)
    names = [t.name for t in fig.data if t.showlegend is not False and t.name]
    legend_y = fig.layout.legend.y
    if fig.layout.showlegend is False or len(names) < 2 or legend_y is None or legend_y >= 0:
        return bottom
    plot = (fig.layout.height or 450) - (margin.t if margin.t is not None else 100) - bottom
    rows = -(-sum(len(name) * 7 + 45 for name in dict.fromkeys(names)) // 700)
    return max(bottom, int(-legend_y * plot) + 22 * rows + 6)


def marked(fig: go.Figure, footer: str) -> go.Figure:
    """A copy of ``fig`` with ``footer`` (source · month · demo mark; raw text) as a small
    annotation below the plot, in a bottom margin grown by its height. The figure itself is
    left alone (the pages' figures are cached and shared): the copy is not validated again
    (3–7 ms instead of 20–35 ms for a page's chart)."""
    from html import escape

    copy = go.Figure(fig.to_dict(), _validate=False)
    lines = footer_lines(footer)
    bottom = _below_plot(fig)
    copy.update_layout(margin_b=bottom + 16 * len(lines) + 6)
    copy.add_annotation(
        name=FOOTER_NAME, text="<br>".join(escape(line, quote=False) for line in lines), showarrow=False,
        xref="paper", yref="paper", x=0, y=0, xanchor="left", yanchor="top", yshift=-bottom,
        xshift=-_left_of_plot(fig), align="left",
        font=dict(size=11, color=FOOTER_COLOUR),
    )
    return copy


# --------------------------------------------------------------------------- kaleido

_kaleido_lock = threading.Lock()
_kaleido_started = False


def figure_image(fig, fmt: str = "png", width: int = 1600, height: int = 900, scale: float = 1, *,
                 footer: str | None) -> bytes:
    """Render a figure on the server with kaleido (system Chromium; never downloads one), with
    ``footer`` (source · month · demo mark, :func:`marked`) unless it is None: only for a
    picture that sits above its own footer (a slide's chart in the deck's PPTX).

    Geo figures need the local topojson folder (plotly would fetch it from a CDN).
    """
    global _kaleido_started
    import kaleido  # slow to import: only when a figure is rendered here
    import plotly.io as pio

    with _kaleido_lock:
        pio.defaults.topojson = (ROOT / "static" / "topojson").as_uri() + "/"
        # Headers go only with remote fetches, and there are none; the server would ignore them with a warning.
        pio.defaults.headers = {}
        if not _kaleido_started:  # kaleido warns (never raises) if another caller started it
            kaleido.start_sync_server(mathjax=False, silence_warnings=True)
            _kaleido_started = True
        return (marked(fig, footer) if footer else fig).to_image(format=fmt, width=width, height=height, scale=scale)
