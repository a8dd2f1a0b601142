"""The memory tables in PostgreSQL: a thread-safe pool of blocking connections (the async ``Memory``
runs its database work in threads). A transaction PostgreSQL rolls back to break a deadlock is run
again. psycopg and psycopg-pool are the ``jotty[postgres]`` extra."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from jotty.db.postgres import CONNECT_TIMEOUT, conninfo, describe, format_placeholders, prepare_blocking, translate
from jotty.errors import StoreError, StoreUnavailableError
from jotty.memory.database import Cursor, Database, Row

log = logging.getLogger(__name__)
T = TypeVar("T")
Connection = psycopg.Connection[tuple[Any, ...]]
ATTEMPTS = 5
_APPLICATION = "jotty memory"


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
        self.where = describe(url)
        prepare_blocking(url, application_name=_APPLICATION)
        self._pool: ConnectionPool[Connection] = ConnectionPool(
            conninfo(url, None, _APPLICATION),
            min_size=1,
            max_size=pool_size,
            timeout=timeout,
            open=False,
            check=ConnectionPool.check_connection,
            kwargs={"autocommit": True, "connect_timeout": CONNECT_TIMEOUT},
            name="jotty-memory",
        )
        try:
            self._pool.open(wait=True, timeout=timeout)
        except PoolTimeout as exc:
            self._pool.close()
            raise (translate(exc, url) or StoreUnavailableError(str(exc))) from exc

    def _run(self, work: Callable[[Cursor], T], transaction: bool) -> T:
        attempt = 0
        while True:
            attempt += 1
            try:
                with self._pool.connection() as conn:
                    if not transaction:
                        return work(_PostgresCursor(conn))
                    with conn.transaction():
                        return work(_PostgresCursor(conn))
            except psycopg.errors.TransactionRollback as exc:
                if attempt >= ATTEMPTS:
                    raise StoreError(
                        f"PostgreSQL at {self.where} rolled back a memory write {attempt} times ({exc}): try again"
                    ) from exc
                log.debug("memory write rolled back (%s); running it again", exc)
            except (psycopg.OperationalError, PoolTimeout) as exc:
                raise (translate(exc, self.url) or StoreUnavailableError(str(exc))) from exc

    def read(self, work: Callable[[Cursor], T]) -> T:
        return self._run(work, transaction=False)

    def write(self, work: Callable[[Cursor], T]) -> T:
        return self._run(work, transaction=True)

    def close(self) -> None:
        self._pool.close()
