"""Dynamic mode: the router picks an actor per step, picks again after a failure or a rejection,
abandons an actor that keeps failing, and stops at max_iterations; what it learns is shared by
processes on the same store."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from jotty.agents import AgentResult, TokenUsage
from jotty.learning import Router
from jotty.orchestration import AgentConfig, Conductor, StopReason
from jotty.runs import RunStatus, StepStatus

from .helpers import Calls


async def test_a_failure_makes_the_router_pick_again(store: Path) -> None:
    calls = Calls()
    actors = [
        AgentConfig("broken", calls.failing("broken", "disk full")),
        AgentConfig("works", calls.appender("works")),
    ]
    with Conductor(actors, mode="dynamic", store=store) as conductor:
        result = await conductor.run("back up the notes")

    assert result.ok and result.output == "back up the notes|works" and result.actor == "works"
    assert calls.actors == ["broken", "works"]
    assert [(s.path, s.status) for s in result.steps] == [
        ("conductor/1-broken", StepStatus.FAILED),
        ("conductor/2-works", StepStatus.COMPLETED),
    ]
    assert "disk full" in (result.steps[0].error or "")
    # The second actor is told what went wrong before it.
    assert calls.seen[1][2]["attempts"] == [{"actor": "broken", "error": "RuntimeError: disk full"}]
    learning = result.learning
    assert [(d["actor"], d["reason"]) for d in learning["decisions"]] == [("broken", "explore"), ("works", "explore")]
    assert [s["outcome"] for s in learning["steps"]] == ["failed", "ok"]
    assert learning["choice"] == "works" and learning["why"] == "works has never been tried"


async def test_a_validator_rejection_makes_the_router_pick_again(store: Path) -> None:
    calls = Calls()

    async def long_enough(output: str) -> bool:
        await asyncio.sleep(0)
        return len(output) > 10

    actors = [
        AgentConfig("terse", calls.answering("terse", "ok"), validator=lambda out: (len(out) > 10, "too short")),
        AgentConfig("verbose", calls.answering("verbose", "a full answer"), validator=long_enough),
    ]
    with Conductor(actors, mode="dynamic", store=store) as conductor:
        result = await conductor.run("explain the change")

    assert result.ok and result.output == "a full answer" and result.actor == "verbose"
    assert result.steps[0].status is StepStatus.FAILED
    assert result.steps[0].error == "terse's validator rejected the output: too short"
    assert [(s["actor"], s["outcome"], s["validated"]) for s in result.learning["steps"]] == [
        ("terse", "rejected", False),
        ("verbose", "ok", True),
    ]
    rejection = "terse's validator rejected the output: too short"
    assert calls.seen[1][2]["attempts"] == [{"actor": "terse", "error": rejection}]


async def test_a_validator_that_raises_or_answers_nonsense_rejects_and_says_why(store: Path) -> None:
    def raises(output: Any) -> bool:
        raise KeyError("score")

    actors = [
        AgentConfig("a", Calls().answering("a", "x"), validator=raises),
        AgentConfig("b", Calls().answering("b", "y"), validator=lambda out: "yes"),  # type: ignore[arg-type,return-value]
    ]
    with Conductor(actors, mode="dynamic", store=store, router_options={"stuck_after": 5}) as conductor:
        result = await conductor.run("judge", max_iterations=2)
    errors = [s.error or "" for s in result.steps]
    assert "the validator raised KeyError: 'score'" in errors[0]
    assert "the validator returned 'yes'; it must return True/False or (accepted, reason)" in errors[1]


def _costly(name: str, calls: Calls) -> Any:
    def actor(goal: str) -> AgentResult:
        calls.seen.append((name, goal, {}))
        return AgentResult(output="fixed slowly", tokens=TokenUsage(15_000, 5_000))

    return actor


def _flaky(name: str, calls: Calls) -> Any:
    def actor(goal: str) -> str:
        calls.seen.append((name, goal, {}))
        if "login" in goal:
            raise RuntimeError("cannot reproduce the login bug")
        return "fixed"

    return actor


async def test_an_actor_that_keeps_failing_a_goal_is_abandoned_for_the_working_one(store: Path) -> None:
    calls = Calls()
    actors = [AgentConfig("flaky", _flaky("flaky", calls)), AgentConfig("steady", _costly("steady", calls))]
    # No exploration bonus: after one failure the router tries its favourite again.
    with Conductor(actors, mode="dynamic", store=store, router_options={"explore": 0.0}) as conductor:
        for i in range(8):  # flaky is cheap and right on parser bugs: it becomes the favourite
            await conductor.run(f"fix bug {i} in the parser", {"category": "code"})
        assert calls.actors.count("flaky") > calls.actors.count("steady")
        calls.seen.clear()
        result = await conductor.run("fix the login bug", {"category": "code"})
        again = await conductor.run("fix the login bug", {"category": "code"})

    assert result.ok and result.output == "fixed slowly"
    assert calls.actors == ["flaky", "flaky", "steady", "steady"]
    learning = result.learning
    assert learning["abandoned"] == ["flaky"]
    last = learning["decisions"][-1]
    assert (last["actor"], last["reason"], last["abandoned"]) == ("steady", "stuck", ["flaky"])
    assert learning["why"].startswith("flaky failed this goal 2+ times in a row and was abandoned; steady is the best")
    # The next run of the same goal remembers: flaky is not tried again.
    assert [d["actor"] for d in again.learning["decisions"]] == ["steady"]
    assert again.learning["decisions"][0]["abandoned"] == ["flaky"]


async def test_max_iterations_is_respected(store: Path) -> None:
    calls = Calls()
    actors = [
        AgentConfig(name, calls.answering(name, "draft"), validator=lambda out: (False, "not good enough"))
        for name in ("one", "two")
    ]
    with Conductor(actors, mode="dynamic", store=store, router_options={"stuck_after": 10}) as conductor:
        result = await conductor.run("write a poem", max_iterations=3)

    assert len(calls.seen) == 3 and len(result.steps) == 3
    assert result.status is RunStatus.FAILED and result.stop_reason is StopReason.MAX_ITERATIONS
    assert result.output is None and result.actor is None
    assert "no output was accepted within max_iterations=3" in (result.error or "")
    assert "not good enough" in (result.error or "")
    assert result.learning["choice"] is None and len(result.learning["steps"]) == 3


async def test_when_every_actor_is_stuck_the_run_stops(store: Path) -> None:
    calls = Calls()
    with Conductor([AgentConfig("only", calls.failing("only"))], mode="dynamic", store=store) as conductor:
        first = await conductor.run("impossible goal", max_iterations=10)
        second = await conductor.run("impossible goal", max_iterations=10)

    assert first.stop_reason is StopReason.ACTORS_EXHAUSTED and len(first.steps) == 2
    assert "every candidate (only) failed this goal 2 or more times in a row" in (first.error or "")
    assert first.learning["abandoned"] == ["only"]
    assert second.stop_reason is StopReason.ACTORS_EXHAUSTED and second.steps == []
    assert len(calls.seen) == 2


async def test_agent_order_limits_the_dynamic_candidates(store: Path) -> None:
    calls = Calls()
    actors = [AgentConfig(name, calls.appender(name)) for name in ("a", "b", "c")]
    with Conductor(actors, mode="dynamic", agent_order=["c", "b", "c"], store=store) as conductor:
        assert conductor.plan.order == ("c", "b")
        for i in range(4):
            await conductor.run(f"goal {i}")
    assert set(calls.actors) == {"b", "c"}


CHILD = """
import asyncio, json, sys
from jotty.orchestration import AgentConfig, Conductor

def fast(goal):
    return "done"

def broken(goal):
    raise RuntimeError("broken")

async def main():
    actors = [AgentConfig("broken", broken), AgentConfig("fast", fast)]
    with Conductor(actors, mode="dynamic", store=sys.argv[1]) as conductor:
        result = await conductor.run("summarise the report", {"category": "docs"})
    print(json.dumps(result.learning["decisions"][0]))

asyncio.run(main())
"""


async def test_learning_is_shared_with_another_process_on_the_same_store(store: Path) -> None:
    calls = Calls()
    actors = [AgentConfig("broken", calls.failing("broken")), AgentConfig("fast", calls.appender("fast"))]
    with Conductor(actors, mode="dynamic", store=store) as conductor:
        for i in range(3):
            await conductor.run(f"summarise report {i}", {"category": "docs"})
        before = {(r.actor, r.category): r.attempts for r in conductor.router.summary().rows}

    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CHILD, str(store), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    out, err = await asyncio.wait_for(child.communicate(), timeout=60)
    assert child.returncode == 0, err.decode()
    decision = json.loads(out)

    # The child process starts from what this one learned: it knows both actors and prefers "fast".
    assert decision["actor"] == "fast" and decision["reason"] != "explore"
    assert decision["scores"]["fast"]["p_success"] > decision["scores"]["broken"]["p_success"]
    assert not decision["scores"]["broken"]["untried"]
    # ... and this process sees what the child learned.
    with Router(["broken", "fast"], store=store) as router:
        after = {(r.actor, r.category): r.attempts for r in router.summary().rows}
    assert after[("fast", "docs")] == before[("fast", "docs")] + 1
    assert after[("broken", "docs")] == before[("broken", "docs")]
