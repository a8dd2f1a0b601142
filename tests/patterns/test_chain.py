"""Chain: steps in order, each with its own window and error strategy (default abort)."""

from __future__ import annotations

import pydantic
import pytest

from jotty.agents import FunctionAgent
from jotty.patterns import Abort, Chain, Fallback, Retry, Skip, Step
from jotty.runs import RunStatus, StepStatus
from tests.patterns.helpers import agent, always_failing, types


async def test_each_step_gets_its_predecessors_output() -> None:
    fetch, _ = agent("fetch", lambda x: x + " fetched")
    analyze, analyze_fn = agent("analyze", lambda x: x.upper())
    result = await Chain([fetch, analyze]).run("data")
    assert result.ok and result.status is RunStatus.COMPLETED
    assert result.output == "DATA FETCHED"
    assert analyze_fn.inputs == ["data fetched"]
    assert [s.path for s in result.steps] == ["chain/fetch", "chain/analyze"]
    assert all(s.status is StepStatus.COMPLETED and s.attempts == 1 for s in result.steps)


async def test_retry_counts_attempts_and_succeeds() -> None:
    flaky, flaky_fn = agent("flaky", "ok", fail=2)
    result = await Chain([Step(flaky, on_error=Retry(3))]).run("x")
    assert result.output == "ok" and result.status is RunStatus.COMPLETED
    step = result.step("flaky")
    assert (step.attempts, step.strategy, step.status) == (3, "retry", StepStatus.COMPLETED)
    assert flaky_fn.calls == 3
    handled = [e for e in result.events if e.type == "chain_error_handled"]
    assert [e.data["attempt"] for e in handled] == [1, 2]
    assert result.handled == {"chain/flaky": "retry"}


async def test_retry_spent_aborts_with_every_attempt_counted() -> None:
    bad, bad_fn = always_failing("bad")
    after, after_fn = agent("after", "never")
    result = await Chain([Step(bad, on_error=Retry(3, backoff=0.001)), after]).run("x")
    assert not result.ok and result.status is RunStatus.FAILED
    assert bad_fn.calls == 3 and after_fn.calls == 0
    step = result.step("bad")
    assert (step.attempts, step.strategy, step.status) == (3, "abort", StepStatus.FAILED)
    assert "boom 3" in (step.error or "")
    delays = [e.data["delay"] for e in result.events if e.type == "chain_error_handled" and "delay" in e.data]
    assert delays == [0.001, 0.002]  # exponential backoff


def test_retry_backoff_doubles() -> None:
    assert [Retry(4, backoff=0.5).delay(n) for n in (1, 2, 3)] == [0.5, 1.0, 2.0]


async def test_skip_passes_partial_data_on_and_names_the_gap() -> None:
    fetch, _ = agent("fetch", "raw research")
    analyze, _ = always_failing("analyze")
    summarize, summarize_fn = agent("summarize", lambda x: f"summary of {x}")
    flow = Chain([fetch, Step(analyze, on_error=Skip()), summarize])
    result = await flow.run("topic")
    assert result.ok and result.status is RunStatus.PARTIAL
    assert result.output == "summary of raw research"  # the skipped step passed its input on
    assert summarize_fn.contexts[0].data["skipped"] == ["analyze"]
    skipped = result.step("analyze")
    assert skipped.status is StepStatus.SKIPPED and skipped.strategy == "skip" and "boom" in (skipped.error or "")


async def test_skip_with_a_placeholder_output() -> None:
    bad, _ = always_failing("bad")
    result = await Chain([Step(bad, on_error=Skip(output={"gap": True}))]).run("x")
    assert result.output == {"gap": True} and result.status is RunStatus.PARTIAL


async def test_abort_stops_and_returns_what_we_have() -> None:
    first, _ = agent("first", "first output")
    bad, _ = always_failing("bad", "analysis broke")
    never, never_fn = agent("never")
    result = await Chain([first, Step(bad, on_error=Abort()), never]).run("x")
    assert not result.ok and result.status is RunStatus.FAILED
    assert result.output == "first output"
    assert never_fn.calls == 0
    assert "chain/bad" in (result.error or "") and "analysis broke" in (result.error or "")
    assert [s.path for s in result.failures] == ["chain/bad"]


async def test_default_strategy_is_abort() -> None:
    bad, _ = always_failing("bad")
    never, never_fn = agent("never")
    result = await Chain([bad, never]).run("x")
    assert result.status is RunStatus.FAILED and never_fn.calls == 0
    assert result.step("bad").strategy == "abort"


async def test_fallback_runs_the_alternate_agent() -> None:
    bad, bad_fn = always_failing("analyze")
    simple, simple_fn = agent("simple", lambda x: f"simple {x}")
    result = await Chain([Step(bad, on_error=Fallback(simple))]).run("x")
    assert result.output == "simple x" and result.status is RunStatus.COMPLETED
    assert bad_fn.calls == 1 and simple_fn.calls == 1
    step = result.step("analyze")
    assert (step.strategy, step.agent, step.attempts) == ("fallback", "simple", 2)
    assert simple_fn.contexts[0].step_path == "chain/analyze/fallback"


async def test_retry_then_fallback_then_skip() -> None:
    bad, bad_fn = always_failing("bad")
    worse, worse_fn = always_failing("worse")
    strategy = Retry(2, then=Fallback(worse, then=Skip()))
    result = await Chain([Step(bad, on_error=strategy)]).run("in")
    assert (bad_fn.calls, worse_fn.calls) == (2, 1)
    assert result.output == "in" and result.step("bad").strategy == "skip"
    fired = [e.data["strategy"] for e in result.events if e.type == "chain_error_handled"]
    assert fired == ["retry", "fallback", "skip"]


async def test_an_agent_that_raises_or_returns_garbage_is_a_failure() -> None:
    class Liar(FunctionAgent):
        async def run(self, input, ctx=None):  # type: ignore[no-untyped-def]
            return "not an AgentResult"

    result = await Chain([Liar(lambda x: x, name="liar")]).run("x")
    assert result.status is RunStatus.FAILED
    assert "returned str, not an AgentResult" in (result.step("liar").error or "")


class Report(pydantic.BaseModel):
    title: str
    score: int


async def test_output_contract_pydantic_converts_and_violation_is_handled() -> None:
    good, _ = agent("good", {"title": "t", "score": "7"})
    result = await Chain([Step(good, output=Report)]).run("x")
    assert result.output == Report(title="t", score=7)

    bad, _ = agent("bad", {"title": "t"})
    fixed, _ = agent("fixed", {"title": "t", "score": 1})
    result = await Chain([Step(bad, output=Report, on_error=Fallback(fixed))]).run("x")
    assert result.output == Report(title="t", score=1)
    assert result.step("bad").strategy == "fallback"
    failed = next(e for e in result.events if e.type == "step_failed")
    assert "does not match Report" in failed.data["error"] and "score" in failed.data["error"]


async def test_input_contracts_type_predicate_and_typing_form() -> None:
    double, double_fn = agent("double", lambda x: x * 2)
    result = await Chain([Step(double, input=int)]).run("text")
    assert result.status is RunStatus.FAILED and double_fn.calls == 0
    assert "the input of step 'chain/double' should be int, got str" in (result.error or "")

    positive, _ = agent("positive", lambda x: x)
    result = await Chain([Step(positive, input=lambda x: x > 0, on_error=Skip(output=0))]).run(-1)
    assert result.output == 0 and result.step("positive").status is StepStatus.SKIPPED

    listing, _ = agent("listing", ["1", "2"])
    result = await Chain([Step(listing, output=list[int])]).run("x")
    assert result.output == [1, 2]


async def test_step_timeout_is_a_failure_the_strategy_handles() -> None:
    from tests.patterns.helpers import blocked

    slow = blocked("slow")
    quick, _ = agent("quick", "fast answer")
    result = await Chain([Step(slow, timeout=0.02, on_error=Fallback(quick))]).run("x")
    assert result.output == "fast answer"
    failed = next(e for e in result.events if e.type == "step_failed")
    assert "timed out after 0.02 s" in failed.data["error"]


async def test_chain_events_in_order() -> None:
    a, _ = agent("a", 1)
    b, _ = always_failing("b")
    result = await Chain([a, Step(b, on_error=Skip())]).run("x")
    assert types(result) == [
        "run_started",
        "chain_step_started",
        "step_started",
        "step_completed",
        "chain_step_completed",
        "chain_step_started",
        "step_started",
        "step_failed",
        "chain_error_handled",
        "chain_step_completed",
        "run_completed",
    ]
    completed = result.events[3]
    assert completed.step_path == "chain/a" and completed.data["duration"] >= 0
    assert {"prompt_tokens", "completion_tokens", "window"} <= completed.data.keys()
    assert result.events[-1].data["status"] == "partial"


@pytest.mark.parametrize(
    ("strategy", "last"),
    [
        (Retry(2), "abort"),  # a spent Retry hands over to its `then`
        (Retry(2, then=Skip()), "skip"),
        (Skip(), "skip"),
        (Abort(), "abort"),
        (Fallback(FunctionAgent(lambda x: x, name="f", thread=False)), "fallback"),
    ],
)
async def test_the_record_names_the_strategy_that_decided(strategy: Retry | Skip | Abort | Fallback, last: str) -> None:
    bad, _ = always_failing("bad")
    result = await Chain([Step(bad, on_error=strategy)]).run("x")
    assert result.step("bad").strategy == last
