"""Static mode: the actors run as a chain in ``agent_order``; flows run under the Conductor; events stream."""

from __future__ import annotations

from pathlib import Path

import pytest

from jotty.agents import FunctionAgent
from jotty.errors import ValidationError
from jotty.learning import Router
from jotty.orchestration import AgentConfig, Conductor, StopReason
from jotty.patterns import Chain, Parallel
from jotty.runs import RunStatus, StepStatus, list_runs

from .helpers import Calls


def three(calls: Calls) -> list[AgentConfig]:
    return [AgentConfig(name, calls.appender(name), f"adds {name}") for name in ("a", "b", "c")]


async def test_static_mode_chains_the_actors_in_agent_order(store: Path) -> None:
    calls = Calls()
    with Conductor(three(calls), agent_order=["c", "a", "b"], store=store) as conductor:
        result = await conductor.run("draft", {"category": "docs"})

    assert result.ok and result.status is RunStatus.COMPLETED and result.stop_reason is StopReason.ACCEPTED
    assert result.output == "draft|c|a|b"
    assert calls.actors == ["c", "a", "b"]
    assert [value for _, value, _ in calls.seen] == ["draft", "draft|c", "draft|c|a"]
    assert [s.path for s in result.steps] == ["conductor/1-c", "conductor/2-a", "conductor/3-b"]
    assert (result.actor, result.final_step) == ("b", "conductor/3-b")
    learning = result.learning
    assert learning["mode"] == "static" and learning["choice"] == "b"
    assert learning["why"] == "static order: c -> a -> b"
    assert [(s["actor"], s["outcome"]) for s in learning["steps"]] == [("c", "ok"), ("a", "ok"), ("b", "ok")]
    assert learning["goal"]["category"] == "docs"
    assert set(learning["values"]) == {"a", "b", "c"}


async def test_the_default_order_is_the_actors_order_and_an_actor_may_repeat(store: Path) -> None:
    calls = Calls()
    with Conductor(three(calls), store=store) as conductor:
        assert (await conductor.run("x")).output == "x|a|b|c"
        again = conductor.with_routing(agent_order=["a", "a"])
        assert (await again.run("y")).output == "y|a|a"


async def test_every_agent_sees_the_goal_and_the_context(store: Path) -> None:
    calls = Calls()
    with Conductor(three(calls), store=store) as conductor:
        await conductor.run("ship it", {"repo": "jotty", "category": "release"})
    for _, _, data in calls.seen:
        assert data["goal"] == "ship it" and data["repo"] == "jotty" and data["category"] == "release"


async def test_a_rejected_output_stops_the_chain_with_the_last_good_output(store: Path) -> None:
    calls = Calls()
    actors = [
        AgentConfig("a", calls.appender("a")),
        AgentConfig("b", calls.appender("b"), validator=lambda out: (out.endswith("!"), "it must end with '!'")),
        AgentConfig("c", calls.appender("c")),
    ]
    with Conductor(actors, store=store) as conductor:
        result = await conductor.run("go")

    assert not result.ok and result.status is RunStatus.FAILED and result.stop_reason is StopReason.FAILED
    assert result.output == "go|a"
    assert calls.actors == ["a", "b"]
    assert "b's validator rejected the output: it must end with '!'" in (result.error or "")
    assert result.steps[-1].status is StepStatus.FAILED
    assert [(s["actor"], s["outcome"], s["validated"]) for s in result.learning["steps"]] == [
        ("a", "ok", None),
        ("b", "rejected", False),
    ]
    failed = [e for e in result.events if e["type"] == "step_failed"]
    assert failed and failed[-1]["data"]["rejected"] is True


async def test_flow_runs_a_pattern_under_the_conductor_and_learns_its_outcome(store: Path) -> None:
    calls = Calls()
    flow = Chain(
        [FunctionAgent(calls.appender("fetch")), Parallel([FunctionAgent(calls.appender("left"))], name="fan")],
        name="research",
    )
    with Conductor(flow=flow, store=store) as conductor:
        result = await conductor.run("topic", {"category": "research", "depth": 2})
        table = conductor.router.summary()

    assert result.ok and result.output == ["topic|fetch|left"]
    assert result.actor == "flow:research"
    paths = [s.path for s in result.steps]
    assert paths[0] == "conductor/1-flow:research"
    assert "conductor/1-flow:research/fetch" in paths and "conductor/1-flow:research/fan/branch-0" in paths
    assert calls.seen[0][2]["depth"] == 2  # the context reaches the pattern's agents
    assert result.learning["choice"] == "flow:research"
    assert [s["actor"] for s in result.learning["steps"]] == ["flow:research"]
    assert {(r.actor, r.category, r.attempts) for r in table.rows} >= {("flow:research", "research", 1)}


async def test_in_dynamic_mode_the_flow_is_one_more_candidate(store: Path) -> None:
    calls = Calls()
    flow = Chain([FunctionAgent(calls.appender("step"))], name="pipeline")
    actors = [AgentConfig("broken", calls.failing("broken"))]
    with Conductor(actors, mode="dynamic", flow=flow, store=store) as conductor:
        result = await conductor.run("job")
    assert result.ok and result.output == "job|step"
    assert [d["actor"] for d in result.learning["decisions"]] == ["broken", "flow:pipeline"]


async def test_run_stream_yields_the_events_in_order_then_the_result(store: Path) -> None:
    calls = Calls()
    actors = [AgentConfig("broken", calls.failing("broken")), AgentConfig("ok", calls.appender("ok"))]
    with Conductor(actors, mode="dynamic", store=store) as conductor:
        stream = conductor.run_stream("goal")
        seen = [(event["type"], event["step_path"]) async for event in stream]
        result = stream.result

    assert seen == [
        ("run_started", "conductor"),
        ("route_chosen", "conductor/1-broken"),
        ("step_started", "conductor/1-broken"),
        ("step_failed", "conductor/1-broken"),
        ("route_chosen", "conductor/2-ok"),
        ("step_started", "conductor/2-ok"),
        ("step_completed", "conductor/2-ok"),
        ("run_completed", "conductor"),
    ]
    assert [(e["type"], e["step_path"]) for e in result.events] == seen
    assert result.output == "goal|ok"
    routed = [e for e in result.events if e["type"] == "route_chosen"]
    assert routed[0]["data"]["actor"] == "broken" and routed[0]["data"]["iteration"] == 1
    assert routed[1]["data"]["explanation"] == result.learning["decisions"][1]["explanation"]


async def test_reading_the_result_before_the_stream_ends_is_an_error(store: Path) -> None:
    from jotty.errors import RunError

    with Conductor([AgentConfig("a", Calls().appender("a"))], store=store) as conductor:
        stream = conductor.run_stream("goal")
        with pytest.raises(RunError, match="iterate the stream to its end"):
            _ = stream.result
        async with stream:
            async for event in stream:
                assert event["type"] == "run_started"
                break


def test_learning_is_in_the_store_for_a_router_opened_later(store: Path) -> None:
    import asyncio

    calls = Calls()
    with Conductor(three(calls), store=store) as conductor:
        asyncio.run(conductor.run("one", {"category": "docs"}))
    with Router(["a", "b", "c"], store=store) as router:
        rows = {(r.actor, r.category): r.attempts for r in router.summary().rows}
    assert rows[("a", "docs")] == rows[("b", "docs")] == rows[("c", "docs")] == 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "nothing to run"),
        ({"actors": ["a"]}, r"actors\[0\] is a str: wrap it as AgentConfig"),
        ({"actors": "a"}, "actors must be a list of AgentConfig"),
        ({"mode": "fast"}, "mode must be 'static'.*or 'dynamic'"),
        ({"agent_order": ["a", "z"]}, r"agent_order names unknown actors \['z'\]"),
        ({"agent_order": []}, "agent_order must be a non-empty list"),
        ({"flow": FunctionAgent(str)}, "flow must be a pattern from jotty.patterns"),
        ({"task_queue": "tasks.db"}, "task_queue must be a jotty.queue.TaskQueue"),
    ],
)
def test_bad_configurations_are_refused_with_the_fix(store: Path, kwargs: dict[str, object], message: str) -> None:
    if "actors" not in kwargs and kwargs:
        kwargs = {"actors": [AgentConfig("a", str)], **kwargs}
    with pytest.raises(ValidationError, match=message):
        Conductor(store=store, **kwargs)  # type: ignore[arg-type]


def test_bad_actors_and_a_static_flow_with_actors_are_refused(store: Path) -> None:
    with pytest.raises(ValidationError, match="two actors named 'a'"):
        Conductor([AgentConfig("a", str), AgentConfig("a", repr)], store=store)
    with pytest.raises(ValidationError, match="contains '/'"):
        AgentConfig("a/b", str)
    with pytest.raises(ValidationError, match="agent must be an Agent"):
        AgentConfig("a", 42)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="validator must be a function"):
        AgentConfig("a", str, validator=True)  # type: ignore[arg-type]
    flow = Chain([FunctionAgent(str)], name="c")
    with pytest.raises(ValidationError, match="in static mode flow= runs the flow alone"):
        Conductor([AgentConfig("a", str)], flow=flow, store=store)


async def test_bad_run_arguments_are_refused(store: Path) -> None:
    with Conductor([AgentConfig("a", str)], store=store) as conductor:
        with pytest.raises(ValidationError, match="goal must be a non-empty string"):
            await conductor.run("  ")
        undecodable = b"caf\xe9 accounts".decode("utf-8", "surrogateescape")
        with pytest.raises(ValidationError, match=r"the goal is not valid Unicode text .* right encoding"):
            await conductor.run(undecodable)
        assert await list_runs(store) == []  # refused before anything was stored
        with pytest.raises(ValidationError, match="context must be a dict"):
            await conductor.run("goal", ["not", "a", "dict"])  # type: ignore[arg-type]
        with pytest.raises(ValidationError, match="max_iterations must be a whole number >= 1"):
            conductor.run_stream("goal", max_iterations=0)
