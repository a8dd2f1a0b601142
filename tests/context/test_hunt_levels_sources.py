"""A step's sources under its timeout, and a prefetch that raises (a levels hunt).

A step's ``timeout`` bounded its agent's call but not the loading of its window: a source that
hung kept the run waiting past the timeout (and past the step's Skip) for as long as it hung. It
now bounds both; the time the sources took is the agent's less.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from jotty.agents import FunctionAgent
from jotty.context import ContextPolicy, PrefetchModel, Source
from jotty.patterns import Chain, Parallel, Skip, Step


async def hang(query: str) -> str:
    await asyncio.sleep(3)  # longer than any timeout here: the test's clock tells it hung
    return "too late"


async def test_a_step_timeout_bounds_the_loading_of_its_sources() -> None:
    policy = ContextPolicy(sources=[Source("slow", hang, category="research")])
    research = Step(FunctionAgent(lambda value: "found", name="research"), timeout=0.2, on_error=Skip("nothing"))
    began = time.monotonic()
    result = await Chain([research, FunctionAgent(lambda value: f"wrote from {value}", name="write")]).run(
        "go", level="L3", policy=policy
    )
    assert time.monotonic() - began < 2
    assert result.output == "wrote from nothing" and str(result.status) == "partial"
    [failed] = [e.data for e in result.events if e.type == "step_failed"]
    assert failed["error"] == "step 'chain/research' timed out after 0.2 s while its context sources loaded"


async def test_a_parallel_timeout_bounds_a_branchs_sources_too() -> None:
    policy = ContextPolicy(sources=[Source("slow", hang, category="research")])
    branches = [FunctionAgent(lambda v: "r", name="research"), FunctionAgent(lambda v: "w", name="write")]
    began = time.monotonic()
    result = await Parallel(branches, timeout=0.2, min_success=1).run("go", level="L3", policy=policy)
    assert time.monotonic() - began < 2
    assert result.ok and result.output == [None, "w"] and str(result.status) == "partial"


async def test_the_time_the_sources_took_is_the_agents_less() -> None:
    async def slowish(query: str) -> str:
        await asyncio.sleep(0.3)
        return "data"

    async def work(value: Any) -> str:
        await asyncio.sleep(0.3)
        return "done"

    policy = ContextPolicy(sources=[Source("ledger", slowish)])
    step = Step(FunctionAgent(work, name="analyse"), timeout=0.45)
    result = await Chain([step]).run("go", level="L1", policy=policy)
    assert not result.ok and "timed out after 0.45 s" in (result.error or "")


async def test_a_prefetch_that_raises_is_a_miss_and_the_step_loads_in_place() -> None:
    calls = {"n": 0}

    async def flaky(query: str) -> str:
        calls["n"] += 1
        if calls["n"] == 2:  # the second load is the prefetch of the second run
            raise RuntimeError("the ledger blinked")
        return "ledger rows"

    model = PrefetchModel()
    seen: dict[str, Any] = {}

    def analyse(value: Any, ctx: Any) -> str:
        seen.update(ctx.data["parts"])
        return "done"

    def flow() -> Chain:
        return Chain([FunctionAgent(lambda v: "r", name="research"), FunctionAgent(analyse, name="analyse")])

    def policy() -> ContextPolicy:
        return ContextPolicy(sources=[Source("ledger", flaky, category="analysis")], prefetch=model)

    assert (await flow().run("go", level="L4", policy=policy())).ok
    result = await flow().run("go", level="L4", policy=policy())
    assert result.ok and seen == {"source:ledger": "ledger rows"}
    [run] = [e.data["run"] for e in result.events if e.type == "context_prefetch" and "run" in e.data]
    assert (run["hits"], run["misses"], run["prefetched"], run["wasted"]) == (0, 1, 1, 0)


async def test_a_step_that_timed_out_loading_counts_its_miss_at_l4() -> None:
    """The step waited for its source until its timeout: a miss in the run's hit rate (it was left
    out of it, as if the step had needed nothing)."""
    policy = ContextPolicy(sources=[Source("slow", hang, category="research")], prefetch=PrefetchModel())
    research = Step(FunctionAgent(lambda value: "found", name="research"), timeout=0.2, on_error=Skip("nothing"))
    result = await Chain([research, FunctionAgent(lambda value: "wrote", name="write")]).run(
        "go", level="L4", policy=policy
    )
    [run] = [e.data["run"] for e in result.events if e.type == "context_prefetch" and "run" in e.data]
    assert run["misses"] == 1 and run["hit_rate"] == 0.0, run
