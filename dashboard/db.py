"""Read-only access to the warehouse from the app.

The ETL replaces ``data/warehouse.duckdb`` atomically (``os.replace``). A file handle opened
before the replacement keeps seeing the old snapshot, and ``duckdb.connect(path)`` may hand
back that cached old database. So the app keeps an *in-memory* DuckDB connection that
``ATTACH``es the file read-only as ``wh``, cached on the file's (inode, mtime, size): the first
query after a refresh opens a new connection and sees the new data.

Every query runs on its own ``cursor()`` (one connection shared by Streamlit's threads gives
wrong results otherwise). SQL always names tables as ``wh.<view>`` and takes user input only
as ``?`` parameters.

``DX_NO_CACHE=1`` turns off this connection cache and the query result cache (benchmarks
measure the app with and without caching in the same run).
"""

from __future__ import annotations

import collections
import contextlib
import copy
import functools
import hashlib
import logging
import os
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import streamlit as st

from core import paths
from core.schema import SCHEMA_VERSION

DUCKDB_CONFIG = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}

_lock = threading.Lock()
_MISSING = object()
_cached: tuple[tuple, duckdb.DuckDBPyConnection] | None = None


class WarehouseMissing(RuntimeError):
    """No warehouse file at the configured path."""


class WarehouseUnreadable(RuntimeError):
    """A file (or folder) is at the warehouse path but DuckDB cannot read it: truncated,
    overwritten, a checksum that does not match. Readers get one plain message; the cause,
    with the path, goes to the server log only."""


class WarehouseOutdated(WarehouseUnreadable):
    """The warehouse was built by another version of the program (another schema): readable,
    but its views are not the ones the pages ask for."""


_log = logging.getLogger(__name__)


def _is_damage(exc: duckdb.Error) -> bool:
    """A read error of the file itself, not a mistake in a query. DuckDB raises a truncated
    or unreadable file as IOException and a failed block checksum as a plain duckdb.Error
    ('Corrupt database file: computed checksum …')."""
    return isinstance(exc, duckdb.IOException) or "corrupt database file" in str(exc).lower()


def _unreadable(exc: BaseException) -> WarehouseUnreadable:
    """The WarehouseUnreadable for ``exc``, logged with its details for the operator."""
    _log.error("warehouse %s cannot be read: %s: %s", path(), type(exc).__name__, exc)
    return WarehouseUnreadable(str(exc))


def unusable_for_command_line() -> int | None:
    """For a command line: 3 once it has said in one line why the warehouse cannot be read
    (missing, unreadable, an older schema), None when it can."""
    try:
        connection()
    except (WarehouseMissing, WarehouseUnreadable) as exc:
        print(exc, file=sys.stderr)
        return 3
    return None


def caching_disabled() -> bool:
    return os.environ.get("DX_NO_CACHE", "") not in ("", "0", "false", "False")


def path() -> Path:
    """The warehouse file (``DX_DB`` overrides ``data/warehouse.duckdb``)."""
    return paths.warehouse_path()


def signature() -> tuple:
    """Identity of the current warehouse file: changes whenever the ETL replaces it."""
    p = path()
    try:
        st = os.stat(p)
    except FileNotFoundError:
        raise WarehouseMissing(
            f"No warehouse at {p}. Build it with `python -m etl build` (or `make warehouse`)."
        ) from None
    except OSError as exc:  # e.g. a folder on the way that may not be read
        raise _unreadable(exc) from exc
    return (str(p), st.st_ino, st.st_mtime_ns, st.st_size)


def _open(p: str) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:", config=DUCKDB_CONFIG)
    # ATTACH takes no parameters; the path comes from configuration, never from a reader.
    try:
        con.execute(f"ATTACH '{p.replace(chr(39), chr(39) * 2)}' AS wh (READ_ONLY)")
        # The catalog and one small table: a file cut short or overwritten fails here, once
        # per warehouse file, before any page draws anything.
        row = con.execute("SELECT max(value) FROM wh.meta.build_info WHERE key = 'schema_version'").fetchone()
    except duckdb.Error as exc:
        con.close()
        raise _unreadable(exc) from exc
    if row[0] != str(SCHEMA_VERSION):
        con.close()
        _log.error("warehouse %s has schema %s, this app reads schema %s", p, row[0], SCHEMA_VERSION)
        raise WarehouseOutdated(
            f"The warehouse at {p} has schema {row[0]}; this version reads schema {SCHEMA_VERSION}. "
            "Run `python -m etl ensure` (or `make warehouse`): it rebuilds it, keeping every load.")
    return con


def connection() -> duckdb.DuckDBPyConnection:
    """The shared connection for the current warehouse file (reopened after a refresh)."""
    global _cached
    sig = signature()
    if caching_disabled():
        return _open(sig[0])
    with _lock:
        if _cached is None or _cached[0] != sig:
            # The old connection is left to the garbage collector: another thread may still
            # be reading from a cursor of it.
            _cached = (sig, _open(sig[0]))
        return _cached[1]


@contextlib.contextmanager
def cursor() -> Iterator[duckdb.DuckDBPyConnection]:
    """A fresh cursor on the shared connection; a damaged file raises WarehouseUnreadable."""
    cur = connection().cursor()
    try:
        yield cur
    except duckdb.Error as exc:
        if _is_damage(exc):
            raise _unreadable(exc) from exc
        raise
    finally:
        cur.close()


def query(sql: str, params: Sequence[Any] | None = None) -> pd.DataFrame:
    """Run parameterised SQL on a fresh cursor and return a DataFrame."""
    with cursor() as cur:
        return cur.execute(sql, list(params or [])).df()


def reset() -> None:
    """Forget the cached connection (tests)."""
    global _cached
    with _lock:
        _cached = None


FRONT_ENTRIES = 128  # results per cached function a process keeps at hand (see below)


def _own_copy(value: Any) -> Any:
    """What ``st.cache_data`` promises, a result the caller may change, at little cost: a
    DataFrame's shallow copy (pandas' copy-on-write copies a column only when one side changes
    it), a deep copy of anything else (small dicts and lists; strings are not copied)."""
    if isinstance(value, (pd.DataFrame, pd.Series)):
        return value.copy(deep=False)
    return copy.deepcopy(value)


def cached_per_warehouse(store_with, max_entries: int) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator factory: cache a function's result per warehouse file signature, so an ETL
    refresh (a new file) starts a new cache. ``store_with`` is ``st.cache_data`` (results
    copied per call) or ``st.cache_resource`` (shared objects, e.g. figures).

    In front of Streamlit's cache, each process keeps its last FRONT_ENTRIES results by their
    arguments (plain values: strings, numbers, tuples): a hit costs a dict lookup instead of
    Streamlit hashing the arguments and unpickling the result (0.5-3 ms a call, a dozen calls
    a page run). A miss goes to Streamlit's cache, which computes each result once however
    many sessions ask at the same moment. A new warehouse file empties it.
    ``DX_NO_CACHE=1`` bypasses both (benchmarks)."""
    copies = store_with is st.cache_data

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        def with_signature(signature: tuple, *args: Any, **kwargs: Any) -> Any:
            return fn(*args, **kwargs)

        # Streamlit keys a cache on module, qualname and source; make each wrapper distinct
        # and let a change of the wrapped function's code start a new cache.
        code_hash = hashlib.sha256(fn.__code__.co_code + repr(fn.__code__.co_consts).encode()).hexdigest()[:10]
        with_signature.__module__ = fn.__module__
        with_signature.__qualname__ = f"{fn.__qualname__}_{code_hash}"
        with_signature.__name__ = fn.__name__
        store = store_with(show_spinner=False, max_entries=max_entries)(with_signature)
        front: collections.OrderedDict = collections.OrderedDict()
        front_lock = threading.Lock()
        front_signature: list[tuple] = [()]

        def remembered(sig: tuple, key: Any) -> Any:
            with front_lock:
                if front_signature[0] != sig:
                    front.clear()
                    front_signature[0] = sig
                if key in front:
                    front.move_to_end(key)
                    return front[key]
            return _MISSING

        def remember(key: Any, value: Any) -> None:
            with front_lock:
                front[key] = value
                while len(front) > FRONT_ENTRIES:
                    front.popitem(last=False)

        @functools.wraps(fn)
        def call(*args: Any, **kwargs: Any) -> Any:
            if caching_disabled():
                return fn(*args, **kwargs)
            sig = signature()
            # (with the types: 1, 1.0 and True are equal keys in a dict, not to Streamlit)
            key = (tuple((type(a), a) for a in args), tuple(sorted((k, type(v), v) for k, v in kwargs.items())))
            try:
                value = remembered(sig, key)
            except TypeError:  # an argument that is no plain value (a list): Streamlit hashes it
                return store(sig, *args, **kwargs)
            if value is _MISSING:
                value = store(sig, *args, **kwargs)
                remember(key, value)
            return _own_copy(value) if copies else value

        def clear() -> None:
            with front_lock:
                front.clear()
            store.clear()

        call.clear = clear  # type: ignore[attr-defined]
        return call

    return decorate
