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
