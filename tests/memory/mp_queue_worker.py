"""``python -m tests.memory.mp_queue_worker STORE``: a queue worker on STORE (SQLite path or PostgreSQL
URL; the queue is the SQLite file STORE or, for a URL, QUEUE env), whose memory writer lingers
0.4 s (so a kill lands between a run's record and its outcome's write), idle sleep 0.5 s."""

from __future__ import annotations

import asyncio
import os
import random
import sys
import time
from typing import Any

from jotty.agents import FunctionAgent, RunContext
from jotty.orchestration import AgentConfig, Conductor
from jotty.queue import SQLiteTaskQueue


def answer(value: Any, ctx: RunContext) -> str:
    time.sleep(random.random() * 0.1)
    return f"done {value}"


async def main(store: str) -> None:
    queue = SQLiteTaskQueue(os.environ.get("QUEUE", store), lease_seconds=2.0)
    conductor = Conductor(
        [AgentConfig("clerk", FunctionAgent(answer))], task_queue=queue, store=store, memory_sleep=0.5
    )
    assert conductor.memory is not None
    conductor.memory.writer.linger = 0.4
    conductor.memory.writer.hurry = lambda: None  # type: ignore[method-assign]
    print("up", flush=True)
    await conductor.process_queue(max_concurrent=3, poll_interval=0.05)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
