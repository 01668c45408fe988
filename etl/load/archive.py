"""The raw archive: every file as received, under its checksum, plus a manifest.

Layout of ``paths.raw_archive_dir()`` (default ``<warehouse dir>/raw``):

- ``<sha256>.<ext>``   the bytes exactly as received (written once, atomically);
- ``manifest.jsonl``   one line per load of the warehouse (load id, checksum, original file
                       name, kind, options, uploader, received time, status...). It is
                       rewritten from the warehouse after every load and undo, so that
                       ``python -m etl build`` can replay the loads (:func:`etl.load.replay_archive`);
- ``rejected.jsonl``   files that were refused (nothing loaded), for the audit trail.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import duckdb

from etl import paths

MANIFEST = "manifest.jsonl"
REJECTED = "rejected.jsonl"


def archive_dir() -> Path:
    return paths.raw_archive_dir()


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
    return {"xlsx": "xlsx", "xls": "xls", "parquet": "parquet"}.get(fmt, "csv")


def archived_path(sha256: str, ext: str, directory: Path | None = None) -> Path:
    return (directory or archive_dir()) / f"{sha256}.{ext}"


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def store(path: Path, sha256: str, ext: str, directory: Path | None = None) -> Path:
    """Copy the file into the archive under its checksum (no-op when already there)."""
    directory = directory or archive_dir()
    directory.mkdir(parents=True, exist_ok=True)
    target = archived_path(sha256, ext, directory)
    if target.exists() and target.stat().st_size == path.stat().st_size:
        return target
    fd, temp = tempfile.mkstemp(dir=directory, prefix=".incoming-")
    try:
        with os.fdopen(fd, "wb") as out, open(path, "rb") as src:
            shutil.copyfileobj(src, out, 1 << 22)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temp, 0o444)
        os.replace(temp, target)
        _fsync_dir(directory)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return target


def store_refused(path: Path, sha256: str, ext: str, max_bytes: int,
                  directory: Path | None = None) -> tuple[Path, bool]:
    """Keep a refused file for the audit trail: whole up to ``max_bytes``, else only its first
    ``max_bytes`` (``<sha256>.head.<ext>``; the checksum names the whole file). Returns the
    path and whether the file is kept whole. Refused files are never replayed, and a stream
    of huge refused uploads must not fill the disk."""
    if path.stat().st_size <= max_bytes:
        return store(path, sha256, ext, directory), True
    directory = directory or archive_dir()
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


def _atomic_write(target: Path, text: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, target)
        _fsync_dir(target.parent)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _iso(value: Any) -> str | None:
    return value.isoformat(sep=" ") if value is not None and hasattr(value, "isoformat") else value


def manifest_entries(con: duckdb.DuckDBPyConnection, schema: str = "") -> list[dict]:
    """The loads of a warehouse (load id > 0) as manifest entries."""
    prefix = f"{schema}." if schema else ""
    rows = con.execute(f"""
        SELECT l.load_id, f.sha256, l.file_name, l.kind, l.options, f.uploader, f.received_at,
               l.status, l.started_at, l.finished_at, l.undone_at, l.rows_read, l.rows_loaded,
               l.rows_rejected, f.size_bytes, f.archived_path
        FROM {prefix}meta.load l JOIN {prefix}raw.file f USING (load_id)
        WHERE l.load_id > 0 ORDER BY l.load_id
    """).fetchall()
    keys = ["load_id", "sha256", "file_name", "kind", "options", "uploader", "received_at", "status",
            "started_at", "finished_at", "undone_at", "rows_read", "rows_loaded", "rows_rejected",
            "size_bytes", "archived_name"]
    out = []
    for row in rows:
        entry = dict(zip(keys, row))
        entry["options"] = json.loads(entry["options"] or "{}")
        entry["archived_name"] = Path(entry["archived_name"]).name if entry["archived_name"] else None
        for key in ("received_at", "started_at", "finished_at", "undone_at"):
            entry[key] = _iso(entry[key])
        out.append(entry)
    return out


def write_manifest(con: duckdb.DuckDBPyConnection, directory: Path | None = None, schema: str = "") -> Path:
    directory = directory or archive_dir()
    target = directory / MANIFEST
    entries = manifest_entries(con, schema)
    _atomic_write(target, "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in entries))
    return target


def read_manifest(directory: Path | None = None) -> list[dict]:
    target = (directory or archive_dir()) / MANIFEST
    if not target.exists():
        return []
    entries = []
    for line in target.read_text(encoding="utf-8").splitlines():
        if line.strip():
            entries.append(json.loads(line))
    return sorted(entries, key=lambda e: e["load_id"])


def log_rejected(entry: dict, directory: Path | None = None) -> None:
    directory = directory or archive_dir()
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / REJECTED, "a", encoding="utf-8") as out:
        out.write(json.dumps(entry, ensure_ascii=False, default=str) + "\n")
        out.flush()
        os.fsync(out.fileno())


def replay_archive(con: duckdb.DuckDBPyConnection, directory: Path | None = None, log=None) -> int:
    """Re-apply the archived loads into a warehouse being built (see
    :func:`etl.load.apply.replay_archive`); returns how many loads were replayed."""
    from etl.load.apply import replay_archive as _replay

    return _replay(con, directory, log)
