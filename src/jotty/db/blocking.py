"""A thread-safe pool of blocking PostgreSQL connections, for the synchronous stores (learning,
memory) that run their database work in threads.

The database is migrated on open. ``run`` does one unit of work on a pooled connection, in one
transaction when asked; a transaction PostgreSQL rolled back to break a deadlock (or a serialisation
failure) is run again after a short random pause, up to ``ATTEMPTS`` times; a lost server is a
``StoreUnavailableError``.
psycopg and psycopg-pool are the ``jotty[postgres]`` extra; importing this module needs them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from jotty.db.postgres import CONNECT_TIMEOUT, conninfo, describe, prepare_blocking, rolled_back_pause, translate
from jotty.errors import StoreError, StoreUnavailableError

log = logging.getLogger(__name__)
T = TypeVar("T")
Connection = psycopg.Connection[tuple[Any, ...]]
ATTEMPTS = 5
"""How many times a transaction PostgreSQL rolled back (deadlock, serialisation failure) is run."""
RETRIED = (psycopg.errors.TransactionRollback, psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure)
"""What PostgreSQL rolls back and may succeed when run again (psycopg makes the last two
``OperationalError``s, not ``TransactionRollback``s)."""


class BlockingPool:
    """Up to ``size`` connections to ``url`` (tables in ``schema`` if given), named ``application``
    on the server; ``timeout`` bounds the wait for a connection, in seconds."""

    def __init__(
        self, url: str, *, application: str, schema: str | None = None, size: int = 4, timeout: float = 30.0
    ) -> None:
        self.url = url
        self.location = describe(url, schema)
        prepare_blocking(url, schema=schema, application_name=application)
        self._pool: ConnectionPool[Connection] = ConnectionPool(
            conninfo(url, schema, application),
            min_size=1,
            max_size=size,
            timeout=timeout,
            open=False,
            check=ConnectionPool.check_connection,  # replaces a connection the server dropped
            kwargs={"autocommit": True, "connect_timeout": CONNECT_TIMEOUT},
            name=application.replace(" ", "-"),
        )
        try:
            self._pool.open(wait=True, timeout=timeout)
        except PoolTimeout as exc:
            self._pool.close()
            raise (translate(exc, url) or StoreUnavailableError(str(exc))) from exc

    def run(self, work: Callable[[Connection], T], *, transaction: bool = False, what: str = "a write") -> T:
        """``work`` on a pooled connection, in one transaction if asked. ``what`` names the work in
        the error raised when PostgreSQL keeps rolling it back."""
        attempt = 0
        while True:
            attempt += 1
            try:
                with self._pool.connection() as conn:
                    if not transaction:
                        return work(conn)
                    with conn.transaction():
                        return work(conn)
            except RETRIED as exc:
                if attempt >= ATTEMPTS:
                    raise StoreError(
                        f"PostgreSQL at {self.location} rolled back {what} {attempt} times ({exc}): try again"
                    ) from exc
                log.debug("%s rolled back (%s); running it again", what, exc)
                time.sleep(rolled_back_pause(attempt))
            except (psycopg.OperationalError, PoolTimeout) as exc:
                raise (translate(exc, self.url) or StoreUnavailableError(str(exc))) from exc

    def close(self) -> None:
        """Close every connection."""
        self._pool.close()
