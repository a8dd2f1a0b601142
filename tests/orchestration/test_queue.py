"""Queued goals: enqueue_goal stores a pending task, process_queue runs it through the Conductor
(with learning), results and errors land on the task, stop_processing is graceful."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from jotty.agents import RunContext
from jotty.errors import ValidationError
from jotty.orchestration import AgentConfig, Conductor
from jotty.queue import SQLiteTaskQueue, TaskStatus

from .helpers import Calls


@pytest.fixture
async def queue(store: Path) -> AsyncIterator[SQLiteTaskQueue]:
    """The queue in the same store file as the learning: one store for everything."""
    q = SQLiteTaskQueue(store, retry_backoff=0)
    yield q
    await q.close()


async def test_a_queued_goal_runs_end_to_end_and_learning_is_updated(store: Path, queue: SQLiteTaskQueue) -> None:
    calls = Calls()
    with Conductor([AgentConfig("writer", calls.appender("writer"))], task_queue=queue, store=store) as conductor:
        assert conductor.router.summary().rows == ()
        task_id = await conductor.enqueue_goal(
            "write the release notes", priority=2, context={"category": "docs", "version": "1.2"}, tags=["release"]
        )
        pending = await queue.get_task(task_id)
        assert pending is not None and pending.status is TaskStatus.PENDING
        assert (pending.title, pending.priority, pending.tags) == ("write the release notes", 2, ["release"])
        assert pending.metadata == {
            "goal": "write the release notes",
            "context": {"category": "docs", "version": "1.2"},
        }

        stats = await conductor.process_queue(until_empty=True)
        rows = {(r.actor, r.category): r for r in conductor.router.summary().rows}

    assert (stats.claimed, stats.completed, stats.failed) == (1, 1, 0)
    task = await queue.get_task(task_id)
    assert task is not None and task.status is TaskStatus.COMPLETED
    assert task.result["output"] == "write the release notes|writer"
    assert task.result["status"] == "completed" and task.result["actor"] == "writer"
    assert task.result["learning"]["choice"] == "writer"
    assert task.result["learning"]["goal"] == {"category": "docs", "keywords": ["release", "write", "notes"],
                                               "goal_key": task_id}  # fmt: skip
    _, goal, data = calls.seen[0]
    assert goal == "write the release notes"
    assert (data["version"], data["task_id"], data["tags"]) == ("1.2", task_id, ["release"])
    assert rows[("writer", "docs")].attempts == 1 and rows[("writer", "docs")].successes == 1


async def test_a_failed_run_is_retried_by_the_queue(store: Path, queue: SQLiteTaskQueue) -> None:
    attempts: list[str] = []

    def second_time_lucky(goal: str) -> str:
        attempts.append(goal)
        if len(attempts) == 1:
            raise RuntimeError("network blip")
        return "done"

    with Conductor([AgentConfig("worker", second_time_lucky)], task_queue=queue, store=store) as conductor:
        task_id = await conductor.enqueue_goal("sync the mirror")
        await conductor.process_queue(until_empty=True)

    task = await queue.get_task(task_id)
    assert task is not None and task.status is TaskStatus.COMPLETED and task.retry_count == 1
    assert task.result["output"] == "done" and len(attempts) == 2


async def test_a_run_that_keeps_failing_fails_the_task_with_its_error(store: Path, queue: SQLiteTaskQueue) -> None:
    calls = Calls()
    with Conductor([AgentConfig("worker", calls.failing("worker", "no space"))], task_queue=queue, store=store) as c:
        task_id = await c.enqueue_goal("archive the logs", max_retries=1)
        stats = await c.process_queue(until_empty=True)

    task = await queue.get_task(task_id)
    assert task is not None and task.status is TaskStatus.FAILED
    assert stats.failed == 2 and len(calls.seen) == 2
    assert "ConductorRunFailed" in (task.error_message or "") and "no space" in (task.error_message or "")
    last = task.metadata["last_result"]
    assert last["status"] == "failed" and last["stop_reason"] == "failed"
    assert last["steps"][0]["error"] == "RuntimeError: no space"


async def test_when_every_actor_is_stuck_the_task_fails_without_retries(store: Path, queue: SQLiteTaskQueue) -> None:
    calls = Calls()
    actors = [AgentConfig("worker", calls.failing("worker"))]
    with Conductor(actors, mode="dynamic", task_queue=queue, store=store) as conductor:
        task_id = await conductor.enqueue_goal("do the impossible", max_retries=5)
        await conductor.process_queue(until_empty=True)

    task = await queue.get_task(task_id)
    assert task is not None and task.status is TaskStatus.FAILED and task.retry_count == 0
    assert "PermanentFailure" in (task.error_message or "") and "actors_exhausted" in (task.error_message or "")
    assert len(calls.seen) == 2  # stuck after two failures on this task: no retry would help


async def test_tasks_made_elsewhere_run_with_title_description_category_and_tags(
    store: Path, queue: SQLiteTaskQueue
) -> None:
    calls = Calls()
    task_id = await queue.create_task(
        "Fix login", description="The form rejects valid emails", category="code", tags=["auth"], status="pending"
    )
    with Conductor([AgentConfig("coder", calls.appender("coder"))], task_queue=queue, store=store) as conductor:
        await conductor.process_queue(until_empty=True)

    _, goal, data = calls.seen[0]
    assert goal == "Fix login\n\nThe form rejects valid emails"
    assert (data["category"], data["tags"], data["task_id"]) == ("code", ["auth"], task_id)


async def test_process_queue_runs_up_to_max_concurrent_goals_at_once(store: Path, queue: SQLiteTaskQueue) -> None:
    started: list[str] = []
    all_started = asyncio.Event()

    async def waits_for_the_others(goal: str) -> str:
        started.append(goal)
        if len(started) == 3:
            all_started.set()
        await all_started.wait()  # only returns if three goals run at the same time
        return goal.upper()

    with Conductor([AgentConfig("worker", waits_for_the_others)], task_queue=queue, store=store) as conductor:
        ids = [await conductor.enqueue_goal(f"goal {i}") for i in range(3)]
        stats = await asyncio.wait_for(conductor.process_queue(max_concurrent=3, until_empty=True), timeout=30)

    assert stats.completed == 3
    for i, task_id in enumerate(ids):
        task = await queue.get_task(task_id)
        assert task is not None and task.result["output"] == f"GOAL {i}"


async def test_max_tasks_returns_after_that_many(store: Path, queue: SQLiteTaskQueue) -> None:
    calls = Calls()
    with Conductor([AgentConfig("a", calls.appender("a"))], task_queue=queue, store=store) as conductor:
        first = await conductor.enqueue_goal("first", priority=1)
        second = await conductor.enqueue_goal("second", priority=5)
        stats = await conductor.process_queue(max_tasks=1)

    assert stats.claimed == 1
    done, waiting = await queue.get_task(first), await queue.get_task(second)
    assert done is not None and done.status is TaskStatus.COMPLETED
    assert waiting is not None and waiting.status is TaskStatus.PENDING


async def test_stop_processing_lets_the_running_goal_finish_and_takes_no_more(
    store: Path, queue: SQLiteTaskQueue
) -> None:
    running = asyncio.Event()
    release = asyncio.Event()

    async def slow(goal: str, ctx: RunContext) -> str:
        running.set()
        await release.wait()
        return f"finished {goal}"

    with Conductor([AgentConfig("slow", slow)], task_queue=queue, store=store) as conductor:
        ids = [await conductor.enqueue_goal(f"job {i}") for i in range(3)]
        worker = asyncio.create_task(conductor.process_queue(max_concurrent=1))
        await asyncio.wait_for(running.wait(), timeout=30)
        await conductor.stop_processing()
        assert not worker.done()  # still waiting for the running goal
        release.set()
        stats = await asyncio.wait_for(worker, timeout=30)

    assert (stats.claimed, stats.completed, stats.released) == (1, 1, 0)
    statuses = []
    for task_id in ids:
        task = await queue.get_task(task_id)
        assert task is not None
        statuses.append(task.status)
    assert statuses == [TaskStatus.COMPLETED, TaskStatus.PENDING, TaskStatus.PENDING]


async def test_queue_calls_without_a_queue_name_the_fix(store: Path) -> None:
    with Conductor([AgentConfig("a", str)], store=store) as conductor:
        with pytest.raises(
            ValidationError, match=r"enqueue_goal\(\) needs a task queue: Conductor\(\.\.\., task_queue="
        ):
            await conductor.enqueue_goal("goal")
        with pytest.raises(ValidationError, match=r"process_queue\(\) needs a task queue"):
            await conductor.process_queue()
        await conductor.stop_processing()  # nothing running: nothing to stop


async def test_bad_goals_and_context_are_refused_before_anything_is_stored(store: Path, queue: SQLiteTaskQueue) -> None:
    with Conductor([AgentConfig("a", str)], task_queue=queue, store=store) as conductor:
        with pytest.raises(ValidationError, match="goal must be a non-empty string"):
            await conductor.enqueue_goal("")
        with pytest.raises(ValidationError, match="context must be a dict"):
            await conductor.enqueue_goal("goal", context="x")  # type: ignore[arg-type]
        with pytest.raises(ValidationError, match="JSON-serialisable"):
            await conductor.enqueue_goal("goal", context={"when": object()})
    stats: dict[str, Any] = await queue.get_stats()
    assert stats["total"] == 0
