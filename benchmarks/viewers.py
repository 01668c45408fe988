"""A bridge meeting's viewers, as real sessions over Streamlit's websocket protocol.

    python -m benchmarks viewers [--sessions 212] [--ramp 60] [--workers N] [--knee] [--db PATH]

Each session joins at a random moment of the ramp (its browser's first GET, then the
websocket), opens the Overview, then Rankings, then changes the month, then the Present
page's national deck alone (``play=1``), with 0.5–2 s pauses between steps. A step's time
runs from the request to the server's ``script_finished``; for the deck it also covers
fetching the deck's document and plotly.js over HTTP, as the page's frame does. Moving
slides happens in the viewer's browser and costs the server nothing. Printed per step: p50 / p95 / max, errors
(an exception on the page, or the page not drawing what it must), and lost sessions (closed
by the server, or no answer within two minutes); then the server's CPU and peak memory.

The stack is the meeting's (``make serve``): N workers behind HAProxy, one worker too. The
baseline is measured in the same run: for one worker, the same load on one bare process with
Streamlit's development defaults (file watcher on, no proxy); for N workers, one worker. ``--knee`` then raises
the session count by 212 until p95 passes 3 s and prints the largest count that stayed
under it (the knee). The load client runs in separate processes on this machine, so it takes
a share of the cores from the server (about half a core for 400 sessions).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import random
import re
import socket
import statistics
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KNEE_P95_S = 3.0
STEP_TIMEOUT_S = 120.0
DECK_URL = "/app/static/decks/"

# (step, page url path, query string, a text the page must send: proves the page ran)
STEPS = [
    ("overview", "overview", "indicator=online_application_rate&period=2025-09", "Tổng quan"),
    ("rankings", "rankings", "indicator=online_application_rate&period=2025-09&region=all", "Xếp hạng"),
    ("month", "rankings", "indicator=online_application_rate&period=2025-08&region=all", "Tháng 8/2025"),
    ("deck", "present", "deck=national&period=2025-09&play=1", DECK_URL),
]
# Streamlit's development defaults: what `streamlit run` does without the project's config.
DEVELOPMENT_DEFAULTS = ("--server.fileWatcherType", "auto", "--server.runOnSave", "false")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---- the load client (runs in its own processes) ----

async def _viewer(port: int, start_at: float, join_after: float, rng: random.Random) -> list[tuple]:
    """One viewer: [(step, seconds or None, problem or "")]; a lost session ends the list."""
    import websockets
    from streamlit.proto.Alert_pb2 import Alert
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    ERROR = Alert.Format.ERROR
    await asyncio.sleep(max(0.0, start_at + join_after - time.time()))
    results: list[tuple] = []
    t0 = time.perf_counter()
    try:
        # The browser's first request: through the proxy it sets the sticky-worker cookie.
        reply = await asyncio.to_thread(urllib.request.urlopen, f"http://127.0.0.1:{port}/", timeout=STEP_TIMEOUT_S)
        cookie = "; ".join(c.split(";")[0] for c in reply.headers.get_all("Set-Cookie") or [])
        reply.read()
        ws = await websockets.connect(
            f"ws://127.0.0.1:{port}/_stcore/stream", subprotocols=["streamlit"],
            origin=f"http://127.0.0.1:{port}", additional_headers={"Cookie": cookie} if cookie else None,
            max_size=2**27, ping_interval=None, open_timeout=STEP_TIMEOUT_S)
    except (TimeoutError, OSError, websockets.WebSocketException) as exc:
        return [(STEPS[0][0], None, f"lost: connect failed ({type(exc).__name__})")]
    try:
        for i, (step, page, query, expected) in enumerate(STEPS):
            if i:
                await asyncio.sleep(rng.uniform(0.5, 2.0))
                t0 = time.perf_counter()
            msg = BackMsg()
            msg.rerun_script.query_string = query
            msg.rerun_script.page_name = page
            await ws.send(msg.SerializeToString())
            body, problem = [], ""
            while True:
                raw = await asyncio.wait_for(ws.recv(), STEP_TIMEOUT_S)
                body.append(raw)
                fwd = ForwardMsg()
                fwd.ParseFromString(raw)
                kind = fwd.WhichOneof("type")
                element = fwd.delta.new_element if kind == "delta" and fwd.delta.WhichOneof("type") == "new_element" \
                    else None
                if element is not None and element.WhichOneof("type") == "exception":
                    problem = "exception on the page"
                elif element is not None and element.WhichOneof("type") == "alert" and element.alert.format == ERROR:
                    problem = f"an error on the page: {element.alert.body[:60]}"
                if kind == "script_finished":
                    break
            if not problem and expected.encode() not in b"".join(body):
                problem = f"the page did not draw {expected!r}"
            if not problem and expected == DECK_URL:
                problem = await asyncio.to_thread(_fetch_deck, port, cookie, b"".join(body))
            results.append((step, time.perf_counter() - t0, problem))
    except TimeoutError:
        results.append((STEPS[len(results)][0], None, "lost: no answer in two minutes"))
    except websockets.WebSocketException as exc:
        results.append((STEPS[len(results)][0], None, f"lost: closed ({exc})"))
    finally:
        await ws.close()
    return results


def _get(port: int, cookie: str, path: str) -> bytes:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Cookie": cookie} if cookie else {})
    with urllib.request.urlopen(request, timeout=STEP_TIMEOUT_S) as reply:  # noqa: S310 (http://127.0.0.1 only)
        return reply.read()


def _fetch_deck(port: int, cookie: str, page: bytes) -> str:
    """What the Present page's frame loads: the deck's document and the plotly.js it names."""
    deck = re.search(rb"/app/static/decks/[0-9a-f]+\.html", page)
    if not deck:
        return "the page named no deck document"
    document = _get(port, cookie, deck.group().decode())
    script = re.search(rb'<script src="\.\./vendor/([^"]+)"', document)
    if not script or len(_get(port, cookie, f"/app/static/vendor/{script.group(1).decode()}")) < 1_000_000:
        return "the deck's plotly.js was not served"
    return ""


def _client(args: tuple) -> list[list[tuple]]:
    port, start_at, joins, seed = args

    async def run():
        rng = random.Random(seed)
        return await asyncio.gather(*(_viewer(port, start_at, j, random.Random(rng.random())) for j in joins))

    return asyncio.run(run())


# ---- the server side ----

def _proc_stat(pid: int) -> tuple[float, float]:
    """(CPU seconds, RSS MB) of one process."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0, 0.0
    tick = 100.0
    cpu = (int(fields[11]) + int(fields[12])) / tick
    rss = next((int(line.split()[1]) / 1024 for line in status.splitlines() if line.startswith("VmRSS:")), 0.0)
    return cpu, rss


@dataclass
class Monitor:
    """Samples the server processes' memory twice a second; CPU from start to stop."""

    pids: list[int]
    peak_mb: float = 0.0
    cpu_s: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event)

    def __enter__(self):
        self._cpu0 = sum(_proc_stat(p)[0] for p in self.pids)
        self._wall0 = time.monotonic()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        while not self._stop.wait(0.5):
            self.peak_mb = max(self.peak_mb, sum(_proc_stat(p)[1] for p in self.pids))

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.cpu_s = sum(_proc_stat(p)[0] for p in self.pids) - self._cpu0
        self.wall_s = time.monotonic() - self._wall0


@dataclass
class Result:
    label: str
    sessions: int
    steps: dict[str, list[float]]
    problems: list[str]
    lost: int
    cpu_cores: float
    peak_mb: float

    def p95(self, step: str | None = None) -> float:
        times = self.steps[step] if step else [t for ts in self.steps.values() for t in ts]
        return _quantile(times, 0.95)

    @property
    def worst_p95(self) -> float:
        return max(self.p95(s) for s in self.steps)


def _quantile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1]


def measure(label: str, sessions: int, ramp: float, workers: int, clients: int, seed: int,
            extra_args: tuple[str, ...] = (), port: int | None = None, proxy: bool = True) -> Result:
    """The load against a stack started here (``proxy``: behind HAProxy, as ``make serve``;
    else one bare process, as ``make run``), or against the server already on ``port``."""
    from deploy import serve

    stack = None if port else serve.start(workers, _free_port(), _free_port(), "127.0.0.1", extra_args,
                                          proxy=proxy)
    try:
        rng = random.Random(seed)
        joins = sorted(rng.uniform(0, ramp) for _ in range(sessions))
        shards = [joins[i::clients] for i in range(clients)]
        start_at = time.time() + 2
        pids = stack.pids + [c for p in stack.pids for c in _children(p)] if stack else []
        with Monitor(pids) as monitor, multiprocessing.get_context("fork").Pool(clients) as pool:
            per_client = pool.map(_client, [(port or stack.port, start_at, shard, seed + i)
                                            for i, shard in enumerate(shards)])
    finally:
        if stack:
            stack.stop()
    steps: dict[str, list[float]] = {s[0]: [] for s in STEPS}
    problems, lost = [], 0
    for viewer in (v for client in per_client for v in client):
        for step, seconds, problem in viewer:
            if seconds is not None:
                steps[step].append(seconds)
            if problem:
                problems.append(f"{step}: {problem}")
                lost += problem.startswith("lost")
    return Result(label, sessions, steps, problems, lost, monitor.cpu_s / monitor.wall_s, monitor.peak_mb)


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def report(result: Result, baseline: Result | None) -> None:
    print(f"\n{result.label}: {result.sessions} sessions")
    print(f"  {'step':10} {'n':>5} {'p50 s':>7} {'p95 s':>7} {'max s':>7}" + ("  p95 vs baseline" if baseline else ""))
    for step, times in result.steps.items():
        line = (f"  {step:10} {len(times):5d} {_quantile(times, .5):7.2f} {_quantile(times, .95):7.2f} "
                f"{max(times, default=float('nan')):7.2f}")
        if baseline:
            line += f"  {baseline.p95(step) / result.p95(step):6.1f}× faster" if result.p95(step) else ""
        print(line)
    errors = len(result.problems) - result.lost
    server = f", server CPU {result.cpu_cores:.2f} cores, peak memory {result.peak_mb:.0f} MB" if result.peak_mb else ""
    print(f"  errors {errors}, lost sessions {result.lost}{server}")
    for problem in sorted(set(result.problems))[:5]:
        print(f"    e.g. {problem}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks viewers", description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=212)
    parser.add_argument("--ramp", type=float, default=60.0, help="seconds over which sessions join")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--clients", type=int, help="load-client processes (default: one per 400 sessions)")
    parser.add_argument("--knee", action="store_true", help="also find the largest count with p95 ≤ 3 s")
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--seed", type=int, default=57)
    parser.add_argument("--port", type=int, help="measure the server already on this port (no baseline, "
                        "no CPU or memory figures): e.g. while profiling it")
    parser.add_argument("--db")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from benchmarks import load_average, warehouse_path

    if warehouse_path(args.db) is None:
        return 2

    def clients(n: int) -> int:
        return args.clients or max(1, -(-n // 400))

    print(f"viewers: {args.sessions} sessions joining within {args.ramp:.0f} s, {args.workers} worker(s); "
          f"steps {', '.join(s[0] for s in STEPS)}; load average {load_average()}", flush=True)
    if args.port:
        report(measure(f"server on port {args.port}", args.sessions, args.ramp, args.workers,
                       clients(args.sessions), args.seed, port=args.port), None)
        return 0
    baseline = None
    if not args.no_baseline:
        if args.workers == 1:
            baseline = measure("baseline: one bare worker (make run, no proxy), Streamlit's development "
                               "defaults (file watcher on)", args.sessions, args.ramp, 1, clients(args.sessions),
                               args.seed, DEVELOPMENT_DEFAULTS, proxy=False)
        else:
            baseline = measure("baseline: one worker as served", args.sessions, args.ramp, 1,
                               clients(args.sessions), args.seed)
        report(baseline, None)
    result = measure(f"{args.workers} worker(s) as served (make serve: behind HAProxy)", args.sessions, args.ramp,
                     args.workers, clients(args.sessions), args.seed)
    report(result, baseline)
    if args.knee:
        knee, n = None, args.sessions
        while True:
            probe = result if n == args.sessions else measure(
                f"knee probe, {args.workers} worker(s)", n, args.ramp, args.workers, clients(n), args.seed)
            if probe is not result:
                report(probe, None)
            if probe.worst_p95 > KNEE_P95_S or probe.lost:
                break
            knee, n = n, n + 212
        print(f"\nknee: the largest session count with p95 ≤ {KNEE_P95_S:.0f} s on every step: "
              f"{knee if knee else f'below {args.sessions}'} ({args.workers} worker(s), {args.ramp:.0f} s ramp)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
