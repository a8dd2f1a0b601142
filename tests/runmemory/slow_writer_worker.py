"""``python -m tests.runmemory.slow_writer_worker STORE``: a queue worker whose memory writer is slow to
write (it lingers 60 s, as a busy store or a slow embedder would hold it): the task's run finishes
and is recorded, its outcome waits in the writer. Prints ``ran`` once the actor returned."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from jotty.agents import FunctionAgent, RunContext
from jotty.orchestration import AgentConfig, Conductor
from jotty.queue import SQLiteTaskQueue


def answer(value: Any, ctx: RunContext) -> str:
    print("ran", flush=True)
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
