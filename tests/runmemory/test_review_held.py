"""Review probes: a held outcome (the store refused it) meets the paths that write outcomes again."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from jotty.agents import FunctionAgent, RunContext
from jotty.memory import Memory
from jotty.orchestration import AgentConfig, Conductor
from jotty.orchestration.recording import task_run_id
from jotty.queue import SQLiteTaskQueue, TaskStatus
from tests.runmemory.test_hunt_write_failed import make_store, refuse_writes


@pytest.mark.parametrize("refused", [False, True], ids=["store-takes-writes", "store-refuses-then-takes"])
def test_a_retried_task_remembers_its_failure_once(store: Path, refused: bool) -> None:
    """The run fails (while the store refuses writes: its failure is held). The queue retries the
    task in the same worker; the retry checks memory for that failure and, not finding it (held,
    not written), handed the writer a second copy: once the store took writes again, the failure was
    remembered twice (reinforced: count 2), as if the run had failed twice."""
    asyncio.run(make_store(store))
    if refused:
        refuse_writes(store, True)
    calls = []

    def answer(value: Any, ctx: RunContext) -> str:
        calls.append(value)
        if len(calls) == 1:
            raise RuntimeError("the Evora ledger service timed out")
        if refused:
            refuse_writes(store, False)  # the store takes writes again while the retry runs
        return f"tallied {value}"

    async def work() -> tuple[Any, list[dict[str, Any]]]:
        async with SQLiteTaskQueue(store, retry_backoff=0) as queue:
            task_id = await queue.create_task("tally the Evora parcel batch 51", status="pending")
            clerk = AgentConfig("clerk", FunctionAgent(answer))
            with Conductor([clerk], task_queue=queue, store=store, memory_sleep=None) as conductor:
                await conductor.process_queue(until_empty=True, poll_interval=0.05)
            task = await queue.get_task(task_id)
        run_id = task_run_id(task_id)
        async with Memory(store, "conductor") as memory:
            rows = memory.database().read(lambda cur: cur.rows("SELECT sources FROM jotty_memory"))
        sources = [s for (raw,) in rows for s in json.loads(raw)]
        return task, [s for s in sources if s.get("metadata", {}).get("run_id") == run_id]

    task, sources = asyncio.run(work())
    assert task is not None and task.status == TaskStatus.COMPLETED, task
    assert len(calls) == 2
    failures = [s.get("count", 1) for s in sources if s["metadata"]["outcome"] == "failure"]
    assert failures == [1], sources


def test_an_outcome_held_for_a_memory_its_owner_closed_does_not_open_that_store_again(store: Path) -> None:
    """The caller's memory (not the Conductor's own) is closed while the writer holds an outcome the
    store refused: the outcome is tried once more as the memory closes, then not again. Retried at
    the Conductor's close, it opened the closed memory's store again, wrote to it and left it open."""
    asyncio.run(make_store(store))
    refuse_writes(store, True)

    def answer(value: Any, ctx: RunContext) -> str:
        return f"tallied {value}"

    async def work() -> tuple[Memory, Any]:
        memory = Memory(store, "conductor")
        with Conductor([AgentConfig("clerk", FunctionAgent(answer))], memory=memory, memory_sleep=None) as conductor:
            result = await conductor.run("tally the Evora parcel batch 52")
            assert result.memory is not None
            await result.memory.settled()
            assert {e.status for e in result.memory.remembered} == {"failed"}
            await memory.close()  # its owner closes it first
            refuse_writes(store, False)
        return memory, result

    memory, result = asyncio.run(work())
    assert memory._database is None, "the closed memory's store was opened again"
    assert result.memory is not None
    assert all("not remembered" in e.reason for e in result.memory.remembered), result.memory.remembered
