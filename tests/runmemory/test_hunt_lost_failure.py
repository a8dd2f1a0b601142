"""Probe: a worker killed (kill -9) after its task's run was recorded FAILED but before its writer
wrote the failure. The queue retries the task on another worker, where the run succeeds: memory
should hold both the failure and the success of the run, as it does when no worker dies."""

from __future__ import annotations

import asyncio
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

ERROR = "the Evora ledger service timed out"  # what the killed worker's actor raised


def answer(value: Any, ctx: RunContext) -> str:
    return f"tallied {value}"


def test_a_failed_runs_outcome_survives_its_worker_killed_before_the_write(store: Path) -> None:
    goal = "tally the Evora parcel batch 23"

    async def enqueue() -> str:
        async with SQLiteTaskQueue(store) as queue:
            return await queue.create_task(goal, status="pending")

    task_id = asyncio.run(enqueue())
    run_id = task_run_id(task_id)
    worker = spawn_module("tests.runmemory.slow_writer_worker", str(store), "fail")
    assert worker.stdout is not None and worker.stdout.readline().strip() == "ran"
    # the run is recorded failed; its failure waits in the lingering writer: kill -9 now
    kill_when(worker, lambda: asyncio.run(stored_status(str(store), run_id)) is RunStatus.FAILED, worker.poll)

    async def second_worker() -> Any:
        async with SQLiteTaskQueue(store, retry_backoff=0) as queue:
            assert await queue.validate_pids() == 1  # the dead worker's task is pending again
            clerk = AgentConfig("clerk", FunctionAgent(answer))
            with Conductor([clerk], task_queue=queue, store=store, memory_sleep=None) as conductor:
                await conductor.process_queue(until_empty=True, poll_interval=0.05)
            task = await queue.get_task(task_id)
        async with Memory(store, "conductor") as memory:
            hits = await memory.recall("Evora parcel batch 23", k=5)
        return task, {(h.metadata["outcome"], h.text) for h in hits if h.metadata.get("run_id") == run_id}

    task, remembered = asyncio.run(second_worker())
    assert task is not None and task.status == TaskStatus.COMPLETED, task
    failed = f"{goal} -> failed: the static order stopped at 'conductor/1-clerk': RuntimeError: {ERROR}"
    assert remembered == {("failure", failed), ("success", f"{goal} -> tallied {goal}")}, task.result["memory"]
