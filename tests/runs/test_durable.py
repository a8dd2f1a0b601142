"""Durable runs: checkpoints per step path, resume without repeating finished steps, clear errors
(on every run-store backend: ``store`` and ``backend`` come from conftest)."""

from __future__ import annotations

import asyncio
import os
import socket
from typing import Any

import pydantic
import pytest

from jotty.agents import AgentResult, FunctionAgent
from jotty.errors import NotFoundError, RunError
from jotty.patterns import Chain, Member, Parallel, Phase, Phased, Step, Supervisor, Team, TeamTask
from jotty.runs import CheckpointError, RunStatus, StepStatus, get_events, get_run, open_run_store, resume
from tests.patterns.helpers import agent, blocked
from tests.runs.backends import Backend


class Switch:
    """A step that fails while ``broken`` is set: fix it, and resume the run."""

    def __init__(self, name: str, broken: bool = True) -> None:
        self.__name__ = name
        self.broken = broken
        self.calls = 0

    async def __call__(self, value: Any) -> Any:
        self.calls += 1
        if self.broken:
            raise RuntimeError(f"{self.__name__} is broken")
        return f"{value}>{self.__name__}"


async def test_every_finished_step_is_checkpointed_under_its_path(backend: Backend) -> None:
    store = backend.store
    a, _ = agent("fetch", lambda x: x + 1)
    b, _ = agent("analyze", lambda x: x * 2)
    result = await Chain([a, b]).run(1, store=store, run_id="n-1", metadata={"spec": "flows/n.yaml"})
    assert result.output == 4 and result.run_id == "n-1" and not result.resumed
    rows = dict(backend.rows("SELECT step_path, output FROM jotty_run_steps WHERE run_id = 'n-1'"))
    assert rows == {"chain/fetch": "2", "chain/analyze": "4"}
    stored = await get_run("n-1", store)
    assert stored.status is RunStatus.COMPLETED and stored.output == 4 and stored.input == 1
    assert stored.metadata == {"spec": "flows/n.yaml"}
    assert [s.path for s in stored.steps] == ["chain/fetch", "chain/analyze"]
    assert [w["path"] for w in stored.windows] == ["chain/fetch", "chain/analyze"]
    events = [e.event.type for e in await get_events("n-1", store)]
    assert events[0] == "run_started" and events[-1] == "run_completed" and len(events) == len(result.events)


async def test_running_a_finished_run_again_returns_its_stored_result(store: str) -> None:
    a, a_fn = agent("a", "A")
    flow = Chain([a])
    first = await flow.run("x", store=store, run_id="done")
    again = await flow.run("x", store=store, run_id="done")
    assert a_fn.calls == 1
    assert (again.output, again.status, again.resumed) == ("A", RunStatus.COMPLETED, True)
    assert [str(e.type) for e in again.events] == [str(e.type) for e in first.events]


async def test_a_failed_run_resumes_where_it_stopped(store: str) -> None:
    first, first_fn = agent("first", lambda x: f"{x}>first")
    second = Switch("second")
    third, third_fn = agent("third", lambda x: f"{x}>third")
    flow = Chain([first, FunctionAgent(second), third])
    failed = await flow.run("in", store=store, run_id="r")
    assert failed.status is RunStatus.FAILED and (first_fn.calls, second.calls, third_fn.calls) == (1, 1, 0)
    assert (await get_run("r", store)).status is RunStatus.FAILED

    second.broken = False
    result = await resume("r", flow, store=store)
    assert result.output == "in>first>second>third" and result.resumed
    assert (first_fn.calls, second.calls, third_fn.calls) == (1, 2, 1)
    assert result.step("first").restored and not result.step("third").restored
    assert "step_restored" in [str(e.type) for e in result.events]
    stored = await get_run("r", store)
    assert stored.status is RunStatus.COMPLETED and stored.sessions == 2


async def test_resume_keeps_finished_branches_of_a_parallel(store: str) -> None:
    good, good_fn = agent("good", "G")
    flaky = Switch("flaky")
    flow = Chain([Step(Parallel([good, FunctionAgent(flaky)]), name="fan")])
    assert (await flow.run("x", store=store, run_id="p")).status is RunStatus.FAILED
    flaky.broken = False
    result = await flow.run("x", store=store, run_id="p")
    assert result.output == ["G", "x>flaky"] and (good_fn.calls, flaky.calls) == (1, 2)


async def test_team_resume_replays_the_board_changes_of_finished_tasks(store: str) -> None:
    lead_calls = 0

    async def lead(goal: Any) -> AgentResult:
        nonlocal lead_calls
        lead_calls += 1
        return AgentResult(output="plan", artifacts={"tasks": [{"input": "check", "role": "review"}]})

    reviewer = Switch("reviewer")
    team = Team(
        [Member("lead", FunctionAgent(lead)), Member("reviewer", FunctionAgent(reviewer), frozenset({"review"}))],
        plan=lambda goal: [TeamTask(goal, id="lead-task")],
    )
    assert (await team.run("goal", store=store, run_id="t")).status is RunStatus.FAILED
    reviewer.broken = False
    result = await team.run("goal", store=store, run_id="t")
    assert result.output == {"lead-task": "plan", "lead-task.0": "check>reviewer"}
    assert lead_calls == 1


async def test_supervisor_and_phased_resume(store: str) -> None:
    flaky = Switch("flaky")

    async def route(x: int) -> int:
        return x * 10 if x < 3 else await flaky(x)

    supervisor = Supervisor([FunctionAgent(route, name="router")], max_attempts=1)
    assert (await supervisor.run([1, 2, 3], store=store, run_id="s")).status is RunStatus.FAILED
    flaky.broken = False
    result = await supervisor.run([1, 2, 3], store=store, run_id="s")
    assert result.output == [10, 20, "3>flaky"] and flaky.calls == 2

    plan, plan_fn = agent("plan", "planned")
    edit = Switch("edit")
    phased = Phased([Phase("plan", [plan]), Phase("edit", [FunctionAgent(edit)])])
    assert (await phased.run("x", store=store, run_id="ph")).status is RunStatus.FAILED
    edit.broken = False
    result = await phased.run("x", store=store, run_id="ph")
    assert result.output == "planned>edit" and plan_fn.calls == 1 and edit.calls == 2


class Verdict(pydantic.BaseModel):
    ok: bool


async def test_a_pydantic_output_comes_back_as_the_model(store: str) -> None:
    judge, judge_fn = agent("judge", {"ok": True})
    broken = Switch("after")
    flow = Chain([Step(judge, output=Verdict), FunctionAgent(broken)])
    assert (await flow.run("x", store=store, run_id="m")).status is RunStatus.FAILED
    broken.broken = False
    result = await flow.run("x", store=store, run_id="m")
    assert result.output == "ok=True>after" and judge_fn.calls == 1


async def test_a_non_json_output_is_a_clear_error_naming_the_step(store: str) -> None:
    weird, _ = agent("weird", {1, 2})
    with pytest.raises(CheckpointError, match="the output of step 'chain/weird' cannot be checkpointed"):
        await Chain([weird]).run("x", store=store, run_id="j")
    stored = await get_run("j", store)
    assert stored.status is RunStatus.FAILED and "CheckpointError" in (stored.error or "")
    with pytest.raises(CheckpointError, match="the input of run 'k'"):
        await Chain([weird]).run(object(), store=store, run_id="k")


async def test_resuming_with_another_flow_shape_or_input_is_refused(store: str) -> None:
    a, _ = agent("a", "A")
    b, _ = agent("b", "B")
    broken = FunctionAgent(Switch("c"))
    await Chain([a, broken]).run("x", store=store, run_id="shape")
    with pytest.raises(RunError, match="was started with a different flow shape"):
        await Chain([a, b]).run("x", store=store, run_id="shape")
    with pytest.raises(RunError, match="was started with a different input"):
        await Chain([a, broken]).run("y", store=store, run_id="shape")


async def test_resuming_an_unknown_run_is_a_clear_error(store: str) -> None:
    a, _ = agent("a")
    with pytest.raises(NotFoundError, match=r"no run 'nope' in the store .*jotty runs list"):
        await resume("nope", Chain([a]), store=store)
    with pytest.raises(NotFoundError, match="no run 'nope'"):
        await get_run("nope", store)


async def test_a_run_still_alive_in_another_process_is_not_resumed(backend: Backend) -> None:
    a, _ = agent("a")
    broken = FunctionAgent(Switch("b"))
    flow = Chain([a, broken])
    await flow.run("x", store=backend.store, run_id="busy")
    live_owner = f"{socket.gethostname()}:{os.getppid()}"  # our parent process: alive, not us
    backend.rows("UPDATE jotty_runs SET status = 'running', owner = ? WHERE run_id = 'busy'", (live_owner,))
    with pytest.raises(RunError, match="still running in process"):
        await flow.run("x", store=backend.store, run_id="busy")


async def test_an_open_store_serves_many_runs(store: str) -> None:
    opened = open_run_store(store)
    a, _ = agent("a", lambda x: x)
    try:
        for n in range(3):
            result = await Chain([a]).run(n, store=opened, run_id=f"many-{n}")
            assert result.output == n
        assert [s.status for s in (await get_run("many-2", opened)).steps] == [StepStatus.COMPLETED]
    finally:
        await opened.close()


async def test_the_same_run_cannot_run_twice_at_once(store: str) -> None:
    started = asyncio.Event()
    flow = Chain([blocked("slow", started)])
    first = asyncio.ensure_future(flow.run("x", store=store, run_id="twice"))
    await started.wait()
    with pytest.raises(RunError, match="already running in this process"):
        await flow.run("x", store=store, run_id="twice")
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    stored = await get_run("twice", store)
    assert stored.status is RunStatus.FAILED and stored.error == "CancelledError"


async def test_a_run_created_meanwhile_by_another_process_is_a_clear_error(store: str) -> None:
    opened = open_run_store(store)
    try:
        await opened.create_run("race", "chain", "{}", None, "elsewhere:1")
        with pytest.raises(RunError, match="started by another process a moment ago"):
            await opened.create_run("race", "chain", "{}", None, "here:2")
    finally:
        await opened.close()
