"""Memory, run recording and context levels together on one Conductor (one real SQLite store)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jotty.agents import FunctionAgent, RunContext
from jotty.context import ContextPolicy, Part, PartKind
from jotty.memory import Memory
from jotty.orchestration import AgentConfig, Conductor, ExecutionMode
from jotty.queue import SQLiteTaskQueue, TaskStatus
from jotty.runs import RunStatus, get_events, get_run, list_runs

from .helpers import Calls


def actor(calls: Calls, name: str) -> AgentConfig:
    def answer(value: Any, ctx: RunContext) -> str:
        calls.seen.append((name, value, dict(ctx.data)))
        return f"{name}: {value} is settled"

    return AgentConfig(name, FunctionAgent(answer, name=name))


def policy() -> ContextPolicy:
    return ContextPolicy(parts=[Part("house-rules", "Budgets are in euros.", PartKind.MEMORY)])


async def memory_total(store: Path) -> int:
    async with Memory(store, "conductor") as memory:
        return (await memory.stats()).total


async def test_a_levelled_run_recalls_is_recorded_and_a_resume_remembers_nothing_twice(store: Path) -> None:
    calls = Calls()
    with Conductor([actor(calls, "planner")], store=store, level="L2", policy=policy()) as conductor:
        first = await conductor.run("plan the Lisbon offsite budget")
        assert first.memory is not None
        await first.memory.settled()
        second = await conductor.run("what was the Lisbon offsite budget plan?")
        assert second.memory is not None
        await second.memory.settled()
        seen = calls.seen[-1][2]
        assert "Lisbon offsite budget" in seen["memory"]["text"]  # recalled from the first run
        assert "house-rules" in seen["parts"]  # the policy's window at L2
        windows = [e for e in second.events if e["type"] == "context_window"]
        assert windows and {w["data"]["level"] for w in windows} == {"L2"}
        total = await memory_total(store)

        again = await conductor.run("what was the Lisbon offsite budget plan?", run_id=second.run_id)
        assert again.ok and again.output == second.output and len(calls.seen) == 2  # nothing ran
        assert again.memory is not None and again.memory.remembered == []
        assert again.memory.recalled == [] and again.memory.tokens == 0  # nothing ran: nothing recalled
        assert again.memory.skipped == "the run had completed: its stored result"
        assert again.memory.to_dict()["skipped"] == again.memory.skipped
        await again.memory.settled()
    assert await memory_total(store) == total  # the resumed completed run stored nothing more
    run = await get_run(second.run_id, store)
    assert run.status is RunStatus.COMPLETED and run.output == second.output
    # no recalled memory kept; the level it ran at, as every levelled durable run keeps it
    assert run.metadata == {"conductor": {"mode": "static", "context": {}}, "context_level": "L2"}
    assert {summary.run_id for summary in await list_runs(store)} == {first.run_id, second.run_id}


async def test_a_queued_run_is_recorded_as_its_task_and_settles_its_memory(store: Path) -> None:
    calls = Calls()
    queue = SQLiteTaskQueue(store)
    with Conductor([actor(calls, "surveyor")], store=store, level="L3", policy=policy()) as conductor:
        mode = ExecutionMode(conductor, style="workflow", execution="async", queue=queue)
        task_id = await mode.enqueue_task("survey the Porto warehouse shelving")
        await mode.process_queue(until_empty=True)
    task = await queue.get_task(task_id)
    await queue.close()
    assert task is not None and task.status is TaskStatus.COMPLETED
    assert task.result["run_id"] == f"task-{task_id}"
    assert [entry["status"] for entry in task.result["memory"]["remembered"]] == ["stored", "stored"]
    run = await get_run(f"task-{task_id}", store)
    assert run.status is RunStatus.COMPLETED
    windows = [e.event.data for e in await get_events(run.run_id, store) if e.event.type == "context_window"]
    assert [window["level"] for window in windows] == ["L3"]
    assert await memory_total(store) == 1


async def test_execution_mode_resumes_a_recorded_run_by_its_id(store: Path) -> None:
    calls = Calls()
    with Conductor([actor(calls, "writer")], store=store) as conductor:
        mode = ExecutionMode(conductor)
        first = await mode.execute("draft the release notes", run_id="notes-1")
        again = await mode.execute("draft the release notes", run_id="notes-1")
        streamed = mode.execute_stream("draft the release notes", run_id="notes-1")
        async for _ in streamed:
            pass
    assert first.run_id == again.run_id == streamed.result.run_id == "notes-1"
    assert again.output == streamed.result.output == first.output and len(calls.seen) == 1
    assert [summary.run_id for summary in await list_runs(store)] == ["notes-1"]
