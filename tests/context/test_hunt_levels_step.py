"""``level=`` on a Step whose agent is a nested flow (a levels hunt; each failed before).

A Step's level is over the run's, for every window under it: the windows of a nested flow's
steps, its branches, its members. It was read for agent steps only, and a level on a step that
wraps a flow was silently ignored (its windows stayed at the run's level, or had none).
"""

from __future__ import annotations

from typing import Any

from jotty.agents import FunctionAgent
from jotty.context import ContextPolicy, Part, PartKind
from jotty.patterns import Chain, Parallel, Phase, Phased, Step
from tests.context.flows import Seen

FACTS = {"source-list": "research", "metric-definitions": "analysis", "style-guide": "writing"}


def pool() -> ContextPolicy:
    return ContextPolicy(parts=[Part(n, f"{n} text", PartKind.MEMORY, category=c) for n, c in FACTS.items()])


def levels(result: Any) -> dict[str, str]:
    return {e.step_path: e.data["level"] for e in result.events if e.type == "context_window"}


async def test_a_level_on_a_step_that_wraps_a_flow_sets_the_windows_inside_it() -> None:
    seen = Seen()
    inner = Chain([seen.agent("write")], name="inner")
    flow = Chain([seen.agent("research"), Step(inner, name="inner", level="L1")])
    result = await flow.run("go", level="L3", policy=pool())
    assert result.ok
    assert levels(result) == {"chain/research": "L3", "chain/inner/write": "L1"}
    assert set(seen.last("write")["parts"]) == {*FACTS, "step:chain/research"}


async def test_a_level_on_a_parallel_step_in_a_run_without_one_reaches_its_branches() -> None:
    seen = Seen()
    fan = Parallel([seen.agent("analyse"), seen.agent("write")], name="fan")
    flow = Chain([Step(seen.agent("research"), level="L1"), Step(fan, name="fan", level="L1")])
    result = await flow.run("go")
    assert result.ok
    assert levels(result) == {"chain/research": "L1", "chain/fan/branch-0": "L1", "chain/fan/branch-1": "L1"}
    assert seen.last("write")["parts"] == {"step:chain/research": "research done"}


async def test_a_step_inside_keeps_its_own_level() -> None:
    seen = Seen()
    inner = Chain([seen.agent("research"), Step(seen.agent("write"), name="write", level="L3")], name="inner")
    result = await Chain([Step(inner, name="inner", level="L1")]).run("go", policy=pool())
    assert levels(result) == {"chain/inner/research": "L1", "chain/inner/write": "L3"}
    assert set(seen.last("write")["parts"]) == {"style-guide"}


async def test_a_phased_orchestrators_decision_is_at_the_level_of_the_step_around_it() -> None:
    seen = Seen()
    calls = {"n": 0}

    def flaky(value: Any) -> str:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("not yet")
        return "made"

    def orchestrate(message: Any, ctx: Any) -> Any:
        seen.windows.setdefault("orchestrator", []).append(dict(ctx.data))
        return "retry" if message["event"] == "phase_failed" else {"done": message["phase"]}

    make = Phase("make", [FunctionAgent(flaky, name="make")], max_attempts=2)
    phased = Phased([make], orchestrator=FunctionAgent(orchestrate))
    result = await Chain([Step(phased, name="phases", level="L1")]).run("go", policy=pool())
    assert result.ok, result.error
    assert set(levels(result).values()) == {"L1"}
    assert all(set(w["parts"]) >= set(FACTS) for w in seen.windows["orchestrator"])
