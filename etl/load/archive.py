"""The raw archive: every file as received, under its checksum.

Layout of ``paths.raw_archive_dir(warehouse)`` (default ``raw/`` next to the warehouse):

- ``<sha256>.<ext>``                the bytes exactly as received (written once, atomically);
- ``<warehouse>.manifest.jsonl``    the recovery copy of that warehouse's load record, one line
                                    per load, rewritten with every change under the writer lock
                                    (:func:`etl.warehouse.read_manifest`; docs/operations.md);
- ``rejected.jsonl``                files that were refused (nothing loaded), for the audit trail.

A rebuild replays the loads recorded in the warehouse itself from these files
(:func:`etl.load.apply.plan_replay`).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

from etl import warehouse

REJECTED = "rejected.jsonl"


def sha256_of(path: Path, progress=None) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
            size += len(block)
            if progress:
                progress("checksum", size)
    return digest.hexdigest(), size


def extension(path: Path, fmt: str) -> str:
    return {"xlsx": "xlsx", "xls": "xls", "parquet": "parquet", "json": "json"}.get(fmt, "csv")


def archived_path(sha256: str, ext: str, directory: Path) -> Path:
    return directory / f"{sha256}.{ext}"


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def store(path: Path, sha256: str, ext: str, directory: Path) -> Path:
    """Copy the file into the archive under its checksum (no-op when already there).
    Raises :class:`etl.warehouse.WriteFailed` (and leaves no partial file) when the archive
    cannot be written, e.g. its disk is full."""
    target = archived_path(sha256, ext, directory)
    if target.exists() and target.stat().st_size == path.stat().st_size:
        return target
    temp = None
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=directory, prefix=".incoming-")
        with os.fdopen(fd, "wb") as out, open(path, "rb") as src:
            shutil.copyfileobj(src, out, 1 << 22)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temp, 0o444)
        os.replace(temp, target)
        _fsync_dir(directory)
    except OSError as exc:
        raise warehouse.write_failed("the file into the raw archive", exc) from exc
    finally:
        if temp is not None:
            Path(temp).unlink(missing_ok=True)
    return target


def store_refused(path: Path, sha256: str, ext: str, max_bytes: int,
                  directory: Path) -> tuple[Path, bool]:
    """Keep a refused file for the audit trail: whole up to ``max_bytes``, else only its first
    ``max_bytes`` (``<sha256>.head.<ext>``; the checksum names the whole file). Returns the
    path and whether the file is kept whole. Refused files are never replayed, and a stream
    of huge refused uploads must not fill the disk."""
    if path.stat().st_size <= max_bytes:
        return store(path, sha256, ext, directory), True
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"{sha256}.head.{ext}"
    if target.exists():
        return target, False
    fd, temp = tempfile.mkstemp(dir=directory, prefix=".incoming-")
    try:
        with os.fdopen(fd, "wb") as out, open(path, "rb") as src:
            out.write(src.read(max_bytes))
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temp, 0o444)
        os.replace(temp, target)
        _fsync_dir(directory)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return target, False


def log_rejected(entry: dict, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / REJECTED, "a", encoding="utf-8") as out:
        out.write(json.dumps(entry, ensure_ascii=False, default=str) + "\n")
        out.flush()
        os.fsync(out.fileno())
