"""Monthly briefings benchmark: all 34 provinces' briefings for September 2025.

Target (issue 18): ≤ 60 s per format on 2 cores, end to end, as a script runs it:
``python -m dashboard.briefing --all --period 2025-09 --format F`` in a fresh process (imports,
queries, figures, Chromium started in each worker, 34 files written). Each format (docx, pdf)
and both together (the command's default, 68 files). Median of ``--runs``.

Baseline, measured in the same run: the same charts (3 per province) rendered one by one as
PNG by kaleido in a warm process with kaleido started, the way the deck's PPTX renders its
pictures (dashboard.downloads.figure_image), on ``--sample`` provinces and scaled to 34: what
the charts alone would cost the briefings without their shared plotly.js page. The ratio is
briefings (everything) / baseline (charts only).

    python -m benchmarks briefing [--runs 1] [--sample 6] [--db PATH]
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

TARGET_S = 60.0
PERIOD = "2025-09"
RUNS = {"docx": ["--format", "docx"], "pdf": ["--format", "pdf"], "both": []}


def _cli(extra: list[str], out: Path, env: dict) -> tuple[float, int, int]:
    """Seconds, files written and their bytes."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "dashboard.briefing", "--all", "--period", PERIOD, "--out", str(out),
                    *extra], cwd=ROOT, env=env, check=True, capture_output=True)
    seconds = time.perf_counter() - start
    files = list(out.iterdir())
    return seconds, len(files), sum(f.stat().st_size for f in files)


def _baseline(sample: int) -> float:
    """kaleido, one PNG per call, for ``sample`` provinces' three charts, scaled to 34."""
    from dashboard import downloads, queries
    from dashboard.briefing import content

    codes = queries.provinces()["code"].tolist()[:sample]
    briefs = [content.build(code, PERIOD, "vi") for code in codes]
    downloads.figure_image(briefs[0].charts[0].figure, width=200, height=100)  # kaleido started and warm
    start = time.perf_counter()
    for brief in briefs:
        for chart in brief.charts:
            downloads.figure_image(chart.figure, width=chart.width, height=chart.height, scale=2)
    return (time.perf_counter() - start) * 34 / len(codes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks briefing")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--sample", type=int, default=6, help="provinces whose charts the baseline renders")
    parser.add_argument("--db", help="warehouse (default: DX_DB or data/warehouse.duckdb)")
    args = parser.parse_args(argv)
    import streamlit.logger

    streamlit.logger.set_log_level("error")
    db = warehouse_path(args.db)
    if db is None:
        return 2
    env = {**os.environ, "DX_DB": str(db)}
    print(f"warehouse {db}; load average {load_average()}; 34 provinces, {PERIOD}; {args.runs} runs")
    baseline = _baseline(args.sample)
    print(f"baseline: 102 charts by kaleido, one PNG per call: {baseline:.1f} s "
          f"({args.sample} provinces measured, scaled to 34)")
    failed = False
    print(f"\n{'format':<6} {'median':>8} {'runs':<18} {'files':>5} {'size':>9} {'baseline':>9} {'ratio':>6}  target")
    with tempfile.TemporaryDirectory(prefix="dx-bench-briefing-") as tmp:
        for name, extra in RUNS.items():
            times = []
            for run in range(args.runs):
                out = Path(tmp) / f"{name}-{run}"
                seconds, n_files, size = _cli(extra, out, env)
                times.append(seconds)
            median = statistics.median(times)
            ok = median <= TARGET_S
            failed |= not ok
            print(f"{name:<6} {median:>7.1f}s {', '.join(f'{t:.1f}' for t in times):<18} {n_files:>5} "
                  f"{size / 1e6:>7.1f}MB {baseline:>8.1f}s {median / baseline:>5.2f}×  ≤ {TARGET_S:g} s "
                  f"{'ok' if ok else 'MISSED'}   (load average now {load_average()})")
    print("\nbaseline: the charts alone, rendered by kaleido one per call in a warm process; ratio = briefings "
          "(fresh process, 2 workers, everything included) / baseline")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
