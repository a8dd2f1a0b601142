"""A dynamic Conductor run for the kill -9 test, run as its own process.

    python killable_conductor.py STORE COUNTER BLOCK

Three actors; the router tries untried actors in order: ``first`` and ``second`` fail, ``third``
answers. Each actor appends its name to COUNTER when it starts; the actor named BLOCK (if any)
then waits forever, so the test can kill the process while it runs.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from jotty.agents import FunctionAgent
from jotty.orchestration import AgentConfig, Conductor

RUN_ID = "conducted-kill-me"
GOAL = "tidy the notes"


def build(store: str, counter: str, block: str) -> Conductor:
    def actor(name: str, fails: bool) -> FunctionAgent:
        async def run(value: Any) -> str:
            with open(counter, "a", encoding="utf-8") as out:
                out.write(name + "\n")
            if name == block:
                await asyncio.Event().wait()
            if fails:
                raise RuntimeError(f"{name} cannot")
            return f"{value} by {name}"

        return FunctionAgent(run, name=name)

    actors = [AgentConfig(n, actor(n, n != "third")) for n in ("first", "second", "third")]
    return Conductor(actors, mode="dynamic", store=store, router_options={"stuck_after": 5})


async def main(store: str, counter: str, block: str) -> None:
    with build(store, counter, block) as conductor:
        result = await conductor.run(GOAL, {"category": "notes"}, run_id=RUN_ID)
    print(json.dumps({"status": str(result.status), "output": result.output, "learning": result.learning}))


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
