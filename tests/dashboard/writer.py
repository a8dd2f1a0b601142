"""A process that writes runs while a dashboard reads them (run as ``python -m tests.dashboard.writer``).

``writer.py STORE gated RUN_ID GATES STEPS``: one chain of STEPS steps; step ``k`` finishes only once
the file ``GATES/k`` exists, so a test decides when each step lands (and can kill -9 in between).
``writer.py STORE many PREFIX COUNT``: COUNT short nested runs, one after another.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import Any

from jotty.agents import FunctionAgent
from jotty.patterns import Chain, Step
from tests.dashboard.flows import nested_flow


def gated_flow(gates: Path, steps: int) -> Chain:
    def waiter(k: int) -> Any:
        async def wait(value: Any) -> Any:
            while not (gates / str(k)).exists():
                await asyncio.sleep(0.01)
            return f"{value}+{k}"

        return wait

    return Chain(
        [Step(FunctionAgent(waiter(k), name=f"step-{k}"), name=f"step-{k}") for k in range(steps)], name="gated"
    )


async def main(argv: list[str]) -> None:
    store, mode = argv[0], argv[1]
    if mode == "gated":
        run_id, gates, steps = argv[2], Path(argv[3]), int(argv[4])
        await gated_flow(gates, steps).run("go", store=store, run_id=run_id)
    else:
        prefix, count = argv[2], int(argv[3])
        for i in range(count):
            await nested_flow().run("q", store=store, run_id=f"{prefix}-{i}")
    print("done", time.time(), flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
