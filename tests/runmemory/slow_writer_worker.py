"""``python -m tests.runmemory.slow_writer_worker STORE [fail]``: a queue worker whose memory writer is slow
to write (it lingers 60 s, as a busy store or a slow embedder would hold it): the task's run finishes
and is recorded, its outcome waits in the writer. Prints ``ran`` once the actor returned (with
``fail``: once it raised, so the run is recorded failed)."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from jotty.agents import FunctionAgent, RunContext
from jotty.orchestration import AgentConfig, Conductor
from jotty.queue import SQLiteTaskQueue

FAIL = sys.argv[2:] == ["fail"]


def answer(value: Any, ctx: RunContext) -> str:
    print("ran", flush=True)
    if FAIL:
        raise RuntimeError("the Evora ledger service timed out")  # test_hunt_lost_failure.ERROR
    return f"tallied {value}"


async def main(store: str) -> None:
    tasks = SQLiteTaskQueue(store)
    conductor = Conductor(
        [AgentConfig("clerk", FunctionAgent(answer))], task_queue=tasks, store=store, memory_sleep=None
    )
    assert conductor.memory is not None
    conductor.memory.writer.linger = 60.0
    conductor.memory.writer.hurry = lambda: None  # type: ignore[method-assign]  # settled() cannot cut the wait short
    await conductor.process_queue(max_concurrent=1, poll_interval=0.05)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
