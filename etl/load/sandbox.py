"""Reading and checking a file in a child process with a memory and a time limit.

Why: the readers are libraries (python-calamine in Rust, pyarrow, DuckDB) that allocate what a
file declares; :mod:`etl.load.preflight` refuses every trap we know of, but a file built to
defeat it must still not take down the process that reads it — least of all the dashboard's
server, which every reader shares. So the Data refresh page and ``python -m etl load`` read
and validate a file (``plan_load``, listing a workbook's sheets) here: in a fresh Python
process whose memory is capped (``DX_CHECK_MEMORY_MB``), killed after ``DX_CHECK_SECONDS``,
and killed with its parent. If it runs out of either, or dies, the caller gets a clean
rejection (code ``too_demanding``), never a dead server, exit 134 or 137.

The cap is ``RLIMIT_DATA`` (heap and private writable mappings) rather than ``RLIMIT_AS``:
the stacks and arenas DuckDB and pyarrow reserve without using make the address space of a
2 M-row dossier check 3 GB for 0.5 GB resident; its data segment peaks at 1.9 GB.

The cost is a fresh interpreter per check (≈ 1 s of imports, and the unit resolver is built
again); the load itself (``apply_load``) stays in the caller: it only writes what the check
returned.
"""

from __future__ import annotations

import ctypes
import importlib
import os
import pickle
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from etl.load import limits as L
from etl.load.errors import FileRejected, UsageError
from etl.load.rules import file as F

ROOT = Path(__file__).resolve().parents[2]
PR_SET_PDEATHSIG = 1
DOSSIER_HEADROOM_MB = 2048  # Python, pandas and the readers beside DuckDB's own memory limit
STDERR_KEPT = 64 * 1024

Progress = Callable[..., None]


class CheckFailed(RuntimeError):
    """The child failed for a reason that is not the file's (a bug), said in one line."""


def memory_mb(path: Path | None) -> float:
    """The child's memory cap: DX_CHECK_MEMORY_MB; for a file of a gigabyte or more
    (only a dossier export may be that big), at least DuckDB's memory limit for it plus room
    for Python."""
    cap = L.current().check_memory_mb
    size = path.stat().st_size if path is not None and path.exists() else 0
    if size >= L.GB:
        cap = max(cap, L.dossier_memory_mb(size) + DOSSIER_HEADROOM_MB)
    return cap


class Check:
    """``target(*args, **kwargs)`` running in a child process under the limits, where
    ``target`` is "module:function" (named, so the caller need not import it: the caller can
    load its own modules while the child works). ``progress(stage, done)`` receives the
    child's progress (the function must accept ``progress=``); ``path`` is the file being read
    (it sets the memory cap, see :func:`memory_mb`)."""

    def __init__(self, target: str, *args: Any, progress: Progress | None = None, path: Path | None = None,
                 **kwargs: Any):
        lim = L.current()
        self.seconds = lim.check_seconds
        self.cap_mb = memory_mb(path)
        self.work = Path(tempfile.mkdtemp(prefix="dx-check-"))
        self.result_file = self.work / "result.pickle"
        request = self.work / "request.pickle"
        with open(request, "wb") as out:
            pickle.dump((target, args, kwargs, progress is not None), out, protocol=pickle.HIGHEST_PROTOCOL)
        self.errors = open(self.work / "stderr", "wb")
        python_path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
        try:
            self.child = subprocess.Popen(
                [sys.executable, "-m", "etl.load.sandbox", str(request), str(self.result_file),
                 str(int(self.cap_mb * L.MB)), str(os.getpid())],
                cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self.errors,
                env={**os.environ, "PYTHONPATH": python_path})
        except BaseException:
            self.errors.close()
            shutil.rmtree(self.work, ignore_errors=True)
            raise
        self.started = time.monotonic()
        self.relay = threading.Thread(target=_relay, args=(self.child.stdout, progress), daemon=True)
        self.relay.start()

    def cancel(self) -> None:
        self.child.kill()
        self.child.wait()
        self._close()

    def _close(self) -> None:
        self.relay.join(timeout=5)
        self.child.stdout.close()
        self.errors.close()
        shutil.rmtree(self.work, ignore_errors=True)

    def result(self) -> Any:
        """The function's result, or the FileRejected / UsageError it raised; FileRejected
        ``too_demanding`` when the child ran out of memory or time."""
        try:
            try:
                self.child.wait(timeout=max(0.0, self.seconds - (time.monotonic() - self.started)))
            except subprocess.TimeoutExpired:
                self.child.kill()
                self.child.wait()
                raise FileRejected(F.TOOK_TOO_LONG(seconds=self.seconds, env=L.Limits.env("check_seconds"))) from None
            except BaseException:  # interrupted: the child must not go on alone
                self.child.kill()
                self.child.wait()
                raise
            last_words = _ends(self.work / "stderr")
            if self.result_file.exists():
                with open(self.result_file, "rb") as handle:
                    status, payload = pickle.load(handle)
                if status == "ok":
                    return payload
                if status == "raised":
                    raise payload
                if status == "memory":
                    raise _out_of_memory(self.cap_mb)
                raise CheckFailed(f"checking the file failed: {payload}")
            code = self.child.returncode
            if (code == -signal.SIGABRT and "memory allocation" in last_words) or code == -signal.SIGKILL:
                raise _out_of_memory(self.cap_mb)  # the reader's allocation failed (Rust aborts), or the OOM killer
            raise FileRejected(F.READER_STOPPED(death=_death(code)))
        finally:
            self._close()


def call(target: str, *args: Any, progress: Progress | None = None, path: Path | None = None, **kwargs: Any) -> Any:
    """:class:`Check` started and waited for."""
    return Check(target, *args, progress=progress, path=path, **kwargs).result()


def _out_of_memory(cap_mb: float) -> FileRejected:
    return FileRejected(F.TOO_MUCH_MEMORY(limit_mb=cap_mb, env=L.Limits.env("check_memory_mb")))


def _ends(path: Path) -> str:
    """The start and the end of the child's stderr (Rust prints the failed allocation first,
    then a backtrace)."""
    with open(path, "rb") as handle:
        head = handle.read(STDERR_KEPT)
        handle.seek(max(handle.tell(), os.fstat(handle.fileno()).st_size - STDERR_KEPT))
        return (head + handle.read()).decode("utf-8", "replace")


def _death(code: int) -> str:
    if code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"exit code {code}"


def _relay(stream, progress: Progress | None) -> None:
    """Progress lines from the child ('stage<TAB>done') to the caller's callback. The pipe is
    read to its end whatever the callback does: a child writing to a full pipe would wait."""
    for line in stream:
        if progress is None:
            continue
        stage, _, done = line.decode("utf-8", "replace").rstrip("\n").partition("\t")
        try:
            if done.isdigit():
                progress(stage, int(done))
            else:
                progress(stage)
        except Exception:
            progress = None


def plan_load(path: str | Path, **options: Any):
    """:func:`etl.load.apply.plan_load` in the child; a file the child cannot finish gives a
    refused plan like any unusable file (``fatal``, one rejection line)."""
    path = Path(path)
    L.regular_file(path)
    progress = options.pop("progress", None)
    check = Check("etl.load.sandbox:checked_plan", path, progress=progress, path=path, **options)
    try:
        from etl.load import apply, report  # noqa: F401 - loaded while the child works (report: by the CLI)
    except BaseException:
        check.cancel()
        raise
    try:
        return check.result()
    except FileRejected as exc:  # refused before reading, or the child died: the same refused plan
        return apply.refused_plan(path, exc, **options)


def checked_plan(path: Path, **options: Any):
    """In the child: the parser-free checks (:func:`etl.load.preflight.before_reading`), then
    ``plan_load``. A workbook refused by the first raises FileRejected before pandas is even
    imported; the caller turns it into the same refused plan ``plan_load`` would give."""
    from etl.load import preflight

    preflight.before_reading(path)
    from etl.load import apply

    return apply.plan_load(path, **options)


def excel_sheets(path: str | Path) -> list[tuple[str, bool]]:
    """:func:`etl.load.readers.excel_sheets` in the child."""
    return call("etl.load.readers:excel_sheets", Path(path), path=Path(path))


# --------------------------------------------------------------------------- the child

def _progress(stage: str, done: int | None = None, total: int | None = None) -> None:
    sys.stdout.write(f"{stage}\t{'' if done is None else int(done)}\n")
    sys.stdout.flush()


def _confine(memory: int, parent: int) -> None:
    """Cap the memory this process can allocate and die with the parent (Linux)."""
    resource.setrlimit(resource.RLIMIT_DATA, (memory, memory))
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the line above
        os._exit(1)


def _child(request: str, result: str, memory: int, parent: int) -> int:
    _confine(memory, parent)
    with open(request, "rb") as handle:
        target, args, kwargs, wants_progress = pickle.load(handle)
    if wants_progress:
        kwargs["progress"] = _progress
    try:
        module, _, name = target.partition(":")
        function = getattr(importlib.import_module(module), name)
        outcome = ("ok", function(*args, **kwargs))
    except (FileRejected, UsageError) as exc:
        outcome = ("raised", exc)
    except MemoryError:
        outcome = ("memory", None)
    except Exception as exc:
        traceback.print_exc()
        outcome = ("error", f"{type(exc).__name__}: {exc}")
    temp = result + ".part"
    try:
        with open(temp, "wb") as out:
            pickle.dump(outcome, out, protocol=pickle.HIGHEST_PROTOCOL)
    except MemoryError:
        with open(temp, "wb") as out:
            pickle.dump(("memory", None), out)
    os.replace(temp, result)
    return 0


if __name__ == "__main__":
    sys.exit(_child(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])))
