"""Probes: the recall cache after a forget / a direct write through the same Memory in this process."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jotty.agents import FunctionAgent, RunContext
from jotty.memory import Memory
from jotty.orchestration import AgentConfig, Conductor
from tests.orchestration.helpers import Calls


def actor(calls: Calls, name: str = "oracle") -> AgentConfig:
    def answer(value: Any, ctx: RunContext) -> str:
        calls.seen.append((name, value, dict(ctx.data)))
        return f"the oracle says {value} is settled"

    return AgentConfig(name, FunctionAgent(answer, name=name))


async def test_a_forgotten_memory_is_not_served_from_the_recall_cache(store: Path) -> None:
    async with Memory(store, "conductor") as seed:
        secret = await seed.remember("the Braga archive door code is 4417")
    calls = Calls()
    picky = Memory(store, "conductor", min_salience=0.3)  # a success is skipped: the run itself changes nothing
    with Conductor([actor(calls)], store=store, memory=picky, memory_sleep=None) as conductor:
        assert conductor.memory is not None
        first = await conductor.run("what is the Braga archive door code?")
        assert first.memory is not None and first.memory.recalled[0]["id"] == secret
        await first.memory.settled()
        assert first.memory.remembered[0].status == "skipped"
        # forget it through the very Memory the conductor uses, in this process
        assert await conductor.memory.memory.forget(secret) == 1
        again = await conductor.run("what is the Braga archive door code?")
        assert again.memory is not None
        recalled_ids = [hit["id"] for hit in again.memory.recalled]
        given = [item["text"] for item in calls.seen[1][2]["memory"]["items"]]
        assert secret not in recalled_ids, (again.memory.cached, given)
    await picky.close()


async def test_a_memory_added_through_the_conductors_memory_shows_in_the_next_recall(store: Path) -> None:
    calls = Calls()
    picky = Memory(store, "conductor", min_salience=0.3)
    with Conductor([actor(calls)], store=store, memory=picky, memory_sleep=None) as conductor:
        assert conductor.memory is not None
        first = await conductor.run("where does the Faro team meet?")
        assert first.memory is not None and first.memory.recalled == []
        await first.memory.settled()
        added = await conductor.memory.memory.remember("the Faro team meets in room 12 on Tuesdays")
        again = await conductor.run("where does the Faro team meet?")
        assert again.memory is not None
        assert added in [hit["id"] for hit in again.memory.recalled], again.memory.cached
    await picky.close()
