"""Deck export benchmark: a 10-slide deck (a title slide and 9 views: the national deck's seven,
Phú Thọ's Decision 766 groups and its communes' map) to each format.

Target (issue 16): ≤ 20 s per format on 2 cores, end to end, as a script runs it:
``python -m dashboard.present export --deck NAME --format F`` in a fresh process (imports,
queries, figures, kaleido or Chromium started, the file written). Median of ``--runs``.

Baseline, measured in the same run, in one warm process: the same 9 figures written one file
each by plotly's own export (``write_html`` with plotly.js, ``write_image`` PNG at scale 2 and
PDF through an already started kaleido) — what a script would write without the deck module,
and without a deck (no titles, footers, QR, one file per chart). The ratio is deck / baseline.

Also the Present page's cost: building the served document (plotly.js by URL) in process.

    python -m benchmarks deck [--runs 3] [--db PATH]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import load_average, warehouse_path  # noqa: E402  (after the path is set)

TARGET_S = 20.0
NAME = "benchmark 10 slides"
FORMATS = ("html", "pdf", "pptx")


def _views() -> list[str]:
    from dashboard.present import decks, permalink

    national = decks.national("2025-09")
    extra = [permalink.view("profile.i766_groups", province="25", period="2025-09"),
             permalink.view("profile.map", province="25", period="2025-09", indicator="online_application_rate")]
    return [*national.views, *(v.permalink() for v in extra)]


def _cli(fmt: str, out: Path, env: dict) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "dashboard.present", "export", "--deck", NAME, "--format", fmt,
                    "--out", str(out)], cwd=ROOT, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def _baseline(folder: Path) -> dict[str, float]:
    """plotly's own per-chart export of the same figures (warm process, kaleido started)."""
    import plotly.graph_objects as go

    from dashboard import downloads
    from dashboard.present import compose, decks

    figures = [go.Figure(s.figure) for s in compose.build_slides(decks.saved_deck(NAME), "vi") if s.figure]
    downloads.figure_image(figures[0], width=200, height=100, footer=None)  # kaleido started and warm, as in the app
    times = {}
    start = time.perf_counter()
    for i, fig in enumerate(figures):
        fig.write_html(folder / f"b{i}.html", include_plotlyjs=True)
    times["html"] = time.perf_counter() - start
    for fmt, scale in (("pdf", 1), ("pptx", 2)):  # pptx: the PNG pictures it would hold
        start = time.perf_counter()
        for i, fig in enumerate(figures):
            data = downloads.figure_image(fig, "pdf" if fmt == "pdf" else "png", width=1792, height=800, scale=scale,
                                           footer=None)
            (folder / f"b{i}.{fmt}").write_bytes(data)
        times[fmt] = time.perf_counter() - start
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks deck")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--db", help="warehouse (default: DX_DB or data/warehouse.duckdb)")
    args = parser.parse_args(argv)
    import streamlit.logger

    streamlit.logger.set_log_level("error")
    db = warehouse_path(args.db)
    if db is None:
        return 2
    from dashboard.present import compose, decks

    with tempfile.TemporaryDirectory(prefix="dx-bench-deck-") as tmp:
        folder = Path(tmp)
        os.environ["DX_DECKS"] = str(folder / "decks.json")
        decks.save(NAME, _views())
        env = {**os.environ, "DX_DB": str(db)}
        print(f"warehouse {db}; load average {load_average()}; {len(_views()) + 1} slides; {args.runs} runs")

        start = time.perf_counter()
        compose.html(decks.saved_deck(NAME), "vi", plotly_src="../vendor/plotly.min.js")
        cold = time.perf_counter() - start
        start = time.perf_counter()
        served = compose.html(decks.saved_deck(NAME), "vi", plotly_src="../vendor/plotly.min.js")
        warm = time.perf_counter() - start
        print(f"served document (plotly.js by URL): {len(served) / 1e6:.2f} MB, built in {cold:.2f} s cold, "
              f"{warm:.2f} s with cached figures")

        baseline = _baseline(folder)
        failed = False
        print(f"\n{'format':<6} {'median':>8} {'runs':<22} {'size':>9} {'baseline':>9} {'ratio':>6}  target")
        for fmt in FORMATS:
            out = folder / f"deck.{fmt}"
            times = [_cli(fmt, out, env) for _ in range(args.runs)]
            median = statistics.median(times)
            ok = median <= TARGET_S
            failed |= not ok
            runs = ", ".join(f"{t:.1f}" for t in times)
            print(f"{fmt:<6} {median:>7.1f}s {runs:<22} {out.stat().st_size / 1e6:>7.2f}MB {baseline[fmt]:>8.1f}s "
                  f"{median / baseline[fmt]:>5.1f}×  ≤ {TARGET_S:g} s {'ok' if ok else 'MISSED'}")
    print("\nbaseline: the same charts, one file each, by plotly's own write_html / write_image in a warm "
          "process; ratio = deck (fresh process, everything included) / baseline")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
