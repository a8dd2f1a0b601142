"""Probe: a worker killed after its task's run was recorded complete but before the outcome was
written to memory. The task runs again on another worker; the run store says the run completed,
so the Conductor skips it, and nothing ever remembers the outcome."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from jotty.agents import FunctionAgent, RunContext
from jotty.memory import Memory
from jotty.orchestration import AgentConfig, Conductor
from jotty.orchestration.recording import stored_status, task_run_id
from jotty.queue import SQLiteTaskQueue, TaskStatus
from jotty.runs import RunStatus
from tests.support.kill import kill_when
from tests.support.processes import spawn_module


def answer(value: Any, ctx: RunContext) -> str:
    return f"tallied {value}"


def test_a_worker_killed_before_the_outcome_was_written_loses_it_for_good(store: Path) -> None:
    goal = "tally the Evora parcel batch 17"

    async def enqueue() -> str:
        queue = SQLiteTaskQueue(store)
        task_id = await queue.create_task(goal, status="pending")
        await queue.close()
        return task_id

    task_id = asyncio.run(enqueue())
    run_id = task_run_id(task_id)
    worker = spawn_module("tests.runmemory.slow_writer_worker", str(store))
    assert worker.stdout is not None and worker.stdout.readline().strip() == "ran"
    # the run is recorded complete; its outcome waits in the lingering writer: kill -9 now
    kill_when(worker, lambda: asyncio.run(stored_status(str(store), run_id)) is RunStatus.COMPLETED, worker.poll)

    async def second_worker() -> Any:
        queue = SQLiteTaskQueue(store)
        assert await queue.validate_pids() == 1  # the dead worker's task goes back to pending
        with Conductor(
            [AgentConfig("clerk", FunctionAgent(answer))], task_queue=queue, store=store, memory_sleep=None
        ) as conductor:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                await conductor.process_queue(until_empty=True, poll_interval=0.05)
                task = await queue.get_task(task_id)
                if task is not None and task.status == TaskStatus.COMPLETED:
                    break
                await asyncio.sleep(0.2)
        await queue.close()
        async with Memory(store, "conductor") as memory:
            hits = await memory.recall("Evora parcel batch 17", k=5)
        return task, hits

    task, hits = asyncio.run(second_worker())
    assert task is not None and task.status == TaskStatus.COMPLETED
    report = task.result["memory"]
    print(report)
    assert any("Evora parcel batch 17" in hit.text for hit in hits), report
