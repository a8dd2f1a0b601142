"""``StateManager``: the supervisor's synchronous API on a Jotty SQLite file."""

from __future__ import annotations

import asyncio
import os
import re
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from jotty.errors import JottyError, ValidationError
from jotty.queue import SQLiteTaskQueue, StateManager


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "state.db"


@pytest.fixture
def sm(db: Path) -> Iterator[StateManager]:
    with StateManager(db, retry_backoff=0.01, max_backoff=0.05) as manager:
        yield manager


def until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.01)


def history(db: Path, task_id: str) -> list[tuple[str | None, str, str | None]]:
    conn = sqlite3.connect(db)
    rows = conn.execute(
        "SELECT from_status, to_status, reason FROM jotty_task_history WHERE task_id = ? ORDER BY id", (task_id,)
    ).fetchall()
    conn.close()
    return rows


def test_create_and_read_supervisor_dicts(sm: StateManager) -> None:
    task_id = sm.create_task("Write docs", "the docs", 2, "docs", ["a.md", "b.md"], suggested_by="planner")
    assert re.fullmatch(r"TASK-\d{8}-\d{5}", task_id)
    row = sm.get_task_by_task_id(task_id)
    assert row is not None
    # A plain dict of the row: the stored TEXT, not Jotty's parsed values.
    assert type(row) is dict
    assert (row["title"], row["description"], row["priority"], row["category"]) == ("Write docs", "the docs", 2, "docs")
    assert row["status"] == "backlog" and row["agent_type"] == "claude" and row["created_by"] == "AI"
    assert row["context_files"] == '["a.md", "b.md"]'
    assert isinstance(row["created_at"], str) and row["pid"] is None
    assert sm.get_task_by_task_id("TASK-19990101-00001") is None
    user_task = sm.create_task("by hand", context_files="x.py,y.py", agent_type="cursor")
    assert sm.get_task_by_task_id(user_task)["created_by"] == "user"  # type: ignore[index]
    assert [r["task_id"] for r in sm.get_tasks_by_status("backlog")] == [task_id, user_task]
    with pytest.raises(ValidationError, match="priority"):
        sm.create_task("bad", priority=9)
    with pytest.raises(ValidationError, match="unknown task status"):
        sm.get_tasks_by_status("running")


def test_get_next_pending_task_claims_in_order_by_agent_type(sm: StateManager, db: Path) -> None:
    assert sm.get_next_pending_task("claude") is None
    low = sm.create_task("low", priority=4, status="pending")
    high = sm.create_task("high", priority=1, status="pending")
    cursor = sm.create_task("cursor", priority=1, status="pending", agent_type="cursor")
    sm.create_task("not yet", priority=1)  # backlog: never claimed

    first = sm.get_next_pending_task("claude")
    assert first is not None and first["task_id"] == high
    assert first["status"] == "in_progress" and first["lease_id"] and first["pid"] == os.getpid()
    assert first["started_at"] and first["last_heartbeat"]
    second = sm.get_next_pending_task("claude")
    assert second is not None and second["task_id"] == low
    assert sm.get_next_pending_task("claude") is None
    got = sm.get_next_pending_task()  # any agent type
    assert got is not None and got["task_id"] == cursor
    assert history(db, high) == [(None, "pending", "created"), ("pending", "in_progress", "claimed")]


def test_claims_are_exclusive_across_threads_and_state_managers(sm: StateManager, db: Path) -> None:
    ids = {sm.create_task(f"t{i}", status="pending") for i in range(60)}
    claimed: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(6)

    def work(manager: StateManager) -> None:
        barrier.wait()
        while (row := manager.get_next_pending_task("claude")) is not None:
            with lock:
                claimed.append(row["task_id"])

    others = [StateManager(db) for _ in range(2)]
    try:
        threads = [threading.Thread(target=work, args=(m,)) for m in [sm, sm, sm, sm, *others]]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert not any(t.is_alive() for t in threads)
    finally:
        for other in others:
            other.close()
    assert len(claimed) == len(ids) and set(claimed) == ids


def test_update_task_status_the_supervisor_way(sm: StateManager, db: Path) -> None:
    task_id = sm.create_task("run me", status="pending")
    assert sm.update_task_status(task_id, "in_progress", pid=4242, log_file="/tmp/run.log", agent_type="cursor")
    row = sm.get_task_by_task_id(task_id)
    assert row is not None
    assert (row["status"], row["pid"], row["log_file"], row["agent_type"]) == (
        "in_progress",
        4242,
        "/tmp/run.log",
        "cursor",
    )
    assert row["started_at"] and row["last_heartbeat"]
    assert sm.get_running_count_by_agent("cursor") == 1 and sm.get_running_count_by_agent("claude") == 0
    assert sm.heartbeat(task_id)
    assert sm.update_task_status(task_id, "failed", error="exit 1")
    row = sm.get_task_by_task_id(task_id)
    assert row is not None
    assert (row["status"], row["pid"], row["error_message"]) == ("failed", None, "exit 1") and row["completed_at"]
    assert not sm.heartbeat(task_id)
    assert not sm.update_task_status("TASK-19990101-00001", "completed")
    with pytest.raises(ValidationError, match="unknown task status"):
        sm.update_task_status(task_id, "done")
    assert [h[1] for h in history(db, task_id)] == ["pending", "in_progress", "failed"]


def test_a_pid_hand_off_replaces_the_lease(sm: StateManager) -> None:
    kept = sm.create_task("kept by lease", status="pending")
    handed = sm.create_task("handed to a process", status="pending")
    a = sm.get_next_pending_task("claude", lease_seconds=0.05)
    b = sm.get_next_pending_task("claude", lease_seconds=0.05)
    assert a is not None and b is not None and {a["task_id"], b["task_id"]} == {kept, handed}
    assert sm.update_task_status(handed, "in_progress", pid=os.getpid())
    row = sm.get_task_by_task_id(handed)
    assert row is not None and row["lease_id"] is None and row["lease_expires_at"] is None
    # Only the leased claim expires; the task handed to a live PID stays running.
    until(lambda: sm.reap_expired() == 1)
    assert sm.get_task_by_task_id(kept)["status"] == "pending"  # type: ignore[index]
    assert sm.get_task_by_task_id(handed)["status"] == "in_progress"  # type: ignore[index]
    assert sm.validate_pids() == 0


def test_fenced_complete_and_fail(sm: StateManager) -> None:
    task_id = sm.create_task("fenced", status="pending")
    row = sm.get_next_pending_task()
    assert row is not None and row["task_id"] == task_id
    assert not sm.complete(task_id, "not-the-lease")
    assert sm.complete(task_id, row["lease_id"], {"answer": 42})
    assert sm.get_task_by_task_id(task_id)["result"] == '{"answer": 42}'  # type: ignore[index]
    other = sm.create_task("fails", status="pending")
    row = sm.get_next_pending_task()
    assert row is not None and sm.fail(other, row["lease_id"], "nope", retry=False)
    assert not sm.release(other, row["lease_id"])
    assert sm.get_task_by_task_id(other)["status"] == "failed"  # type: ignore[index]


def test_validate_pids_recovers_dead_processes(sm: StateManager) -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    task_id = sm.create_task("orphan", status="pending")
    assert sm.update_task_status(task_id, "in_progress", pid=proc.pid)
    assert sm.get_running_count_by_agent("claude") == 1
    assert sm.validate_pids() == 1
    row = sm.get_task_by_task_id(task_id)
    assert row is not None and row["status"] == "pending" and row["retry_count"] == 1 and row["pid"] is None


def test_stats_and_export(sm: StateManager) -> None:
    running = sm.create_task("running", status="pending", agent_type="cursor")
    sm.create_task("waiting", status="pending")
    sm.create_task("idea")
    assert sm.update_task_status(running, "in_progress", pid=os.getpid())
    stats = sm.get_stats()
    assert {"pending", "in_progress", "completed", "failed", "active_pids", "pids", "by_agent"} <= set(stats)
    assert (stats["pending"], stats["in_progress"], stats["backlog"]) == (1, 1, 1)
    assert stats["active_pids"] == 1 and stats["pids"] == [os.getpid()] and stats["by_agent"] == {"cursor": 1}
    assert sm.get_running_count() == 1 and [r["task_id"] for r in sm.get_running_tasks()] == [running]
    state = sm.export_to_json()
    assert state["total_tasks"] == 3 and len(state["pending_tasks"]) == 1
    assert state["task_details"][running]["agent_type"] == "cursor"


def test_other_supervisor_calls(sm: StateManager) -> None:
    task_id = sm.create_task("edit me", status="pending", filename="tasks/edit.md")
    assert sm.get_by_filename("tasks/edit.md")["task_id"] == task_id  # type: ignore[index]
    assert sm.update_task_priority(task_id, 1)
    assert sm.update_task_metadata(task_id, title="edited", category="c")
    row = sm.get_task_by_task_id(task_id)
    assert row is not None and (row["priority"], row["title"], row["category"]) == (1, "edited", "c")
    assert sm.reset_task_to_backlog(task_id)
    assert sm.get_task_by_task_id(task_id)["status"] == "backlog"  # type: ignore[index]
    assert sm.delete_task(task_id) and sm.get_task_by_task_id(task_id) is None
    assert not sm.delete_task(task_id)


def test_works_from_a_thread_that_runs_an_event_loop(sm: StateManager, db: Path) -> None:
    sm.create_task("from async", status="pending")

    async def inside_a_loop() -> str | None:
        row = sm.get_next_pending_task()  # blocks this loop briefly, by design
        return None if row is None else str(row["task_id"])

    result: list[str | None] = []
    thread = threading.Thread(target=lambda: result.append(asyncio.run(inside_a_loop())))
    thread.start()
    thread.join(timeout=30)
    assert result and result[0] is not None


async def test_sees_what_an_async_queue_does_on_the_same_file(sm: StateManager, db: Path) -> None:
    async with SQLiteTaskQueue(db) as queue:
        task_id = await queue.create_task("from the queue", status="pending")
        row = await asyncio.to_thread(sm.get_next_pending_task, "claude")
        assert row is not None and row["task_id"] == task_id
        assert await queue.claim() is None
        task = await queue.get_task(task_id)
        assert task is not None and task.lease_id == row["lease_id"]


def test_closed_state_manager_says_so(db: Path) -> None:
    manager = StateManager(db)
    manager.close()
    manager.close()
    with pytest.raises(JottyError, match="closed"):
        manager.get_stats()


def test_null_agent_type_is_claude_when_claiming(sm: StateManager, db: Path) -> None:
    task_id = sm.create_task("legacy", status="pending")
    conn = sqlite3.connect(db)
    conn.execute("UPDATE tasks SET agent_type = NULL WHERE task_id = ?", (task_id,))
    conn.commit()
    conn.close()
    assert sm.get_next_pending_task("cursor") is None
    row = sm.get_next_pending_task("claude")
    assert row is not None and row["task_id"] == task_id and row["agent_type"] is None
    assert sm.update_task_status(task_id, "in_progress", pid=os.getpid())
    assert sm.get_running_count_by_agent("claude") == 1
