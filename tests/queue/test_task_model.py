"""The ``Task`` dataclass behaves as the original Jotty / supervisor ``Task`` (issue 9, item 1),
and the queue keeps working with it on every backend.

Written from the issue's description: a bare ``Task(task_id, title)`` has status ``backlog``,
agent type ``claude`` (None becomes ``claude`` too), ``tags`` None and ``created_at`` set to now at
construction; ``to_dict()`` gives ISO 8601 text with the ``T``; ``from_dict()`` parses ISO text (a
trailing ``Z`` too) and keeps a naive time naive, so it compares with ``datetime.now()``.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from jotty.errors import ValidationError
from jotty.queue import SQLiteTaskQueue, Task, TaskQueue, TaskStatus

NOON = datetime(2025, 6, 15, 12, 0)

# ---------------------------------------------------------------------- the dataclass


def test_a_bare_task_has_the_original_defaults() -> None:
    before = datetime.now()
    task = Task("T-1", "Fix the login bug")
    after = datetime.now()
    assert task.task_id == "T-1" and task.title == "Fix the login bug"
    assert task.status == "backlog" and task.status == TaskStatus.BACKLOG
    assert task.agent_type == "claude"
    assert task.tags is None and task.depends_on is None and task.blocks is None and task.context_files is None
    assert task.priority == 3 and task.description == "" and task.category == ""
    assert task.retry_count == 0 and task.max_retries == 3 and task.created_by == "system"
    assert task.metadata == {} and task.started_at is None and task.completed_at is None
    assert task.created_at is not None and task.created_at.tzinfo is None
    assert before <= task.created_at <= after  # naive local time: compares with datetime.now()


def test_none_becomes_the_default_and_given_values_are_kept() -> None:
    assert Task("T-1", "t", agent_type=None).agent_type == "claude"
    assert Task("T-1", "t", status=None).status == "backlog"  # type: ignore[arg-type]
    given = Task("T-2", "t", status="pending", agent_type="cursor", tags=["a"], created_at=NOON)  # type: ignore[arg-type]
    assert given.status is TaskStatus.PENDING and given.agent_type == "cursor"
    assert given.tags == ["a"] and given.created_at == NOON
    # The supervisor keeps lists as JSON text: given so, they become lists.
    assert Task("T-3", "t", tags='["x", "y"]', depends_on="T-1,T-2").tags == ["x", "y"]  # type: ignore[arg-type]
    assert Task("T-3", "t", depends_on="T-1,T-2").depends_on == ["T-1", "T-2"]  # type: ignore[arg-type]


def test_to_dict_gives_iso_8601_text_with_the_t() -> None:
    task = Task("T-1", "t", created_at=NOON, started_at=NOON + timedelta(minutes=5, microseconds=7))
    data = task.to_dict()
    assert data["created_at"] == "2025-06-15T12:00:00" == NOON.isoformat()
    assert data["started_at"] == "2025-06-15T12:05:00.000007"
    assert data["completed_at"] is None and data["last_heartbeat"] is None
    assert data["status"] == "backlog" and data["agent_type"] == "claude" and data["tags"] is None
    aware = Task("T-2", "t", created_at=datetime(2025, 6, 15, 12, 0, tzinfo=UTC)).to_dict()
    assert aware["created_at"] == "2025-06-15T12:00:00+00:00"


def test_from_dict_keeps_a_naive_time_naive() -> None:
    task = Task.from_dict({"task_id": "T-1", "title": "t", "created_at": "2025-06-15T12:00:00"})
    assert task.created_at == datetime(2025, 6, 15, 12, 0)
    assert task.created_at is not None and task.created_at.tzinfo is None
    assert task.created_at < datetime.now()  # does not raise
    assert datetime.now() - task.created_at > timedelta(0)


def test_from_dict_parses_a_trailing_z_and_offsets() -> None:
    task = Task.from_dict({"task_id": "T-1", "title": "t", "created_at": "2025-06-15T12:00:00Z"})
    assert task.created_at == datetime(2025, 6, 15, 12, 0, tzinfo=UTC)
    other = Task.from_dict({"task_id": "T-1", "title": "t", "completed_at": "2025-06-15T14:00:00+02:00"})
    assert other.completed_at == datetime(2025, 6, 15, 12, 0, tzinfo=UTC)
    kept = Task.from_dict({"task_id": "T-1", "title": "t", "started_at": NOON})
    assert kept.started_at is NOON


def test_to_dict_and_from_dict_round_trip() -> None:
    task = Task("T-1", "t", created_at=NOON, tags=["a"], metadata={"k": 1}, status=TaskStatus.PENDING)
    again = Task.from_dict(task.to_dict())
    assert again == task and again.created_at == datetime(2025, 6, 15, 12, 0)
    bare = Task("T-2", "t")
    assert Task.from_dict(bare.to_dict()) == bare


def test_from_dict_refuses_a_time_that_is_not_iso() -> None:
    with pytest.raises(ValidationError, match="ISO 8601"):
        Task.from_dict({"task_id": "T-1", "title": "t", "created_at": "yesterday at noon"})


# ---------------------------------------------------------------------- in the queue (every backend)


async def test_enqueue_runs_a_task_whose_status_was_not_set(queue: TaskQueue) -> None:
    bare = Task(title="run me")
    assert bare.status == "backlog"
    task_id = await queue.enqueue(bare)
    assert bare.status == TaskStatus.PENDING  # what was stored
    stored = await queue.get_task(task_id)
    assert stored is not None and stored.status == TaskStatus.PENDING and stored.agent_type == "claude"
    claimed = await queue.dequeue()
    assert claimed is not None and claimed.task_id == task_id


async def test_a_status_you_set_is_kept(queue: TaskQueue) -> None:
    parked = Task(title="later", status=TaskStatus.BACKLOG)
    assigned = Task(title="assigned later")
    assigned.status = "backlog"  # type: ignore[assignment]
    ids = await queue.enqueue_many([parked, assigned])
    for task_id in ids:
        stored = await queue.get_task(task_id)
        assert stored is not None and stored.status == TaskStatus.BACKLOG
    assert await queue.dequeue() is None
    created = await queue.create_task("the supervisor's way")  # backlog by default, as DESIGN.md says
    stored = await queue.get_task(created)
    assert stored is not None and stored.status == TaskStatus.BACKLOG and stored.agent_type == "claude"


async def test_stored_tasks_keep_none_lists_and_naive_times(queue: TaskQueue) -> None:
    task_id = await queue.enqueue(Task(title="t", created_at=NOON))
    listed = await queue.enqueue(Task(title="u", tags=[], context_files=["a.py"]))
    stored = await queue.get_task(task_id)
    assert stored is not None and stored.tags is None and stored.depends_on is None
    assert stored.created_at == NOON and stored.created_at.tzinfo is None  # type: ignore[union-attr]
    other = await queue.get_task(listed)
    assert other is not None and other.tags == [] and other.context_files == ["a.py"]
    claimed = await queue.dequeue()
    assert claimed is not None and claimed.started_at is not None
    assert claimed.started_at.tzinfo is None and claimed.started_at <= datetime.now()
    assert await queue.update_status(claimed.task_id, "completed")
    done = await queue.get_task(claimed.task_id)
    assert done is not None and done.completed_at is not None and done.completed_at <= datetime.now()


async def test_naive_and_aware_times_mix_without_raising(queue: TaskQueue) -> None:
    now = datetime.now()
    late = await queue.enqueue(Task(title="late", created_at=now))
    early = await queue.enqueue(Task(title="early", created_at=datetime.now(UTC) - timedelta(hours=1)))
    middle = await queue.enqueue(Task(title="middle", created_at=now - timedelta(minutes=30)))
    assert [t.task_id for t in await queue.list_tasks()] == [early, middle, late]  # by the real time
    claimed = await queue.claim_many(3)
    assert [t.task_id for t in claimed] == [early, middle, late]
    for task in claimed:
        assert task.created_at is not None and task.created_at <= datetime.now()


async def test_agent_type_filters(queue: TaskQueue) -> None:
    cursor = await queue.enqueue(Task(title="c", agent_type="cursor", priority=1))
    claude = await queue.enqueue(Task(title="d", agent_type=None, priority=2))
    assert await queue.get_running_count_by_agent("claude") == 0
    got = await queue.dequeue(agent_type="claude")
    assert got is not None and got.task_id == claude
    assert await queue.get_running_count_by_agent("claude") == 1
    assert await queue.dequeue(agent_type="claude") is None
    anyone = await queue.dequeue(agent_type=None)  # None: any agent type
    assert anyone is not None and anyone.task_id == cursor


async def test_bad_status_is_refused_and_nothing_is_stored(queue: TaskQueue) -> None:
    keep = await queue.enqueue(Task(title="keep"))
    with pytest.raises(ValidationError, match="unknown task status"):
        await queue.enqueue_many([Task(title="ok"), Task(title="bad", status="done")])  # type: ignore[arg-type]
    assert [t.task_id for t in await queue.list_tasks()] == [keep]


# ---------------------------------------------------------------------- rows the supervisor wrote


async def test_a_null_agent_type_row_counts_as_claude(tmp_path: Path) -> None:
    db = tmp_path / "q.db"
    queue = SQLiteTaskQueue(db)
    try:
        await queue.enqueue(Task(title="typed", agent_type="cursor"))
        with sqlite3.connect(db) as conn:  # the supervisor's own INSERT, agent_type NULL
            conn.execute(
                "INSERT INTO tasks (task_id, title, status, priority, agent_type, created_at) "
                "VALUES ('TASK-20240101-00009', 'legacy', 'pending', 3, NULL, '2024-01-01 10:00:00')"
            )
        legacy = await queue.get_task("TASK-20240101-00009")
        assert legacy is not None and legacy.agent_type == "claude" and legacy.tags is None
        assert legacy.created_at is not None and legacy.created_at.tzinfo is None
        assert legacy.created_at == datetime(2024, 1, 1, 10, 0, tzinfo=UTC).astimezone().replace(tzinfo=None)
        assert [t.task_id for t in await queue.list_tasks({"agent_type": "claude"})] == ["TASK-20240101-00009"]
        claimed = await queue.dequeue({"agent_type": "claude"})
        assert claimed is not None and claimed.task_id == "TASK-20240101-00009"
        with sqlite3.connect(db) as conn:
            assert conn.execute("SELECT agent_type FROM tasks WHERE task_id = 'TASK-20240101-00009'").fetchone() == (
                None,
            )
    finally:
        await queue.close()
