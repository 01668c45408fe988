"""Server-side time of pages 1–3 (Overview, Rankings, Trends).

For each page, in one process, with Streamlit's AppTest (the real script runner, no
browser; the browser's drawing time is not included):

- ``page run``: a rerun of the page with warm caches, median of N runs (target ≤ 150 ms);
- ``filter change``: a rerun after changing a filter (alternating between two values so
  the result cache is warm for both; target ≤ 100 ms);
- the same two with caching disabled (``DX_NO_CACHE=1``: no connection cache, no result
  cache), measured in the same run, and the ratio uncached / cached;
- with ``runner.postScriptGC`` on (Streamlit's default: ``gc.collect(2)`` after every run)
  and off, to decide the config setting;
- the building blocks timed directly (queries, figure cache, chart builds, what
  ``st.plotly_chart`` does with a figure) and a cProfile of warm runs in the script thread.

``python -m benchmarks server`` measures the same pages on the real server.

    python -m benchmarks pages [--runs 20] [--db PATH] [--no-profile]

Needs a warehouse (``DX_DB`` or data/warehouse.duckdb; ``make warehouse``).
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import logging
import os
import pstats
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import load_average, warehouse_path  # noqa: E402  (after the path is set)

TARGET_PAGE_MS = 150
TARGET_FILTER_MS = 100

# page script, URL parameters, (widget key, value A, value B) for the filter change
PAGES = [
    ("overview", "pages/1_overview.py",
     {"indicator": "online_application_rate", "period": "2025-09", "province": "25"},
     ("w.province", "25", "01")),
    ("rankings", "pages/2_rankings.py",
     {"indicator": "online_application_rate", "period": "2025-09", "province": "25"},
     ("w.region", "all", "tdmnpb")),
    ("trends", "pages/3_trends.py",
     {"indicator": "online_application_rate", "provinces": "25,01"},
     ("w.scope", "national", "25")),
    # pages 4–6 (filter change: the map's indicator; the province filter; the language)
    ("province", "pages/4_province.py",
     {"province": "25", "period": "2025-09"},
     ("w.indicator", "online_application_rate", "index766_total")),
    ("communes", "pages/5_communes.py",
     {"period": "2025-09", "q": "quang dien"},
     ("w.in_province", "", "46")),
    ("methods", "pages/6_data_methods.py", {}, ("w.lang", "vi", "en")),
]


def _quiet() -> None:
    for name in ("streamlit", "streamlit.runtime.caching.cache_data_api",
                 "streamlit.runtime.scriptrunner_utils.script_run_context"):
        logging.getLogger(name).setLevel(logging.ERROR)


def _open(script: str, params: dict):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    at.switch_page(script)
    at.run()
    if at.exception:
        raise RuntimeError(f"{script}: {[e.value for e in at.exception]}")
    return at


def _widget(at, key: str):
    for kind in ("selectbox", "radio", "multiselect"):
        try:
            return getattr(at, kind)(key=key)
        except KeyError:
            continue
    raise KeyError(key)


def _time_runs(at, runs: int, change: tuple[str, str, str] | None = None) -> list[float]:
    times = []
    for i in range(runs):
        if change:
            key, a, b = change
            _widget(at, key).set_value(b if i % 2 == 0 else a)
        start = time.perf_counter()
        at.run()
        times.append((time.perf_counter() - start) * 1000)
        if at.exception:
            raise RuntimeError([e.value for e in at.exception])
    return times


def _measure(script: str, params: dict, change, runs: int) -> dict[str, float]:
    at = _open(script, params)
    _time_runs(at, 3)  # warm-up: caches, imports, plotly validators
    page = statistics.median(_time_runs(at, runs))
    _time_runs(at, 2, change)  # warm both filter values
    filt = statistics.median(_time_runs(at, runs, change))
    return {"page": page, "filter": filt}


def _profile(script: str, params: dict, top: int = 15) -> str:
    """cProfile of 5 warm runs, inside the script thread (where the page runs)."""
    import threading

    at = _open(script, params)
    _time_runs(at, 3)
    profiler = cProfile.Profile()
    main_thread = threading.get_ident()

    def start_in_script_thread(frame, event, arg):  # first event of each new thread
        if threading.get_ident() != main_thread:
            sys.setprofile(None)
            with contextlib.suppress(ValueError):  # another profiler active
                profiler.enable()

    threading.setprofile(start_in_script_thread)
    try:
        _time_runs(at, 5)
    finally:
        threading.setprofile(None)
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
    return out.getvalue()


def _steps(lang: str = "vi") -> list[tuple[str, float]]:
    """Direct timing of the building blocks of a warm Overview/Rankings run (ms, median)."""
    import plotly.io as pio

    from charts import maps, rankings, trends
    from dashboard import queries, ui

    ind = queries.indicator("online_application_rate")
    values = queries.province_values("online_application_rate", "2025-09")
    national = queries.national_value("online_application_rate", "2025-09")
    series = queries.province_series("online_application_rate", ("25", "01"))
    nat_series = queries.national_series("online_application_rate")
    map_fig = maps.choropleth(values, indicator=ind, lang=lang, highlight="25")
    bars = rankings.ranking_bars(values, indicator=ind, lang=lang, national=national,
                                 target=ui.national_target(ind), highlight="25")
    import plotly.tools

    from dashboard import figures

    geojson = ui.province_geojson()
    geojson = geojson if isinstance(geojson, str) else None
    served_map = figures.overview_map("online_application_rate", "2025-09", lang, "25", geojson)

    def marshal(fig):  # what st.plotly_chart does with a figure
        return pio.to_json(plotly.tools.return_figure_from_figure_or_data(fig, validate_figure=True), validate=False)

    steps = {
        "figure overview map (dashboard.figures, cached)": lambda: figures.overview_map(
            "online_application_rate", "2025-09", lang, "25", geojson),
        "st.plotly_chart marshalling of that map (geojson by URL)": lambda: marshal(served_map),
        "query province_values (cached)": lambda: queries.province_values("online_application_rate", "2025-09"),
        "query national_series (cached)": lambda: queries.national_series("online_application_rate"),
        "chart choropleth (build, uncached)": lambda: maps.choropleth(values, indicator=ind, lang=lang, highlight="25"),
        "chart choropleth with the geojson inline (to JSON, ~100 KB)": lambda: pio.to_json(map_fig, validate=False),
        "chart ranking bars (build, uncached)": lambda: rankings.ranking_bars(
            values, indicator=ind, lang=lang, national=national, target=ui.national_target(ind), highlight="25"),
        "chart ranking bars (to JSON)": lambda: pio.to_json(bars, validate=False),
        "chart trend lines (build, uncached)": lambda: trends.trend_chart(
            series, nat_series, indicator=ind, lang=lang, target=ui.national_target(ind),
            events=queries.events(ind["topic"])),
    }
    out = []
    for name, fn in steps.items():
        fn()
        times = []
        for _ in range(15):
            start = time.perf_counter()
            fn()
            times.append((time.perf_counter() - start) * 1000)
        out.append((name, statistics.median(times)))
    os.environ["DX_NO_CACHE"] = "1"
    for name, fn in {
        "query province_values (uncached)": lambda: queries.province_values("online_application_rate", "2025-09"),
        "query national_series (uncached)": lambda: queries.national_series("online_application_rate"),
    }.items():
        times = []
        for _ in range(10):
            start = time.perf_counter()
            fn()
            times.append((time.perf_counter() - start) * 1000)
        out.append((name, statistics.median(times)))
    os.environ.pop("DX_NO_CACHE", None)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks pages", description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--db", help="warehouse file (default: DX_DB or data/warehouse.duckdb)")
    parser.add_argument("--no-profile", action="store_true")
    args = parser.parse_args(argv)
    _quiet()
    from streamlit import config

    warehouse = warehouse_path(args.db)
    if warehouse is None:
        return 2
    print(f"warehouse: {warehouse}  runs per figure: {args.runs}  cpu: {os.cpu_count()}  "
          f"load average: {load_average()}")
    results: dict[tuple[str, str], dict[str, float]] = {}
    for gc_on in (True, False):
        config.set_option("runner.postScriptGC", gc_on)
        for cache_off in (False, True):
            if cache_off:
                os.environ["DX_NO_CACHE"] = "1"
            else:
                os.environ.pop("DX_NO_CACHE", None)
            for name, script, params, change in PAGES:
                results[(name, f"gc={'on' if gc_on else 'off'} cache={'off' if cache_off else 'on'}")] = _measure(
                    script, params, change, max(5, args.runs // 4) if cache_off else args.runs
                )
    os.environ.pop("DX_NO_CACHE", None)
    config.set_option("runner.postScriptGC", True)

    print(f"\nmedian server-side time per run, ms (targets: page ≤ {TARGET_PAGE_MS}, "
          f"filter change ≤ {TARGET_FILTER_MS})")
    header = f"{'page':10} {'setting':22} {'page run':>9} {'filter':>9}   uncached/cached"
    print(header)
    print("-" * len(header))
    failures = 0
    for gc in ("on", "off"):
        for name, *_ in PAGES:
            warm = results[(name, f"gc={gc} cache=on")]
            cold = results[(name, f"gc={gc} cache=off")]
            ok = warm["page"] <= TARGET_PAGE_MS and warm["filter"] <= TARGET_FILTER_MS
            failures += 0 if ok or gc == "on" else 1  # .streamlit/config.toml sets postScriptGC = false
            print(f"{name:10} {'postScriptGC ' + gc + ', cached':22} {warm['page']:9.1f} {warm['filter']:9.1f}"
                  f"   ×{cold['page'] / warm['page']:.1f} page, ×{cold['filter'] / warm['filter']:.1f} filter"
                  f"{'' if ok else '   ABOVE TARGET'}")
            print(f"{'':10} {'postScriptGC ' + gc + ', no cache':22} {cold['page']:9.1f} {cold['filter']:9.1f}")
    gain = statistics.mean(
        results[(n, "gc=on cache=on")]["page"] / results[(n, "gc=off cache=on")]["page"] for n, *_ in PAGES
    )
    print(f"\npostScriptGC=false makes a cached page run ×{gain:.2f} faster on average")

    print("\nbuilding blocks (direct calls, median ms):")
    steps = _steps()
    for step, ms in sorted(steps, key=lambda s: -s[1]):
        print(f"  {ms:8.2f}  {step}")
    warm_steps = [s for s in steps if "uncached" not in s[0] and "inline" not in s[0]]
    print(f"slowest step of a warm run: {max(warm_steps, key=lambda s: s[1])[0]}")
    print(f"slowest step without caches: {max(steps, key=lambda s: s[1])[0]}")
    if not args.no_profile:
        print("\ncProfile of 5 warm Overview runs (script thread, by own time). Note: AppTest compiles "
              "the page (ast 'magic') on every run; the server caches that bytecode:")
        print(_profile(PAGES[0][1], PAGES[0][2]))
    return 0 if failures == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
