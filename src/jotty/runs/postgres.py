"""``PostgresRunStore``: runs, step checkpoints and events in PostgreSQL.

The statements are the SQLite store's portable SQL (``jotty.runs.sql``) with psycopg's ``%s``
placeholders, and rows become records through the same helpers. Each write is one short
transaction on a pooled connection. The writes of one store object go one at a time, so event ids
grow in commit order: a reader tailing a run with ``after=`` never skips an event that committed
late.

psycopg and psycopg-pool are the ``jotty[postgres]`` extra; importing this module needs them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

import psycopg
from psycopg import AsyncCursor
from psycopg.rows import tuple_row
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from jotty.db.postgres import (
    AsyncConn,
    check_schema,
    conninfo,
    describe,
    format_placeholders,
    open_pool,
    server_url,
    translate,
)
from jotty.errors import RunError, StoreError, StoreUnavailableError, ValidationError
from jotty.events import Event
from jotty.runs import sql
from jotty.runs.records import Checkpoint, RunRecord, RunStatus, RunSummary
from jotty.runs.store import RunFinish, RunStore, StoredEvent

log = logging.getLogger(__name__)
Row = tuple[Any, ...]


class PostgresRunStore(RunStore):
    """Runs, checkpoints and events in PostgreSQL, shared by processes on any number of machines.

    ``url`` is ``postgresql://USER[:PASSWORD]@HOST[:PORT]/DB`` (default ``JOTTY_DATABASE_URL``);
    ``schema`` puts the tables in that schema (created if missing) instead of the connection's
    ``search_path``. The pool (at most ``pool_size`` connections) opens and the schema migrates
    on first use, in the event loop that uses the store: use one store object per event loop.
    """

    def __init__(self, url: str | None = None, *, schema: str | None = None, pool_size: int = 4) -> None:
        self.url = server_url(url, "PostgresRunStore")
        if isinstance(pool_size, bool) or not isinstance(pool_size, int) or pool_size < 1:
            raise ValidationError(f"pool_size must be a whole number >= 1, got {pool_size!r}")
        self.schema = None if schema is None else check_schema(schema)
        conninfo(self.url, self.schema)  # a malformed URL is reported now, not at first use
        self.location = describe(self.url, self.schema)
        self._pool_size = pool_size
        self._pool: AsyncConnectionPool[AsyncConn] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False
        self._opening = asyncio.Lock()
        self._writing = asyncio.Lock()

    def __repr__(self) -> str:
        return f"PostgresRunStore({self.location!r})"

    async def _ready(self) -> AsyncConnectionPool[AsyncConn]:
        loop = asyncio.get_running_loop()
        if self._loop is not None and self._loop is not loop:
            raise StoreError(
                f"this PostgresRunStore ({self.location}) was opened in another event loop: open one "
                "store per event loop (per asyncio.run), or pass the URL as store= and let each run open it"
            )
        if self._pool is not None:
            return self._pool
        if self._closed:
            raise StoreError(f"this PostgresRunStore ({self.location}) was closed: open a new one")
        async with self._opening:
            if self._pool is None:
                self._pool = await open_pool(
                    self.url,
                    schema=self.schema,
                    application_name="jotty runs",
                    max_size=self._pool_size,
                    check=True,
                )
                self._loop = loop
        return self._pool

    @contextlib.asynccontextmanager
    async def _cursor(self) -> AsyncIterator[AsyncCursor[Row]]:
        """A cursor on a pooled connection; losing the server is a ``StoreUnavailableError``."""
        pool = await self._ready()
        try:
            async with pool.connection() as conn, conn.cursor(row_factory=tuple_row) as cursor:
                yield cursor
        except (psycopg.OperationalError, PoolTimeout) as exc:
            raise (translate(exc, self.url) or StoreUnavailableError(str(exc))) from exc

    async def _fetch(self, statement: str, params: Sequence[Any]) -> list[Row]:
        async with self._cursor() as cursor:
            await cursor.execute(format_placeholders(statement), params)
            return await cursor.fetchall()

    async def _write(self, statements: Sequence[tuple[str, Sequence[Any]]], events: list[Row]) -> None:
        """Write in one transaction. A write that started completes even if its caller is cancelled
        (an SQLite write cannot be interrupted either): a step that finished keeps its checkpoint
        when a Parallel cancels its siblings, and a resumed run does not repeat it."""
        write = asyncio.ensure_future(self._commit(statements, events))
        try:
            await asyncio.shield(write)
        except asyncio.CancelledError:
            write.add_done_callback(self._log_failure)
            raise

    async def _commit(self, statements: Sequence[tuple[str, Sequence[Any]]], events: list[Row]) -> None:
        async with self._writing, self._cursor() as cursor, cursor.connection.transaction():
            for statement, params in statements:
                await cursor.execute(format_placeholders(statement), params)
            if events:
                await cursor.executemany(format_placeholders(sql.INSERT_EVENT), events)

    def _log_failure(self, write: asyncio.Future[None]) -> None:
        if not write.cancelled() and write.exception() is not None:
            log.error("a write to %s whose caller was cancelled failed", self.location, exc_info=write.exception())

    async def create_run(
        self, run_id: str, flow: str, shape: str, input: Any, owner: str, metadata: dict[str, Any] | None = None
    ) -> None:
        params = sql.run_params(run_id, flow, shape, input, metadata, owner, time.time())
        try:
            await self._write([(sql.INSERT_RUN, params)], [])
        except psycopg.errors.UniqueViolation as exc:
            raise RunError(
                f"run {run_id!r} was started by another process a moment ago: run it again to resume "
                "it once that process is done, or use a new run_id"
            ) from exc

    async def claim_run(self, run_id: str, owner: str) -> None:
        await self._write([(sql.CLAIM_RUN, (owner, time.time(), run_id))], [])

    async def get_run(self, run_id: str) -> RunRecord | None:
        async with self._cursor() as cursor:
            await cursor.execute(format_placeholders(sql.SELECT_RUN), (run_id,))
            row = await cursor.fetchone()
            if row is None:
                return None
            await cursor.execute(format_placeholders(sql.SELECT_STEP_RECORDS), (run_id,))
            steps = [r[0] for r in await cursor.fetchall()]
        return sql.record_from_row(row, steps)

    async def list_runs(self, *, status: RunStatus | None = None, limit: int = 50) -> list[RunSummary]:
        if status is None:
            rows = await self._fetch(sql.LIST_RUNS, (limit,))
        else:
            rows = await self._fetch(sql.LIST_RUNS_BY_STATUS, (str(status), limit))
        return [sql.summary_from_row(r) for r in rows]

    async def load_checkpoints(self, run_id: str) -> list[Checkpoint]:
        return [sql.checkpoint_from_row(*row) for row in await self._fetch(sql.SELECT_STEPS, (run_id,))]

    async def save_checkpoint(self, run_id: str, checkpoint: Checkpoint, events: Sequence[Event]) -> None:
        params = sql.step_params(run_id, checkpoint, time.time())
        await self._write([(sql.UPSERT_STEP, params)], sql.event_params(run_id, events))

    async def save_events(self, run_id: str, events: Sequence[Event]) -> None:
        if events:
            await self._write([], sql.event_params(run_id, events))

    async def finish_run(self, run_id: str, finish: RunFinish, events: Sequence[Event]) -> None:
        params = sql.finish_params(run_id, finish, time.time())
        await self._write([(sql.FINISH_RUN, params)], sql.event_params(run_id, events))

    async def get_events(self, run_id: str, *, after: int = 0, limit: int = 10_000) -> list[StoredEvent]:
        rows = await self._fetch(sql.SELECT_EVENTS, (run_id, after, limit))
        return [sql.event_from_row(run_id, r) for r in rows]

    async def close(self) -> None:
        self._closed = True
        async with self._writing:  # let a write whose caller was cancelled finish first
            pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()
