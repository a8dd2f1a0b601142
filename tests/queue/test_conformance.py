"""The queue's rules, checked identically on every backend (see conftest.BACKENDS)."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import pytest

from jotty.errors import DependencyCycleError, JottyError, NotFoundError, ValidationError
from jotty.queue import Task, TaskPriority, TaskQueue, TaskStatus

MakeQueue = Callable[..., Awaitable[TaskQueue]]


async def until(predicate: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    """Poll ``predicate`` until it holds (no fixed sleeps for correctness)."""
    deadline = time.monotonic() + timeout
    while not await predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


async def pending(queue: TaskQueue, title: str = "t", **kw: Any) -> str:
    return await queue.create_task(title, status="pending", **kw)


# ---------------------------------------------------------------------- creating and reading


async def test_create_task_defaults_and_id_format(queue: TaskQueue) -> None:
    first = await queue.create_task("Write docs", description="d", category="docs")
    second = await queue.create_task("Write more docs")
    assert re.fullmatch(r"TASK-\d{8}-\d{5}", first)
    assert int(second.rsplit("-", 1)[1]) == int(first.rsplit("-", 1)[1]) + 1
    task = await queue.get_task(first)
    assert task is not None
    assert task.status == TaskStatus.BACKLOG
    assert (task.title, task.description, task.category, task.priority) == ("Write docs", "d", "docs", 3)
    assert task.created_by == "user"
    assert task.created_at is not None
    assert await queue.get_task("TASK-00000000-00000") is None


async def test_enqueue_round_trips_every_field(queue: TaskQueue) -> None:
    dep = await pending(queue, "dep")
    parent = await pending(queue, "parent")
    original = Task(
        title="Full",
        description="all fields",
        category="build",
        priority=TaskPriority.HIGH,
        tags=["a", "b"],
        worktree_path="/tmp/wt",
        git_branch="feature/x",
        estimated_hours=1.5,
        max_retries=5,
        depends_on=[dep],
        blocks=["X-1"],
        created_by="planner",
        assigned_to="alice",
        agent_type="cursor",
        context_files=["a.py", "b.py"],
        task_content="# body",
        filename="full.md",
        reference_apps="app1",
        estimated_effort="M",
        metadata={"goal": "g", "n": [1, 2]},
        parent_id=parent,
    )
    task_id = await queue.enqueue(original)
    assert original.task_id == task_id
    stored = await queue.get_task(task_id)
    assert stored is not None
    for name in (
        "title",
        "description",
        "category",
        "priority",
        "tags",
        "worktree_path",
        "git_branch",
        "estimated_hours",
        "max_retries",
        "depends_on",
        "blocks",
        "created_by",
        "assigned_to",
        "agent_type",
        "context_files",
        "task_content",
        "filename",
        "reference_apps",
        "estimated_effort",
        "metadata",
        "parent_id",
    ):
        assert getattr(stored, name) == getattr(original, name), name
    assert stored.status == TaskStatus.PENDING
    assert Task.from_dict(stored.to_dict()) == stored
    assert (await queue.get_by_filename("full.md")) == stored
    assert await queue.get_by_filename("nope.md") is None


async def test_enqueue_with_explicit_id_and_duplicate(queue: TaskQueue) -> None:
    assert await queue.enqueue(Task(task_id="MY-1", title="mine")) == "MY-1"
    with pytest.raises(ValidationError, match="already exists"):
        await queue.enqueue(Task(task_id="MY-1", title="again"))
    assert (await queue.get_task("MY-1")).title == "mine"  # type: ignore[union-attr]


async def test_enqueue_many_is_all_or_nothing(queue: TaskQueue) -> None:
    ids = await queue.enqueue_many([Task(title=f"t{i}") for i in range(5)])
    assert len(set(ids)) == 5
    with pytest.raises(ValidationError):
        await queue.enqueue_many([Task(title="ok"), Task(title="bad", priority=9)])
    with pytest.raises(ValidationError, match="already exists"):
        await queue.enqueue_many([Task(title="ok"), Task(task_id=ids[0], title="dup")])
    assert (await queue.get_stats())["total"] == 5


async def test_list_and_status_queries(queue: TaskQueue) -> None:
    a = await pending(queue, "a", category="x")
    await queue.create_task("b", category="y")
    assert [t.task_id for t in await queue.get_tasks_by_status("pending")] == [a]
    assert [t.title for t in await queue.list_tasks({"category": ["x", "y"]})] == ["a", "b"]
    assert len(await queue.list_tasks(limit=1)) == 1
    assert await queue.list_tasks({"agent_type": None, "category": "y"}) != []


# ---------------------------------------------------------------------- claiming


async def test_only_pending_tasks_are_claimed_in_priority_age_id_order(queue: TaskQueue) -> None:
    await queue.create_task("backlog", status="backlog", priority=1)
    await queue.create_task("suggested", status="suggested", priority=1)
    low = await pending(queue, "low", priority=5)
    old = await pending(queue, "old", priority=2)
    new = await pending(queue, "new", priority=2)
    crit = await pending(queue, "crit", priority=1)
    order = []
    while (task := await queue.dequeue()) is not None:
        order.append(task.task_id)
        assert task.status == TaskStatus.IN_PROGRESS
    assert order == [crit, old, new, low]


async def test_ties_in_priority_and_age_break_by_id(queue: TaskQueue) -> None:
    age = datetime(2025, 6, 15, 12, 0)  # a Task's age is its construction time: give them one
    ids = await queue.enqueue_many([Task(task_id=f"T-{c}", title=c, created_at=age) for c in "cab"])
    assert sorted(ids) == ["T-a", "T-b", "T-c"]
    claimed = await queue.claim_many(3)
    assert [t.task_id for t in claimed] == ["T-a", "T-b", "T-c"]


async def test_claim_records_worker_pid_host_and_lease(queue: TaskQueue) -> None:
    await pending(queue)
    task = await queue.claim(worker_id="w-1", lease_seconds=5, pid=4242)
    assert task is not None
    assert task.lease_owner == "w-1" and task.pid == 4242 and task.host
    assert task.lease_id and task.lease_expires_at is not None
    assert task.lease_expires_at == pytest.approx(time.time() + 5, abs=2)
    assert task.started_at is not None and task.last_heartbeat is not None
    history = await queue.get_history(task.task_id)
    assert [(h.from_status, h.to_status, h.actor) for h in history][-1] == ("pending", "in_progress", "w-1")


async def test_claim_many_gives_distinct_leases(queue: TaskQueue) -> None:
    await queue.enqueue_many([Task(title=f"t{i}") for i in range(4)])
    claimed = await queue.claim_many(10)
    assert len(claimed) == 4
    assert len({t.lease_id for t in claimed}) == 4
    assert await queue.claim() is None


async def test_claim_filters(queue: TaskQueue) -> None:
    claude = await pending(queue, "c", agent_type="claude")
    cursor = await pending(queue, "k", agent_type="cursor", category="ui")
    assert (await queue.dequeue({"agent_type": "cursor"})).task_id == cursor  # type: ignore[union-attr]
    assert await queue.dequeue({"agent_type": "cursor"}) is None
    assert (await queue.dequeue({"agent_type": ["opencode", "claude"]})).task_id == claude  # type: ignore[union-attr]
    with pytest.raises(ValidationError, match="unknown filter key 'agent'"):
        await queue.dequeue({"agent": "x"})
    with pytest.raises(ValidationError, match="unknown filter key"):
        await queue.dequeue({"status = 'pending'; DROP TABLE tasks; --": 1})
    with pytest.raises(ValidationError):
        await queue.dequeue({"category": []})


async def test_filters_as_keywords_and_lists_holding_none(queue: TaskQueue) -> None:
    untyped = await pending(queue, "untyped")
    typed = await pending(queue, "typed", agent_type="claude")
    await pending(queue, "other", agent_type="cursor")
    assert {t.task_id for t in await queue.list_tasks({"agent_type": ["claude", None]})} == {untyped, typed}
    assert (await queue.dequeue(agent_type="cursor")).title == "other"  # type: ignore[union-attr]
    assert {t.task_id for t in await queue.claim_many(3, {"agent_type": ["claude", None]})} == {untyped, typed}


async def test_concurrent_claims_never_share_a_task(make_queue: MakeQueue) -> None:
    queues = [await make_queue() for _ in range(4)]
    await queues[0].enqueue_many([Task(title=f"t{i}") for i in range(60)])

    async def drain(q: TaskQueue) -> list[str]:
        got = []
        while (batch := await q.claim_many(3)) != []:
            got += [t.task_id for t in batch]
        return got

    results = await asyncio.gather(*(drain(q) for q in queues))
    everything = [i for r in results for i in r]
    assert len(everything) == 60 == len(set(everything))


# ---------------------------------------------------------------------- finishing, fencing


async def test_complete_is_fenced_by_the_lease(queue: TaskQueue) -> None:
    await pending(queue)
    task = await queue.dequeue()
    assert task is not None and task.lease_id
    assert await queue.complete(task.task_id, "not-the-lease") is False
    assert (await queue.get_task(task.task_id)).status == TaskStatus.IN_PROGRESS  # type: ignore[union-attr]
    assert await queue.complete(task.task_id, task.lease_id, {"answer": 42}) is True
    assert await queue.complete(task.task_id, task.lease_id) is False
    done = await queue.get_task(task.task_id)
    assert done is not None
    assert done.status == TaskStatus.COMPLETED and done.result == {"answer": 42}
    assert done.pid is None and done.lease_id is None and done.progress_percent == 100
    assert done.completed_at is not None and done.actual_hours is not None
    assert [h.to_status for h in await queue.get_history(task.task_id)] == ["pending", "in_progress", "completed"]


async def test_complete_many(queue: TaskQueue) -> None:
    await queue.enqueue_many([Task(title=f"t{i}") for i in range(3)])
    a, b, c = await queue.claim_many(3)
    assert await queue.complete_many(
        [
            (a.task_id, a.lease_id, 1),
            (b.task_id, "stale", 2),  # type: ignore[list-item]
            (c.task_id, c.lease_id, None),
        ]
    ) == [True, False, True]
    assert (await queue.get_task(b.task_id)).status == TaskStatus.IN_PROGRESS  # type: ignore[union-attr]


async def test_fail_retries_with_backoff_then_fails_for_good(make_queue: MakeQueue) -> None:
    queue = await make_queue(retry_backoff=0.3, max_backoff=10)
    task_id = await pending(queue, max_retries=2)
    for attempt in (1, 2):
        task = await queue.dequeue()
        assert task is not None and task.task_id == task_id
        assert await queue.fail(task_id, task.lease_id, f"boom {attempt}") is True  # type: ignore[arg-type]
        stored = await queue.get_task(task_id)
        assert stored is not None
        assert (stored.status, stored.retry_count) == (TaskStatus.PENDING, attempt)
        assert stored.error_message == f"boom {attempt}"
        assert stored.run_after == pytest.approx(time.time() + 0.3 * 2 ** (attempt - 1), abs=0.25)
        assert await queue.dequeue() is None  # backoff holds it
        await until(lambda: _claimable(queue, task_id))
    task = await queue.dequeue()
    assert task is not None
    assert await queue.fail(task_id, task.lease_id, "boom 3") is True  # type: ignore[arg-type]
    final = await queue.get_task(task_id)
    assert final is not None and final.status == TaskStatus.FAILED and final.retry_count == 2
    assert final.completed_at is not None


async def _claimable(queue: TaskQueue, task_id: str) -> bool:
    task = await queue.get_task(task_id)
    return task is not None and (task.run_after is None or task.run_after <= time.time())


async def test_fail_without_retry_and_stale_fail(queue: TaskQueue) -> None:
    task_id = await pending(queue)
    task = await queue.dequeue()
    assert await queue.fail(task_id, "stale", "x") is False
    assert await queue.fail(task_id, task.lease_id, "fatal", retry=False) is True  # type: ignore[union-attr, arg-type]
    assert (await queue.get_task(task_id)).status == TaskStatus.FAILED  # type: ignore[union-attr]


async def test_release_returns_task_without_counting_a_retry(queue: TaskQueue) -> None:
    task_id = await pending(queue)
    task = await queue.dequeue()
    assert task is not None
    assert await queue.release(task_id, task.lease_id) is True  # type: ignore[arg-type]
    stored = await queue.get_task(task_id)
    assert stored is not None and stored.status == TaskStatus.PENDING and stored.retry_count == 0
    assert stored.lease_id is None and stored.pid is None
    assert await queue.release(task_id, task.lease_id) is False  # type: ignore[arg-type]
    assert (await queue.dequeue()).task_id == task_id  # type: ignore[union-attr]


async def test_expired_lease_is_reaped_and_the_old_worker_is_fenced(make_queue: MakeQueue) -> None:
    worker_a = await make_queue(worker_id="worker-a")
    worker_b = await make_queue(worker_id="worker-b")
    task_id = await pending(worker_a)
    lost = await worker_a.claim(lease_seconds=0.2)
    assert lost is not None
    assert await worker_b.reap_expired() == 0
    await until(lambda: _reaped(worker_b, task_id))
    stored = await worker_b.get_task(task_id)
    assert stored is not None and stored.status == TaskStatus.PENDING and stored.retry_count == 1
    assert "lease expired" in (stored.error_message or "")
    await until(lambda: _claimable(worker_b, task_id))
    again = await worker_b.claim(lease_seconds=30)
    assert again is not None and again.task_id == task_id and again.lease_id != lost.lease_id
    # The first worker comes back late: every fenced call is refused.
    assert await worker_a.heartbeat(task_id, lost.lease_id) is False
    assert await worker_a.complete(task_id, lost.lease_id, "late") is False  # type: ignore[arg-type]
    assert await worker_a.fail(task_id, lost.lease_id, "late") is False  # type: ignore[arg-type]
    assert await worker_b.complete(task_id, again.lease_id, "on time") is True  # type: ignore[arg-type]
    history = await worker_b.get_history(task_id)
    assert [(h.from_status, h.to_status) for h in history] == [
        (None, "pending"),
        ("pending", "in_progress"),
        ("in_progress", "pending"),
        ("pending", "in_progress"),
        ("in_progress", "completed"),
    ]
    assert history[2].actor == "worker-b" and "worker-a" in (history[2].reason or "")
    assert (await worker_b.get_task(task_id)).result == "on time"  # type: ignore[union-attr]


async def _reaped(queue: TaskQueue, task_id: str) -> bool:
    await queue.reap_expired()
    task = await queue.get_task(task_id)
    return task is not None and task.status == TaskStatus.PENDING


async def test_expired_lease_with_no_retries_left_fails(queue: TaskQueue) -> None:
    task_id = await pending(queue, max_retries=0)
    await queue.claim(lease_seconds=0.05)
    await until(lambda: _status(queue, task_id, TaskStatus.FAILED, reap=True))


async def _status(queue: TaskQueue, task_id: str, status: TaskStatus, reap: bool = False) -> bool:
    if reap:
        await queue.reap_expired()
    task = await queue.get_task(task_id)
    return task is not None and task.status == status


async def test_heartbeat_extends_the_lease(queue: TaskQueue) -> None:
    task_id = await pending(queue)
    task = await queue.claim(lease_seconds=0.5)
    assert task is not None
    queue.lease_seconds = 60
    assert await queue.heartbeat(task_id, task.lease_id, progress=40) is True
    stored = await queue.get_task(task_id)
    assert stored is not None and stored.progress_percent == 40
    assert stored.lease_expires_at is not None and stored.lease_expires_at > time.time() + 50
    assert await queue.heartbeat(task_id) is True  # the supervisor's unfenced heartbeat
    assert await queue.heartbeat(task_id, "other") is False
    assert await queue.heartbeat("TASK-00000000-00000") is False
    with pytest.raises(ValidationError, match="progress"):
        await queue.heartbeat(task_id, task.lease_id, progress=101)


# ---------------------------------------------------------------------- dependencies, subtasks


async def test_dependencies_hold_until_completed(queue: TaskQueue) -> None:
    first = await pending(queue, "first", priority=5)
    second = await pending(queue, "second", priority=1, depends_on=[first])
    task = await queue.dequeue()
    assert task is not None and task.task_id == first
    assert await queue.dequeue() is None
    await queue.complete(first, task.lease_id)  # type: ignore[arg-type]
    assert (await queue.dequeue()).task_id == second  # type: ignore[union-attr]


async def test_a_failed_dependency_blocks_dependents_transitively(queue: TaskQueue) -> None:
    root = await pending(queue, "root", max_retries=0)
    child = await pending(queue, "child", depends_on=[root])
    grandchild = await pending(queue, "grandchild", depends_on=[child])
    other = await pending(queue, "other")
    task = await queue.dequeue()
    assert task is not None and task.task_id == root
    await queue.fail(root, task.lease_id, "broken")  # type: ignore[arg-type]
    for task_id in (child, grandchild):
        stored = await queue.get_task(task_id)
        assert stored is not None and stored.status == TaskStatus.BLOCKED
    assert (await queue.get_task(other)).status == TaskStatus.PENDING  # type: ignore[union-attr]
    reasons = [h.reason for h in await queue.get_history(grandchild)]
    assert any(child in (r or "") for r in reasons)


async def test_cancelling_blocks_dependents(queue: TaskQueue) -> None:
    a = await pending(queue, "a")
    b = await pending(queue, "b", depends_on=[a])
    assert await queue.cancel_task(a) is True
    assert (await queue.get_task(b)).status == TaskStatus.BLOCKED  # type: ignore[union-attr]
    with pytest.raises(ValidationError, match="already ended"):
        await queue.cancel_task(a)
    assert await queue.cancel_task("TASK-00000000-00000") is False


async def test_dependency_errors(queue: TaskQueue) -> None:
    a = await pending(queue, "a")
    b = await pending(queue, "b", depends_on=[a])
    with pytest.raises(ValidationError, match="unknown task"):
        await pending(queue, "c", depends_on=["TASK-19990101-00001"])
    with pytest.raises(DependencyCycleError, match="cycle"):
        await queue.update_task_metadata(a, depends_on=[b])
    with pytest.raises(ValidationError, match="itself"):
        await queue.enqueue(Task(task_id="SELF", title="s", depends_on=["SELF"]))
    with pytest.raises(DependencyCycleError):
        await queue.enqueue_many(
            [Task(task_id="X", title="x", depends_on=["Y"]), Task(task_id="Y", title="y", depends_on=["X"])]
        )
    assert (await queue.get_task(a)).depends_on is None  # type: ignore[union-attr]
    assert await queue.get_task("X") is None


async def test_subtasks_roll_up_progress(queue: TaskQueue) -> None:
    parent = await queue.create_task("parent", status="backlog")
    children = [await queue.create_subtask(parent, f"child {i}") for i in range(3)]
    assert [t.task_id for t in await queue.get_subtasks(parent)] == children
    for expected in (33, 66, 100):
        task = await queue.dequeue()
        assert task is not None and task.parent_id == parent
        await queue.complete(task.task_id, task.lease_id)  # type: ignore[arg-type]
        assert (await queue.get_task(parent)).progress_percent == expected  # type: ignore[union-attr]
    progress = await queue.get_progress(parent)
    assert progress == {"task_id": parent, "children": 3, "by_status": {"completed": 3}, "percent": 100}
    with pytest.raises(ValidationError, match="parent task"):
        await queue.create_subtask("TASK-19990101-00001", "orphan")
    with pytest.raises(NotFoundError):
        await queue.get_progress("TASK-19990101-00001")


# ---------------------------------------------------------------------- templates


async def test_templates(queue: TaskQueue) -> None:
    await queue.create_template(
        "review",
        title="Review {pr}",
        description="Check {pr} for {area}",
        priority=2,
        agent_type="claude",
        tags=["review"],
    )
    assert "review" in await queue.list_templates()
    task_id = await queue.create_task_from_template("review", {"pr": "#12", "area": "docs"}, category="qa")
    task = await queue.get_task(task_id)
    assert task is not None
    assert (task.title, task.description, task.priority, task.category) == ("Review #12", "Check #12 for docs", 2, "qa")
    assert task.status == TaskStatus.PENDING and task.tags == ["review"] and task.metadata == {"template": "review"}
    with pytest.raises(ValidationError, match="'area'"):
        await queue.create_task_from_template("review", {"pr": "#1"})
    with pytest.raises(NotFoundError, match="no task template"):
        await queue.create_task_from_template("missing")
    with pytest.raises(ValidationError, match="cannot set"):
        await queue.create_template("bad", title="x", lease_id="y")
    with pytest.raises(ValidationError, match="priority"):
        await queue.create_template("bad", title="x", priority=0)
    assert await queue.get_template("bad") is None


# ---------------------------------------------------------------------- supervisor-style updates


async def test_update_status_the_supervisor_way(queue: TaskQueue) -> None:
    task_id = await queue.create_task("s", agent_type="claude")
    assert await queue.update_status(task_id, "in_progress", pid=777, log_file="/tmp/l.log", agent_type="cursor")
    running = await queue.get_task(task_id)
    assert running is not None
    assert (running.status, running.pid, running.log_file, running.agent_type) == (
        "in_progress",
        777,
        "/tmp/l.log",
        "cursor",
    )
    assert running.started_at is not None and running.last_heartbeat is not None
    assert await queue.get_running_count() == 1
    assert await queue.get_running_count_by_agent("cursor") == 1
    assert await queue.get_running_count_by_agent("claude") == 0
    stats = await queue.get_stats()
    assert stats["in_progress"] == 1 and stats["pids"] == [777] and stats["by_agent"] == {"cursor": 1}
    assert await queue.update_status(task_id, "failed", error="exit 1")
    failed = await queue.get_task(task_id)
    assert failed is not None and failed.pid is None and failed.error_message == "exit 1"
    assert await queue.update_status(task_id, "pending")
    again = await queue.get_task(task_id)
    assert again is not None and again.error_message is None and again.completed_at is None
    assert await queue.update_status("TASK-00000000-00000", "pending") is False
    with pytest.raises(ValidationError, match="unknown task status 'running'"):
        await queue.update_status(task_id, "running")
    with pytest.raises(ValidationError, match="cannot set"):
        await queue.update_status(task_id, "pending", nonsense=1)
    transitions = [h.to_status for h in await queue.get_history(task_id)]
    assert transitions == ["backlog", "in_progress", "failed", "pending"]


async def test_priority_and_metadata_updates(queue: TaskQueue) -> None:
    a = await pending(queue, "a", priority=3)
    b = await pending(queue, "b", priority=3)
    assert await queue.update_task_priority(b, 1) is True
    assert await queue.update_task_priority("TASK-00000000-00000", 1) is False
    for bad in (0, 6, "high", 2.5, True, None):
        with pytest.raises(ValidationError, match="priority"):
            await queue.update_task_priority(a, bad)  # type: ignore[arg-type]
    assert (
        await queue.update_task_metadata(a, title="A", category="c", context_files="x.py,y.py", metadata={"k": 1})
        is True
    )
    assert await queue.update_task_metadata(a, metadata={"j": 2}) is True
    stored = await queue.get_task(a)
    assert stored is not None
    assert (stored.title, stored.category, stored.context_files) == ("A", "c", ["x.py", "y.py"])
    assert stored.metadata == {"k": 1, "j": 2}
    with pytest.raises(ValidationError, match="update_status"):
        await queue.update_task_metadata(a, status="completed")
    assert await queue.update_task_metadata("TASK-00000000-00000", title="x") is False
    assert (await queue.dequeue()).task_id == b  # type: ignore[union-attr]


async def test_reset_retry_delete(queue: TaskQueue) -> None:
    task_id = await pending(queue, max_retries=0)
    task = await queue.dequeue()
    await queue.fail(task_id, task.lease_id, "x")  # type: ignore[union-attr, arg-type]
    assert await queue.retry_task(task_id) is True
    retried = await queue.get_task(task_id)
    assert retried is not None and retried.status == TaskStatus.PENDING and retried.error_message is None
    with pytest.raises(ValidationError, match="only failed"):
        await queue.retry_task(task_id)
    assert await queue.reset_task_to_backlog(task_id) is True
    reset = await queue.get_task(task_id)
    assert reset is not None and reset.status == TaskStatus.BACKLOG and reset.retry_count == 1
    assert await queue.delete_task(task_id) is True
    assert await queue.get_task(task_id) is None and await queue.get_history(task_id) == []
    assert await queue.delete_task(task_id) is False
    assert await queue.reset_task_to_backlog(task_id) is False


# ---------------------------------------------------------------------- export, import, pids


async def test_export_and_import_restore_everything(make_queue: MakeQueue, backend: str) -> None:
    source = await make_queue()
    a = await pending(source, "a", tags=["x"], metadata={"m": 1})
    await source.create_task("b")
    await source.create_template("tpl", title="T {n}")
    task = await source.dequeue()
    await source.complete(a, task.lease_id, {"r": [1, 2]})  # type: ignore[union-attr, arg-type]
    exported = await source.export_to_json()
    assert exported["total_tasks"] == 2 and exported["completed_task_files"] == [a]
    assert exported["task_details"][a]["agent_type"] == "claude"
    for t in await source.list_tasks():
        await source.delete_task(t.task_id)
    assert await source.import_from_json(exported) == 2
    restored = await source.get_task(a)
    assert restored is not None and restored.result == {"r": [1, 2]} and restored.metadata == {"m": 1}
    assert [h.to_status for h in await source.get_history(a)] == ["pending", "in_progress", "completed"]
    assert "tpl" in await source.list_templates()
    with pytest.raises(ValidationError, match="already exist"):
        await source.import_from_json(exported)
    assert await source.import_from_json(exported, replace=True) == 2
    with pytest.raises(ValidationError, match="not a Jotty export"):
        await source.import_from_json({"tasks": "nope"})
    broken = {"tasks": [exported["tasks"][0], {"title": "no id"}]}
    with pytest.raises(ValidationError, match="no task_id"):
        await source.import_from_json(broken)
    assert (await source.get_stats())["total"] == 2


async def test_validate_pids_recovers_dead_local_processes_only(queue: TaskQueue) -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    dead_pid = proc.pid
    local = await queue.create_task("local")
    remote = await queue.create_task("remote")
    alive = await queue.create_task("alive")
    await queue.update_status(local, "in_progress", pid=dead_pid)
    await queue.update_status(remote, "in_progress", pid=dead_pid, host="another-machine")
    await queue.update_status(alive, "in_progress", pid=1)
    assert await queue.validate_pids() == 1
    recovered = await queue.get_task(local)
    assert recovered is not None and recovered.status == TaskStatus.PENDING and recovered.retry_count == 1
    assert "process died" in (recovered.error_message or "")
    assert (await queue.get_task(remote)).status == TaskStatus.IN_PROGRESS  # type: ignore[union-attr]
    assert (await queue.get_task(alive)).status == TaskStatus.IN_PROGRESS  # type: ignore[union-attr]


# ---------------------------------------------------------------------- bad input leaves data intact


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"priority": 0}, "priority"),
        ({"priority": 6}, "priority"),
        ({"priority": "high"}, "priority"),
        ({"priority": True}, "priority"),
        ({"status": "done"}, "unknown task status"),
        ({"description": "x" * (10 * 1024 * 1024)}, "MiB"),
        ({"description": "bad \udcff bytes"}, "not valid Unicode"),
        ({"description": b"raw bytes"}, "not bytes"),
        ({"tags": "x", "metadata": {"f": object()}}, "JSON"),
        ({"max_retries": -1}, "max_retries"),
        ({"lease_id": "forged", "nonsense": 1}, "cannot set"),
    ],
)
async def test_bad_input_is_refused_and_nothing_is_stored(
    queue: TaskQueue, kwargs: dict[str, Any], message: str
) -> None:
    keep = await pending(queue, "keep", description="intact")
    with pytest.raises(ValidationError, match=message):
        await queue.create_task("new", **kwargs)
    assert [t.task_id for t in await queue.list_tasks()] == [keep]
    assert (await queue.get_task(keep)).description == "intact"  # type: ignore[union-attr]


async def test_bad_titles_and_arguments(queue: TaskQueue) -> None:
    for title in ("", "   ", None, 12):
        with pytest.raises(ValidationError):
            await queue.create_task(title)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        await queue.enqueue("not a task")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        await queue.claim_many(0)
    with pytest.raises(ValidationError):
        await queue.claim(lease_seconds=-1)
    with pytest.raises(ValidationError):
        await queue.list_tasks(limit=-1)
    assert isinstance(ValidationError("x"), JottyError)


# ---------------------------------------------------------------------- waking


async def test_idle_waiter_wakes_on_new_work(make_queue: MakeQueue) -> None:
    worker = await make_queue()
    producer = await make_queue()
    waiter = asyncio.create_task(worker.wait_for_work(10))
    await asyncio.sleep(0.05)  # let the waiter start listening; correctness does not depend on it
    started = time.monotonic()
    await pending(producer)
    assert await waiter is True
    assert time.monotonic() - started < 5
    assert await worker.wait_for_work(0.01) is False


async def test_next_due_reports_backoff_and_leases(queue: TaskQueue) -> None:
    assert await queue.next_due() is None
    await pending(queue)
    task = await queue.claim(lease_seconds=100)
    due = await queue.next_due()
    assert due is not None and task is not None and due == pytest.approx(task.lease_expires_at)


# ---------------------------------------------------------------------- cancelling


async def test_a_cancel_during_a_queue_call_is_never_lost(make_queue: MakeQueue) -> None:
    """A task cancelled while a queue call is in flight ends cancelled, wherever in the call the
    cancel lands (the first connection included): a worker that stops its helpers must not find one
    still running. redis-py's ``asyncio.wait_for`` on Python 3.11 returns the reply instead of
    raising when the cancel lands as the command's write completes."""
    await pending(await make_queue())
    calls: dict[str, Callable[[TaskQueue], Awaitable[Any]]] = {
        "next_due": lambda q: q.next_due(),
        "reap_expired": lambda q: q.reap_expired(),
        "claim_many": lambda q: q.claim_many(1, {"agent_type": "nobody"}),
        "get_stats": lambda q: q.get_stats(),
    }
    lost = []
    for name, call in calls.items():
        warm = await make_queue()
        await call(warm)
        for turns in range(30):  # cancel after 0, 1, 2, ... event-loop turns: every moment of the call
            fresh = [(await make_queue(), "new")] if name == "next_due" else []  # cancelled while connecting
            for queue, state in [(warm, "open"), *fresh]:
                running = asyncio.create_task(call(queue))
                for _ in range(turns):
                    await asyncio.sleep(0)
                if running.cancel():  # False: the call had already returned
                    await asyncio.wait([running])
                    if not running.cancelled():
                        lost.append((name, state, turns))
                if state == "new":
                    await queue.close()
    assert lost == []
