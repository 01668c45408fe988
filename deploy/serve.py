"""Serve the dashboard from N app processes behind HAProxy: ``make serve WORKERS=N``.

One Streamlit process holds a few hundred viewers (docs/operations.md, "Sizing a meeting");
a bridge meeting may need more. A Streamlit session, its websocket and its uploads live in
one process, so the proxy keeps each browser on its worker with a cookie it sets on the
first response (``DXW``), never by client address: a meeting room's delegates often share
one address. Every worker reads the same warehouse file, so a load published during the
meeting reaches all of them (dashboard.db reopens a replaced file).

    python -m deploy.serve --workers 2 [--port 8501] [--first-worker-port 8511]

Workers listen on 127.0.0.1 only; the proxy is the one public port. Ctrl-C (or SIGTERM)
stops the proxy and every worker.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = Path(__file__).with_name("haproxy.cfg.template")
HAPROXY = "/usr/sbin/haproxy"
# The proxy listens on every interface, as `make run` does: a meeting's viewers are elsewhere.
ALL_INTERFACES = "0.0.0.0"  # noqa: S104


def haproxy_config(port: int, worker_ports: list[int], address: str = ALL_INTERFACES) -> str:
    """The proxy configuration for workers on ``worker_ports`` (one ``server`` line each)."""
    servers = "\n".join(
        f"    server w{i} 127.0.0.1:{p} cookie w{i} check inter 2s fall 3 rise 2"
        for i, p in enumerate(worker_ports, start=1))
    return TEMPLATE.read_text(encoding="utf-8").format(address=address, port=port, servers=servers)


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as reply:
            return reply.read() == b"ok"
    except OSError:
        return False


def wait_healthy(port: int, proc: subprocess.Popen, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the process behind port {port} exited with {proc.returncode}")
        if _healthy(port):
            return
        time.sleep(0.3)
    raise RuntimeError(f"nothing healthy on port {port} after {seconds:.0f} s")


def start_worker(port: int, extra_args: tuple[str, ...] = (), address: str = "127.0.0.1",
                 quiet: bool = True) -> subprocess.Popen:
    """One app process exactly as ``make run`` serves it (the project's .streamlit/config.toml);
    ``quiet`` drops its log (benchmarks, tests), else it goes to this terminal."""
    log = subprocess.DEVNULL if quiet else None
    return subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.headless", "true",
         "--server.port", str(port), "--server.address", address, *extra_args],
        cwd=ROOT, env=os.environ.copy(), stdout=log, stderr=log, start_new_session=True)


@dataclass
class Stack:
    """Running workers and, when there is more than one, the proxy in front of them."""

    port: int
    workers: list[subprocess.Popen]
    proxy: subprocess.Popen | None = None
    folder: Path | None = None
    worker_ports: list[int] = field(default_factory=list)

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.workers] + ([self.proxy.pid] if self.proxy else [])

    def stop(self) -> None:
        for proc in ([self.proxy] if self.proxy else []) + self.workers:
            if proc.poll() is None:
                proc.terminate()
        for proc in ([self.proxy] if self.proxy else []) + self.workers:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
        if self.folder:
            shutil.rmtree(self.folder, ignore_errors=True)


def start(workers: int, port: int, first_worker_port: int, address: str = ALL_INTERFACES,
          extra_args: tuple[str, ...] = (), quiet: bool = True, proxy: bool = True) -> Stack:
    """Start ``workers`` app processes with HAProxy on ``port`` in front of them (it compresses
    and caches the static files and queues connections, one worker too); ``proxy=False``: one
    worker listening on ``port`` itself, as ``make run`` serves."""
    if workers < 1:
        raise ValueError("at least one worker")
    if not proxy:
        if workers != 1:
            raise ValueError("several workers need the proxy")
        proc = start_worker(port, extra_args, address, quiet)
        stack = Stack(port, [proc], worker_ports=[port])
        try:
            wait_healthy(port, proc)
        except RuntimeError:
            stack.stop()
            raise
        return stack
    if not Path(HAPROXY).exists():
        raise RuntimeError(f"{HAPROXY} is missing: `make serve` installs Debian's haproxy package")
    ports = [first_worker_port + i for i in range(workers)]
    stack = Stack(port, [start_worker(p, extra_args, quiet=quiet) for p in ports], worker_ports=ports)
    try:
        for p, proc in zip(ports, stack.workers):
            wait_healthy(p, proc)
        stack.folder = Path(tempfile.mkdtemp(prefix="dx-haproxy-"))
        config = stack.folder / "haproxy.cfg"
        config.write_text(haproxy_config(port, ports, address), encoding="utf-8")
        subprocess.run([HAPROXY, "-c", "-q", "-f", str(config)], check=True)
        log = subprocess.DEVNULL if quiet else None
        stack.proxy = subprocess.Popen([HAPROXY, "-W", "-db", "-f", str(config)], stdout=log, stderr=log,
                                       start_new_session=True)
        wait_healthy(port, stack.proxy, 30)
    except (RuntimeError, subprocess.CalledProcessError):
        stack.stop()
        raise
    return stack


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.serve", description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--port", type=int, default=8501, help="the public port (the proxy's)")
    parser.add_argument("--address", default=ALL_INTERFACES, help="the address the proxy listens on")
    parser.add_argument("--first-worker-port", type=int, default=8511)
    args = parser.parse_args(argv)
    try:
        stack = start(args.workers, args.port, args.first_worker_port, args.address, quiet=False)
    except (RuntimeError, ValueError) as exc:
        print(f"serve: {exc}", file=sys.stderr)
        return 1
    print(f"serving on http://{args.address}:{args.port} with {args.workers} worker(s) "
          f"(workers on 127.0.0.1:{', '.join(map(str, stack.worker_ports))})", flush=True)

    def _stop(*_):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    try:
        while all(p.poll() is None for p in stack.workers + ([stack.proxy] if stack.proxy else [])):
            time.sleep(1)
        print("serve: a worker or the proxy exited; stopping the rest", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())
