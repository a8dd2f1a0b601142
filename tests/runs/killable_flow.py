"""A durable flow for the kill -9 test, run as its own process.

    python killable_flow.py STORE SIDE_EFFECTS BLOCK

Each step appends its name to SIDE_EFFECTS when it starts; the step named BLOCK (if any) then
waits forever, so the test can kill the process while that step runs.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from jotty.agents import FunctionAgent
from jotty.patterns import Chain, Parallel, Step

RUN_ID = "kill-me"


def build(side_effects: str, block: str) -> Chain:
    def step(name: str) -> FunctionAgent:
        async def run(value: Any) -> str:
            with open(side_effects, "a", encoding="utf-8") as out:
                out.write(name + "\n")
            if name == block:
                await asyncio.Event().wait()
            return f"{value}>{name}"

        return FunctionAgent(run, name=name)

    fan = Parallel([step("p0"), step("p1"), step("p2")])
    return Chain([step("s1"), step("s2"), Step(fan, name="fan"), step("s4"), step("s5")])


async def main(store: str, side_effects: str, block: str) -> None:
    result = await build(side_effects, block).run("in", store=store, run_id=RUN_ID)
    print(result.status, result.output)


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
