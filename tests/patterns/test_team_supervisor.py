"""Team (members, a shared board, mailboxes) and Supervisor (delegate, review, reassign, hire)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from jotty.agents import AgentResult, FunctionAgent, RunContext
from jotty.errors import ValidationError
from jotty.patterns import Member, Supervisor, Team, TeamTask
from jotty.runs import RunStatus, StepStatus
from tests.patterns.helpers import agent, always_failing, types


async def test_team_splits_a_list_into_tasks_and_maps_ids_to_outputs() -> None:
    a, a_fn = agent("ann", lambda x: f"ann:{x}")
    b, b_fn = agent("bob", lambda x: f"bob:{x}")
    result = await Team([a, b]).run(["t0", "t1", "t2"])
    assert result.ok and set(result.output) == {"task-0", "task-1", "task-2"}
    assert a_fn.calls + b_fn.calls == 3 and a_fn.calls >= 1 and b_fn.calls >= 1
    assert result.output["task-0"].endswith(":t0")


async def test_failed_work_is_reassigned_to_another_member() -> None:
    flaky, flaky_fn = always_failing("flaky", "flaky is down")
    solid, solid_fn = agent("solid", lambda x: f"done {x}")
    result = await Team([flaky, solid]).run(["a", "b"])
    assert result.ok and result.output == {"task-0": "done a", "task-1": "done b"}
    assert flaky_fn.calls == 1 and solid_fn.calls == 2
    record = result.step("team/tasks/task-0")
    assert (record.agent, record.attempts, record.strategy) == ("solid", 2, "reassign")
    moved = [e for e in result.events if e.type == "work_reassigned"]
    assert [(e.step_path, e.data["from"]) for e in moved] == [("team/tasks/task-0", "flaky")]
    assert solid_fn.contexts[-1].data["previous_errors"] == ["flaky: RuntimeError: flaky is down 1"]


async def test_a_task_nobody_can_do_fails_the_team_with_its_name() -> None:
    x, _ = always_failing("x")
    y, _ = always_failing("y")
    result = await Team([x, y]).run(["job"])
    assert result.status is RunStatus.FAILED and result.output == {}
    assert "team/tasks/task-0" in (result.error or "") and "tried by x, y" in (result.error or "")


async def test_roles_route_tasks_and_a_role_nobody_has_fails() -> None:
    coder, coder_fn = agent("coder", "code")
    tester, tester_fn = agent("tester", "tested")
    team = Team(
        [Member("coder", coder, frozenset({"code"})), Member("tester", tester, frozenset({"test"}))],
        plan=lambda goal: [TeamTask("write", id="write", role="code"), TeamTask("check", id="check", role="test")],
    )
    result = await team.run("feature")
    assert result.output == {"write": "code", "check": "tested"}
    assert (coder_fn.inputs, tester_fn.inputs) == (["write"], ["check"])

    result = await Team([Member("coder", coder, "code")], plan=lambda goal: [TeamTask("x", role="design")]).run("y")
    assert result.status is RunStatus.FAILED and "no worker is left that may take it" in (result.error or "")


async def test_members_message_each_other_and_add_tasks_to_the_board() -> None:
    async def lead(task: Any, ctx: RunContext) -> AgentResult:
        return AgentResult(
            output="spec written",
            artifacts={
                "messages": [{"to": "reviewer", "text": "spec is in, check section 2"}],
                "tasks": [{"input": "review the spec", "role": "review"}],
            },
        )

    reviewer_inbox: list[Any] = []

    async def review(task: Any, ctx: RunContext) -> str:
        reviewer_inbox.extend(ctx.data["inbox"])
        assert any(item["id"] == "task-0" and item["status"] == "done" for item in ctx.data["board"])
        return f"reviewed: {task}"

    team = Team(
        [Member("lead", FunctionAgent(lead)), Member("reviewer", FunctionAgent(review), frozenset({"review"}))],
        plan=lambda goal: [TeamTask(goal)],
    )
    result = await team.run("write the spec")
    assert result.output == {"task-0": "spec written", "task-0.0": "reviewed: review the spec"}
    assert reviewer_inbox == [{"from": "lead", "task": "task-0", "text": "spec is in, check section 2"}]
    assert "message_sent" in types(result)


async def test_bad_team_artifacts_are_a_failure_of_that_work() -> None:
    async def rude(task: Any) -> AgentResult:
        return AgentResult(output="x", artifacts={"messages": [{"to": "nobody", "text": "hi"}]})

    async def clashing(task: Any) -> AgentResult:
        return AgentResult(output="x", artifacts={"tasks": [{"input": "again", "id": "task-0"}]})

    polite, _ = agent("polite", "fine")
    for bad_member, reason in ((rude, "message to unknown member 'nobody'"), (clashing, "'task-0' is on the board")):
        result = await Team([FunctionAgent(bad_member, name="bad"), polite]).run(["t"])
        assert result.output == {"task-0": "fine"}
        failed = next(e for e in result.events if e.type == "step_failed")
        assert reason in failed.data["error"]


async def test_member_windows_persist_across_tasks() -> None:
    solo, solo_fn = agent("solo", lambda x: x * 2)
    result = await Team([solo]).run([1, 2, 3])
    window = result.token_shape.window("team/members/solo")
    assert (window.kind, window.calls) == ("member", 3)
    assert solo_fn.contexts[2].data["history"] == [{"task": "task-0", "output": 2}, {"task": "task-1", "output": 4}]


def test_team_bad_input_is_a_clear_error() -> None:
    a, _ = agent("same")
    with pytest.raises(ValidationError, match="two members named 'same'"):
        Team([a, a])
    with pytest.raises(ValidationError, match="non-empty list of members"):
        Team([])


async def test_supervisor_delegates_and_collects_outputs_in_order() -> None:
    w1, _ = agent("w", lambda x: x * x)
    w2, _ = agent("w", lambda x: x * x)
    result = await Supervisor([w1, w2]).run([1, 2, 3, 4])
    assert result.output == [1, 4, 9, 16]
    assert {w.path for w in result.token_shape.windows} == {
        "supervisor/workers/worker-1",
        "supervisor/workers/worker-2",
    }
    reports = result.artifacts["reports"]
    assert sorted(r["task"] for r in reports) == ["task-0", "task-1", "task-2", "task-3"]
    assert {r["worker"] for r in reports} == {"worker-1", "worker-2"}


async def test_supervisor_reassigns_failed_work_and_retires_a_failing_worker() -> None:
    bad, bad_fn = always_failing("bad")
    good, good_fn = agent("good", lambda x: f"ok {x}")
    result = await Supervisor([bad, good], retire_after=2).run(["a", "b", "c", "d"])
    assert result.ok and result.output == ["ok a", "ok b", "ok c", "ok d"]
    assert bad_fn.calls == 2 and good_fn.calls == 4  # retired after two failures
    retired = [e.data for e in result.events if e.type == "worker_retired"]
    assert retired == [{"worker": "worker-1", "failures": 2}]
    assert len([e for e in result.events if e.type == "work_reassigned"]) == 2


async def test_supervisor_hires_workers_up_to_the_limit() -> None:
    busy = 0
    all_busy = asyncio.Event()
    made: list[int] = []

    def factory(n: int) -> FunctionAgent:
        made.append(n)

        async def work(x: Any) -> Any:
            nonlocal busy
            busy += 1
            if busy == 3:
                all_busy.set()
            await all_busy.wait()  # finishes only once three workers work at the same time
            return x

        return FunctionAgent(work, name=f"hire-{n}")

    result = await Supervisor(worker_factory=factory, max_workers=3).run(list(range(6)))
    assert result.output == list(range(6))
    assert made == [1, 2, 3]
    added = [e.data["worker"] for e in result.events if e.type == "worker_added"]
    assert added == ["worker-1", "worker-2", "worker-3"]


async def test_supervisor_review_rejects_and_the_work_goes_elsewhere() -> None:
    sloppy, _ = agent("sloppy", "sloppy work")
    careful, _ = agent("careful", "careful work")

    async def review(message: dict[str, Any]) -> Any:
        return True if message["output"] == "careful work" else "not good enough"

    result = await Supervisor([sloppy, careful], review=FunctionAgent(review, name="review")).run(["job"])
    assert result.output == ["careful work"]
    assert (
        "rejected by review: not good enough" in next(e for e in result.events if e.type == "step_failed").data["error"]
    )
    assert result.token_shape.window("supervisor/supervisor").calls == 2


async def test_supervisor_plans_with_an_agent_and_fails_when_work_is_lost() -> None:
    planner, _ = agent("planner", lambda goal: [f"{goal} part {i}" for i in range(2)])
    worker, _ = agent("worker", lambda x: x.upper())
    result = await Supervisor([worker], plan=planner).run("build")
    assert result.output == ["BUILD PART 0", "BUILD PART 1"]
    assert result.step("supervisor/plan").status is StepStatus.COMPLETED

    bad, _ = always_failing("bad")
    result = await Supervisor([bad], max_attempts=1).run(["x", "y"])
    assert result.status is RunStatus.FAILED and "2 of 2 tasks failed" in (result.error or "")

    not_a_list, _ = agent("planner", "one big job")
    result = await Supervisor([worker], plan=not_a_list).run("x")
    assert result.status is RunStatus.FAILED and "it must return a list" in (result.error or "")


def test_supervisor_bad_input_is_a_clear_error() -> None:
    a, _ = agent("a")
    with pytest.raises(ValidationError, match="has no workers"):
        Supervisor([])
    with pytest.raises(ValidationError, match="max_workers=1 is below the 2 workers"):
        Supervisor([a, a], max_workers=1)
