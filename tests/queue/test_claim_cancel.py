"""A claim whose caller is cancelled, once or twice, while it is under way leaves no task leased to
nobody: the tasks it took go back to ``pending`` at once (every backend: the claim's work goes on in
the database thread or on the server whatever the caller does, so the queue hands it back)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from jotty.queue import TaskQueue, TaskStatus

pytestmark = pytest.mark.timeout(120)


@pytest.mark.parametrize("cancels", [1, 2])
async def test_a_cancelled_claim_leaves_no_task_leased_to_nobody(
    make_queue: Callable[..., Awaitable[TaskQueue]], cancels: int
) -> None:
    queue = await make_queue(lease_seconds=3600)
    await queue.claim_many(2)  # connected and warm
    stranded, handed_back = [], 0
    for turns in range(16):
        ids = [await queue.create_task(f"t{turns}-{i}", status="pending") for i in range(2)]
        running = asyncio.create_task(queue.claim_many(2))  # two tasks: SQLite claims them on its thread
        for _ in range(turns):
            await asyncio.sleep(0)
        if running.cancel():
            for _ in range(cancels - 1):  # a second cancel while the first one's hand-back is under way
                await asyncio.sleep(0)
                running.cancel()
            await asyncio.wait([running])
        else:
            for task in running.result():
                assert await queue.complete(task.task_id, task.lease_id or "", "done")
        await asyncio.sleep(0.1)  # a claim the cancel did not stop has run by now (on a thread or a server)
        for _ in range(200):  # and its hand-back lands soon after
            tasks = [await queue.get_task(task_id) for task_id in ids]
            if all(t is not None and t.status != TaskStatus.IN_PROGRESS for t in tasks):
                break
            await asyncio.sleep(0.01)
        for task_id in ids:
            task = await queue.get_task(task_id)
            assert task is not None
            if task.status == TaskStatus.IN_PROGRESS:
                stranded.append((turns, task_id))
            elif task.status == TaskStatus.PENDING and any(
                h.to_status == "pending" and "cancelled" in (h.reason or "") for h in await queue.get_history(task_id)
            ):
                handed_back += 1
            assert await queue.delete_task(task_id)
    assert stranded == [], f"tasks left in_progress, leased to nobody for an hour: {stranded}"
