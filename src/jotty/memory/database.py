"""The memory tables' connection: one small synchronous interface over SQLite and PostgreSQL.

Statements are written once with ``?`` placeholders; the PostgreSQL side rewrites them. Each
``read`` or ``write`` is one short unit of work (``write`` is one transaction). Databases are
shared per process and store (a registry with reference counts), so every ``Memory`` on the same
store shares one connection and one vector cache per scope.
"""

from __future__ import annotations

import abc
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from jotty.db import connect, migrate_sqlite, resolve_store, translate_errors, write_transaction
from jotty.db.sqlite import BUSY_TIMEOUT_MS
from jotty.errors import StoreError

T = TypeVar("T")
Row = Sequence[Any]


class Cursor(abc.ABC):
    """Statements inside one unit of work."""

    @abc.abstractmethod
    def rows(self, statement: str, params: Sequence[Any] = ()) -> list[Row]:
        """The rows of a query."""

    @abc.abstractmethod
    def run(self, statement: str, params: Sequence[Any] = ()) -> int:
        """Run a statement; the number of rows it changed."""

    @abc.abstractmethod
    def many(self, statement: str, params: Iterable[Sequence[Any]]) -> None:
        """Run a statement once per parameter row."""


class Database(abc.ABC):
    """Where the memory tables live. Thread-safe."""

    dialect: str
    where: str

    def __init__(self) -> None:
        self.caches: dict[str, Any] = {}
        """Per-scope vector caches of this process (``jotty.memory.vectors.VectorCache``)."""
        self.cache_lock = threading.Lock()
        self.term_counts: dict[str, tuple[float, int]] = {}
        """Full-text match counts of common terms, reused for a few seconds (``jotty.memory.store``)."""

    @abc.abstractmethod
    def read(self, work: Callable[[Cursor], T]) -> T:
        """``work`` on a connection (no transaction promised)."""

    @abc.abstractmethod
    def write(self, work: Callable[[Cursor], T]) -> T:
        """``work`` in one transaction: all of it is stored, or none."""

    @abc.abstractmethod
    def try_write(self, work: Callable[[Cursor], object]) -> bool:
        """``work`` in one transaction if the store can be written without waiting for another
        writer; False, with nothing written, if it cannot."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release the connections."""


class _SQLiteCursor(Cursor):
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def rows(self, statement: str, params: Sequence[Any] = ()) -> list[Row]:
        return self.conn.execute(statement, params).fetchall()

    def run(self, statement: str, params: Sequence[Any] = ()) -> int:
        return self.conn.execute(statement, params).rowcount

    def many(self, statement: str, params: Iterable[Sequence[Any]]) -> None:
        self.conn.executemany(statement, params)


class SQLiteDatabase(Database):
    """The embedded store file (WAL, migrated on open)."""

    dialect = "sqlite"

    def __init__(self, path: str) -> None:
        super().__init__()
        self.where = path
        self._conn = connect(path)
        self._conn.row_factory = None
        self._lock = threading.RLock()
        with self._guard():
            migrate_sqlite(self._conn, path)

    @contextmanager
    def _guard(self) -> Iterator[sqlite3.Connection]:
        with self._lock, translate_errors(self.where):
            yield self._conn

    def read(self, work: Callable[[Cursor], T]) -> T:
        with self._guard() as conn:
            return work(_SQLiteCursor(conn))

    def write(self, work: Callable[[Cursor], T]) -> T:
        with self._guard() as conn, write_transaction(conn):
            return work(_SQLiteCursor(conn))

    def try_write(self, work: Callable[[Cursor], object]) -> bool:
        with self._guard() as conn:
            conn.execute("PRAGMA busy_timeout = 0")
            try:
                with write_transaction(conn):
                    work(_SQLiteCursor(conn))
                return True
            except sqlite3.OperationalError as exc:
                if "locked" in str(exc):
                    return False  # another process is writing
                raise
            finally:
                conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")

    def close(self) -> None:
        with self._lock:
            self._conn.close()


_registry: dict[tuple[int, str, str], tuple[Database, int]] = {}
_registry_lock = threading.Lock()


def open_database(store: str | os.PathLike[str] | None) -> Database:
    """The database of ``store`` (a path, ``sqlite:///PATH``, a ``postgresql://`` URL, or None for the
    default store), shared with every other user in this process until each has released it."""
    location = resolve_store(store)
    if location.kind not in ("sqlite", "postgresql"):
        raise StoreError(
            f"memory cannot live in {location.kind} ({location.target}): use an SQLite file or a postgresql:// URL"
        )
    target = location.target
    if location.kind == "sqlite" and target != ":memory:":
        target = os.path.abspath(target)
    key = (os.getpid(), location.kind, target)
    with _registry_lock:
        if key in _registry:
            database, users = _registry[key]
            _registry[key] = (database, users + 1)
            return database
        if location.kind == "sqlite":
            database = SQLiteDatabase(target)
        else:
            try:
                from jotty.memory.postgres import PostgresDatabase
            except ImportError as exc:
                raise StoreError(
                    f"memory in PostgreSQL needs psycopg ({exc}): pip install 'jotty[postgres]', or use an SQLite file"
                ) from exc
            database = PostgresDatabase(target)
        _registry[key] = (database, 1)
        return database


def release_database(database: Database) -> None:
    """Give back a database from ``open_database``; the last user closes it."""
    with _registry_lock:
        for key, (known, users) in list(_registry.items()):
            if known is database:
                if users > 1:
                    _registry[key] = (known, users - 1)
                    return
                del _registry[key]
                break
    database.close()
