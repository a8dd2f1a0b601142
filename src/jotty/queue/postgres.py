"""``PostgresTaskQueue``: the durable queue on PostgreSQL, for workers on many machines.

- Claims are one statement: ``SELECT ... FOR UPDATE SKIP LOCKED`` picks the next runnable rows in
  queue order, the same statement leases them and writes their history. Concurrent workers never
  wait on each other's rows and never get the same task.
- Every fenced change (complete, fail, release) matches ``status = 'in_progress' AND lease_id``;
  a reaper and a late worker racing for one row are serialised by the row lock, so exactly one wins.
- New work (enqueue, release, retry, reaped leases) sends ``NOTIFY`` inside its transaction; idle
  workers ``LISTEN`` on a dedicated connection and wake within milliseconds on every host.
- A connection the server dropped (restart, ``pg_terminate_backend``) is replaced and the
  operation retried once on a fresh one; a transaction PostgreSQL rolled back (deadlock,
  serialisation failure) runs again up to ``ROLLED_BACK_ATTEMPTS`` times. The two budgets are
  separate: a rerun after a deadlock does not use up the reconnect, nor the reconnect the reruns.

Times of leases and backoffs are epoch seconds from the workers' clocks (keep hosts NTP-synced;
leases should be far longer than any clock skew).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from functools import partial
from typing import Any, TypeVar

import psycopg
from psycopg import errors, sql
from psycopg.rows import DictRow
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from jotty.db.location import redact, resolve_store
from jotty.db.postgres import AsyncConn, check_schema, connect, open_pool, rolled_back_pause, translate
from jotty.errors import StoreError, StoreUnavailableError, ValidationError
from jotty.queue.base import Filters, HistoryEntry, TaskQueue
from jotty.queue.policy import HOSTNAME, plan_failure, task_id_prefix, transition_values
from jotty.queue.task import (
    TASK_COLUMNS,
    Task,
    TaskStatus,
    format_time,
    parse_list,
    parse_time,
    stored_updates,
    time_key,
    utcnow,
)
from jotty.queue.wake import ServerListener

log = logging.getLogger(__name__)
T = TypeVar("T")

_COLUMNS = sql.SQL(", ").join(sql.Identifier(c) for c in TASK_COLUMNS)
# Column types of the tasks table (migrations/postgres): rows are inserted as one array per column.
_INT_COLUMNS = frozenset({"priority", "progress_percent", "pid", "retry_count", "max_retries"})
_FLOAT_COLUMNS = frozenset({"estimated_hours", "actual_hours", "run_after", "lease_expires_at"})
_TIME_COLUMNS = frozenset({"created_at", "started_at", "completed_at", "last_heartbeat"})


def _array_type(column: str) -> str:
    if column in _INT_COLUMNS:
        return "integer[]"
    if column in _FLOAT_COLUMNS:
        return "double precision[]"
    return "timestamp[]" if column in _TIME_COLUMNS else "text[]"


_UNNEST_ROWS = sql.SQL("SELECT * FROM unnest({})").format(
    sql.SQL(", ").join(sql.SQL("{}::" + _array_type(c)).format(sql.Placeholder(f"c_{c}")) for c in TASK_COLUMNS)
)
_INSERT = sql.SQL("INSERT INTO tasks ({}) {}").format(_COLUMNS, _UNNEST_ROWS).as_string(None)
# New tasks in one statement: the day's id counter moves past the k rows without an id (on the
# day's first use it starts from the table), those rows get TASK-YYYYMMDD-NNNNN ids in order, the
# rows and their 'created' history are written and idle workers are notified. Returns the ids.
_CREATE = (
    sql.SQL(
        """WITH bumped AS (
    UPDATE jotty_id_counters SET last = last + %(k)s WHERE day = %(day)s AND %(k)s > 0 RETURNING last
), seeded AS (
    INSERT INTO jotty_id_counters AS c (day, last)
    SELECT %(day)s, %(k)s + COALESCE((SELECT MAX(substr(task_id, %(start)s)::bigint) FROM tasks
        WHERE starts_with(task_id, %(prefix)s) AND substr(task_id, %(start)s) ~ '^[0-9]{{1,12}}$'), 0)
    WHERE %(k)s > 0 AND NOT EXISTS (SELECT 1 FROM bumped)
    ON CONFLICT (day) DO UPDATE SET last = c.last + %(k)s RETURNING last
), base AS (
    SELECT COALESCE((SELECT last FROM bumped), (SELECT last FROM seeded), %(k)s) - %(k)s AS n
), given AS (
    SELECT u.*, count(*) FILTER (WHERE u.task_id IS NULL) OVER (ORDER BY u.ord) AS fresh
    FROM unnest({arrays}) WITH ORDINALITY AS u({columns}, ord)
), numbered AS (
    SELECT g.*, COALESCE(g.task_id, %(prefix)s || lpad((b.n + g.fresh)::text,
        greatest(5, length((b.n + g.fresh)::text)), '0')) AS new_id
    FROM given g CROSS JOIN base b
), created AS (
    INSERT INTO tasks ({columns}) SELECT new_id, {rest} FROM numbered ORDER BY ord RETURNING task_id, status
), logged AS (
    INSERT INTO jotty_task_history (task_id, from_status, to_status, actor, reason, at)
    SELECT task_id, NULL, status, %(actor)s, 'created', %(at)s FROM created
), woken AS (SELECT pg_notify(%(channel)s, '') AS sent)
SELECT new_id FROM numbered CROSS JOIN woken ORDER BY ord"""
    )
    .format(
        arrays=sql.SQL(", ").join(
            sql.SQL("{}::" + _array_type(c)).format(sql.Placeholder(f"c_{c}")) for c in TASK_COLUMNS
        ),
        columns=_COLUMNS,
        rest=sql.SQL(", ").join(sql.Identifier(c) for c in TASK_COLUMNS if c != "task_id"),
    )
    .as_string(None)
)
_HISTORY = "INSERT INTO jotty_task_history (task_id, from_status, to_status, actor, reason, at) VALUES (%s, %s, %s, %s, %s, %s)"  # noqa: E501
_NOTIFY = "SELECT pg_notify(%s, '')"
_ASYNC_COMMIT = "SET LOCAL synchronous_commit = off"
_CLEAR_LEASE = "pid = NULL, lease_id = NULL, lease_owner = NULL, lease_expires_at = NULL"
# Dependencies are JSON arrays; comma-separated text (the supervisor's legacy form) is read too.
_DEPS_DONE = """(t.depends_on IS NULL OR t.depends_on IN ('', '[]') OR NOT EXISTS (
    SELECT 1 FROM jsonb_array_elements_text(CASE WHEN left(ltrim(t.depends_on), 1) = '[' THEN t.depends_on::jsonb
        ELSE to_jsonb(string_to_array(replace(t.depends_on, ' ', ''), ',')) END) AS d(id)
    LEFT JOIN tasks dep ON dep.task_id = d.id
    WHERE dep.status IS DISTINCT FROM 'completed'))"""
_CLAIM = """WITH picked AS (
    SELECT t.task_id FROM tasks t
    WHERE t.status = 'pending' AND (t.run_after IS NULL OR t.run_after <= %(now)s) {filters} AND {deps}
    ORDER BY t.priority, t.created_at, t.task_id
    LIMIT %(n)s FOR UPDATE SKIP LOCKED
), claimed AS (
    UPDATE tasks SET status = 'in_progress', lease_id = replace(gen_random_uuid()::text, '-', ''),
        lease_owner = %(worker)s, lease_expires_at = %(expires)s, pid = %(pid)s, host = %(host)s,
        started_at = %(stamp)s, last_heartbeat = %(stamp)s, run_after = NULL
    FROM picked WHERE tasks.task_id = picked.task_id
    RETURNING tasks.*
), logged AS (
    INSERT INTO jotty_task_history (task_id, from_status, to_status, actor, reason, at)
    SELECT task_id, 'pending', 'in_progress', %(worker)s, 'claimed', %(stamp)s FROM claimed
)
SELECT * FROM claimed"""
_HEARTBEAT = """UPDATE tasks SET last_heartbeat = %(stamp)s,
    lease_expires_at = CASE WHEN lease_id IS NULL THEN NULL ELSE %(expires)s END,
    progress_percent = COALESCE(%(progress)s, progress_percent)
WHERE task_id = %(task_id)s AND status = 'in_progress' AND (%(lease_id)s::text IS NULL OR lease_id = %(lease_id)s)"""
_COMPLETE = f"""WITH items AS (
    SELECT * FROM unnest(%(ids)s::text[], %(leases)s::text[], %(results)s::text[]) AS i(task_id, lease_id, result)
), done AS (
    UPDATE tasks t SET status = 'completed', {_CLEAR_LEASE}, completed_at = %(stamp)s, progress_percent = 100,
        error_message = NULL, result = i.result,
        actual_hours = EXTRACT(EPOCH FROM (%(stamp)s::timestamp - t.started_at)) / 3600
    FROM items i WHERE t.task_id = i.task_id AND t.status = 'in_progress' AND t.lease_id = i.lease_id
    RETURNING t.task_id, t.parent_id
), logged AS (
    INSERT INTO jotty_task_history (task_id, from_status, to_status, actor, reason, at)
    SELECT task_id, 'in_progress', 'completed', %(actor)s, 'completed', %(stamp)s FROM done
)
SELECT task_id, parent_id FROM done"""
_HELD = "SELECT * FROM tasks WHERE task_id = %s AND status = 'in_progress' AND lease_id = %s FOR UPDATE"
_RUNNING = "SELECT * FROM tasks WHERE task_id = %s AND status = 'in_progress' FOR UPDATE"
_EXPIRED = "SELECT * FROM tasks WHERE status = 'in_progress' AND lease_expires_at < %s FOR UPDATE SKIP LOCKED"
_GIVE_UP = f"""UPDATE tasks SET status = %s, {_CLEAR_LEASE}, error_message = %s, retry_count = %s, run_after = %s,
    completed_at = COALESCE(%s, completed_at) WHERE task_id = %s"""
_RELEASE = f"UPDATE tasks SET status = 'pending', {_CLEAR_LEASE}, run_after = NULL WHERE task_id = %s"
_DEPENDENTS = """SELECT task_id, status, depends_on, parent_id FROM tasks
WHERE status IN ('pending', 'backlog') AND strpos(depends_on, %s) > 0 ORDER BY task_id FOR UPDATE"""
_BLOCK = "UPDATE tasks SET status = 'blocked' WHERE task_id = %s"
_LOCK_TASKS = "SELECT task_id FROM tasks WHERE task_id = ANY(%s) ORDER BY task_id FOR UPDATE"
_ROLL_UP = """UPDATE tasks p SET progress_percent = (
    SELECT 100 * count(*) FILTER (WHERE c.status = 'completed') / count(*) FROM tasks c WHERE c.parent_id = p.task_id)
WHERE p.task_id = ANY(%s) AND EXISTS (SELECT 1 FROM tasks c WHERE c.parent_id = p.task_id)"""
_RESET_COUNTER = "DELETE FROM jotty_id_counters WHERE day = %s"
_EXISTING = "SELECT task_id FROM tasks WHERE task_id = ANY(%s) ORDER BY task_id"
_FETCH = "SELECT * FROM tasks WHERE task_id = %s"
_COUNT_BY_STATUS = "SELECT status, COUNT(*) AS n FROM tasks GROUP BY status"
_DEPENDENCY_MAP = "SELECT task_id, depends_on FROM tasks WHERE task_id = ANY(%s)"
_STATUS_FOR_UPDATE = "SELECT status, parent_id FROM tasks WHERE task_id = %s FOR UPDATE"
_DELETE = "DELETE FROM tasks WHERE task_id = %s RETURNING parent_id"
_DELETE_HISTORY = "DELETE FROM jotty_task_history WHERE task_id = ANY(%s)"
_DELETE_TASKS = "DELETE FROM tasks WHERE task_id = ANY(%s)"
_HISTORY_OF = """SELECT task_id, from_status, to_status, actor, reason, at FROM jotty_task_history
WHERE task_id = %s ORDER BY id"""
_SAVE_TEMPLATE = """INSERT INTO jotty_task_templates (name, fields, created_at) VALUES (%s, %s, %s)
ON CONFLICT (name) DO UPDATE SET fields = excluded.fields"""
_LOAD_TEMPLATE = "SELECT fields FROM jotty_task_templates WHERE name = %s"
_ALL_TEMPLATES = "SELECT name, fields FROM jotty_task_templates ORDER BY name"
_NEXT_DUE = """SELECT LEAST(
    (SELECT MIN(run_after) FROM tasks WHERE status = 'pending' AND run_after IS NOT NULL),
    (SELECT MIN(lease_expires_at) FROM tasks WHERE status = 'in_progress')) AS due"""
_ORDER = " ORDER BY priority, created_at, task_id"

_RETRIED = (errors.DeadlockDetected, errors.SerializationFailure)
ROLLED_BACK_ATTEMPTS = 5
"""How many times a queue transaction PostgreSQL rolled back (deadlock, serialisation failure) runs."""


Shape = tuple[tuple[str, str], ...]
"""Validated filters without their values: (column, 'eq' | 'null' | 'any' | 'any_or_null') each."""


def _shape(filters: Filters) -> Shape:
    def kind(value: Any) -> str:
        if isinstance(value, list):
            return "any_or_null" if None in value else "any"
        return "null" if value is None else "eq"

    return tuple((column, kind(value)) for column, value in filters)


def _where(shape: Shape, alias: str = "") -> str:
    """Conditions for filters of this shape: column names are task columns, values are bound."""
    parts: list[sql.Composable] = []
    for i, (column, kind) in enumerate(shape):
        name = sql.Identifier(*([alias, column] if alias else [column]))
        mark = sql.Placeholder(f"f{i}")
        test = {
            "eq": sql.SQL("{name} = {mark}"),
            "null": sql.SQL("{name} IS NULL"),
            "any": sql.SQL("{name} = ANY({mark})"),
            "any_or_null": sql.SQL("({name} = ANY({mark}) OR {name} IS NULL)"),
        }[kind]
        parts.append(test.format(name=name, mark=mark))
    return sql.SQL(" AND ").join(parts).as_string(None)


@functools.lru_cache(maxsize=256)
def _claim_sql(shape: Shape) -> str:
    return _CLAIM.format(filters="AND " + _where(shape, "t") if shape else "", deps=_DEPS_DONE)


@functools.lru_cache(maxsize=256)
def _select_sql(shape: Shape, limited: bool) -> str:
    where = " WHERE " + _where(shape) if shape else ""
    return f"SELECT * FROM tasks{where}{_ORDER}{' LIMIT %(limit)s' if limited else ''}"


@functools.lru_cache(maxsize=256)
def _count_sql(shape: Shape) -> str:
    return "SELECT COUNT(*) AS n FROM tasks" + (" WHERE " + _where(shape) if shape else "")


@functools.lru_cache(maxsize=256)
def _update_sql(columns: tuple[str, ...]) -> str:
    sets = sql.SQL(", ").join(sql.SQL("{} = {}").format(sql.Identifier(c), sql.Placeholder(f"v_{c}")) for c in columns)
    return sql.SQL("UPDATE tasks SET {} WHERE task_id = %(task_id)s").format(sets).as_string(None)


def _params(filters: Filters) -> dict[str, Any]:
    return {f"f{i}": value for i, (_, value) in enumerate(filters) if value is not None}


def _history_entry(r: DictRow) -> HistoryEntry:
    at = parse_time(r["at"]) or utcnow()
    return HistoryEntry(r["task_id"], r["from_status"], r["to_status"], r["actor"], r["reason"], at)


def _column_arrays(rows: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """Rows (``Task.to_row`` form) as one typed list per column, for ``_INSERT`` and ``_CREATE``."""
    out: dict[str, list[Any]] = {}
    for column in TASK_COLUMNS:
        values = [r[column] for r in rows]
        if column in _FLOAT_COLUMNS:
            values = [None if v is None else float(v) for v in values]
        elif column in _INT_COLUMNS:
            values = [None if v is None else int(v) for v in values]
        out[f"c_{column}"] = values
    return out


def _sorted(tasks: list[Task]) -> list[Task]:
    tasks.sort(key=lambda t: (t.priority, time_key(t.created_at), t.task_id))
    return tasks


class PostgresTaskQueue(TaskQueue):
    """A durable ``TaskQueue`` in PostgreSQL, shared by workers on any number of machines.

    ``url`` is ``postgresql://USER[:PASSWORD]@HOST[:PORT]/DB`` (default ``JOTTY_DATABASE_URL``);
    ``schema`` puts Jotty's tables in that schema (created if missing) instead of the connection's
    ``search_path``. The pool holds ``min_pool_size`` to ``pool_size`` connections; idle waiting
    uses one more. The connection opens, and the schema migrates, on first use or ``await open()``.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        schema: str | None = None,
        pool_size: int = 10,
        min_pool_size: int = 1,
        pool_timeout: float = 30.0,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        location = resolve_store(url)
        if location.kind != "postgresql":
            raise ValidationError(
                "PostgresTaskQueue needs a postgresql:// URL (or JOTTY_DATABASE_URL set to one), "
                f"got {location.target!r}"
            )
        if not 1 <= min_pool_size <= pool_size:
            raise ValidationError(f"need 1 <= min_pool_size <= pool_size, got {min_pool_size} and {pool_size}")
        self.url = location.target
        self.schema = check_schema(schema) if schema is not None else None
        self.application_name = f"jotty {self.worker_id}"
        self._pool_sizes = (min_pool_size, pool_size)
        self._pool_timeout = pool_timeout
        self._pool: AsyncConnectionPool[AsyncConn] | None = None
        self._open_lock = asyncio.Lock()
        self._channel = ""
        self._closed = False
        self._listener = ServerListener(self._listen, (psycopg.Error, StoreError), "PostgreSQL")

    def __repr__(self) -> str:
        return f"PostgresTaskQueue({redact(self.url)!r}, schema={self.schema!r})"

    # ------------------------------------------------------------------ connections

    async def open(self) -> PostgresTaskQueue:
        """Connect and migrate now (otherwise the first operation does)."""
        await self._ready()
        return self

    async def __aenter__(self) -> PostgresTaskQueue:
        return await self.open()

    async def _ready(self) -> AsyncConnectionPool[AsyncConn]:
        if self._pool is not None:
            return self._pool
        if self._closed:
            raise ValidationError("this queue was closed: create a new PostgresTaskQueue")
        async with self._open_lock:
            if self._pool is None:
                low, high = self._pool_sizes
                pool = await open_pool(
                    self.url,
                    schema=self.schema,
                    application_name=self.application_name,
                    min_size=low,
                    max_size=high,
                    timeout=self._pool_timeout,
                )
                async with pool.connection() as conn:
                    row = await (await conn.execute("SELECT current_schema() AS s")).fetchone()
                self._channel = f"jotty_wake_{row['s'] if row else 'public'}"[:63]
                self._pool = pool
        return self._pool

    async def _run(self, fn: Callable[[AsyncConn], Awaitable[T]], *, tx: bool = True) -> T:
        """Run ``fn`` on a pooled connection, in one transaction unless ``tx`` is False.

        Two separate budgets: a transaction PostgreSQL rolled back (deadlock, serialisation
        failure) runs again after ``rolled_back_pause``, up to ``ROLLED_BACK_ATTEMPTS`` times in all;
        a connection the server dropped is replaced and ``fn`` run again once. Neither uses up the
        other; a ``StoreError`` (``StoreUnavailableError`` for the connection) says which ran out.
        Any other error on a connection still open (a statement canceled by ``statement_timeout``)
        is raised at once: running it again would only wait as long again.
        """
        pool = await self._ready()
        rolled_back = 0
        reconnected = False
        while True:
            conn: AsyncConn | None = None
            try:
                async with pool.connection() as conn:
                    if not tx:
                        return await fn(conn)
                    async with conn.transaction():
                        return await fn(conn)
            except _RETRIED as exc:
                rolled_back += 1
                if rolled_back >= ROLLED_BACK_ATTEMPTS:
                    raise StoreError(
                        f"PostgreSQL at {redact(self.url)} rolled back a queue transaction {rolled_back} times "
                        f"({exc.diag.message_primary or exc}): try again"
                    ) from exc
                log.debug("PostgreSQL rolled back a queue transaction (%s); running it again", exc)
                await asyncio.sleep(rolled_back_pause(rolled_back))
            except PoolTimeout as exc:  # an OperationalError too: before it, or taken for a lost connection
                raise (translate(exc, self.url) or StoreUnavailableError(str(exc))) from exc
            except psycopg.OperationalError as exc:
                error = translate(exc, self.url) or StoreUnavailableError(str(exc))
                if conn is not None and not conn.closed:  # the server answered: a canceled statement, say
                    raise error from exc
                if reconnected:
                    raise type(error)(
                        f"the queue lost its PostgreSQL connection again after reconnecting once; {error}"
                    ) from exc
                reconnected = True
                log.info("PostgreSQL connection lost (%s); retrying on a fresh connection", exc)
                await pool.check()  # replace every idle connection the server dropped too

    async def _notify_in(self, conn: AsyncConn) -> None:
        """Wake idle workers on every host when this transaction commits."""
        await conn.execute(_NOTIFY, (self._channel,))

    # ------------------------------------------------------------------ shared SQL steps

    @staticmethod
    async def _log(conn: AsyncConn, entries: list[tuple[str, str | None, str, str | None, str | None]]) -> None:
        at = format_time(utcnow())
        async with conn.cursor() as cur:
            await cur.executemany(_HISTORY, [(*e, at) for e in entries])

    async def _set_status(self, conn: AsyncConn, task_id: str, before: str | None, after: TaskStatus,
                          actor: str | None, reason: str | None, parent_id: str | None) -> None:  # fmt: skip
        """The follow-ups of a status change inside the current transaction."""
        await self._log(conn, [(task_id, before, str(after), actor, reason)])
        if after in (TaskStatus.FAILED, TaskStatus.CANCELLED):
            await self._block_dependents(conn, task_id, actor)
        if parent_id is not None:
            await self._roll_up(conn, [parent_id])

    async def _block_dependents(self, conn: AsyncConn, task_id: str, actor: str | None) -> None:
        frontier = [task_id]
        while frontier:
            current = frontier.pop()
            rows = await (await conn.execute(_DEPENDENTS, (current,))).fetchall()
            for row in rows:
                if current not in parse_list(row["depends_on"]):
                    continue
                await conn.execute(_BLOCK, (row["task_id"],))
                reason = f"dependency {current} did not complete"
                await self._log(conn, [(row["task_id"], row["status"], "blocked", actor, reason)])
                if row["parent_id"] is not None:
                    await self._roll_up(conn, [row["parent_id"]])
                frontier.append(row["task_id"])

    @staticmethod
    async def _roll_up(conn: AsyncConn, parents: Iterable[str]) -> None:
        """Recount the parents' progress from their children. The parents are locked first, so the
        recount (a new statement) sees every sibling that finished before."""
        ids = sorted(set(parents))
        await conn.execute(_LOCK_TASKS, (ids,))
        await conn.execute(_ROLL_UP, (ids,))

    async def _give_up(self, conn: AsyncConn, row: DictRow, now: float, error: str, actor: str | None,
                       reason: str, retry: bool) -> TaskStatus:  # fmt: skip
        """An attempt ended without success: retry after a backoff, or fail for good."""
        plan = plan_failure(row["retry_count"] or 0, row["max_retries"] or 0, now, self.retry_policy, retry=retry)
        completed = format_time(utcnow()) if plan.status == TaskStatus.FAILED else None
        await conn.execute(
            _GIVE_UP, (str(plan.status), error, plan.retry_count, plan.run_after, completed, row["task_id"])
        )
        await self._set_status(conn, row["task_id"], row["status"], plan.status, actor, reason, row["parent_id"])
        return plan.status

    # ------------------------------------------------------------------ creating

    async def _insert_tx(self, conn: AsyncConn, tasks: list[Task], actor: str) -> list[str]:
        now = utcnow()
        prefix = task_id_prefix(now)
        rows = [t.to_row() for t in tasks]
        for row in rows:
            row["task_id"] = row["task_id"] or None
        params = {
            **_column_arrays(rows),
            "k": sum(1 for t in tasks if not t.task_id),
            "day": f"{now:%Y%m%d}",
            "prefix": prefix,
            "start": len(prefix) + 1,
            "actor": actor,
            "at": format_time(now),
            "channel": self._channel,
        }
        ids = [r["new_id"] for r in await (await conn.execute(_CREATE, params)).fetchall()]
        parents = {t.parent_id for t in tasks if t.parent_id is not None}
        if parents:
            await self._roll_up(conn, parents)
        return ids

    async def _insert(self, tasks: list[Task], actor: str) -> list[str]:
        for attempt in (1, 2):
            try:
                # One statement; a transaction only when parents must be recounted with it.
                with_parents = any(t.parent_id is not None for t in tasks)
                ids = await self._run(lambda conn: self._insert_tx(conn, tasks, actor), tx=with_parents)
                break
            except errors.UniqueViolation:
                taken = await self._run(partial(self._existing, ids=[t.task_id for t in tasks if t.task_id]), tx=False)
                if attempt == 2 or taken:
                    first = taken[0] if taken else "?"
                    raise ValidationError(f"task id {first} already exists: choose another id or omit it") from None
                # A generated id collided with one written some other way: recount from the table once.
                await self._run(self._reset_counter, tx=False)
        for t, task_id in zip(tasks, ids, strict=True):
            t.task_id = task_id
        return ids

    @staticmethod
    async def _existing(conn: AsyncConn, *, ids: list[str]) -> list[str]:
        return [r["task_id"] for r in await (await conn.execute(_EXISTING, (ids,))).fetchall()]

    @staticmethod
    async def _reset_counter(conn: AsyncConn) -> None:
        await conn.execute(_RESET_COUNTER, (f"{utcnow():%Y%m%d}",))

    # ------------------------------------------------------------------ reading

    async def _fetch(self, task_id: str) -> Task | None:
        async def go(conn: AsyncConn) -> Task | None:
            row = await (await conn.execute(_FETCH, (task_id,))).fetchone()
            return Task.from_row(row) if row is not None else None

        return await self._run(go, tx=False)

    async def _select(self, filters: Filters, limit: int | None) -> list[Task]:
        query = _select_sql(_shape(filters), limit is not None)
        params = {**_params(filters), "limit": limit}

        async def go(conn: AsyncConn) -> list[Task]:
            return [Task.from_row(r) for r in await (await conn.execute(query, params)).fetchall()]

        return await self._run(go, tx=False)

    async def _count(self, filters: Filters) -> int:
        query = _count_sql(_shape(filters))

        async def go(conn: AsyncConn) -> int:
            row = await (await conn.execute(query, _params(filters))).fetchone()
            return int(row["n"]) if row is not None else 0

        return await self._run(go, tx=False)

    async def _count_by_status(self) -> dict[str, int]:
        async def go(conn: AsyncConn) -> dict[str, int]:
            return {r["status"]: int(r["n"]) for r in await (await conn.execute(_COUNT_BY_STATUS)).fetchall()}

        return await self._run(go, tx=False)

    async def _dependency_map(self, task_ids: set[str]) -> dict[str, list[str]]:
        if not task_ids:
            return {}

        async def go(conn: AsyncConn) -> dict[str, list[str]]:
            rows = await (await conn.execute(_DEPENDENCY_MAP, (sorted(task_ids),))).fetchall()
            return {r["task_id"]: parse_list(r["depends_on"]) for r in rows}

        return await self._run(go, tx=False)

    # ------------------------------------------------------------------ claiming and finishing

    async def _claim(self, n: int, filters: Filters, worker: str, lease: float, pid: int) -> list[Task]:
        query = _claim_sql(_shape(filters))
        now = time.time()
        stamp = format_time(utcnow())
        params = {"now": now, "n": n, "worker": worker, "expires": now + lease, "pid": pid, "host": HOSTNAME,
                  "stamp": stamp, **_params(filters)}  # fmt: skip

        async def go(conn: AsyncConn) -> list[DictRow]:
            # BEGIN, SET and the claim go out together. The commit does not wait for the disk: a
            # claim lost in a server crash only means the task runs again, as after any lost lease.
            async with conn.pipeline(), conn.transaction():
                await conn.execute(_ASYNC_COMMIT)
                return await (await conn.execute(query, params)).fetchall()

        async def claiming() -> list[Task]:
            # A claim changes no parent's count of completed children, so recounting the parents
            # afterwards cannot race with one.
            rows = await self._run(go, tx=False)
            parents = {r["parent_id"] for r in rows if r["parent_id"] is not None}
            if parents:
                await self._run(partial(self._roll_up, parents=parents))
            self._listener.start()
            return _sorted([Task.from_row(r) for r in rows])

        return await self._claim_shielded(claiming())

    async def _heartbeat(self, task_id: str, lease_id: str | None, lease: float, progress: int | None) -> bool:
        params = {"stamp": format_time(utcnow()), "expires": time.time() + lease, "progress": progress,
                  "task_id": task_id, "lease_id": lease_id}  # fmt: skip

        async def go(conn: AsyncConn) -> bool:
            return (await conn.execute(_HEARTBEAT, params)).rowcount > 0

        return await self._run(go, tx=False)

    async def _complete(self, items: list[tuple[str, str, Any]]) -> list[bool]:
        params = {
            "ids": [i[0] for i in items],
            "leases": [i[1] for i in items],
            "results": [json.dumps(i[2]) if i[2] is not None else None for i in items],
            "stamp": format_time(utcnow()),
            "actor": self.worker_id,
        }

        async def go(conn: AsyncConn) -> set[tuple[str, str]]:
            rows = await (await conn.execute(_COMPLETE, params)).fetchall()
            parents = {r["parent_id"] for r in rows if r["parent_id"] is not None}
            if parents:
                await self._roll_up(conn, parents)
            done = {r["task_id"] for r in rows}
            return {(task_id, lease_id) for task_id, lease_id, _ in items if task_id in done}

        done = await self._run(go)
        out = []
        for task_id, lease_id, _ in items:
            out.append((task_id, lease_id) in done)
            done.discard((task_id, lease_id))  # the same claim completes once
        return out

    async def _fail(self, task_id: str, lease_id: str, error: str, retry: bool) -> bool:
        async def go(conn: AsyncConn) -> bool:
            row = await (await conn.execute(_HELD, (task_id, lease_id))).fetchone()
            if row is None:
                return False
            status = await self._give_up(conn, row, time.time(), error, row["lease_owner"], f"failed: {error}", retry)
            if status == TaskStatus.PENDING:
                await self._notify_in(conn)
            return True

        return await self._run(go)

    async def _release(self, task_id: str, lease_id: str, reason: str) -> bool:
        async def go(conn: AsyncConn) -> bool:
            row = await (await conn.execute(_HELD, (task_id, lease_id))).fetchone()
            if row is None:
                return False
            await conn.execute(_RELEASE, (task_id,))
            await self._set_status(conn, task_id, "in_progress", TaskStatus.PENDING, row["lease_owner"], reason,
                                   row["parent_id"])  # fmt: skip
            await self._notify_in(conn)
            return True

        return await self._run(go)

    async def _reap(self, now: float) -> int:
        async def go(conn: AsyncConn) -> int:
            rows = await (await conn.execute(_EXPIRED, (now,))).fetchall()
            for row in rows:
                reason = f"lease expired (held by {row['lease_owner']})"
                await self._give_up(conn, row, now, reason, self.worker_id, reason, True)
            if rows:
                await self._notify_in(conn)
            return len(rows)

        return await self._run(go)

    async def _recover(self, task_ids: list[str], reason: str) -> int:
        async def go(conn: AsyncConn) -> int:
            now = time.time()
            count = 0
            for task_id in task_ids:
                row = await (await conn.execute(_RUNNING, (task_id,))).fetchone()
                if row is not None:
                    await self._give_up(conn, row, now, reason, self.worker_id, reason, True)
                    count += 1
            if count:
                await self._notify_in(conn)
            return count

        return await self._run(go)

    # ------------------------------------------------------------------ unfenced updates

    async def _transition(self, task_id: str, status: TaskStatus, updates: dict[str, Any], reason: str | None) -> bool:
        async def go(conn: AsyncConn) -> bool:
            row = await (await conn.execute(_STATUS_FOR_UPDATE, (task_id,))).fetchone()
            if row is None:
                return False
            values = transition_values(updates, status, row["status"])
            await conn.execute(
                _update_sql(tuple(values)), {**{f"v_{k}": v for k, v in values.items()}, "task_id": task_id}
            )
            if row["status"] != status:
                await self._set_status(conn, task_id, row["status"], status, self.worker_id, reason, row["parent_id"])
            elif row["parent_id"] is not None:
                await self._roll_up(conn, [row["parent_id"]])
            if status == TaskStatus.PENDING:
                await self._notify_in(conn)
            return True

        return await self._run(go)

    async def _update(self, task_id: str, updates: dict[str, Any]) -> bool:
        values = stored_updates(updates)
        query = _update_sql(tuple(values))
        params = {**{f"v_{k}": v for k, v in values.items()}, "task_id": task_id}

        async def go(conn: AsyncConn) -> bool:
            return (await conn.execute(query, params)).rowcount > 0

        return await self._run(go, tx=False)

    async def _delete(self, task_id: str) -> bool:
        async def go(conn: AsyncConn) -> bool:
            row = await (await conn.execute(_DELETE, (task_id,))).fetchone()
            if row is None:
                return False
            await conn.execute(_DELETE_HISTORY, ([task_id],))
            if row["parent_id"] is not None:
                await self._roll_up(conn, [row["parent_id"]])
            return True

        return await self._run(go)

    async def _history(self, task_id: str) -> list[HistoryEntry]:
        async def go(conn: AsyncConn) -> list[HistoryEntry]:
            rows = await (await conn.execute(_HISTORY_OF, (task_id,))).fetchall()
            return [_history_entry(r) for r in rows]

        return await self._run(go, tx=False)

    # ------------------------------------------------------------------ templates and import

    async def _save_template(self, name: str, fields_: dict[str, Any]) -> None:
        async def go(conn: AsyncConn) -> None:
            await conn.execute(_SAVE_TEMPLATE, (name, json.dumps(fields_), format_time(utcnow())))

        await self._run(go, tx=False)

    async def _load_template(self, name: str) -> dict[str, Any] | None:
        async def go(conn: AsyncConn) -> dict[str, Any] | None:
            row = await (await conn.execute(_LOAD_TEMPLATE, (name,))).fetchone()
            return json.loads(row["fields"]) if row is not None else None

        return await self._run(go, tx=False)

    async def _all_templates(self) -> dict[str, dict[str, Any]]:
        async def go(conn: AsyncConn) -> dict[str, dict[str, Any]]:
            rows = await (await conn.execute(_ALL_TEMPLATES)).fetchall()
            return {r["name"]: json.loads(r["fields"]) for r in rows}

        return await self._run(go, tx=False)

    async def _import(
        self, tasks: list[Task], history: list[HistoryEntry], templates: dict[str, Any], replace: bool
    ) -> None:
        ids = [t.task_id for t in tasks]

        async def go(conn: AsyncConn) -> None:
            clash = [r["task_id"] for r in await (await conn.execute(_LOCK_TASKS, (ids,))).fetchall()]
            if clash and not replace:
                raise ValidationError(
                    f"{len(clash)} imported task id(s) already exist (e.g. {clash[0]}): import into an "
                    "empty queue, or pass replace=True to overwrite them"
                )
            await conn.execute(_DELETE_TASKS, (clash,))
            await conn.execute(_DELETE_HISTORY, (ids,))
            await conn.execute(_INSERT, _column_arrays([t.to_row() for t in tasks]))
            async with conn.cursor() as cur:
                await cur.executemany(
                    _HISTORY,
                    [(h.task_id, h.from_status, h.to_status, h.actor, h.reason, format_time(h.at)) for h in history],
                )
                await cur.executemany(
                    _SAVE_TEMPLATE, [(n, json.dumps(f), format_time(utcnow())) for n, f in templates.items()]
                )
            await self._notify_in(conn)

        await self._run(go)

    # ------------------------------------------------------------------ waking and closing

    async def _listen(self, wake: Callable[[], None], ready: Callable[[], None]) -> None:
        """One LISTEN connection: every notification wakes the idle workers."""
        conn = await connect(self.url, schema=self.schema, application_name=self.application_name)
        try:
            await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self._channel)))
            ready()
            async for _ in conn.notifies():
                wake()
        finally:
            with contextlib.suppress(psycopg.Error):
                await conn.close()

    async def wait_for_work(self, timeout: float) -> bool:
        """Sleep until a NOTIFY says new work may be claimable (True), or ``timeout`` (False)."""
        await self._ready()
        return await self._listener.wait(timeout)

    async def next_due(self) -> float | None:
        async def go(conn: AsyncConn) -> float | None:
            row = await (await conn.execute(_NEXT_DUE)).fetchone()
            return float(row["due"]) if row is not None and row["due"] is not None else None

        return await self._run(go, tx=False)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self._listener.close()
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
