"""The PostgreSQL and Redis queue backends of the conformance suite, and their test stores.

Each test gets its own store: a PostgreSQL schema or a Redis key prefix named after the test's
``tmp_path``. Everything created here is dropped when the test session ends.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import hashlib
import os
import re
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import psycopg
import redis

from jotty.queue import Task, TaskQueue, TaskStatus
from jotty.queue.postgres import PostgresTaskQueue
from jotty.queue.redis_backend import RedisTaskQueue
from tests.queue.conftest import FAST, register_backend

PG_URL = os.environ.get("JOTTY_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("JOTTY_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")

_schemas: set[str] = set()
_prefixes: set[str] = set()


async def until(predicate: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    """Poll ``predicate`` until it holds, or fail after ``timeout`` seconds (no fixed sleeps)."""
    deadline = time.monotonic() + timeout
    while not await predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)


async def check_cut_worker_is_fenced(first: TaskQueue, second: TaskQueue, cut: Callable[[], Awaitable[int]]) -> None:
    """``first`` (lease 0.5 s, worker id 'first') claims a task and loses its connections (``cut``);
    ``second`` reaps and reclaims it; then ``first`` is refused on fresh connections."""
    task_id = await first.create_task("slow", status="pending")
    claimed = await first.claim()
    assert claimed is not None and claimed.lease_id
    assert await cut() >= 1  # the first worker's connections are cut mid-task

    async def reclaimed() -> bool:
        await second.reap_expired()
        return await second.claim() is not None

    await until(reclaimed)
    assert await first.complete(task_id, claimed.lease_id, "late") is False
    assert await first.fail(task_id, claimed.lease_id, "late") is False
    assert await first.heartbeat(task_id, claimed.lease_id) is False
    task = await second.get_task(task_id)
    assert task is not None and task.status == TaskStatus.IN_PROGRESS and task.lease_owner == second.worker_id
    assert task.retry_count == 1
    assert "lease expired (held by first)" in [h.reason for h in await second.get_history(task_id)]


async def check_racing_reapers_reap_each_lease_once(queues: list[TaskQueue]) -> None:
    """Leases that expired are reaped by many reapers at once: each exactly once."""
    await queues[0].enqueue_many([Task(title=f"t{i}") for i in range(40)])
    claimed = await queues[0].claim_many(40, lease_seconds=0.2)
    assert len(claimed) == 40
    expiry = max(t.lease_expires_at or 0 for t in claimed)

    async def expired() -> bool:
        return time.time() > expiry

    await until(expired)
    counts = await asyncio.gather(*(q.reap_expired() for q in queues for _ in range(3)))
    assert sum(counts) == 40
    for task in claimed:
        stored = await queues[1].get_task(task.task_id)
        assert stored is not None and stored.retry_count == 1 and stored.status == TaskStatus.PENDING
        reasons = [h.reason or "" for h in await queues[1].get_history(task.task_id)]
        assert sum(r.startswith("lease expired") for r in reasons) == 1


async def check_woken_by_new_work(worker: TaskQueue, producer: TaskQueue) -> None:
    """An idle ``worker`` wakes within moments of new work from ``producer``."""
    waiter = asyncio.create_task(worker.wait_for_work(10))
    started = time.monotonic()
    await producer.create_task("new", status="pending")
    assert await waiter is True
    assert time.monotonic() - started < 2


def store_name(tmp_path: Path) -> str:
    """A short name unique to one test of this process: ``jt_<pid>_<hash>``."""
    return f"jt_{os.getpid()}_" + hashlib.sha1(str(tmp_path).encode()).hexdigest()[:12]


def _dead_owner(name: str) -> bool:
    """Whether a test store was left behind by a process that no longer runs (a killed session)."""
    match = re.match(r"^jt_(\d+)_", name)
    return match is not None and not Path(f"/proc/{match[1]}").exists()


def pg_schema(tmp_path: Path) -> str:
    """The test's PostgreSQL schema (created by the first queue that opens it)."""
    name = store_name(tmp_path)
    _schemas.add(name)
    return name


def redis_prefix(tmp_path: Path) -> str:
    """The test's Redis key prefix."""
    name = store_name(tmp_path) + ":"
    _prefixes.add(name)
    return name


def drop_schema(name: str) -> None:
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(psycopg.sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(psycopg.sql.Identifier(name)))


def drop_prefix(prefix: str) -> None:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        keys = list(client.scan_iter(match=prefix + "*", count=1000))
        for start in range(0, len(keys), 500):
            client.delete(*keys[start : start + 500])
    finally:
        client.close()


def _clean_leftovers() -> None:
    """Drop the stores of test sessions that were killed before they could clean up."""
    with contextlib.suppress(psycopg.Error), psycopg.connect(PG_URL, autocommit=True) as conn:
        rows = conn.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'jt\\_%'").fetchall()
        _schemas.update(name for (name,) in rows if _dead_owner(name))
    with contextlib.suppress(redis.RedisError):
        client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
        with contextlib.closing(client):
            keys = client.scan_iter(match="jt_*", count=1000)
            _prefixes.update(key.split(":", 1)[0] + ":" for key in keys if _dead_owner(key))


@atexit.register
def _clean_up() -> None:
    for name in sorted(_schemas):
        with contextlib.suppress(psycopg.Error):
            drop_schema(name)
    for prefix in sorted(_prefixes):
        with contextlib.suppress(redis.RedisError):
            drop_prefix(prefix)


async def _postgres(tmp_path: Path, **options: Any) -> PostgresTaskQueue:
    queue = PostgresTaskQueue(PG_URL, schema=pg_schema(tmp_path), pool_size=4, **{**FAST, **options})
    return await queue.open()


async def _redis(tmp_path: Path, **options: Any) -> RedisTaskQueue:
    queue = RedisTaskQueue(REDIS_URL, prefix=redis_prefix(tmp_path), **{**FAST, **options})
    return await queue.open()


_clean_leftovers()
register_backend("postgres", _postgres)
register_backend("redis", _redis)
