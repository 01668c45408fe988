"""The Data refresh page's work: staging an upload, and checking, loading and undoing through
the loader's command line (``python -m etl load|undo|sheets … --json``) in a child process.

Why a child process: the app never imports ``etl`` (tests/test_layers.py), and a loader that
dies (out of memory, killed, a bug) ends its own process, never the server every reader shares.
Each command prints one JSON document (etl/load/report.py ``load_document``): status, exit
code, counts, every rejection with the keys and values of its sentences (said here in the
reader's language with ``core.i18n``), notes, value changes, load id. A child that prints no
document gives a ``failed`` one here, its stderr going to the server log only.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, BinaryIO

from core import i18n

ROOT = Path(__file__).resolve().parent.parent
EXTENSIONS = {".csv": ".csv", ".txt": ".csv", ".xlsx": ".xlsx", ".xlsm": ".xlsx", ".xls": ".xls",
              ".parquet": ".parquet", ".pq": ".parquet", ".json": ".json"}
UPLOAD_TYPES = ["csv", "xlsx", "xlsm", "xls", "parquet", "json"]
UPLOAD_DIR_PREFIX = "dx-upload-"
STALE_UPLOAD_SECONDS = 24 * 3600
STDERR_LOGGED = 4000  # characters of a failed child's stderr kept in the server log
TEMPLATES = ROOT / "data" / "templates"  # one valid file of each format (etl/load/templates.py)

Progress = Callable[[str, "int | None", "int | None"], None]
_log = logging.getLogger(__name__)


# --------------------------------------------------------------------------- the loader's command line

def run_etl(args: Iterable[str], progress: Progress | None = None) -> dict:
    """``python -m etl ARGS --json`` in a child process; its JSON document. ``progress(stage,
    done, total)`` gets the JSON lines the loader writes on stderr (``--progress``)."""
    args = list(args)  # used twice: the command and, on failure, the log line
    python_path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    child = subprocess.Popen(
        [sys.executable, "-m", "etl", *args, "--json"], cwd=ROOT, stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "PYTHONPATH": python_path})
    out: list[bytes] = []
    reader = threading.Thread(target=lambda: out.append(child.stdout.read()), daemon=True)
    reader.start()
    other = []
    interrupted: BaseException | None = None
    for line in child.stderr:  # read to its end: a child writing to a full pipe would wait
        text = line.decode("utf-8", "replace")
        step = _progress_line(text)
        if step is None:
            other.append(text)
        elif progress is not None:
            try:
                progress(step.get("stage", ""), step.get("done"), step.get("total"))
            except BaseException as exc:
                interrupted, progress = exc, None
    code = child.wait()
    reader.join()
    child.stdout.close()
    child.stderr.close()
    # A display that fails stops the display, not the loader. A rerun or a stop of the page
    # (Streamlit raises them from the display) waits for the loader: a load that has begun
    # ends as the loader decides, never half-watched.
    if interrupted is not None and not isinstance(interrupted, Exception):
        raise interrupted
    try:
        document = json.loads(b"".join(out) or b"null")
    except ValueError:
        document = None
    if not isinstance(document, dict) or "status" not in document:
        _log.error("python -m etl %s stopped with %s and no result: %s", " ".join(args), _death(code),
                   "".join(other)[-STDERR_LOGGED:])
        return {"status": "failed", "exit_code": code,
                "message": f"the loader stopped ({_death(code)}); nothing was loaded"}
    return document


def _progress_line(text: str) -> dict | None:
    if not text.startswith("{"):
        return None
    try:
        step = json.loads(text)
    except ValueError:
        return None
    return step if isinstance(step, dict) and "stage" in step else None


def _death(code: int) -> str:
    return f"signal {-code}" if code < 0 else f"exit code {code}"


def _load_args(staged: dict, options: dict) -> list[str]:
    args = ["load", staged["path"], "--file-name", staged["name"], "--uploader", options["uploader"],
            "--no-report", "--progress"]
    for name in ("kind", "period", "sheet", "province"):
        if options.get(name):
            args += [f"--{name}", options[name]]
    return args


def check(staged: dict, options: dict, progress: Progress | None = None) -> dict:
    """The dry run: the file read and checked, nothing written (status ``dry_run``)."""
    return run_etl(_load_args(staged, options) + ["--dry-run"], progress)


def load(staged: dict, options: dict, accept_valid: bool, progress: Progress | None = None) -> dict:
    """The load itself: ``loaded``, ``already_loaded`` or ``rejected`` (nothing written)."""
    return run_etl(_load_args(staged, options) + (["--accept-valid"] if accept_valid else []), progress)


def undo(load_id: int, user: str) -> dict:
    """``undone`` with ``values_restored`` and ``values_removed``, or ``refused`` and why."""
    return run_etl(["undo", str(int(load_id)), "--uploader", user])


def loadable(plan: dict, accept_valid: bool) -> bool:
    """Whether the checked file may be loaded: usable, something valid, no error unless the
    valid rows are accepted alone, not loaded before."""
    if plan["fatal"] or not plan["values_valid"] or plan["already_loaded"] is not None:
        return False
    return not plan["errors"] or accept_valid


def message(document: dict, lang: str) -> str:
    """What became of the file, in the reader's language (a failure's own message otherwise)."""
    if document.get("message_key"):
        return i18n.sentence(f"load_report.{document['message_key']}", lang, document.get("message_values") or {})
    return str(document.get("message") or "")


def usage_message(document: dict, lang: str) -> str:
    text = str(document.get("message") or "")
    if document.get("choices"):
        text += " — " + i18n.t("refresh.choices", lang, choices=", ".join(map(str, document["choices"])))
    return text


# --------------------------------------------------------------------------- staged uploads

def stage(uploaded: BinaryIO, name: str, file_id: str) -> dict:
    """Save the uploaded bytes to a private temporary folder, named by the original name's
    extension; an Excel file's sheets are listed (by the loader's checking child)."""
    sweep_stale_uploads()
    folder = Path(tempfile.mkdtemp(prefix=UPLOAD_DIR_PREFIX))
    extension = EXTENSIONS.get(Path(name).suffix.lower(), ".csv")
    target = folder / f"upload{extension}"
    uploaded.seek(0)
    with open(target, "wb") as handle:
        shutil.copyfileobj(uploaded, handle, 1 << 22)
    sheets: list[str] = []
    if extension in (".xlsx", ".xls"):
        listed = run_etl(["sheets", str(target)])  # an unreadable workbook is reported by the dry run
        sheets = [sheet["name"] for sheet in listed.get("sheets", [])]
    return {"file_id": file_id, "name": name, "dir": str(folder), "path": str(target),
            "size": target.stat().st_size, "sheets": sheets}


def discard(staged: dict | None) -> None:
    if staged:
        shutil.rmtree(staged["dir"], ignore_errors=True)


def sweep_stale_uploads() -> None:
    """Remove upload folders of sessions that ended without cleaning up."""
    for folder in Path(tempfile.gettempdir()).glob(UPLOAD_DIR_PREFIX + "*"):
        try:
            if time.time() - folder.stat().st_mtime > STALE_UPLOAD_SECONDS:
                shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            pass


def stages(lang: str) -> dict[str, str]:
    """The loader's progress stages in the reader's language."""
    return {stage: i18n.t(f"refresh.stage.{stage}", lang)
            for stage in ("checksum", "reading", "validating", "aggregated", "writing", "publishing")}


def progress_fraction(stage: str, done: Any, total: Any) -> float:
    """How far along the bar is: the checksum pass as bytes read, then one step per stage."""
    order = ["checksum", "reading", "validating", "aggregated", "writing", "publishing"]
    at = order.index(stage) if stage in order else 0
    part = min(1.0, done / total) if isinstance(done, int) and isinstance(total, int) and total > 0 else 0.0
    return min(1.0, (at + part) / len(order))


def templates() -> list[Path]:
    """The template files staff may download and fill in (data/templates, README aside)."""
    return sorted(p for p in TEMPLATES.iterdir() if p.is_file() and p.suffix in EXTENSIONS)
