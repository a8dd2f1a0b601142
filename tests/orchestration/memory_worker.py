"""A Conductor process for the memory tests.

``python -m tests.orchestration.memory_worker run STORE GOAL``: one run with memory; prints the
run's memory report as JSON (after closing, so the outcome is written).
``python -m tests.orchestration.memory_worker queue STORE SLEEP``: processes the store's queue with
``memory_sleep=SLEEP`` until killed; prints ``slept <json>`` after each idle consolidation pass.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from jotty.agents import FunctionAgent, RunContext
from jotty.orchestration import AgentConfig, Conductor
from jotty.queue import SQLiteTaskQueue


def answer(value: Any, ctx: RunContext) -> str:
    """Says what it remembered for the goal, then answers it."""
    remembered = [item["text"] for item in ctx.data["memory"]["items"]]
    return f"answered {value!r} remembering {len(remembered)}"


async def run(store: str, goal: str) -> None:
    conductor = Conductor([AgentConfig("answerer", FunctionAgent(answer))], store=store)
    result = await conductor.run(goal)
    conductor.close()
    print(json.dumps(result.memory.to_dict() if result.memory else None), flush=True)


async def queue(store: str, sleep: float) -> None:
    tasks = SQLiteTaskQueue(store)
    conductor = Conductor(
        [AgentConfig("answerer", FunctionAgent(answer))], task_queue=tasks, store=store, memory_sleep=sleep
    )
    assert conductor.memory is not None
    shown = 0
    worker = asyncio.create_task(conductor.process_queue(max_concurrent=2, poll_interval=0.05))
    while not worker.done():
        await asyncio.sleep(0.05)
        for report in conductor.memory.sleeps[shown:]:
            print("slept", json.dumps(report.to_dict()), flush=True)
        shown = len(conductor.memory.sleeps)
    await worker


if __name__ == "__main__":
    command, store_arg, value = sys.argv[1:4]
    if command == "run":
        asyncio.run(run(store_arg, value))
    else:
        asyncio.run(queue(store_arg, float(value)))
