"""Probes: a failed run's outcome; the cached recall shared with the agents."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jotty.agents import FunctionAgent, RunContext
from jotty.memory import Memory
from jotty.orchestration import AgentConfig, Conductor


async def test_a_failed_run_remembers_its_failure(store: Path) -> None:
    def broken(value: Any, ctx: RunContext) -> str:
        raise RuntimeError("the disk is full")

    with Conductor([AgentConfig("worker", FunctionAgent(broken))], store=store, memory_sleep=None) as conductor:
        result = await conductor.run("rotate the Porto backups")
        assert result.memory is not None
        await result.memory.settled()
    print(result.memory.remembered)
    entry = result.memory.remembered[0]
    assert entry.status == "stored" and "failed" in entry.text and "disk is full" in entry.text
    assert entry.metadata["outcome"] == "failure"


async def test_an_agent_that_edits_its_recalled_items_does_not_change_the_next_runs_recall(store: Path) -> None:
    async with Memory(store, "conductor") as seed:
        await seed.remember(
            "the Braga archive door code is 4417", metadata={"source": "ops", "where": {"rooms": ["B1"]}}
        )
    seen: list[dict[str, Any]] = []

    def nosy(value: Any, ctx: RunContext) -> str:
        item = ctx.data["memory"]["items"][0]
        seen.append(json.loads(json.dumps(item["metadata"])))
        item["metadata"]["source"] = "tampered"  # an agent scribbling on its context, at any depth
        item["metadata"]["where"]["rooms"].append("B2")
        return "ok"

    picky = Memory(store, "conductor", min_salience=0.3)
    with Conductor(
        [AgentConfig("nosy", FunctionAgent(nosy))], store=store, memory=picky, memory_sleep=None
    ) as conductor:
        first = await conductor.run("what is the Braga archive door code?")
        assert first.memory is not None
        await first.memory.settled()
        second = await conductor.run("what is the Braga archive door code?")
        assert second.memory is not None and second.memory.cached
    await picky.close()
    assert seen[1] == {"source": "ops", "where": {"rooms": ["B1"]}}, seen
