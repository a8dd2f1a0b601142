"""Read-only access to the store for the dashboard: SQL with ``?`` placeholders, rows as tuples.

The SQLite reader opens the file read-only (``mode=ro``): it cannot write, and it reads the latest
committed state while other processes write (WAL). The PostgreSQL reader's sessions are read-only
(``default_transaction_read_only``). Both migrate the schema once when opened (schema only, so the
dashboard's indexes exist); from then on nothing the dashboard does writes.
"""

from __future__ import annotations

import abc
import contextlib
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from jotty.db import connect, migrate_sqlite, resolve_store, translate_errors
from jotty.errors import StoreError

Row = tuple[Any, ...]


class Reader(abc.ABC):
    """Runs read-only queries on one store."""

    kind: str
    """``sqlite`` or ``postgresql``."""
    location: str
    """The store's path or URL (without its password), for messages."""

    @abc.abstractmethod
    async def rows(self, statement: str, params: Sequence[Any] = ()) -> list[Row]:
        """The rows of one statement (``?`` placeholders)."""

    async def one(self, statement: str, params: Sequence[Any] = ()) -> Row | None:
        """The first row of one statement, or ``None``."""
        found = await self.rows(statement, params)
        return found[0] if found else None

    async def has_table(self, name: str) -> bool:
        """Whether the store has the table ``name`` (a store not migrated by every Jotty part)."""
        return bool(await self.rows(self.TABLE_EXISTS, (name,)))

    TABLE_EXISTS = "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND name = ?"

    @abc.abstractmethod
    async def close(self) -> None:
        """Release the connections."""


class SQLiteReader(Reader):
    """Reads an SQLite store through a read-only connection."""

    kind = "sqlite"

    def __init__(self, path: str | Path) -> None:
        self.location = str(path)
        if not Path(path).exists():
            raise StoreError(f"no store at {path}: give the path of an existing Jotty database (--db)")
        with contextlib.closing(connect(path)) as writer, translate_errors(path):
            migrate_sqlite(writer, where=self.location)
        uri = Path(path).resolve().as_uri() + "?mode=ro"
        with translate_errors(path):
            self._conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
            self._conn.execute("PRAGMA busy_timeout=5000")
            self._conn.execute("PRAGMA query_only=ON")

    async def rows(self, statement: str, params: Sequence[Any] = ()) -> list[Row]:
        with translate_errors(self.location):
            return [tuple(r) for r in self._conn.execute(statement, tuple(params)).fetchall()]

    async def close(self) -> None:
        self._conn.close()


class PostgresReader(Reader):
    """Reads a PostgreSQL store through a small pool of read-only sessions."""

    kind = "postgresql"
    TABLE_EXISTS = "SELECT to_regclass(?) IS NOT NULL WHERE to_regclass(?) IS NOT NULL"

    def __init__(self, url: str) -> None:
        from jotty.db.location import redact

        self.url = url
        self.location = redact(url)
        self._pool: Any = None

    async def open(self) -> PostgresReader:
        """Migrate the schema, then open the pool."""
        from psycopg_pool import AsyncConnectionPool

        from jotty.db.postgres import CONNECT_TIMEOUT, conninfo, prepare

        await prepare(self.url, application_name="jotty-dashboard")

        async def configure(conn: Any) -> None:
            await conn.execute("SET default_transaction_read_only = on")

        self._pool = AsyncConnectionPool(
            conninfo(self.url, application_name="jotty-dashboard"),
            min_size=1,
            max_size=4,
            open=False,
            configure=configure,
            kwargs={"autocommit": True, "connect_timeout": CONNECT_TIMEOUT},
            name="jotty-dashboard",
        )
        await self._pool.open(wait=True, timeout=30)
        return self

    async def has_table(self, name: str) -> bool:
        return bool(await self.rows(self.TABLE_EXISTS, (name, name)))

    async def rows(self, statement: str, params: Sequence[Any] = ()) -> list[Row]:
        from jotty.db.postgres import format_placeholders

        async with self._pool.connection() as conn:
            cursor = await conn.execute(format_placeholders(statement), tuple(params))
            return [tuple(r) for r in await cursor.fetchall()] if cursor.description else []

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()


async def open_reader(store: str | Path | None) -> Reader:
    """The reader for a store path or URL (``None``: ``JOTTY_DATABASE_URL`` or the default file)."""
    location = resolve_store(None if store is None else str(store))
    if location.kind == "sqlite":
        return SQLiteReader(location.target)
    if location.kind == "postgresql":
        try:
            return await PostgresReader(location.target).open()
        except ImportError as exc:
            raise StoreError(f"a PostgreSQL store needs psycopg ({exc}): pip install 'jotty[postgres]'") from exc
    raise StoreError(f"the dashboard reads SQLite and PostgreSQL stores, not {location.kind}: give --db PATH or URL")
