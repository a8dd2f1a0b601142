"""``TaskQueueManager`` timing behaviour: expired leases are recovered when due, and a task that is
due but not claimable does not make an idle worker spin."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from jotty.queue import MemoryTaskQueue, SQLiteTaskQueue, Task, TaskQueueManager, TaskStatus


async def test_an_idle_worker_recovers_an_expired_lease_when_it_is_due() -> None:
    queue = MemoryTaskQueue(lease_seconds=30, retry_backoff=0)
    task_id = await queue.enqueue(Task(title="abandoned"))
    crashed = MemoryTaskQueue(shared_with=queue, worker_id="crashed")
    assert await crashed.claim(lease_seconds=0.2) is not None  # its worker dies holding the lease
    done: list[str] = []

    async def handle(task: Task) -> None:
        done.append(task.task_id)

    manager = TaskQueueManager(handle, queue, max_concurrent=2, poll_interval=5.0)  # reaper every 15 s
    started = time.monotonic()
    await asyncio.wait_for(manager.run(max_tasks=1), timeout=10)
    assert done == [task_id]
    assert time.monotonic() - started < 3  # at the lease's end, not at the next periodic reap
    stored = await queue.get_task(task_id)
    assert stored is not None and stored.status == TaskStatus.COMPLETED and stored.retry_count == 1


class CountingQueue(MemoryTaskQueue):
    """A real MemoryTaskQueue that counts how often a worker asks when work is due."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.asked = 0

    async def next_due(self) -> float | None:
        self.asked += 1
        return await super().next_due()


async def test_a_due_task_this_worker_cannot_claim_does_not_make_it_spin() -> None:
    queue = CountingQueue(retry_backoff=0)
    await queue.enqueue(Task(title="someone else's", agent_type="cursor", run_after=time.time() - 1))

    async def handle(task: Task) -> None:
        raise AssertionError("nothing should be claimed")

    manager = TaskQueueManager(handle, queue, poll_interval=0.2, filters={"agent_type": "claude"})
    runner = asyncio.create_task(manager.run())
    await asyncio.sleep(1.0)  # let the worker idle for a while: the measurement itself needs time to pass
    await manager.stop()
    await runner
    assert queue.asked <= 15, queue.asked  # about one look per poll interval, not one per millisecond


class BatchCountingQueue(SQLiteTaskQueue):
    """A real SQLite queue that records the size of every completion batch."""

    def __init__(self, *args: Any, **options: Any) -> None:
        super().__init__(*args, **options)
        self.batches: list[int] = []

    async def complete_many(self, items: Any) -> list[bool]:
        items = list(items)
        self.batches.append(len(items))
        return await super().complete_many(items)


async def test_tasks_finishing_together_are_completed_in_one_transaction(tmp_path: Path) -> None:
    queue = BatchCountingQueue(tmp_path / "batch.db")
    await queue.enqueue_many([Task(title=f"task {i}") for i in range(400)])

    async def handle(task: Task) -> None:
        return None

    stats = await TaskQueueManager(handle, queue, max_concurrent=32).run(burst=True)
    assert stats.completed == 400 and sum(queue.batches) == 400
    # Single completions run inline on SQLite, so a flush that did not yield first took one task
    # at a time (400 transactions); the handlers of one claim finish together and share one.
    assert len(queue.batches) <= 400 / 8, queue.batches
    await queue.close()


class SwallowingQueue(MemoryTaskQueue):
    """A real MemoryTaskQueue whose reaping, like a redis-py command under ``asyncio.wait_for`` on
    Python 3.11, returns normally when it is cancelled as its reply arrives."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.reaping = asyncio.Event()
        self.swallowed = 0

    async def reap_expired(self) -> int:
        self.reaping.set()
        try:
            await asyncio.sleep(0.5)  # the round trip in flight
        except asyncio.CancelledError:
            self.swallowed += 1
        return await super().reap_expired()


async def test_a_burst_ends_when_a_helper_swallows_its_cancel() -> None:
    queue = SwallowingQueue()
    await queue.enqueue(Task(title="only"))
    done: list[str] = []

    async def handle(task: Task) -> None:
        await queue.reaping.wait()  # the burst ends while the reaper is mid-call
        done.append(task.task_id)

    manager = TaskQueueManager(handle, queue, max_concurrent=2, poll_interval=0.05)  # next reap in 15 s
    runner = asyncio.create_task(manager.run(burst=True))
    finished, _ = await asyncio.wait([runner], timeout=5)
    assert finished, "the worker waited for a reaper that ignored its cancel"
    assert queue.swallowed >= 1 and len(done) == 1 and runner.result().completed == 1


class SlowLookQueue(SQLiteTaskQueue):
    """A real SQLite queue whose look at what is due takes a while (as a server's round trip does)."""

    async def next_due(self) -> float | None:
        await asyncio.sleep(0.2)
        return await super().next_due()


async def test_a_task_finishing_while_the_worker_looks_for_work_wakes_it(tmp_path: Path) -> None:
    """The last task ends during the worker's look at what is due: the burst ends then, not at the
    next poll (the finish was lost when the worker checked what runs before the look)."""
    queue = SlowLookQueue(tmp_path / "look.db")
    await queue.enqueue_many([Task(title="quick"), Task(title="slow")])

    async def handle(task: Task) -> None:
        await asyncio.sleep(0.05 if task.title == "quick" else 0.1)  # both end during a look

    manager = TaskQueueManager(handle, queue, max_concurrent=4, poll_interval=5.0)
    started = time.monotonic()
    stats = await asyncio.wait_for(manager.run(burst=True), timeout=20)
    assert stats.completed == 2
    assert time.monotonic() - started < 2.5, "the worker slept through the finish until the next poll"
    await queue.close()
