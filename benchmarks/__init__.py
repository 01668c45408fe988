"""Benchmarks (not timed tests): ``python -m benchmarks`` runs them all, ``python -m benchmarks
NAME [ARGS]`` one of them. Each module here with a ``main(argv) -> int`` is a benchmark."""

import os
import sys
from pathlib import Path


def warehouse_path(db_arg: str | None):
    """The warehouse a benchmark reads (``--db`` or the default), or None after saying why
    it is missing (the caller exits 2)."""
    if db_arg:
        os.environ["DX_DB"] = str(Path(db_arg).resolve())
    from dashboard import db

    try:
        db.connection()  # also refuses a warehouse of another schema: pages would measure an error
    except (db.WarehouseMissing, db.WarehouseUnreadable) as exc:
        print(exc, file=sys.stderr)
        return None
    return db.path()


def load_average() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())
