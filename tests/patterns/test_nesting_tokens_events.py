"""Nesting any pattern in any other, token shape and budgets, events and streaming."""

from __future__ import annotations

from typing import Any

import pytest

from jotty.agents import FunctionAgent, RunContext
from jotty.context import TokenBudget
from jotty.errors import ValidationError
from jotty.events import Event
from jotty.patterns import Chain, Fallback, Parallel, Phase, Phased, Retry, Step, SubAgent, Supervisor, Team
from jotty.runs import RunStatus, StepStatus
from tests.patterns.helpers import agent, always_failing, blocked, tokens_agent, types


async def test_parallel_inside_chain_inside_phased() -> None:
    fetch, _ = agent("fetch", lambda x: f"{x}!")
    left, _ = agent("left", lambda x: f"L({x})")
    right, _ = agent("right", lambda x: f"R({x})")
    merge, _ = agent("merge", lambda parts: "+".join(parts))
    research = Chain([fetch, Step(Parallel([left, right]), name="both"), merge], name="research")
    report, _ = agent("report", lambda x: f"report[{x}]")
    flow = Phased([Phase("gather", [Step(research, name="research")]), Phase("write", [report])])
    result = await flow.run("q")
    assert result.output == "report[L(q!)+R(q!)]"
    paths = [s.path for s in result.steps]
    assert "phased/gather/research/both/branch-1" in paths
    assert result.step("phased/gather/research/both").kind == "parallel"
    assert {w.kind for w in result.token_shape.windows} == {"step", "branch"}


async def test_a_failing_nested_flow_is_one_failed_step_for_its_parent() -> None:
    bad, _ = always_failing("bad")
    good, _ = agent("good", "G")
    inner = Parallel([good, bad])  # min_success = all
    plan_b, plan_b_fn = agent("plan-b", "fallback answer")
    result = await Chain([Step(inner, name="fan", on_error=Fallback(plan_b))]).run("x")
    assert result.output == "fallback answer" and plan_b_fn.calls == 1
    assert result.step("chain/fan").strategy == "fallback"
    assert result.step("chain/fan/branch-1").status is StepStatus.FAILED


async def test_retrying_a_nested_flow_keeps_its_finished_steps() -> None:
    once, once_fn = agent("once", "1")
    flaky, flaky_fn = agent("flaky", "2", fail=1)
    inner = Chain([once, flaky], name="inner")
    result = await Chain([Step(inner, name="inner", on_error=Retry(2))]).run("x")
    assert result.output == "2" and (once_fn.calls, flaky_fn.calls) == (1, 2)
    assert "step_restored" in types(result)


async def test_every_pattern_nests_in_every_other() -> None:
    leaf = FunctionAgent(lambda x: x, name="leaf", thread=False)
    makers = {
        "chain": lambda a: Chain([a]),
        "parallel": lambda a: Parallel([a]),
        "subagent": lambda a: SubAgent(a),
        "phased": lambda a: Phased([Phase("p", [a])]),
        "team": lambda a: Team([a]),
        "supervisor": lambda a: Supervisor([a]),
    }
    for outer_name, outer in makers.items():
        for inner_name, inner in makers.items():
            result = await outer(inner(leaf)).run(7)
            assert result.ok, (outer_name, inner_name, result.error)


async def test_a_flow_called_as_an_agent_runs_under_the_callers_path_and_sink() -> None:
    seen: list[Event] = []

    async def sink(event: Event) -> None:
        seen.append(event)

    a, a_fn = agent("a", "A")
    flow = Chain([a], name="sub")
    result = await flow.run("x", RunContext(run_id="outer", step_path="outer/step", sink=sink))
    assert result.output == "A" and result.run_id == "outer"
    assert a_fn.contexts[0].step_path == "outer/step/a"
    assert {e.step_path for e in seen} >= {"outer/step", "outer/step/a"}


async def test_token_shape_lists_windows_with_tokens() -> None:
    flow = Chain(
        [
            Step(tokens_agent("research", 100, 20), name="research"),
            Step(Parallel([tokens_agent("a", 10, 1), tokens_agent("b", 30, 3)]), name="fan"),
        ]
    )
    result = await flow.run("x")
    shape = result.token_shape
    rows = [(w.path, w.kind, w.prompt, w.completion, w.calls) for w in shape.windows]
    assert rows == [
        ("chain/research", "step", 100, 20, 1),
        ("chain/fan/branch-0", "branch", 10, 1, 1),
        ("chain/fan/branch-1", "branch", 30, 3, 1),
    ]
    assert result.tokens.total == shape.total.total == 164
    assert result.step("chain/fan").tokens.total == 44
    assert shape.kinds() == {"step": 1, "branch": 2}
    assert "| chain/fan/branch-1 | branch | 1 | 30 | 3 | 33 |" in shape.table()
    assert result.events[-1].data["prompt_tokens"] == 140


async def test_a_window_over_budget_is_a_failure_its_strategy_handles() -> None:
    hungry = tokens_agent("hungry", 900, 200)
    frugal = tokens_agent("frugal", 50, 5, output="cheap")
    flow = Chain([Step(hungry, on_error=Fallback(frugal))])
    result = await flow.run("x", budget=TokenBudget(per_window=1000))
    assert result.output == "cheap"
    failed = next(e for e in result.events if e.type == "step_failed")
    assert "used 1100 tokens, over its budget of 1000" in failed.data["error"]


async def test_a_run_over_its_total_budget_stops() -> None:
    step = tokens_agent("step", 60, 0)
    never, never_fn = agent("never")
    result = await Chain([Step(step, name="one"), Step(step, name="two"), never]).run(
        "x", budget=TokenBudget(total=100)
    )
    assert result.status is RunStatus.FAILED and never_fn.calls == 0
    assert "used 120 tokens, over its budget of 100" in (result.error or "")
    with pytest.raises(ValidationError, match="positive"):
        TokenBudget(total=0)


async def test_the_sink_sees_events_as_they_happen() -> None:
    seen: list[str] = []

    async def sink(event: Event) -> None:
        seen.append(f"{event.type}@{event.step_path}")

    def work(x: Any, ctx: RunContext) -> str:
        seen.append("agent runs")
        return x

    flow = Chain([FunctionAgent(work, name="work", thread=False)])
    await flow.run("x", sink=sink)
    assert seen.index("step_started@chain/work") < seen.index("agent runs") < seen.index("step_completed@chain/work")


async def test_agent_events_reach_the_run_and_the_sink() -> None:
    async def chatty(x: Any, ctx: RunContext) -> str:
        await ctx.emit("text_chunk", text="hel")
        await ctx.emit("tool_call", name="search")
        return "hello"

    seen: list[str] = []

    async def sink(event: Event) -> None:
        seen.append(str(event.type))

    result = await Chain([FunctionAgent(chatty, name="chatty")]).run("x", sink=sink)
    assert [t for t in types(result) if t in ("text_chunk", "tool_call")] == ["text_chunk", "tool_call"]
    assert seen == types(result)
    chunk = next(e for e in result.events if e.type == "text_chunk")
    assert (chunk.step_path, chunk.run_id, chunk.data) == ("chain/chatty", result.run_id, {"text": "hel"})


async def test_stream_yields_events_then_the_result() -> None:
    a, _ = agent("a", "A")
    stream = Chain([a]).stream("x")
    got = [str(event.type) async for event in stream]
    assert got == types(stream.result) and got[0] == "run_started" and got[-1] == "run_completed"
    assert stream.result.output == "A"


async def test_leaving_a_stream_early_cancels_the_run() -> None:
    flow = Chain([blocked("forever")])
    async with flow.stream("x") as stream:
        async for event in stream:
            if event.type == "step_started":
                break
    with pytest.raises(Exception, match="has not finished"):
        _ = stream.result
