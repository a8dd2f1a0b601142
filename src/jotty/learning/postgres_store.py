"""The learning store on PostgreSQL, for routers in many processes on many machines.

The statements are the SQLite store's (``jotty.learning.sql``) with psycopg's ``%s`` placeholders.
Every write is one transaction of increments (``x = t.x + excluded.x``), so concurrent writers add
up. ``update_q`` reads its pairs with ``SELECT ... FOR UPDATE`` in the transaction that writes the
differences: runs updating the same pairs take turns and each computes from the other's result; a
pair that does not exist yet cannot be locked, and two runs creating it at once both add their
difference to it. Rows are written in key order; a deadlock (or serialisation failure) rolls the
transaction back and it is run again.

The ``LearningStore`` interface is synchronous: this store uses a thread-safe pool of blocking
connections (the Conductor calls the router from worker threads). psycopg and psycopg-pool are the
``jotty[postgres]`` extra; importing this module needs them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Sequence
from typing import Any, TypeVar

from jotty.db.blocking import BlockingPool, Connection
from jotty.db.postgres import check_schema, format_placeholders, server_url
from jotty.errors import ValidationError
from jotty.learning import sql
from jotty.learning.records import Key, Observation, QValue
from jotty.learning.store import QUpdateFn

T = TypeVar("T")


class PostgresLearningStore(sql.SQLLearningStore):
    """The learning tables in PostgreSQL (migrated on open). Safe to share between threads.

    ``url`` is ``postgresql://USER[:PASSWORD]@HOST[:PORT]/DB`` (default ``JOTTY_DATABASE_URL``);
    ``schema`` puts the tables in that schema (created if missing) instead of the connection's
    ``search_path``. The pool holds up to ``pool_size`` connections; ``timeout`` bounds the wait
    for one, in seconds.
    """

    def __init__(
        self, url: str | None = None, *, schema: str | None = None, pool_size: int = 4, timeout: float = 30.0
    ) -> None:
        self.url = server_url(url, "PostgresLearningStore")
        if isinstance(pool_size, bool) or not isinstance(pool_size, int) or pool_size < 1:
            raise ValidationError(f"pool_size must be a whole number >= 1, got {pool_size!r}")
        self.schema = None if schema is None else check_schema(schema)
        self._pool = BlockingPool(
            self.url, application="jotty learning", schema=self.schema, size=pool_size, timeout=timeout
        )
        self.location = self._pool.location

    def __repr__(self) -> str:
        return f"PostgresLearningStore({self.location!r})"

    def _run(self, work: Callable[[Connection], T], *, transaction: bool = False) -> T:
        """``work`` on a pooled connection, in one transaction if asked (see ``BlockingPool.run``)."""
        what = "a learning update (too many routers updating the same values at once)"
        return self._pool.run(work, transaction=transaction, what=what)

    def _rows(self, statement: str, params: Sequence[object] = ()) -> list[Any]:
        query = format_placeholders(statement)
        return self._run(lambda conn: conn.execute(query, params).fetchall())

    def update_q(self, keys: Collection[Key], update: QUpdateFn) -> dict[Key, tuple[QValue, QValue]]:
        states = sorted({state for state, _ in keys})
        actors = sorted({actor for _, actor in keys})
        where = sql.where_in("state", states, "actor", actors)
        locking = format_placeholders(f"{sql.SELECT_Q}{where} ORDER BY state, actor FOR UPDATE")

        def work(conn: Connection) -> dict[Key, tuple[QValue, QValue]]:
            rows = conn.execute(locking, [*states, *actors]).fetchall() if keys else []
            changes = sql.q_changes(sql.q_values_of(rows), update)
            with conn.cursor() as cursor:
                cursor.executemany(format_placeholders(sql.ADD_Q), sql.q_params(changes, time.time()))
            return changes

        return self._run(work, transaction=True)

    def add_observation(self, observation: Observation, goal_key: str) -> None:
        now = time.time()
        statement, params = sql.streak_change(observation, goal_key, now)

        def work(conn: Connection) -> None:
            with conn.cursor() as cursor:
                cursor.executemany(format_placeholders(sql.ADD_STATS), sql.stats_params(observation, now))
                cursor.execute(format_placeholders(statement), params)

        self._run(work, transaction=True)

    def close(self) -> None:
        self._pool.close()
