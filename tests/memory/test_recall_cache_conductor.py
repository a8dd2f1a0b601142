"""The Conductor's recall cache, keyed by the scope's revision, serves the next identical recall
even when the recall wrote its own counts (which bump the revision: a review found every cache
fill wasted)."""

from __future__ import annotations

import asyncio
from typing import Any

from jotty.agents import FunctionAgent, RunContext
from jotty.memory import Memory
from jotty.orchestration import AgentConfig, Conductor


def answer(value: Any, ctx: RunContext) -> str:
    return "ok"


async def test_a_recall_is_served_from_the_cache_right_after_it(store: str) -> None:
    async with Memory(store, "conductor") as seed:
        await seed.remember("the Braga archive door code is 4417")
    picky = Memory(store, "conductor", min_salience=0.9)  # the runs themselves write nothing
    with Conductor(
        [AgentConfig("a", FunctionAgent(answer))], store=store, memory=picky, memory_sleep=None
    ) as conductor:
        await asyncio.sleep(2.1)  # a worker that has been up a while (USE_FLUSH_SECONDS = 2)
        first = await conductor.run("what is the Braga archive door code?")
        second = await conductor.run("what is the Braga archive door code?")
        assert first.memory is not None and second.memory is not None
        assert first.memory.recalled
        cached = second.memory.cached
    await picky.close()
    assert cached, "the first recall's own use-count flush bumped the revision: the cache entry was dead on arrival"
