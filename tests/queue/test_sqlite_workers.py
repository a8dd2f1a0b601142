"""Real worker processes (``jotty worker``) on one SQLite file: exactly-once draining, and a worker
killed with SIGKILL in the middle of a task."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from jotty.queue import SQLiteTaskQueue, Task, TaskStatus

pytestmark = pytest.mark.slow

HANDLERS = """
import os, time

def _append(name, line):
    fd = os.open(os.path.join(os.environ["RECORD_DIR"], name), os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    os.write(fd, (line + "\\n").encode())
    os.close(fd)

async def record(task):
    _append("done.log", f"{task.task_id} {os.getpid()}")
    return {"by": os.getpid()}

async def hang_on_slow(task):
    if task.title == "slow":
        _append("started.log", f"{task.task_id} {task.lease_id} {os.getpid()}")
        time.sleep(3600)  # blocks this worker until it is killed
    _append("done.log", f"{task.task_id} {os.getpid()}")
"""


def start_worker(tmp_path: Path, db: Path, handler: str, *extra: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "RECORD_DIR": str(tmp_path), "PYTHONPATH": str(tmp_path)}
    return subprocess.Popen(
        [sys.executable, "-m", "jotty", "worker", "--db", str(db), "--handler", f"handlers:{handler}", *extra],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def wait_for(predicate: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.02)


def lines(path: Path) -> list[list[str]]:
    return [line.split() for line in path.read_text().splitlines()] if path.exists() else []


def finish(proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, (out.decode(), err.decode())


def test_four_worker_processes_complete_2000_tasks_exactly_once(tmp_path: Path) -> None:
    (tmp_path / "handlers.py").write_text(HANDLERS)
    db = tmp_path / "jotty.db"

    async def fill() -> None:
        queue = SQLiteTaskQueue(db)
        await queue.enqueue_many([Task(title=f"task {i}") for i in range(2000)])
        await queue.close()

    asyncio.run(fill())
    workers = [start_worker(tmp_path, db, "record", "--burst", "--concurrency", "8") for _ in range(4)]
    for proc in workers:
        finish(proc)
    done = lines(tmp_path / "done.log")
    counts = Counter(task_id for task_id, _ in done)
    assert len(counts) == 2000
    assert max(counts.values()) == 1, [t for t, n in counts.items() if n > 1][:5]
    assert len({pid for _, pid in done}) > 1, "the work should spread over several processes"

    async def check() -> None:
        queue = SQLiteTaskQueue(db)
        stats = await queue.get_stats()
        assert stats["completed"] == 2000 and stats["pending"] == 0 and stats["in_progress"] == 0
        sample = (await queue.list_tasks(limit=1))[0]
        assert [h.to_status for h in await queue.get_history(sample.task_id)] == ["pending", "in_progress", "completed"]
        await queue.close()

    asyncio.run(check())


def test_a_worker_killed_mid_task_loses_nothing_and_is_fenced(tmp_path: Path) -> None:
    (tmp_path / "handlers.py").write_text(HANDLERS)
    db = tmp_path / "jotty.db"

    async def fill() -> str:
        queue = SQLiteTaskQueue(db)
        slow = await queue.enqueue(Task(title="slow", priority=1))
        await queue.enqueue_many([Task(title=f"task {i}") for i in range(20)])
        await queue.close()
        return slow

    slow_id = asyncio.run(fill())
    victim = start_worker(tmp_path, db, "hang_on_slow", "--lease", "1", "--concurrency", "1")
    wait_for(lambda: lines(tmp_path / "started.log"))
    (started_id, victim_lease, victim_pid) = lines(tmp_path / "started.log")[0]
    assert started_id == slow_id and int(victim_pid) == victim.pid
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait(10)

    rescuer = start_worker(tmp_path, db, "record", "--burst", "--lease", "30", "--concurrency", "4")
    finish(rescuer)
    done = Counter(task_id for task_id, _ in lines(tmp_path / "done.log"))
    assert done[slow_id] == 1 and sum(done.values()) == 21 and max(done.values()) == 1

    async def check() -> None:
        queue = SQLiteTaskQueue(db)
        task = await queue.get_task(slow_id)
        assert task is not None and task.status == TaskStatus.COMPLETED and task.retry_count == 1
        history = await queue.get_history(slow_id)
        assert [(h.from_status, h.to_status) for h in history] == [
            (None, "pending"),
            ("pending", "in_progress"),
            ("in_progress", "pending"),
            ("pending", "in_progress"),
            ("in_progress", "completed"),
        ]
        assert history[1].actor is not None and history[1].actor.endswith(f":{victim.pid}")
        assert "lease expired" in (history[2].reason or "") and str(victim.pid) in (history[2].reason or "")
        assert history[3].actor is not None and history[3].actor.endswith(f":{rescuer.pid}")
        # The killed worker's completion, arriving late, is refused and changes nothing.
        assert await queue.complete(slow_id, victim_lease, {"late": True}) is False
        assert await queue.fail(slow_id, victim_lease, "late") is False
        after = await queue.get_task(slow_id)
        assert after is not None and after.result == {"by": rescuer.pid}
        await queue.close()

    asyncio.run(check())
