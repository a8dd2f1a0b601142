"""``RedisTaskQueue``: the durable queue on Redis, for workers on many machines.

Every change is one Lua script (``*.lua`` beside this file), so it is atomic on the server: a
claim picks and leases the next runnable tasks in one step; complete, fail and release check the
lease id (fencing) in the same step that changes the task. Failures and expired leases are
planned in Python by ``jotty.queue.policy.plan_failure`` and applied by a script only if the task
is still as it was read (compare-and-set), so many reapers and late workers can race safely.

Keys live under a prefix (``prefix=`` or ``redis://host:6379/0?prefix=...``; default ``jotty:``);
``lib.lua`` describes them. Idle workers wait on a pub/sub channel that every script publishing
new work notifies. A single Redis server (or a primary with replicas) is supported; Redis Cluster
is not, because the scripts touch keys they compute.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import fields
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any, get_type_hints
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import redis.asyncio as aioredis
from redis import exceptions as rx
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff

from jotty.db.location import resolve_store
from jotty.errors import SchemaVersionError, StoreUnavailableError, ValidationError
from jotty.queue import validation as check
from jotty.queue.base import Filters, HistoryEntry, TaskQueue
from jotty.queue.policy import HOSTNAME, plan_failure
from jotty.queue.task import (
    TASK_COLUMNS,
    Task,
    TaskStatus,
    format_time,
    new_lease_id,
    parse_list,
    parse_time,
    stored_updates,
    time_key,
    utcnow,
)
from jotty.queue.wake import ServerListener

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
"""The key layout this code writes; a Redis holding a newer one is refused."""
DEFAULT_PREFIX = "jotty:"
_SCRIPTS = ("claim", "complete", "give_up", "release", "heartbeat", "update", "insert", "delete", "import")
_CONNECTION_ERRORS = (rx.ConnectionError, rx.TimeoutError)


def _column_types() -> dict[str, type]:
    hints = get_type_hints(Task)
    out: dict[str, type] = {}
    for f in fields(Task):
        text = str(hints[f.name])
        out[f.name] = float if "float" in text else int if text.startswith("int") else str
    return out


_TYPES = _column_types()


@cache
def _script_source(name: str) -> str:
    folder = resources.files("jotty.queue.redis_backend")
    return folder.joinpath("lib.lua").read_text("utf-8") + "\n" + folder.joinpath(f"{name}.lua").read_text("utf-8")


def _encode(value: Any) -> str | None:
    """A stored column value (``Task.to_row`` form) as the text kept in the task's hash."""
    if value is None:
        return None
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _decode(raw: dict[str, str]) -> Task:
    row: dict[str, Any] = {}
    for key, text in raw.items():
        kind = _TYPES.get(key)
        if kind is None:
            continue
        value: Any = text
        if kind is not str:
            with contextlib.suppress(ValueError):
                value = kind(text)
        row[key] = value
    return Task.from_row(row)


def _pairs(row: dict[str, Any], skip: Iterable[str] = ()) -> list[str]:
    """Field/value pairs of the non-NULL columns of a row."""
    out: list[str] = []
    skipped = set(skip)
    for key in TASK_COLUMNS:
        text = _encode(row.get(key))
        if text is not None and key not in skipped:
            out += [key, text]
    return out


def _filter_value(column: str, value: Any) -> str | None:
    """A filter value as the stored text it must equal (None for NULL)."""
    if _TYPES[column] is int and isinstance(value, float) and value.is_integer():
        value = int(value)
    return _encode(value)


def parse_url(url: str) -> tuple[str, str | None]:
    """The Redis URL without Jotty's ``prefix`` query parameter, and that prefix."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    prefix = next((v for k, v in query if k == "prefix"), None)
    rest = urlencode([(k, v) for k, v in query if k != "prefix"])
    return urlunsplit(parts._replace(query=rest)), prefix


def _cancel_requests() -> int:
    """How many cancellations of the running task are pending (``Task.cancelling()``)."""
    task = asyncio.current_task()
    return task.cancelling() if task is not None else 0


def _raise_swallowed_cancel(before: int) -> None:
    """Raise the cancellation of the running task that arrived during a Redis round trip and did not
    come out of it.

    On Python 3.11 redis-py writes each command under ``asyncio.wait_for``, which returns the result
    instead of raising ``CancelledError`` when the cancel lands in the loop turn where the write
    completes (CPython gh-86296; fixed in 3.12). A worker then never sees its stop: a manager that
    cancels its reaper at the end of a burst waited for it forever. A cancel that a timeout turned
    into ``TimeoutError`` is uncounted again (``Task.uncancel``), so it is not raised here.
    """
    if _cancel_requests() > before:
        raise asyncio.CancelledError


def _redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@", 1)))


class RedisTaskQueue(TaskQueue):
    """A durable ``TaskQueue`` in Redis, shared by workers on any number of machines.

    ``url`` is ``redis://[:PASSWORD@]HOST[:PORT][/DB][?prefix=P]`` (default ``JOTTY_DATABASE_URL``);
    ``prefix`` (argument or URL) keeps several queues apart in one database. The connection opens
    on first use or ``await open()``.
    """

    def __init__(self, url: str | None = None, *, prefix: str | None = None, **options: Any) -> None:
        super().__init__(**options)
        location = resolve_store(url)
        if location.kind != "redis":
            raise ValidationError(
                f"RedisTaskQueue needs a redis:// URL (or JOTTY_DATABASE_URL set to one), got {location.target!r}"
            )
        self.url, url_prefix = parse_url(location.target)
        self.prefix = prefix if prefix is not None else url_prefix or DEFAULT_PREFIX
        if not isinstance(self.prefix, str) or not self.prefix:
            raise ValidationError("prefix must be a non-empty string, e.g. 'jotty:'")
        self.client_name = "jotty-" + "".join(c if c.isalnum() or c in "-_.:" else "_" for c in self.worker_id)
        self._redis: aioredis.Redis | None = None
        self._scripts: dict[str, Any] = {}
        self._open_lock = asyncio.Lock()
        self._closed = False
        self._listener = ServerListener(self._listen, (rx.RedisError, OSError), "Redis")

    def __repr__(self) -> str:
        return f"RedisTaskQueue({_redact(self.url)!r}, prefix={self.prefix!r})"

    # ------------------------------------------------------------------ connection

    async def open(self) -> RedisTaskQueue:
        """Connect and check the key layout now (otherwise the first operation does)."""
        await self._ready()
        return self

    async def __aenter__(self) -> RedisTaskQueue:
        return await self.open()

    def _client(self) -> aioredis.Redis:
        try:
            return aioredis.Redis.from_url(
                self.url,
                decode_responses=True,
                socket_connect_timeout=5,
                retry=Retry(ExponentialBackoff(cap=1.0, base=0.05), 2),
                retry_on_error=[rx.ConnectionError, rx.TimeoutError],
                health_check_interval=30,
                client_name=self.client_name,
            )
        except ValueError as exc:
            raise StoreUnavailableError(
                f"the Redis URL {_redact(self.url)} is malformed ({exc}): use redis://[:PASSWORD@]HOST[:PORT][/DB]"
                "[?prefix=P]"
            ) from None

    def _unavailable(self, exc: Exception) -> StoreUnavailableError:
        if isinstance(exc, rx.AuthenticationError | rx.AuthenticationWrongNumberOfArgsError):
            fix = "fix the password (or user) in the Redis URL"
        elif isinstance(exc, rx.ResponseError) and "DB index" in str(exc):
            fix = "use a database number the server has (redis://HOST:PORT/0)"
        else:
            fix = "start the server or fix the host and port in the Redis URL (JOTTY_DATABASE_URL)"
        return StoreUnavailableError(f"cannot use Redis at {_redact(self.url)} ({exc}): {fix}")

    async def _ready(self) -> aioredis.Redis:
        if self._redis is not None:
            return self._redis
        if self._closed:
            raise ValidationError("this queue was closed: create a new RedisTaskQueue")
        async with self._open_lock:
            if self._redis is None:
                client = self._client()
                try:
                    await self._check_schema(client)
                except (rx.RedisError, OSError) as exc:
                    await client.aclose()
                    raise self._unavailable(exc) from exc
                except BaseException:
                    await client.aclose()
                    raise
                self._scripts = {name: client.register_script(_script_source(name)) for name in _SCRIPTS}
                self._redis = client
        return self._redis

    async def _check_schema(self, client: aioredis.Redis) -> None:
        key = self.prefix + "schema"
        await client.setnx(key, SCHEMA_VERSION)
        found = int(await client.get(key) or 0)
        if found > SCHEMA_VERSION:
            raise SchemaVersionError(
                f"the Redis queue {self.prefix!r} at {_redact(self.url)} has Jotty schema version {found}, newer "
                f"than this Jotty knows ({SCHEMA_VERSION}): upgrade Jotty (pip install -U 'jotty[redis]') on "
                "this machine; nothing was changed."
            )

    async def _script(self, name: str, args: list[Any]) -> Any:
        cancels = _cancel_requests()
        await self._ready()
        try:
            result = await self._scripts[name](keys=[], args=[self.prefix, format_time(utcnow()), *args])
        except _CONNECTION_ERRORS as exc:
            raise self._unavailable(exc) from exc
        _raise_swallowed_cancel(cancels)
        return result

    async def _call(self, command: str, *args: Any) -> Any:
        cancels = _cancel_requests()
        client = await self._ready()
        try:
            result = await client.execute_command(command, *args)  # type: ignore[no-untyped-call]
        except _CONNECTION_ERRORS as exc:
            raise self._unavailable(exc) from exc
        _raise_swallowed_cancel(cancels)
        return result

    async def _pipelined(self, commands: Sequence[Sequence[Any]]) -> list[Any]:
        """Several commands in one round trip (not a transaction); their replies in order."""
        if not commands:
            return []
        cancels = _cancel_requests()
        client = await self._ready()
        try:
            async with client.pipeline(transaction=False) as pipe:
                for command in commands:
                    pipe.execute_command(*command)
                replies = list(await pipe.execute())
        except _CONNECTION_ERRORS as exc:
            raise self._unavailable(exc) from exc
        _raise_swallowed_cancel(cancels)
        return replies

    def _key(self, *parts: str) -> str:
        return self.prefix + "".join(parts)

    # ------------------------------------------------------------------ creating

    async def _insert(self, tasks: list[Task], actor: str) -> list[str]:
        args: list[Any] = [actor, f"{utcnow():%Y%m%d}"]
        for t in tasks:
            pairs = _pairs(t.to_row(), skip=("task_id",))
            args += [t.task_id, len(pairs), *pairs]
        ids = list(await self._script("insert", args))
        if ids and ids[0] == "duplicate":
            raise ValidationError(f"task id {ids[1]} already exists: choose another id or omit it")
        for t, task_id in zip(tasks, ids, strict=True):
            t.task_id = task_id
        return ids

    # ------------------------------------------------------------------ reading

    async def _fetch_many(self, ids: Sequence[str]) -> list[Task]:
        rows = await self._pipelined([("HGETALL", self._key("t:", task_id)) for task_id in ids])
        return [_decode(r) for r in rows if r]

    async def _fetch(self, task_id: str) -> Task | None:
        found = await self._fetch_many([task_id])
        return found[0] if found else None

    async def _candidates(self, filters: Filters) -> list[str]:
        """Ids that may match: by the status index, the parent's children, or every task."""
        conditions = dict(filters)
        status = conditions.get("status")
        parent = conditions.get("parent_id")
        if isinstance(parent, str):
            return list(await self._call("SMEMBERS", self._key("kids:", parent)))
        statuses = status if isinstance(status, list) else [status] if status is not None else list(TaskStatus)
        found = await self._pipelined([("ZRANGE", self._key("s:", str(s)), 0, -1) for s in statuses])
        return [m.split("|", 1)[1] for members in found for m in members]

    async def _select(self, filters: Filters, limit: int | None) -> list[Task]:
        found = [t for t in await self._fetch_many(await self._candidates(filters)) if check.matches(t, filters)]
        found.sort(key=lambda t: (t.priority, time_key(t.created_at), t.task_id))
        return found[:limit] if limit is not None else found

    async def _count(self, filters: Filters) -> int:
        if len(filters) == 1 and filters[0][0] == "status" and isinstance(filters[0][1], str):
            return int(await self._call("ZCARD", self._key("s:", filters[0][1])))
        return len(await self._select(filters, None))

    async def _count_by_status(self) -> dict[str, int]:
        found = await self._pipelined([("ZCARD", self._key("s:", str(s))) for s in TaskStatus])
        counts = {str(s): int(n) for s, n in zip(TaskStatus, found, strict=True)}
        return {s: n for s, n in counts.items() if n}

    async def _dependency_map(self, task_ids: set[str]) -> dict[str, list[str]]:
        ids = sorted(task_ids)
        rows = await self._pipelined([("HMGET", self._key("t:", i), "task_id", "depends_on") for i in ids])
        return {i: parse_list(r[1]) for i, r in zip(ids, rows, strict=True) if r[0] is not None}

    # ------------------------------------------------------------------ claiming and finishing

    async def _claim(self, n: int, filters: Filters, worker: str, lease: float, pid: int) -> list[Task]:
        encoded: list[Any] = [len(filters)]
        for column, value in filters:
            values = value if isinstance(value, list) else [value]
            texts = [t for t in (_filter_value(column, v) for v in values) if t is not None]
            encoded += [column, "1" if None in values else "0", len(texts), *texts]
        now = time.time()
        leases = [new_lease_id() for _ in range(n)]
        args = [repr(now), n, worker, pid, HOSTNAME, repr(now + lease), *encoded, *leases]
        return await self._claim_shielded(self._claim_script(args))

    async def _claim_script(self, args: list[Any]) -> list[Task]:
        rows = await self._script("claim", args)
        self._listener.start()
        return [_decode(json.loads(r)) for r in rows]

    async def _heartbeat(self, task_id: str, lease_id: str | None, lease: float, progress: int | None) -> bool:
        args = [task_id, lease_id or "", repr(time.time() + lease), "" if progress is None else progress]
        return bool(await self._script("heartbeat", args))

    async def _complete(self, items: list[tuple[str, str, Any]]) -> list[bool]:
        now = utcnow()
        args: list[Any] = [repr(now.timestamp()), self.worker_id]
        for task_id, lease_id, result in items:
            args += [task_id, lease_id, "0" if result is None else "1", "" if result is None else json.dumps(result)]
        return [bool(x) for x in await self._script("complete", args)]

    async def _give_up(self, tasks: list[dict[str, str | None]], now: float, reap: bool, retry: bool) -> int:
        """Plan each attempt's end with ``plan_failure`` and apply the plans to the tasks that are
        still as read; re-read and re-plan those whose counts changed meanwhile. Returns how many
        were applied. Each item holds task_id, lease_id, retry_count, max_retries, error, actor,
        reason."""
        applied = 0
        for _ in range(5):
            args: list[Any] = [repr(now), "1" if reap else "0"]
            for t in tasks:
                plan = plan_failure(int(t["retry_count"] or 0), int(t["max_retries"] or 0), now, self.retry_policy,
                                    retry=retry)  # fmt: skip
                args += [t["task_id"], t["lease_id"] or "", t["retry_count"] or "", t["max_retries"] or "",
                         str(plan.status), plan.retry_count, "" if plan.run_after is None else repr(plan.run_after),
                         t["error"], t["actor"] or "", t["reason"]]  # fmt: skip
            results = await self._script("give_up", args)
            applied += sum(1 for r in results if r == 1)
            stale = [t for t, r in zip(tasks, results, strict=True) if r == 2]
            if not stale:
                return applied
            tasks = [{**t, **fresh} for t in stale if (fresh := await self._running(str(t["task_id"]))) is not None]
        return applied

    async def _running(self, task_id: str) -> dict[str, str | None] | None:
        """The lease and retry counts of a running task, or None."""
        status, lease_id, retries, max_retries, owner = await self._call(
            "HMGET", self._key("t:", task_id), "status", "lease_id", "retry_count", "max_retries", "lease_owner"
        )
        if status != TaskStatus.IN_PROGRESS:
            return None
        return {"task_id": task_id, "lease_id": lease_id, "retry_count": retries, "max_retries": max_retries,
                "lease_owner": owner}  # fmt: skip

    async def _fail(self, task_id: str, lease_id: str, error: str, retry: bool) -> bool:
        held = await self._running(task_id)
        if held is None or held["lease_id"] != lease_id:
            return False
        item = {**held, "error": error, "actor": held["lease_owner"], "reason": f"failed: {error}"}
        return await self._give_up([item], time.time(), False, retry) == 1

    async def _release(self, task_id: str, lease_id: str, reason: str) -> bool:
        return bool(await self._script("release", [task_id, lease_id, reason]))

    async def _reap(self, now: float) -> int:
        ids = await self._call("ZRANGEBYSCORE", self._key("leases"), "-inf", f"({now!r}")
        items = []
        for task_id in ids:
            held = await self._running(task_id)
            if held is not None:
                reason = f"lease expired (held by {held['lease_owner']})"
                items.append({**held, "error": reason, "actor": self.worker_id, "reason": reason})
        return await self._give_up(items, now, True, True) if items else 0

    async def _recover(self, task_ids: list[str], reason: str) -> int:
        items = []
        for task_id in task_ids:
            held = await self._running(task_id)
            if held is not None:
                items.append({**held, "error": reason, "actor": self.worker_id, "reason": reason})
        return await self._give_up(items, time.time(), False, True) if items else 0

    # ------------------------------------------------------------------ unfenced updates

    async def _change(
        self, task_id: str, status: TaskStatus | None, updates: dict[str, Any], reason: str | None
    ) -> bool:
        values = {k: _encode(v) for k, v in stored_updates(updates).items()}
        sets = [x for k, v in values.items() if v is not None for x in (k, v)]
        dels = [k for k, v in values.items() if v is None]
        args = [task_id, "" if status is None else str(status), self.worker_id,
                "0" if reason is None else "1", reason or "", len(sets), *sets, len(dels), *dels]  # fmt: skip
        return bool(await self._script("update", args))

    async def _transition(self, task_id: str, status: TaskStatus, updates: dict[str, Any], reason: str | None) -> bool:
        return await self._change(task_id, status, updates, reason)

    async def _update(self, task_id: str, updates: dict[str, Any]) -> bool:
        return await self._change(task_id, None, updates, None)

    async def _delete(self, task_id: str) -> bool:
        return bool(await self._script("delete", [task_id]))

    async def _history(self, task_id: str) -> list[HistoryEntry]:
        entries = await self._call("LRANGE", self._key("h:", task_id), 0, -1)
        out = []
        for text in entries:
            e = json.loads(text)
            at: datetime = parse_time(e["at"]) or utcnow()
            out.append(HistoryEntry(task_id, e.get("f"), e["t"], e.get("a"), e.get("r"), at))
        return out

    # ------------------------------------------------------------------ templates and import

    async def _save_template(self, name: str, fields_: dict[str, Any]) -> None:
        await self._call("HSET", self._key("templates"), name, json.dumps(fields_))

    async def _load_template(self, name: str) -> dict[str, Any] | None:
        text = await self._call("HGET", self._key("templates"), name)
        return json.loads(text) if text is not None else None

    async def _all_templates(self) -> dict[str, dict[str, Any]]:
        found = await self._call("HGETALL", self._key("templates"))
        return {name: json.loads(found[name]) for name in sorted(found)}

    async def _import(
        self, tasks: list[Task], history: list[HistoryEntry], templates: dict[str, Any], replace: bool
    ) -> None:
        args: list[Any] = ["1" if replace else "0", len(tasks)]
        for t in tasks:
            row = t.to_row()
            pairs = ["task_id", t.task_id, *_pairs(row, skip=("task_id",))]
            args += [len(pairs), *pairs]
        entries: list[str] = []
        for h in history:
            entry = {"t": h.to_status, "at": format_time(h.at), "f": h.from_status, "a": h.actor, "r": h.reason}
            entries += [h.task_id, json.dumps({k: v for k, v in entry.items() if v is not None})]
        args += [len(entries), *entries]
        pairs = [x for name, f in templates.items() for x in (name, json.dumps(f))]
        args += [len(pairs), *pairs]
        result = await self._script("import", args)
        if result[0] == "clash":
            raise ValidationError(
                f"{result[1]} imported task id(s) already exist (e.g. {result[2]}): import into an "
                "empty queue, or pass replace=True to overwrite them"
            )

    # ------------------------------------------------------------------ waking and closing

    async def _listen(self, wake: Callable[[], None], ready: Callable[[], None]) -> None:
        """One pub/sub subscription: every message wakes the idle workers."""
        pubsub: PubSub = (await self._ready()).pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(self._key("wake"))
            ready()
            # redis-py can swallow a cancel that arrives while subscribing: check before blocking.
            while not self._listener.closed:
                if await pubsub.get_message(timeout=None) is not None:
                    wake()
        finally:
            with contextlib.suppress(rx.RedisError, OSError):
                await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def wait_for_work(self, timeout: float) -> bool:
        """Sleep until new work is published (True), or ``timeout`` (False)."""
        await self._ready()
        return await self._listener.wait(timeout)

    async def next_due(self) -> float | None:
        firsts = await self._pipelined([("ZRANGE", self._key(k), 0, 0, "WITHSCORES") for k in ("delayed", "leases")])
        times = [float(first[0][1]) for first in firsts if first]
        return min(times) if times else None

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self._listener.close()
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None
