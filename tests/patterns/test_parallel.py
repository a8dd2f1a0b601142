"""Parallel: branches at once, outputs in branch order, partial success reported, never hidden."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from jotty.agents import FunctionAgent
from jotty.errors import ValidationError
from jotty.patterns import Parallel, Retry, Step
from jotty.runs import RunStatus, StepStatus
from tests.patterns.helpers import agent, always_failing, blocked


async def test_outputs_in_branch_order_whatever_the_finish_order() -> None:
    gates = [asyncio.Event() for _ in range(3)]

    def branch(index: int) -> FunctionAgent:
        async def run(x: Any) -> str:
            if index < 2:
                await gates[index].wait()  # branch 0 waits for 1, 1 waits for 2: they finish 2, 1, 0
            if index > 0:
                gates[index - 1].set()
            return f"{x}-{index}"

        return FunctionAgent(run, name=f"b{index}")

    result = await Parallel([branch(i) for i in range(3)]).run("in")
    assert result.output == ["in-0", "in-1", "in-2"]
    assert result.status is RunStatus.COMPLETED
    assert [s.path for s in result.steps] == ["parallel/branch-0", "parallel/branch-1", "parallel/branch-2"]


async def test_concurrency_limit_is_respected_and_reached() -> None:
    active = peak = 0

    async def work(x: Any) -> int:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        for _ in range(3):
            await asyncio.sleep(0)  # yield, so every branch that may run does
        active -= 1
        return x

    result = await Parallel([FunctionAgent(work)] * 7, max_concurrency=3).run(1)
    assert result.output == [1] * 7
    assert peak == 3


async def test_per_branch_timeout_fails_only_the_slow_branch() -> None:
    quick, _ = agent("quick", "done")
    result = await Parallel([quick, blocked("slow")], timeout=0.05, min_success=1).run("x")
    assert result.ok and result.status is RunStatus.PARTIAL
    assert result.output == ["done", None]
    slow = result.step("parallel/branch-1")
    assert slow.status is StepStatus.FAILED and "timed out after 0.05 s" in (slow.error or "")
    assert [s.path for s in result.failures] == ["parallel/branch-1"]


async def test_a_step_timeout_overrides_the_parallel_default() -> None:
    quick, _ = agent("quick", "done")
    flow = Parallel([Step(quick, timeout=5), blocked("slow")], timeout=0.02, min_success=1)
    assert flow.branches[0].timeout == 5 and flow.branches[1].timeout == 0.02


async def test_min_success_met_merges_partial_results_and_names_failures() -> None:
    a, _ = agent("phoenix", "sunny")
    b, _ = always_failing("dallas", "weather API down")
    c, _ = agent("flights", ["DCA-PHX"])
    result = await Parallel([a, b, c], min_success=2).run("trip")
    assert result.ok and result.status is RunStatus.PARTIAL
    assert result.output == ["sunny", None, ["DCA-PHX"]]
    failed = result.step("parallel/branch-1")
    assert failed.status is StepStatus.FAILED and "weather API down" in (failed.error or "")
    assert result.events[-1].type == "run_completed" and result.events[-1].data["status"] == "partial"


async def test_min_success_not_met_fails_with_what_it_has() -> None:
    a, _ = agent("a", "A")
    b, _ = always_failing("b", "b broke")
    c, _ = always_failing("c", "c broke")
    result = await Parallel([a, b, c], min_success=2).run("x")
    assert not result.ok and result.status is RunStatus.FAILED
    assert result.output == ["A", None, None]
    assert "1 of 3 branches succeeded, 2 needed" in (result.error or "")
    assert "parallel/branch-1" in (result.error or "") and "c broke" in (result.error or "")


async def test_default_min_success_is_all_and_the_rest_is_stopped_once_out_of_reach() -> None:
    started = asyncio.Event()
    slow = blocked("slow", started)

    async def fail_after_slow_started(x: Any) -> Any:
        await started.wait()
        raise RuntimeError("lost")

    result = await Parallel([slow, FunctionAgent(fail_after_slow_started, name="bad")]).run("x")
    assert result.status is RunStatus.FAILED
    stopped = result.step("parallel/branch-0")
    assert stopped.status is StepStatus.CANCELLED and "min_success" in (stopped.error or "")
    assert result.step("parallel/branch-1").status is StepStatus.FAILED


async def test_branch_strategies_apply_per_branch() -> None:
    flaky, flaky_fn = agent("flaky", "ok", fail=1)
    result = await Parallel([Step(flaky, on_error=Retry(2)), agent("b", "B")[0]]).run("x")
    assert result.output == ["ok", "B"] and flaky_fn.calls == 2
    assert result.step("parallel/branch-0").attempts == 2


async def test_min_success_zero_never_fails() -> None:
    bad, _ = always_failing("bad")
    result = await Parallel([bad], min_success=0).run("x")
    assert result.ok and result.status is RunStatus.PARTIAL and result.output == [None]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"min_success": 4}, "min_success=4 but it has only 3 branches"),
        ({"min_success": -1}, "min_success=-1"),
        ({"timeout": -1}, "timeout=-1"),
        ({"timeout": 0}, "timeout=0"),
        ({"max_concurrency": 0}, "max_concurrency=0"),
    ],
)
def test_bad_settings_are_clear_errors(kwargs: dict[str, Any], message: str) -> None:
    branches = [agent(f"a{i}")[0] for i in range(3)]
    with pytest.raises(ValidationError, match=message):
        Parallel(branches, **kwargs)
