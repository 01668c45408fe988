"""How big a file may be, and what it may make the loader do (docs/loading.md, "Validation and
safety"): every limit has a default that fits a real report and an environment variable.

The numbers are read from the environment on every call (tests set them per test). A value that
is not a positive number is a usage error, not a traceback.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from etl.load.errors import UsageError

MB = 1024 * 1024
GB = 1024 * MB

# name -> (environment variable, default); docs/loading.md has the same table, with what each bounds.
SETTINGS = {
    "upload_mb": ("DX_MAX_UPLOAD_MB", 200.0),  # a report file; a workbook, compressed and unpacked
    "dossier_mb": ("DX_MAX_DOSSIER_MB", 4096.0),  # a CSV or Parquet dossier export
    "rows": ("DX_MAX_ROWS", 200_000),  # of a report, or of a workbook sheet
    "columns": ("DX_MAX_COLUMNS", 500),
    "cells": ("DX_MAX_CELLS", 5_000_000),  # rows × columns
    "cell_chars": ("DX_MAX_CELL_CHARS", 32_767),  # one CSV cell (Excel's own limit)
    "zip_ratio": ("DX_MAX_ZIP_RATIO", 100.0),  # how many times a workbook part over 1 MB may inflate
    "check_memory_mb": ("DX_CHECK_MEMORY_MB", 4096.0),  # the checking process's data segment (RLIMIT_DATA)
    "check_seconds": ("DX_CHECK_SECONDS", 600.0),  # time to read and check a file
    "refused_archive_mb": ("DX_REFUSED_ARCHIVE_MB", 5.0),  # a refused file archived whole; above, its head
}
ZIP_RATIO_FROM_BYTES = 1 * MB  # small parts (rels, styles) may compress better than any sheet


@dataclass(frozen=True)
class Limits:
    upload_mb: float
    dossier_mb: float
    rows: int
    columns: int
    cells: int
    cell_chars: int
    zip_ratio: float
    check_memory_mb: float
    check_seconds: float
    refused_archive_mb: float

    @property
    def upload_bytes(self) -> int:
        return int(self.upload_mb * MB)

    @property
    def dossier_bytes(self) -> int:
        return int(self.dossier_mb * MB)

    @property
    def refused_archive_bytes(self) -> int:
        return int(self.refused_archive_mb * MB)

    @staticmethod
    def env(name: str) -> str:
        return SETTINGS[name][0]


def current() -> Limits:
    """The limits in force (environment, else defaults)."""
    values = {}
    for name, (variable, default) in SETTINGS.items():
        raw = os.environ.get(variable)
        if raw is None or not raw.strip():
            values[name] = default
            continue
        try:
            number = float(raw)
        except ValueError:
            raise UsageError(f"{variable} must be a number (got {raw!r})") from None
        if not number > 0:
            raise UsageError(f"{variable} must be positive (got {raw!r})")
        values[name] = type(default)(number)
    return Limits(**values)


def dossier_memory_mb(size: int) -> int:
    """DuckDB's memory limit for a dossier export of ``size`` bytes: 1.5 GB is ample for 10 M
    rows; bigger files get more (the aggregation spills to disk beyond it)."""
    return 1500 if size < GB else 6000


def regular_file(path: Path) -> os.stat_result:
    """The file's status if it is a regular file; otherwise a usage error that says what it is.

    Checked without opening it: opening a FIFO for reading would wait for a writer."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise UsageError(f"no such file: {path}") from None
    except NotADirectoryError:
        raise UsageError(f"no such file: {path} (a part of the path is not a folder)") from None
    except PermissionError:
        raise UsageError(f"cannot read {path}: permission denied") from None
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(info.st_mode):
        raise UsageError(f"{path} is a directory, not a file")
    if not stat.S_ISREG(info.st_mode):
        kind = ("a named pipe (FIFO)" if stat.S_ISFIFO(info.st_mode) else "a socket" if stat.S_ISSOCK(info.st_mode)
                else "a device" if stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode) else "a special file")
        raise UsageError(f"{path} is not a regular file ({kind})")
    if not os.access(path, os.R_OK):
        raise UsageError(f"cannot read {path}: permission denied")
    return info


def report_target(path: Path) -> Path:
    """Where the rejection report may be written; a usage error when writing there would write
    somewhere else or wait: a symbolic link (its target could be any file), a folder, a FIFO."""
    path = Path(path)
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return path
    if stat.S_ISLNK(info.st_mode):
        raise UsageError(f"the rejection report path {path} is a symbolic link; not writing through it "
                         "(remove the link or choose another path with --report)")
    if not stat.S_ISREG(info.st_mode):
        what = "a directory" if stat.S_ISDIR(info.st_mode) else "not a regular file"
        raise UsageError(f"the rejection report path {path} is {what}; choose another path with --report")
    return path
