"""Admission: at most ``DX_CONCURRENT_RUNS`` page runs (default 2) execute at once in one
server process; the others wait their turn, first come first served.

Why: page runs are Python threads sharing one interpreter lock with the event loop that
answers websockets. With hundreds of viewers joining, every run slowed every other (all
finished late together) and the event loop waited behind them: keepalive pings went
unanswered and sessions were dropped. Taking runs in turn serves each at full speed and
keeps the loop free. A viewer who waits is told so ("đang tải") instead of seeing a blank
page. Data refresh is not admitted here: its checks wait on a child process, not the CPU.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator

_slots = threading.BoundedSemaphore(max(1, int(os.environ.get("DX_CONCURRENT_RUNS", "2"))))


@contextlib.contextmanager
def slot(on_wait: Callable[[], Callable[[], None]]) -> Iterator[None]:
    """Run the body in a slot. When none is free, ``on_wait()`` shows a waiting notice and
    returns the function that removes it once the slot is ours."""
    if _slots.acquire(blocking=False):
        clear = None
    else:
        clear = on_wait()
        _slots.acquire()
    try:
        if clear:
            clear()
        yield
    finally:
        _slots.release()
