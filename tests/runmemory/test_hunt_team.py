"""Two Teams on one store, neither named, shared the scope team:team: one team's work landed in the
other's recall (a hunt's finding). A Team with memory now needs a name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from jotty.agents import FunctionAgent, RunContext
from jotty.errors import ValidationError
from jotty.memory import Memory
from jotty.patterns import Team


async def test_a_team_with_memory_needs_a_name_and_named_teams_do_not_share(store: Path) -> None:
    seen: list[dict[str, Any]] = []

    def payroll(value: Any, ctx: RunContext) -> str:
        return "salaries: Ada 91k, Bruno 88k"

    def marketing(value: Any, ctx: RunContext) -> str:
        seen.append(ctx.data.get("memory") or {})
        return "drafted"

    async with Memory(store, "conductor") as memory:
        with pytest.raises(ValidationError, match="needs name="):
            Team([FunctionAgent(payroll, name="clerk")], memory=memory)
        hr = Team([FunctionAgent(payroll, name="clerk")], memory=memory, name="payroll")
        await hr.run("compute the salaries for March")
        ads = Team([FunctionAgent(marketing, name="writer")], memory=memory, name="marketing")
        await ads.run("draft the March salaries campaign")
        shared = Team([FunctionAgent(marketing, name="writer")], memory=memory.scoped("team:payroll"))
        await shared.run("draft the March salaries campaign")
    assert not any("91k" in item["text"] for item in seen[0].get("items", [])), seen[0]
    assert any("91k" in item["text"] for item in seen[1].get("items", [])), seen[1]  # a team: scope, as it is
