"""Team members share their team's memory scope (seed 003, Overlay B), within a run and across runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from jotty.agents import AgentResult, FunctionAgent, RunContext
from jotty.errors import ValidationError
from jotty.memory import Memory
from jotty.patterns import Member, Team, TeamTask


def members(seen: dict[str, list[list[str]]]) -> list[Member]:
    def scout(value: Any, ctx: RunContext) -> AgentResult:
        seen.setdefault("scout", []).append([item["text"] for item in ctx.data["memory"]["items"]])
        return AgentResult(
            output="the Braga supplier ships cork panels in 9 days",
            artifacts={"tasks": [{"input": "write the Braga supplier brief", "role": "writer"}]},
        )

    def writer(value: Any, ctx: RunContext) -> str:
        seen.setdefault("writer", []).append([item["text"] for item in ctx.data["memory"]["items"]])
        return "brief: Braga supplier, cork panels"

    return [
        Member("scout", FunctionAgent(scout, name="scout"), {"scout"}),
        Member("writer", FunctionAgent(writer, name="writer"), {"writer"}),
    ]


async def test_members_share_the_team_scope_within_and_across_runs(tmp_path: Path) -> None:
    store = tmp_path / "jotty.db"
    seen: dict[str, list[list[str]]] = {}
    plan = [TeamTask("find the Braga supplier lead time", role="scout")]
    async with Memory(store, "default") as memory:
        team = Team(members(seen), plan=lambda _: plan, name="sourcing", memory=memory)
        assert team.memory is not None and team.memory.memory.scope == "team:sourcing"
        result = await team.run(None)
        assert result.ok
        # the writer's task started after the scout's: the scout's finding was in the team's memory
        assert any("Braga supplier ships cork panels in 9 days" in text for text in seen["writer"][0])

        # another run (a new Team object on the same store and name) recalls both members' work
        await Team(members(seen), plan=lambda _: plan, name="sourcing", memory=memory).run(None)
        assert any("scout did find the Braga supplier lead time" in text for text in seen["scout"][1])

        async with Memory(store, "team:sourcing") as shared:
            stats = await shared.stats()
        assert stats.total >= 2
        assert (await memory.stats()).total == 0  # the default scope was not written


async def test_team_memory_bad_input_says_what_to_pass() -> None:
    with pytest.raises(ValidationError, match=r"Team memory must be a jotty\.memory\.Memory"):
        Team(members({}), memory="shared")
