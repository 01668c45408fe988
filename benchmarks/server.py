"""The real server, measured from a websocket client (no browser drawing): time from a
rerun request to ``script_finished`` for pages 1–3, median of N, with
``runner.postScriptGC`` on (Streamlit's default) and off, plus the server's memory after a
soak of reruns (does turning the forced ``gc.collect(2)`` off let memory grow?).

    python -m benchmarks server [--runs 20] [--soak 300] [--db PATH]

Unlike AppTest (benchmarks/pages.py) this includes Streamlit's own per-run work as served
(script bytecode cache, session state, message serialisation) and nothing else.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# (label, page url path, query string, a text the page must send: proves the page ran)
RUNS = [
    ("overview", "overview", "indicator=online_application_rate&period=2025-09&province=25", "Tổng quan"),
    ("overview (other month)", "overview", "indicator=online_application_rate&period=2025-08&province=25",
     "Tháng 8/2025"),
    ("rankings", "rankings", "indicator=online_application_rate&period=2025-09&province=25&region=all",
     "Xếp hạng"),
    ("rankings (region)", "rankings", "indicator=online_application_rate&period=2025-09&province=25&region=dbscl",
     "Đồng bằng sông Cửu Long"),
    ("trends", "trends", "indicator=online_application_rate&provinces=25,01", "Xu hướng"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _start(port: int, gc_on: bool) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1",
         "--runner.postScriptGC", "true" if gc_on else "false"],
        cwd=ROOT, env=os.environ.copy(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2).read() == b"ok":
                return proc
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("streamlit did not start")


async def _session(port: int, runs: int, soak: int) -> tuple[dict[str, float], int]:
    import websockets
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    url = f"ws://127.0.0.1:{port}/_stcore/stream"
    async with websockets.connect(url, subprotocols=["streamlit"], origin=f"http://127.0.0.1:{port}",
                                  max_size=2**26) as ws:

        received: list[bytes] = []

        async def rerun(page: str, query: str) -> float:
            msg = BackMsg()
            msg.rerun_script.query_string = query
            msg.rerun_script.page_name = page
            start = time.perf_counter()
            await ws.send(msg.SerializeToString())
            received.clear()
            while True:
                raw = await ws.recv()
                received.append(raw)
                fwd = ForwardMsg()
                fwd.ParseFromString(raw)
                if fwd.WhichOneof("type") == "script_finished":
                    return (time.perf_counter() - start) * 1000

        results = {}
        for name, page, query, expected in RUNS:
            for _ in range(3):
                await rerun(page, query)  # warm caches
            if expected.encode() not in b"".join(received):
                raise RuntimeError(f"{name}: the server did not send {expected!r}: wrong page?")
            results[name] = statistics.median([await rerun(page, query) for _ in range(runs)])
        done = 0
        for i in range(soak):
            name, page, query, _ = RUNS[i % len(RUNS)]
            await rerun(page, query)
            done += 1
        return results, done


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks server", description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--soak", type=int, default=300, help="reruns before reading the memory")
    parser.add_argument("--db")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from benchmarks import load_average, warehouse_path

    warehouse = warehouse_path(args.db)
    if warehouse is None:
        return 2
    print(f"warehouse: {warehouse}  runs: {args.runs}  load average: {load_average()}")
    table = {}
    for gc_on in (True, False):
        port = _free_port()
        proc = _start(port, gc_on)
        try:
            rss0 = _rss_mb(proc.pid)
            t0 = time.perf_counter()
            results, soaked = asyncio.run(_session(port, args.runs, 0))
            rss_warm = _rss_mb(proc.pid)
            t1 = time.perf_counter()
            asyncio.run(_session(port, 1, args.soak))
            soak_s = time.perf_counter() - t1
            rss_soak = _rss_mb(proc.pid)
        finally:
            proc.terminate()
            proc.wait(10)
        table[gc_on] = (results, rss0, rss_warm, rss_soak, args.soak / soak_s if soak_s else 0)
        del t0, soaked
    print("\nserver-side rerun time (request → script_finished), median ms; target page ≤ 150, filter ≤ 100")
    print(f"{'run':28} {'postScriptGC on':>16} {'off':>8}")
    for name, *_ in RUNS:
        print(f"{name:28} {table[True][0][name]:16.1f} {table[False][0][name]:8.1f}")
    for gc_on in (True, False):
        _, rss0, warm, soak, rate = table[gc_on]
        print(f"postScriptGC {'on ' if gc_on else 'off'}: RSS {rss0:.0f} MB at start, {warm:.0f} MB warm, "
              f"{soak:.0f} MB after {args.soak} more reruns + sessions; soak {rate:.1f} reruns/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
