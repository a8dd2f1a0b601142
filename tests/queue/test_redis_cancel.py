"""Redis: the hand-back of a cancelled claim survives a second cancel."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from jotty.queue import RedisTaskQueue, TaskStatus
from tests.queue.server_backends import REDIS_URL, redis_prefix

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
async def make(tmp_path: Path) -> AsyncIterator[Callable[..., Awaitable[RedisTaskQueue]]]:
    opened: list[RedisTaskQueue] = []

    async def make(**options: Any) -> RedisTaskQueue:
        queue = await RedisTaskQueue(REDIS_URL, prefix=redis_prefix(tmp_path), **options).open()
        opened.append(queue)
        return queue

    yield make
    for queue in opened:
        await queue.close()


async def test_a_second_cancel_during_the_hand_back_leaves_no_task_leased_to_nobody(
    make: Callable[..., Awaitable[RedisTaskQueue]],
) -> None:
    """The caller of ``claim_many`` is cancelled, then cancelled again while ``_hand_back`` awaits the
    claim's reply or the release (as ``_stop`` does every 0.5 s, or a supervisor that cancels twice):
    the hand-back stops half way and the claimed task stays ``in_progress`` until its lease runs out."""
    queue = await make(lease_seconds=3600)
    await queue.claim_many(1)  # connected and warm
    stranded = []
    for turns in range(30):
        task_id = await queue.create_task(f"t{turns}", status="pending")
        running = asyncio.create_task(queue.claim_many(1))
        for _ in range(turns):
            await asyncio.sleep(0)
        if not running.cancel():
            claimed = running.result()
            assert [t.task_id for t in claimed] == [task_id]
            assert await queue.complete(task_id, claimed[0].lease_id, "done")
            continue
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        running.cancel()  # a second cancel, while the first one's hand-back is under way
        await asyncio.wait([running])
        await asyncio.sleep(0.05)  # let anything still in flight land (not needed for correctness on a fix)
        task = await queue.get_task(task_id)
        assert task is not None
        if task.status != TaskStatus.PENDING:
            stranded.append((turns, str(task.status)))
        assert await queue.delete_task(task_id)
    assert stranded == [], f"tasks left in_progress, leased to nobody for an hour: {stranded}"
