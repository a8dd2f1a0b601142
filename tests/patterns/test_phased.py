"""Phased: phases of steps with an orchestrator that carries a summary and decides on failures."""

from __future__ import annotations

from typing import Any

import pytest

from jotty.agents import FunctionAgent
from jotty.errors import ValidationError
from jotty.patterns import Phase, Phased, Retry, Step
from jotty.runs import RunStatus, StepStatus
from tests.patterns.helpers import agent, always_failing


class Orchestrator:
    """Summarizes each phase in one line and answers failures from a script of decisions."""

    def __init__(self, *decisions: str) -> None:
        self.decisions = list(decisions)
        self.messages: list[dict[str, Any]] = []

    async def __call__(self, message: dict[str, Any]) -> Any:
        self.messages.append(message)
        if message["event"] == "phase_completed":
            return f"{message['summary'] or ''}{message['phase']}:{message['output']};"
        return self.decisions.pop(0)


async def test_phases_run_in_order_with_the_summary_carried() -> None:
    plan, _ = agent("plan", lambda x: f"plan({x})")
    edit, edit_fn = agent("edit", lambda x: f"edit({x})")
    verify, verify_fn = agent("verify", lambda x: f"verify({x})")
    flow = Phased([Phase("plan", [plan]), Phase("edit", [edit]), Phase("verify", [verify])])
    result = await flow.run("task")
    assert result.output == "verify(edit(plan(task)))"
    assert edit_fn.contexts[0].data["summary"] == {"plan": "plan(task)"}
    assert verify_fn.contexts[0].data["phase"] == "verify"
    assert [s.path for s in result.steps][:2] == ["phased/plan", "phased/plan/plan"]


async def test_an_orchestrator_agent_summarizes_in_its_own_window() -> None:
    orchestrator = Orchestrator()
    a, _ = agent("a", "A")
    b, b_fn = agent("b", "B")
    flow = Phased([Phase("one", [a]), Phase("two", [b])], orchestrator=FunctionAgent(orchestrator, name="orch"))
    result = await flow.run("x")
    assert result.output == "B"
    assert b_fn.contexts[0].data["summary"] == "one:A;"
    assert orchestrator.messages[-1]["summary"] == "one:A;"
    orch = result.token_shape.window("phased/orchestrator")
    assert (orch.kind, orch.calls) == ("orchestrator", 2)
    assert result.step("phased/orchestrator/two").status is StepStatus.COMPLETED


async def test_phase_retry_reruns_only_what_did_not_finish() -> None:
    first, first_fn = agent("first", "1")
    flaky, flaky_fn = agent("flaky", "2", fail=1)
    flow = Phased([Phase("build", [first, flaky], max_attempts=2)])
    result = await flow.run("x")
    assert result.output == "2" and result.status is RunStatus.COMPLETED
    assert (first_fn.calls, flaky_fn.calls) == (1, 2)
    assert result.step("phased/build").attempts == 2
    decision = next(e for e in result.events if e.type == "orchestrator_decision")
    assert decision.data["decision"] == "retry"


async def test_phase_attempts_are_bounded() -> None:
    bad, bad_fn = always_failing("bad")
    result = await Phased([Phase("p", [bad], max_attempts=3)]).run("x")
    assert result.status is RunStatus.FAILED and bad_fn.calls == 3
    assert "stopped at phase 'p'" in (result.error or "")


async def test_the_orchestrator_decides_to_skip_or_abort() -> None:
    bad, _ = always_failing("bad")
    after, after_fn = agent("after", lambda x: f"after({x})")
    orchestrator = Orchestrator("skip")
    flow = Phased([Phase("risky", [bad]), Phase("rest", [after])], orchestrator=FunctionAgent(orchestrator))
    result = await flow.run("x")
    assert result.output == "after(x)" and result.status is RunStatus.PARTIAL
    assert result.step("phased/risky").status is StepStatus.SKIPPED
    failure = orchestrator.messages[0]
    assert failure["event"] == "phase_failed" and failure["attempt"] == 1 and "boom" in failure["error"]

    result = await Phased(
        [Phase("risky", [bad]), Phase("rest", [after])], orchestrator=FunctionAgent(Orchestrator("abort"))
    ).run("x")
    assert result.status is RunStatus.FAILED and after_fn.calls == 1


async def test_retry_beyond_max_attempts_and_nonsense_answers_abort() -> None:
    bad, bad_fn = always_failing("bad")
    flow = Phased([Phase("p", [bad])], orchestrator=FunctionAgent(Orchestrator("retry")))
    result = await flow.run("x")
    assert result.status is RunStatus.FAILED and bad_fn.calls == 1
    reasons = [e.data["reason"] for e in result.events if e.type == "orchestrator_decision"]
    assert reasons == ["no attempts left (1)"]

    flow = Phased([Phase("p", [bad])], orchestrator=FunctionAgent(Orchestrator("maybe")))
    result = await flow.run("x")
    reasons = [e.data["reason"] for e in result.events if e.type == "orchestrator_decision"]
    assert result.status is RunStatus.FAILED and "answered 'maybe'" in reasons[0]


def test_bad_phases_are_clear_errors() -> None:
    a, _ = agent("a")
    with pytest.raises(ValidationError, match="non-empty list of Phase"):
        Phased([])
    with pytest.raises(ValidationError, match="two phases named 'p'"):
        Phased([Phase("p", [a]), Phase("p", [a])])
    with pytest.raises(ValidationError, match="orchestrator"):
        Phased([Phase("orchestrator", [a])])
    with pytest.raises(ValidationError, match="max_attempts=0"):
        Phase("p", [a], max_attempts=0)


async def test_a_retried_phase_gives_its_steps_a_fresh_retry_budget() -> None:
    flaky, flaky_fn = agent("flaky", "ok", fail=3)
    result = await Phased([Phase("p", [Step(flaky, on_error=Retry(2))], max_attempts=2)]).run("x")
    assert result.output == "ok" and flaky_fn.calls == 4  # two calls per run of the phase
    assert result.step("phased/p/flaky").attempts == 4
