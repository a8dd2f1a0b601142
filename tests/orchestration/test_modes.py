"""ExecutionMode: style (chat, workflow) x execution (sync, async with a queue, async without one).

Each valid combination is used end to end; each call that does not fit its mode raises a
``ValueError`` naming the call that does.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from jotty.errors import ValidationError
from jotty.orchestration import (
    AgentConfig,
    ChatMessage,
    ChatMode,
    Conductor,
    ConductorResult,
    ExecutionMode,
    WorkflowMode,
)
from jotty.queue import MemoryTaskQueue, SQLiteTaskQueue, TaskStatus

from .helpers import Calls


@pytest.fixture
async def queue(tmp_path: Path) -> AsyncIterator[SQLiteTaskQueue]:
    q = SQLiteTaskQueue(tmp_path / "tasks.db")
    yield q
    await q.close()


def conductor(store: Path, calls: Calls, **kw: Any) -> Conductor:
    actors = [AgentConfig("a", calls.appender("a")), AgentConfig("b", calls.appender("b"))]
    return Conductor(actors, store=store, **kw)


# ---------------------------------------------------------------------- the three valid combinations


async def test_workflow_sync_executes_now_and_streams_raw_events(store: Path) -> None:
    calls = Calls()
    workflow = ExecutionMode(conductor(store, calls), style="workflow", execution="sync")

    result = await workflow.execute("report", {"quarter": "Q4"})
    assert isinstance(result, ConductorResult) and result.output == "report|a|b"
    assert result.learning["mode"] == "static" and result.learning["choice"] == "b"
    assert calls.seen[0][2]["quarter"] == "Q4"

    stream = workflow.execute_stream("again")
    events = [event async for event in stream]
    assert [e["type"] for e in events][0 :: len(events) - 1] == ["run_started", "run_completed"]
    assert all({"type", "step_path", "run_id", "data", "at"} <= set(e) for e in events)
    assert stream.result.output == "again|a|b"

    history = [ChatMessage("user", "hi")]
    types = [e["type"] async for e in workflow.stream("with history", history)]
    assert (types[0], types[-1]) == ("run_started", "run_completed")
    assert calls.seen[-1][2]["history"] == [{"role": "user", "content": "hi"}]

    for call in (workflow.enqueue_task("x"), workflow.process_queue(), workflow.stop_processing()):
        with pytest.raises(ValueError, match=r"needs ExecutionMode\(conductor, style='workflow', execution='async'"):
            await call
    with pytest.raises(ValueError, match=r"in workflow sync mode call execute\(goal\) instead"):
        await workflow.enqueue_task("x")


async def test_workflow_async_queues_goals_and_processes_them(store: Path, queue: SQLiteTaskQueue) -> None:
    calls = Calls()
    workflow = ExecutionMode(conductor(store, calls), style="workflow", execution="async", queue=queue)
    assert workflow.queue is queue and workflow.conductor.task_queue is queue

    task_id = await workflow.enqueue_task("generate report", priority=1, context={"quarter": "Q1"})
    stats = await workflow.process_queue(until_empty=True)
    assert stats.completed == 1
    task = await queue.get_task(task_id)
    assert task is not None and task.status is TaskStatus.COMPLETED
    assert task.result["output"] == "generate report|a|b" and task.result["learning"]["choice"] == "b"
    assert calls.seen[0][2]["quarter"] == "Q1"
    with pytest.raises(ValueError, match=r"poll_interval must be > 0 seconds, got 0"):
        await workflow.process_queue(until_empty=True, poll_interval=0)  # passed on to the worker

    message = r"runs now, which needs execution='sync'; in async mode queue the goal with enqueue_task\(goal\)"
    with pytest.raises(ValueError, match=r"execute\(goal\) " + message):
        await workflow.execute("x")
    with pytest.raises(ValueError, match=r"execute_stream\(goal\) " + message):
        workflow.execute_stream("x")
    with pytest.raises(ValueError, match=r"stream\(goal, history\) " + message):
        workflow.stream("x")


async def test_chat_sync_streams_chat_events_and_executes(store: Path) -> None:
    calls = Calls()
    chat = ExecutionMode(conductor(store, calls), style="chat", execution="sync")

    history = [ChatMessage("user", "What are transformers?"), {"role": "assistant", "content": "A model family."}]
    events = [event async for event in chat.stream("Explain attention", history)]
    assert [e["type"] for e in events] == ["text_chunk", "done"]
    assert events[0] == {"type": "text_chunk", "content": "Explain attention|a|b", "actor": "b", "attempt": 1}
    assert events[-1]["status"] == "completed" and events[-1]["learning"]["choice"] == "b"
    assert events[-1]["learning"]["goal"]["category"] == "chat"
    assert calls.seen[0][2]["history"] == [
        {"role": "user", "content": "What are transformers?"},
        {"role": "assistant", "content": "A model family."},
    ]

    result = await chat.execute("plain", {"history": [ChatMessage("user", "earlier")]})
    assert result.output == "plain|a|b" and calls.seen[-1][2]["history"] == [{"role": "user", "content": "earlier"}]

    with pytest.raises(ValueError, match=r"in chat sync mode call stream\(goal, history\) instead"):
        await chat.enqueue_task("x")


# ---------------------------------------------------------------------- the three invalid combinations


@pytest.mark.parametrize("with_queue", [True, False])
def test_chat_is_sync_only(store: Path, with_queue: bool) -> None:
    queue = MemoryTaskQueue() if with_queue else None
    with pytest.raises(ValueError, match=r"chat is sync only: use ChatMode\(conductor\) or .*execution='sync'"):
        ExecutionMode(conductor(store, Calls()), style="chat", execution="async", queue=queue)


def test_workflow_async_without_a_queue_names_the_queue_argument(store: Path) -> None:
    with pytest.raises(ValueError, match=r"execution='async' needs a queue: .*queue=SQLiteTaskQueue"):
        ExecutionMode(conductor(store, Calls()), style="workflow", execution="async")


# ---------------------------------------------------------------------- other wrong arguments


def test_other_wrong_arguments_name_the_fix(store: Path) -> None:
    c = conductor(store, Calls())
    with pytest.raises(ValueError, match="style must be 'chat' or 'workflow'"):
        ExecutionMode(c, style="batch")
    with pytest.raises(ValueError, match="execution must be 'sync'"):
        ExecutionMode(c, execution="later")
    with pytest.raises(ValueError, match="a queue is only used with execution='async'"):
        ExecutionMode(c, style="workflow", execution="sync", queue=MemoryTaskQueue())
    with pytest.raises(ValueError, match="needs a Conductor"):
        ExecutionMode("conductor")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="history must be a list of ChatMessage"):
        ChatMode(c).stream("x", history="hello")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="ChatMessage role must be one of"):
        ChatMessage("robot", "beep")
    owned = conductor(store, Calls(), task_queue=MemoryTaskQueue())
    with pytest.raises(ValueError, match="the conductor already has another task_queue"):
        ExecutionMode(owned, execution="async", queue=MemoryTaskQueue())


# ---------------------------------------------------------------------- the thin wrappers


async def test_chat_mode_is_chat_sync(store: Path) -> None:
    chat = ChatMode(conductor(store, Calls()))
    assert (chat.style, chat.execution) == ("chat", "sync")
    assert [e["type"] async for e in chat.stream("hi")] == ["text_chunk", "done"]


async def test_workflow_mode_can_override_the_routing_and_queue_work(store: Path) -> None:
    called = asyncio.Event()

    async def a(value: str) -> str:
        return f"{value}|a"

    async def b(value: str) -> str:
        called.set()
        return f"{value}|b"

    base = Conductor([AgentConfig("a", a), AgentConfig("b", b)], store=store)
    queue = MemoryTaskQueue()
    workflow = WorkflowMode(base, execution="async", queue=queue, mode="static", agent_order=["b", "a"])
    assert (workflow.style, workflow.execution, workflow.conductor.mode) == ("workflow", "async", "static")
    assert workflow.conductor.plan.order == ("b", "a") and base.plan.order == ("a", "b")

    worker = asyncio.create_task(workflow.process_queue())  # no max_tasks: runs until stopped
    task_id = await workflow.enqueue_task("q")
    await asyncio.wait_for(called.wait(), timeout=30)
    await workflow.stop_processing()
    stats = await asyncio.wait_for(worker, timeout=30)
    task = await queue.get_task(task_id)
    assert stats.completed == 1 and task is not None and task.status is TaskStatus.COMPLETED
    assert task.result["output"] == "q|b|a"

    assert (await WorkflowMode(base, mode="dynamic").execute("pick one")).learning["mode"] == "dynamic"
    assert (await WorkflowMode(base).execute("default")).learning["mode"] == "static"
