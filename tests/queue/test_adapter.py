"""``SupervisorStateManagerAdapter`` over the supervisor's own class and over Jotty's StateManager."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from jotty.errors import JottyError, ValidationError
from jotty.queue import StateManager, SupervisorStateManagerAdapter, Task, TaskQueue, TaskStatus
from jotty.queue.adapter import MissingMethodError
from jotty.queue.manager import TaskQueueManager
from tests.queue.test_supervisor_compat import SupervisorStateManager, supervisor_database


@pytest.fixture
async def supervisor(tmp_path: Path) -> AsyncIterator[SupervisorStateManagerAdapter]:
    db = tmp_path / "supervisor-state.db"
    supervisor_database(db)
    adapter = SupervisorStateManagerAdapter(SupervisorStateManager(db))
    yield adapter
    await adapter.close()


@pytest.fixture
async def jotty(tmp_path: Path) -> AsyncIterator[SupervisorStateManagerAdapter]:
    adapter = SupervisorStateManagerAdapter(StateManager(tmp_path / "jotty.db", retry_backoff=0.01))
    yield adapter
    await adapter.close()


async def test_the_supervisors_class_as_a_task_queue(supervisor: SupervisorStateManagerAdapter) -> None:
    assert isinstance(supervisor, TaskQueue)
    task = await supervisor.dequeue({"agent_type": "claude"})
    # The supervisor's own method selects without claiming: the task is still pending.
    assert task is not None and task.task_id == "TASK-20240101-00001" and task.status == TaskStatus.PENDING
    assert task.context_files == ["src/a.py", "src/b.py"] and task.created_at is not None
    assert [t.task_id for t in await supervisor.claim_many(3, {"agent_type": "claude"})] == [task.task_id]
    cursor = await supervisor.dequeue({"agent_type": "cursor"})
    assert cursor is not None and cursor.agent_type == "cursor"

    assert await supervisor.update_status(task.task_id, "in_progress", pid=os.getpid(), log_file="/tmp/l")
    running = await supervisor.get_task(task.task_id)
    assert running is not None and running.status == TaskStatus.IN_PROGRESS and running.pid == os.getpid()
    assert await supervisor.heartbeat(task.task_id)
    assert await supervisor.get_running_count_by_agent("claude") == 1
    assert await supervisor.get_running_count() == 1
    assert [t.task_id for t in await supervisor.get_running_tasks()] == [task.task_id]
    stats = await supervisor.get_stats()
    assert stats["in_progress"] == 1 and stats["pids"] == [os.getpid()]
    assert await supervisor.validate_pids() == 0
    assert await supervisor.update_status(task.task_id, "completed")
    assert await supervisor.get_task("TASK-19990101-00001") is None
    assert not await supervisor.update_status("TASK-19990101-00001", "completed")

    new_id = await supervisor.create_task("via adapter", priority=1, status="pending", context_files=["n.py"])
    assert (await supervisor.dequeue({"agent_type": "claude"})).task_id == new_id  # type: ignore[union-attr]
    simple = Task(title="enqueued", priority=2)
    assert await supervisor.enqueue(simple) == simple.task_id
    assert (await supervisor.get_task(simple.task_id)).status == TaskStatus.PENDING  # type: ignore[union-attr]
    exported = await supervisor.export_to_json()
    assert exported["total_tasks"] == 8 and new_id in exported["pending_tasks"]


async def test_what_the_supervisors_class_cannot_do_is_refused(supervisor: SupervisorStateManagerAdapter) -> None:
    task = await supervisor.dequeue({"agent_type": "claude"})
    assert task is not None
    with pytest.raises(MissingMethodError, match=r"SupervisorStateManager has no complete\(\).*no leases"):
        await supervisor.complete(task.task_id, "lease")
    with pytest.raises(MissingMethodError, match=r"no fail\(\)"):
        await supervisor.fail(task.task_id, "lease", "x")
    with pytest.raises(MissingMethodError, match=r"get_next_pending_task\(\) takes no lease_seconds"):
        await supervisor.claim({"agent_type": "claude"}, lease_seconds=5)
    with pytest.raises(MissingMethodError, match=r"heartbeat\(\) takes no lease_id"):
        await supervisor.heartbeat(task.task_id, "lease")
    with pytest.raises(MissingMethodError, match=r"create_task\(\) takes no depends_on, metadata"):
        await supervisor.enqueue(Task(title="rich", depends_on=[task.task_id], metadata={"a": 1}))
    with pytest.raises(MissingMethodError, match="all-or-nothing"):
        await supervisor.enqueue_many([Task(title="a"), Task(title="b")])
    with pytest.raises(MissingMethodError, match=r"no get_history\(\)"):
        await supervisor.get_history(task.task_id)
    with pytest.raises(MissingMethodError, match=r"update_task_status\(\) takes no reason"):
        await supervisor.update_status(task.task_id, "failed", reason="why")
    with pytest.raises(ValidationError, match="agent_type only"):
        await supervisor.dequeue({"category": "ops"})
    with pytest.raises(ValidationError, match="unknown task status"):
        await supervisor.update_status(task.task_id, "done")
    # A worker needs leases: TaskQueueManager stops at its first claim with a clear error.
    with pytest.raises(MissingMethodError, match="lease"):
        await TaskQueueManager(lambda t: None, supervisor, poll_interval=0.01).run(burst=True)
    assert (await supervisor.get_task(task.task_id)).status == TaskStatus.PENDING  # type: ignore[union-attr]


def test_only_supervisor_like_objects_are_wrapped() -> None:
    with pytest.raises(ValidationError, match="no get_next_pending_task, update_task_status"):
        SupervisorStateManagerAdapter(object())


class Blocking:
    """A supervisor-like object whose get_stats blocks its caller until released."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.thread: str | None = None
        self.closed = False

    def get_next_pending_task(self, agent_type: str = "claude") -> None:
        return None

    def update_task_status(self, task_id: str, status: str, *args: Any) -> bool:
        return False

    def get_task_by_task_id(self, task_id: str) -> None:
        return None

    def get_stats(self) -> dict[str, Any]:
        self.thread = threading.current_thread().name
        released = self.release.wait(timeout=10)
        return {"released_while_blocked": released}

    def close(self) -> None:
        self.closed = True


async def test_wrapped_calls_run_off_the_event_loop() -> None:
    wrapped = Blocking()
    adapter = SupervisorStateManagerAdapter(wrapped)
    call = asyncio.create_task(adapter.get_stats())
    ticks = 0
    while wrapped.thread is None or ticks < 20:  # the loop keeps ticking while the call blocks
        await asyncio.sleep(0.001)
        ticks += 1
        assert ticks < 10_000, "the wrapped call never started"
    assert not call.done()
    wrapped.release.set()
    assert await call == {"released_while_blocked": True}
    assert wrapped.thread != threading.current_thread().name
    await adapter.close()
    assert wrapped.closed
    with pytest.raises(JottyError, match="closed"):
        await adapter.get_stats()


async def test_jottys_state_manager_as_a_full_task_queue(jotty: SupervisorStateManagerAdapter) -> None:
    dep = await jotty.create_task("first", status="pending", metadata={"k": "v"})
    second = Task(title="second", depends_on=[dep], metadata={"goal": "g"}, agent_type="claude")
    await jotty.enqueue(second)
    stored = await jotty.get_task(second.task_id)
    assert stored is not None and stored.depends_on == [dep] and stored.metadata == {"goal": "g"}

    claimed = await jotty.claim({"agent_type": "claude"}, lease_seconds=30)
    assert claimed is not None and claimed.task_id == dep and claimed.status == TaskStatus.IN_PROGRESS
    assert claimed.lease_id and claimed.metadata == {"k": "v"}
    assert await jotty.dequeue() is None  # second waits for its dependency
    assert await jotty.heartbeat(dep, claimed.lease_id)
    assert not await jotty.complete(dep, "stale-lease")
    assert await jotty.complete(dep, claimed.lease_id, {"n": 1})
    nxt = await jotty.dequeue({"agent_type": "claude"})
    assert nxt is not None and nxt.task_id == second.task_id and nxt.lease_id
    assert await jotty.release(nxt.task_id, nxt.lease_id)
    assert await jotty.get_tasks_by_status("completed") == [await jotty.get_task(dep)]
    assert await jotty.get_by_filename("none.md") is None
    assert await jotty.update_task_priority(second.task_id, 1)
    assert await jotty.update_task_metadata(second.task_id, title="renamed")
    assert (await jotty.get_task(second.task_id)).title == "renamed"  # type: ignore[union-attr]
    assert (await jotty.get_stats())["completed"] == 1


async def test_task_queue_manager_runs_on_jottys_state_manager(tmp_path: Path) -> None:
    manager_db = tmp_path / "worker.db"
    state = StateManager(manager_db)
    ids = [state.create_task(f"job {i}", status="pending") for i in range(5)]
    adapter = SupervisorStateManagerAdapter(state)
    seen: list[str] = []

    async def handler(task: Task) -> str:
        seen.append(task.task_id)
        await asyncio.sleep(0)
        return task.title.upper()

    stats = await TaskQueueManager(handler, adapter, max_concurrent=2, poll_interval=0.01).run(burst=True)
    assert stats.completed == 5 and sorted(seen) == sorted(ids)
    for task_id in ids:
        row = state.get_task_by_task_id(task_id)
        assert row is not None and row["status"] == "completed" and row["result"].startswith('"JOB')
    await adapter.close()
    with pytest.raises(JottyError, match="closed"):
        state.get_stats()


async def test_close_wrapped_false_leaves_the_state_manager_open(tmp_path: Path) -> None:
    with StateManager(tmp_path / "s.db") as state:
        adapter = SupervisorStateManagerAdapter(state, close_wrapped=False)
        await adapter.create_task("kept")
        await adapter.close()
        assert state.get_stats()["backlog"] == 1
