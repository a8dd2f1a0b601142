"""The memory tables in PostgreSQL, through a ``jotty.db.blocking.BlockingPool`` (the async ``Memory``
runs its database work in threads). psycopg and psycopg-pool are the ``jotty[postgres]`` extra."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

import psycopg

from jotty.db.blocking import BlockingPool, Connection
from jotty.db.postgres import format_placeholders
from jotty.errors import StoreError
from jotty.memory.database import Cursor, Database, Row

T = TypeVar("T")


class _PostgresCursor(Cursor):
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def rows(self, statement: str, params: Sequence[Any] = ()) -> list[Row]:
        return list(self.conn.execute(format_placeholders(statement), params).fetchall())

    def run(self, statement: str, params: Sequence[Any] = ()) -> int:
        return self.conn.execute(format_placeholders(statement), params).rowcount

    def many(self, statement: str, params: Iterable[Sequence[Any]]) -> None:
        with self.conn.cursor() as cursor:
            cursor.executemany(format_placeholders(statement), list(params))


class PostgresDatabase(Database):
    """A PostgreSQL database (migrated on open), through a pool of up to ``pool_size`` connections."""

    dialect = "postgres"

    def __init__(self, url: str, *, pool_size: int = 4, timeout: float = 30.0) -> None:
        super().__init__()
        self.url = url
        self._pool = BlockingPool(url, application="jotty memory", size=pool_size, timeout=timeout)
        self.where = self._pool.location

    def read(self, work: Callable[[Cursor], T]) -> T:
        return self._pool.run(lambda conn: work(_PostgresCursor(conn)))

    def write(self, work: Callable[[Cursor], T]) -> T:
        return self._pool.run(lambda conn: work(_PostgresCursor(conn)), transaction=True, what="a memory write")

    def try_write(self, work: Callable[[Cursor], object]) -> bool:
        def locked_briefly(conn: Connection) -> None:
            conn.execute("SET LOCAL lock_timeout = '20ms'")  # a row another writer holds: give up
            work(_PostgresCursor(conn))

        try:
            self._pool.run(locked_briefly, transaction=True, what="a memory write")
        except StoreError as exc:
            if isinstance(exc.__cause__, psycopg.errors.LockNotAvailable):
                return False
            raise
        return True

    def close(self) -> None:
        self._pool.close()
