"""Redis specifics: prefixes, clear errors, the key layout version, fencing across lost connections,
racing reapers and the wake-up channel.

The queue rules themselves are checked by the conformance suite (backend ``redis``). Each test
works under a key prefix of its own, deleted afterwards.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from jotty.errors import SchemaVersionError, StoreUnavailableError, ValidationError
from jotty.queue import RedisTaskQueue, TaskStatus, open_queue
from jotty.queue.redis_backend import parse_url
from tests.queue.server_backends import (
    REDIS_URL,
    check_cut_worker_is_fenced,
    check_racing_reapers_reap_each_lease_once,
    check_woken_by_new_work,
    redis_prefix,
    until,
)

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def prefix(tmp_path: Path) -> str:
    return redis_prefix(tmp_path)


@pytest.fixture
async def client() -> AsyncIterator[aioredis.Redis]:
    conn = aioredis.Redis.from_url(REDIS_URL, decode_responses=True)
    yield conn
    await conn.aclose()


@pytest.fixture
async def make(prefix: str) -> AsyncIterator[Callable[..., Awaitable[RedisTaskQueue]]]:
    opened: list[RedisTaskQueue] = []

    async def make(**options: Any) -> RedisTaskQueue:
        options = {"retry_backoff": 0.01, "max_backoff": 0.05, **options}
        queue = await RedisTaskQueue(REDIS_URL, prefix=prefix, **options).open()
        opened.append(queue)
        return queue

    yield make
    for queue in opened:
        await queue.close()


async def cut(client: aioredis.Redis, queue: RedisTaskQueue) -> int:
    """Kill every server connection of ``queue``, as a network cut would."""
    killed = 0
    for entry in await client.client_list():
        if entry.get("name") == queue.client_name:
            killed += int(await client.execute_command("CLIENT", "KILL", "ID", entry["id"]))
    return killed


# ---------------------------------------------------------------------- configuration


def test_prefix_comes_from_the_argument_or_the_url() -> None:
    assert parse_url("redis://h:6379/2?prefix=app:&socket_timeout=5") == ("redis://h:6379/2?socket_timeout=5", "app:")
    assert RedisTaskQueue("redis://h:6379/0?prefix=a:").prefix == "a:"
    assert RedisTaskQueue("redis://h:6379/0?prefix=a:", prefix="b:").prefix == "b:"
    assert RedisTaskQueue("redis://h:6379/0").prefix == "jotty:"
    with pytest.raises(ValidationError, match="redis://"):
        RedisTaskQueue("postgresql://h/db")
    with pytest.raises(ValidationError, match="prefix"):
        RedisTaskQueue("redis://h:6379/0", prefix="")


async def test_prefixes_keep_queues_apart(tmp_path: Path) -> None:
    one = await RedisTaskQueue(REDIS_URL, prefix=redis_prefix(tmp_path / "a")).open()
    two = await RedisTaskQueue(f"{REDIS_URL}?prefix={redis_prefix(tmp_path / 'b')}").open()
    try:
        await one.create_task("only in one", status="pending")
        assert (await two.get_stats())["total"] == 0
        assert await two.claim() is None
        assert (await one.get_stats())["pending"] == 1
    finally:
        await one.close()
        await two.close()


async def test_jotty_database_url_selects_redis(prefix: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JOTTY_DATABASE_URL", f"{REDIS_URL}?prefix={prefix}")
    queue = open_queue()
    assert isinstance(queue, RedisTaskQueue) and queue.prefix == prefix
    try:
        task_id = await queue.create_task("via env", status="pending")
        assert (await queue.get_task(task_id)) is not None
    finally:
        await queue.close()


# ---------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("redis://127.0.0.1:1/0", r"connecting to 127\.0\.0\.1:1.*start the server"),
        ("redis://no_such_user:wrong-pw@127.0.0.1:6379/0", r"invalid username-password pair.*fix the password"),
        ("redis://127.0.0.1:6379/999", r"DB index.*database number"),
        ("redis://127.0.0.1:abc/0", r"malformed.*redis://"),
    ],
)
async def test_unusable_servers_raise_clear_errors(url: str, expected: str) -> None:
    queue = RedisTaskQueue(url)
    with pytest.raises(StoreUnavailableError, match=expected) as caught:
        await queue.get_stats()
    assert "wrong-pw" not in str(caught.value)
    await queue.close()


async def test_a_newer_key_layout_is_refused_and_left_alone(prefix: str, client: aioredis.Redis) -> None:
    await client.set(prefix + "schema", 99)
    queue = RedisTaskQueue(REDIS_URL, prefix=prefix)
    with pytest.raises(SchemaVersionError, match=r"schema version 99, newer than this Jotty knows .*upgrade Jotty"):
        await queue.create_task("x")
    await queue.close()
    assert [k async for k in client.scan_iter(match=prefix + "*")] == [prefix + "schema"]
    assert await client.get(prefix + "schema") == "99"


# ---------------------------------------------------------------------- leases under failure


async def test_worker_that_lost_its_connection_is_fenced(
    make: Callable[..., Awaitable[RedisTaskQueue]], client: aioredis.Redis
) -> None:
    first = await make(worker_id="first", lease_seconds=0.5)
    second = await make(worker_id="second", lease_seconds=30)
    await check_cut_worker_is_fenced(first, second, lambda: cut(client, first))


async def test_many_reapers_reap_each_expired_lease_once(make: Callable[..., Awaitable[RedisTaskQueue]]) -> None:
    await check_racing_reapers_reap_each_lease_once([await make() for _ in range(4)])


async def test_a_failure_planned_on_stale_counts_is_planned_again(
    make: Callable[..., Awaitable[RedisTaskQueue]],
) -> None:
    queue = await make()
    task_id = await queue.create_task("t", status="pending", max_retries=1)
    claimed = await queue.claim()
    assert claimed is not None and claimed.lease_id
    # Another process lowers max_retries while the worker runs: the failure must see the new value.
    await queue.update_task_metadata(task_id, max_retries=0)
    assert await queue.fail(task_id, claimed.lease_id, "boom") is True
    stored = await queue.get_task(task_id)
    assert stored is not None and stored.status == TaskStatus.FAILED and stored.retry_count == 0


async def test_indexes_follow_every_change(
    make: Callable[..., Awaitable[RedisTaskQueue]], client: aioredis.Redis
) -> None:
    queue = await make()
    dep = await queue.create_task("dep", status="pending", priority=4)
    task_id = await queue.create_task("t", status="pending", priority=2, depends_on=[dep])
    await queue.update_task_priority(task_id, 1)
    await queue.update_task_metadata(task_id, depends_on=[])
    members = await client.zrange(queue.prefix + "s:pending", 0, -1, withscores=True)
    assert [(m.split("|")[1], score) for m, score in members] == [(task_id, 1.0), (dep, 4.0)]
    assert await client.smembers(queue.prefix + "deps:" + dep) == set()
    claimed = await queue.claim()
    assert claimed is not None and claimed.task_id == task_id
    assert await client.zscore(queue.prefix + "leases", task_id) == pytest.approx(claimed.lease_expires_at)
    assert await queue.delete_task(task_id)
    assert await client.zcard(queue.prefix + "leases") == 0
    assert await client.exists(queue.prefix + "t:" + task_id, queue.prefix + "h:" + task_id) == 0


async def test_listener_resubscribes_after_its_connection_is_cut(
    make: Callable[..., Awaitable[RedisTaskQueue]], client: aioredis.Redis
) -> None:
    worker = await make(worker_id="listener")
    producer = await make(worker_id="producer")
    assert await worker.wait_for_work(0.05) is False  # subscribed now
    assert await cut(client, worker) >= 1
    await until(lambda: _subscribed(client, worker.prefix + "wake"))
    await check_woken_by_new_work(worker, producer)


async def _subscribed(client: aioredis.Redis, channel: str) -> bool:
    counts = await client.pubsub_numsub(channel)
    return bool(counts and counts[0][1])


# ---------------------------------------------------------------------- cancelling


async def test_tasks_claimed_by_a_cancelled_call_go_back_to_pending(
    make: Callable[..., Awaitable[RedisTaskQueue]],
) -> None:
    """A claim cancelled at any moment of its round trip leaves no task leased to nobody: the claim
    may have run on the server (the cancel landed while its reply was on the way, or redis-py
    swallowed it as the command was sent, Python 3.11's gh-86296, and it was raised again after);
    the tasks it took are handed back to ``pending`` at once, not when their leases run out."""
    queue = await make(lease_seconds=3600)  # a task kept in_progress would wait an hour
    await queue.claim_many(1)  # connected and warm
    handed_back = 0
    for turns in range(30):  # cancel after 0, 1, 2, ... event-loop turns: every moment of the call
        task_id = await queue.create_task(f"t{turns}", status="pending")
        running = asyncio.create_task(queue.claim_many(1))
        for _ in range(turns):
            await asyncio.sleep(0)
        if not running.cancel():  # the call had already returned
            claimed = running.result()
            assert [t.task_id for t in claimed] == [task_id]
            assert await queue.complete(task_id, claimed[0].lease_id, "done")
            continue
        await asyncio.wait([running])
        assert running.cancelled()
        task = await queue.get_task(task_id)
        assert task is not None and task.status == TaskStatus.PENDING, (turns, task)
        reasons = [h.reason for h in await queue.get_history(task_id)]
        handed_back += "the claim's caller was cancelled" in reasons
        assert await queue.delete_task(task_id)
    assert handed_back >= 1  # some cancels did land after the claim ran on the server
