"""A chart that leaves the app (the camera button's PNG, a server-side PNG or SVG) carries
what the page says around it: its title, and a footer with source, month and demo mark.
Every chart on a page has a one-sentence summary from its data for screen readers.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from charts import summary
from dashboard import downloads, figures, queries, ui

ROOT = Path(__file__).resolve().parent.parent
RANKINGS = "pages/2_rankings.py"
DEMO_SOURCE = "Nguồn: Số liệu minh họa — KHÔNG PHẢI SỐ LIỆU CHÍNH THỨC"


def run(script: str, **params: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    at.switch_page(script)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def footer_of(spec: dict) -> str:
    (footer,) = [a["text"] for a in spec["layout"].get("annotations", []) if a.get("name") == downloads.FOOTER_NAME]
    return footer


def test_the_ranking_sentence_names_the_province_its_rank_and_both_ends(warehouse):
    values = queries.province_values("online_application_rate", "2025-09")
    ind = queries.indicator("online_application_rate")
    assert summary.ranking(values, indicator=ind, lang="vi", focus="25") == (
        "Phú Thọ: 88,01 %, hạng 9/34; cao nhất Huế 94,27 %; thấp nhất Hà Nội 50,83 %.")
    assert summary.ranking(values, indicator=ind, lang="en", focus="25") == (
        "Phú Thọ: 88.01%, rank 9/34; highest Huế 94.27%; lowest Hà Nội 50.83%.")


def test_a_footer_wraps_at_a_middle_dot_or_after_a_dash_to_fit_a_phone():
    text = "Nguồn: Số liệu minh họa — KHÔNG PHẢI SỐ LIỆU CHÍNH THỨC · Kỳ: Tháng 9/2025 · số liệu minh họa"
    assert downloads.footer_lines(text) == [
        "Nguồn: Số liệu minh họa —", "KHÔNG PHẢI SỐ LIỆU CHÍNH THỨC · Kỳ: Tháng 9/2025", "số liệu minh họa"]
    assert downloads.footer_lines("Nguồn: Bộ Công an · Kỳ: Tháng 9/2025") == ["Nguồn: Bộ Công an · Kỳ: Tháng 9/2025"]


def test_the_rankings_chart_on_the_page_carries_its_footer_and_its_summary(warehouse):
    """The figure the browser draws (and the camera button exports) has the footer; the
    cached figure stays unmarked; the summary follows the chart, visually hidden."""
    at = run(RANKINGS, indicator="online_application_rate", period="2025-09", province="25")
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert "Tỷ lệ hồ sơ trực tuyến" in spec["layout"]["title"]["text"]
    assert footer_of(spec) == f"{DEMO_SOURCE.replace(' — ', ' —<br>')} · Kỳ: Tháng 9/2025<br>số liệu minh họa"
    assert spec["layout"]["meta"]["summary"].startswith("Phú Thọ: 88,01 %, hạng 9/34; cao nhất Huế 94,27 %")
    bodies = [h.proto.body for h in at.get("html")]
    assert '<p class="dx-chart-summary">Phú Thọ: 88,01 %, hạng 9/34; cao nhất Huế 94,27 %; thấp nhất' \
           ' Hà Nội 50,83 %.</p>' in bodies
    cached = figures.ranking_bars("online_application_rate", "2025-09", "vi", "all", "25")
    assert not [a for a in cached.layout.annotations if a.name == downloads.FOOTER_NAME]


@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="needs /usr/bin/chromium (make browser)")
def test_a_demo_charts_svg_from_the_server_carries_title_source_month_and_demo_mark(warehouse):
    values = queries.province_values("online_application_rate", "2025-09")
    fig = figures.ranking_bars("online_application_rate", "2025-09", "vi", "all", "25")
    footer = ui.caption_text(values["source_id"], "vi", period="2025-09", demo=values["is_demo"], mark=str)
    svg = downloads.figure_image(fig, "svg", width=1200, height=900, footer=footer).decode("utf-8")
    assert "Tỷ lệ hồ sơ trực tuyến" in svg  # the title
    assert "Nguồn: Số liệu minh họa —" in svg and "KHÔNG PHẢI SỐ LIỆU CHÍNH THỨC" in svg  # source, on two lines
    assert "Tháng 9/2025" in svg and ">số liệu minh họa<" in svg  # month and demo mark
    png = downloads.figure_image(fig, "png", width=1200, height=900, footer=footer)
    assert png.startswith(b"\x89PNG")
    (ROOT / "tests" / "artifacts").mkdir(exist_ok=True)
    (ROOT / "tests" / "artifacts" / "export_marked.png").write_bytes(png)  # for a person to look at


def test_a_cached_figure_is_marked_once_for_every_session(warehouse):
    """The marked copy is made once per figure and footer: each rerun and session draws it
    again without copying the figure (the cached figure itself stays unmarked)."""
    fig = figures.ranking_bars("online_application_rate", "2025-09", "vi", "all", None)
    footer = "Nguồn: Số liệu minh họa · Kỳ: Tháng 9/2025"
    shown = ui._marked_once(fig, footer, None)
    assert ui._marked_once(fig, footer, None) is shown and shown is not fig
    assert ui._marked_once(fig, footer + " ", None) is not shown
    assert downloads.FOOTER_NAME in [a.name for a in shown.layout.annotations]
    assert downloads.FOOTER_NAME not in [a.name for a in fig.layout.annotations]


def test_the_footer_sits_below_tick_labels_of_several_lines_and_starts_at_the_figures_left(warehouse):
    """The 766 waterfall's group names run to three lines ('Dịch vụ<br>công trực<br>tuyến') in
    a 20 px margin plotly grows: the footer goes below them, not over them; under a chart of
    named bars it starts left of the plot, where the names are, not cut off at the right."""
    def footer(fig):
        (note,) = [a for a in downloads.marked(fig, "Nguồn: x · Kỳ: Tháng 9/2025").layout.annotations
                   if a.name == downloads.FOOTER_NAME]
        return note

    waterfall = figures.index766_waterfall("25", "2025-09", "vi")
    assert waterfall.layout.margin.b == 20 and footer(waterfall).yshift <= -(17 * 3 + 12)
    groups = figures.index766_groups("25", "2025-09", "vi")  # horizontal bars with an axis title
    assert footer(groups).yshift <= -(17 + 12 + 32) and footer(groups).xshift < -100
