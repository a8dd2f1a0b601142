"""Four worker processes, each with its own connections as separate machines would have, drain
2,000 tasks from PostgreSQL and from Redis: every task completes exactly once, also when one
worker is killed with SIGKILL in the middle of its tasks.

Run as a script, this file is one worker: ``python test_distributed_workers.py BACKEND URL STORE
OUT LEASE SLEEP``. Its handler sleeps ``SLEEP`` seconds and then appends ``<pid> <task_id>`` to
``OUT`` (O_APPEND, one write per line).
"""

from __future__ import annotations

import asyncio
import collections
import os
import signal
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest

from jotty.queue import PostgresTaskQueue, RedisTaskQueue, Task, TaskQueue, TaskQueueManager, TaskStatus

N_TASKS = 2000
WORKERS = 4
CONCURRENCY = 16


def open_queue(backend: str, url: str, store: str, **options: float) -> TaskQueue:
    if backend == "postgres":
        return PostgresTaskQueue(url, schema=store, pool_size=4, **options)
    return RedisTaskQueue(url, prefix=store, **options)


async def work(backend: str, url: str, store: str, out: str, lease: float, sleep: float) -> None:
    queue = open_queue(backend, url, store, lease_seconds=lease, retry_backoff=0.05, max_backoff=0.2)
    fd = os.open(out, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    pid = os.getpid()

    async def handler(task: Task) -> None:
        if sleep:
            await asyncio.sleep(sleep)
        os.write(fd, f"{pid} {task.task_id}\n".encode())

    try:
        manager = TaskQueueManager(handler, queue, max_concurrent=CONCURRENCY, poll_interval=0.2)
        await manager.run(burst=True)
    finally:
        os.close(fd)
        await queue.close()


if __name__ == "__main__":
    name, url_, store_, out_, lease_, sleep_ = sys.argv[1:7]
    asyncio.run(work(name, url_, store_, out_, float(lease_), float(sleep_)))
    sys.exit(0)


# ---------------------------------------------------------------------- the tests

from tests.queue.server_backends import PG_URL, REDIS_URL, pg_schema, redis_prefix  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.timeout(90)]


@pytest.fixture(params=["postgres", "redis"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def store_of(backend: str, tmp_path: Path) -> tuple[str, str]:
    return (PG_URL, pg_schema(tmp_path)) if backend == "postgres" else (REDIS_URL, redis_prefix(tmp_path))


async def spawn(backend: str, tmp_path: Path, out: Path, *, lease: float, sleep: float) -> asyncio.subprocess.Process:
    url, store = store_of(backend, tmp_path)
    args = [__file__, backend, url, store, str(out), str(lease), str(sleep)]
    return await asyncio.create_subprocess_exec(sys.executable, *args, stderr=asyncio.subprocess.PIPE)


async def wait_all(procs: list[asyncio.subprocess.Process], timeout: float = 60) -> list[int | None]:
    deadline = time.monotonic() + timeout
    codes = []
    for proc in procs:
        try:
            await asyncio.wait_for(proc.wait(), max(0.1, deadline - time.monotonic()))
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise AssertionError(f"worker {proc.pid} did not finish in time") from None
        codes.append(proc.returncode)
    return codes


def lines_of(out: Path) -> list[tuple[int, str]]:
    if not out.exists():
        return []
    return [(int(pid), task_id) for pid, task_id in (line.split() for line in out.read_text().splitlines())]


async def fill(backend: str, tmp_path: Path) -> tuple[TaskQueue, list[str]]:
    url, store = store_of(backend, tmp_path)
    queue = open_queue(backend, url, store)
    ids = await queue.enqueue_many([Task(title=f"t{i}") for i in range(N_TASKS)])
    return queue, ids


async def completed_once(queue: TaskQueue, ids: list[str]) -> None:
    """The store says every task completed, through exactly one completed transition."""
    stats = await queue.get_stats()
    assert stats["completed"] == N_TASKS and stats["total"] == N_TASKS
    for task_id in ids:
        history = await queue.get_history(task_id)
        assert [h.to_status for h in history].count(TaskStatus.COMPLETED) == 1, task_id


async def test_four_workers_complete_every_task_exactly_once(backend: str, tmp_path: Path) -> None:
    queue, ids = await fill(backend, tmp_path)
    out = tmp_path / "done.log"
    try:
        # Long leases: a worker slowed down by a busy machine must not lose a lease it still works on.
        # Tasks of 20 ms: one worker alone would take 2.5 s, so the first to start cannot drain the
        # queue before the others have started (with no-op tasks one did, once, on Redis in a CI run).
        procs = [await spawn(backend, tmp_path, out, lease=30.0, sleep=0.02) for _ in range(WORKERS)]
        codes = await wait_all(procs)
        errors = [(await p.stderr.read()).decode() for p in procs if p.stderr is not None]
        assert codes == [0] * WORKERS, errors
        done = collections.Counter(task_id for _, task_id in lines_of(out))
        assert set(done) == set(ids)
        assert set(done.values()) == {1}  # each handler ran once
        assert len({pid for pid, _ in lines_of(out)}) > 1  # the work was shared
        await completed_once(queue, ids)
    finally:
        await queue.close()


async def holds_a_fresh_task(queue: TaskQueue, out: Path) -> bool:
    """A running task started under 0.1 s ago whose handler has not written its line yet."""
    written = {task_id for _, task_id in lines_of(out)}
    now = datetime.now()  # started_at is the claiming worker's local time
    return any(
        task.task_id not in written and task.started_at is not None and (now - task.started_at).total_seconds() < 0.1
        for task in await queue.get_running_tasks()
    )


async def test_a_worker_killed_mid_task_loses_nothing(backend: str, tmp_path: Path) -> None:
    queue, ids = await fill(backend, tmp_path)
    out = tmp_path / "done.log"
    try:
        # The victim's short leases let its tasks be reclaimed soon; the survivors' long ones keep a
        # survivor slowed down by a busy machine from losing a task it still works on.
        # The victim works alone until it is killed, so that it is killed mid-task: with the
        # survivors started too, fast workers could drain the queue before the victim's 20th task.
        # Its tasks take 0.2 s and run 16 at a time, in batches: it is killed once it has finished 20
        # and holds a task it started under 0.1 s ago, so that the kill lands well inside that task's
        # 0.2 s (in_progress > 0 alone was not enough: once, the tasks it showed were already done and
        # the victim was killed between batches, holding none).
        victim = await spawn(backend, tmp_path, out, lease=1.5, sleep=0.2)
        deadline = time.monotonic() + 30
        while sum(1 for pid, _ in lines_of(out) if pid == victim.pid) < 20 or not await holds_a_fresh_task(queue, out):
            assert time.monotonic() < deadline, "the victim never got to work"
            await asyncio.sleep(0.01)
        os.kill(victim.pid, signal.SIGKILL)  # mid-task: it holds up to 16 running tasks of 2,000
        assert await victim.wait() == -signal.SIGKILL
        survivors = [await spawn(backend, tmp_path, out, lease=30.0, sleep=0.01) for _ in range(WORKERS - 1)]
        assert await wait_all(survivors) == [0] * len(survivors)

        by_task: dict[str, list[int]] = collections.defaultdict(list)
        for pid, task_id in lines_of(out):
            by_task[task_id].append(pid)
        assert set(by_task) == set(ids)  # nothing lost
        reaped = 0
        for task_id, pids in by_task.items():
            live = [p for p in pids if p != victim.pid]
            assert len(live) <= 1, (task_id, pids)  # no live worker ran a task twice
            history = await queue.get_history(task_id)
            expired = [h for h in history if (h.reason or "").startswith("lease expired")]
            if expired:
                reaped += 1
                assert live, task_id  # a reaped task was run again by a live worker
            else:
                assert len(pids) == 1, (task_id, pids)  # the rest ran exactly once
        assert reaped >= 1  # the kill really interrupted running tasks
        await completed_once(queue, ids)
    finally:
        await queue.close()
