"""Conductor runs are recorded in the runs table like any flow (static, dynamic, chat, queued),
`jotty runs` shows them, and a dynamic run killed with SIGKILL resumes under the same run_id
without repeating a finished attempt."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from jotty.agents import TokenUsage
from jotty.cli.main import app
from jotty.errors import ValidationError
from jotty.orchestration import AgentConfig, ChatMode, Conductor, StopReason
from jotty.queue import SQLiteTaskQueue, TaskStatus
from jotty.runs import CheckpointError, RunStatus, StepStatus, get_events, get_run, list_runs
from tests.runs.backends import KINDS, Backend, open_backend
from tests.support.kill import kill_when

from .helpers import Calls

SCRIPT = Path(__file__).with_name("killable_conductor.py")


@pytest.fixture(params=KINDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    """The store (learning and runs) on SQLite, then on a PostgreSQL schema of its own."""
    with open_backend(request.param, tmp_path) as opened:
        yield opened


async def test_a_static_run_is_recorded_with_its_steps_events_tokens_and_context(store: Path) -> None:
    calls = Calls()
    actors = [
        AgentConfig("draft", calls.answering("draft", "a draft", tokens=7)),
        AgentConfig("polish", calls.appender("polish")),
    ]
    with Conductor(actors, store=store) as conductor:
        result = await conductor.run("write the notes", {"category": "docs"})

    assert result.ok
    (summary,) = await list_runs(store)
    assert (summary.run_id, summary.flow, summary.status) == (result.run_id, "conductor", RunStatus.COMPLETED)
    assert summary.tokens == TokenUsage(7, 0)
    run = await get_run(result.run_id, store)
    assert run.input == "write the notes" and run.output == "a draft|polish"
    assert [(s.path, s.status) for s in run.steps] == [
        ("conductor/1-draft", StepStatus.COMPLETED),
        ("conductor/2-polish", StepStatus.COMPLETED),
    ]
    assert run.metadata == {"conductor": {"mode": "static", "context": {"category": "docs"}}}
    kinds = [e.event.type for e in await get_events(result.run_id, store)]
    assert kinds[0] == "run_started" and kinds[-1] == "run_completed" and kinds.count("step_completed") == 2


async def test_a_dynamic_run_records_failed_attempts_and_the_routers_choices(backend: Backend) -> None:
    store = backend.store
    calls = Calls()
    actors = [
        AgentConfig("broken", calls.failing("broken", "disk full")),
        AgentConfig("works", calls.answering("works", {"saved": True}, tokens=3)),
    ]
    with Conductor(actors, mode="dynamic", store=store) as conductor:
        result = await conductor.run("back up the notes")

    run = await get_run(result.run_id, store)
    assert run.status is RunStatus.COMPLETED and run.output == {"saved": True}
    assert [(s.path, s.status, s.error) for s in run.steps] == [
        ("conductor/1-broken", StepStatus.FAILED, "RuntimeError: disk full"),
        ("conductor/2-works", StepStatus.COMPLETED, None),
    ]
    routes = [e.event for e in await get_events(result.run_id, store) if e.event.type == "route_chosen"]
    assert [(e.step_path, e.data["actor"], e.data["reason"]) for e in routes] == [
        ("conductor/1-broken", "broken", "explore"),
        ("conductor/2-works", "works", "explore"),
    ]


async def test_a_chat_run_is_recorded(store: Path) -> None:
    def answer(value: Any, ctx: Any) -> str:
        return f"you said {value!r} after {len(ctx.data['history'])} messages"

    with Conductor([AgentConfig("assistant", answer)], store=store) as conductor:
        stream = ChatMode(conductor).stream("hello", [{"role": "user", "content": "hi"}])
        events = [event async for event in stream]

    assert events[-1]["type"] == "done"
    run = await get_run(stream.result.run_id, store)
    assert run.status is RunStatus.COMPLETED and run.output == "you said 'hello' after 1 messages"
    assert run.metadata["conductor"]["context"] == {
        "history": [{"role": "user", "content": "hi"}],
        "category": "chat",
        "style": "chat",
    }


async def test_a_queued_goal_is_recorded_as_its_tasks_run(store: Path) -> None:
    queue = SQLiteTaskQueue(store, retry_backoff=0)
    try:
        with Conductor([AgentConfig("writer", Calls().appender("writer"))], task_queue=queue, store=store) as conductor:
            task_id = await conductor.enqueue_goal("write the release notes")
            await conductor.process_queue(until_empty=True)
        task = await queue.get_task(task_id)
    finally:
        await queue.close()
    assert task is not None and task.status is TaskStatus.COMPLETED
    run = await get_run(f"task-{task_id}", store)
    assert run.status is RunStatus.COMPLETED and run.output == "write the release notes|writer"
    assert run.metadata["conductor"]["context"]["task_id"] == task_id


async def test_a_queued_goal_that_failed_resumes_its_run_on_retry_and_keeps_accepted_steps(store: Path) -> None:
    calls = Calls()
    state = {"fail": True}

    def check(value: str, ctx: Any) -> str:
        calls.seen.append(("check", value, {}))
        if state["fail"]:
            raise RuntimeError("flaky")
        return value + "|checked"

    queue = SQLiteTaskQueue(store, retry_backoff=0)
    actors = [AgentConfig("write", calls.appender("write")), AgentConfig("check", check)]
    try:
        with Conductor(actors, task_queue=queue, store=store) as conductor:
            task_id = await conductor.enqueue_goal("notes", max_retries=2)
            await conductor.process_queue(max_tasks=1)
            failed = await get_run(f"task-{task_id}", store)
            state["fail"] = False
            await conductor.process_queue(until_empty=True)
        task = await queue.get_task(task_id)
    finally:
        await queue.close()
    assert failed.status is RunStatus.FAILED
    assert task is not None and task.status is TaskStatus.COMPLETED
    done = await get_run(f"task-{task_id}", store)
    assert done.status is RunStatus.COMPLETED and done.sessions == 2 and done.output == "notes|write|checked"
    assert calls.actors == ["write", "check", "check"]  # the accepted first step did not run again


async def test_a_dynamic_run_that_ended_failed_goes_on_after_its_last_attempt(store: Path) -> None:
    calls = Calls()
    actors = [AgentConfig("broken", calls.failing("broken")), AgentConfig("works", calls.appender("works"))]
    with Conductor(actors, mode="dynamic", store=store) as conductor:
        failed = await conductor.run("goal", max_iterations=1, run_id="twice")
        assert failed.stop_reason is StopReason.MAX_ITERATIONS
        result = await conductor.run("goal", max_iterations=1, run_id="twice")
    assert result.ok and result.output == "goal|works"
    assert calls.actors == ["broken", "works"]
    run = await get_run("twice", store)
    assert run.sessions == 2 and [(s.path, s.status) for s in run.steps] == [
        ("conductor/1-broken", StepStatus.FAILED),
        ("conductor/2-works", StepStatus.COMPLETED),
    ]
    # The retry learned only from its own attempt: the first session learned from the failure.
    assert [s["actor"] for s in result.learning["steps"]] == ["works"]


async def test_running_a_completed_run_again_returns_it_without_running(store: Path) -> None:
    calls = Calls()
    with Conductor([AgentConfig("a", calls.appender("a"))], mode="dynamic", store=store) as conductor:
        first = await conductor.run("goal", run_id="again")
        second = await conductor.run("goal", run_id="again")
    assert calls.actors == ["a"]
    assert second.ok and second.output == first.output == "goal|a"
    assert (second.actor, second.final_step, second.stop_reason) == ("a", "conductor/1-a", StopReason.ACCEPTED)


async def test_runs_false_keeps_runs_in_memory_only(store: Path) -> None:
    with Conductor([AgentConfig("a", Calls().appender("a"))], store=store, runs=False) as conductor:
        result = await conductor.run("goal")
    assert result.ok
    assert await list_runs(store) == []


async def test_runs_can_go_to_another_store(store: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "runs.db"
    with Conductor([AgentConfig("a", Calls().appender("a"))], store=store, runs=elsewhere) as conductor:
        result = await conductor.run("goal")
    assert [r.run_id for r in await list_runs(elsewhere)] == [result.run_id]
    assert await list_runs(store) == []


async def test_an_output_that_cannot_be_checkpointed_says_how_to_fix_it(store: Path) -> None:
    conductor = Conductor([AgentConfig("a", lambda value: object())], store=store)
    with conductor, pytest.raises(CheckpointError, match=r"runs=False") as caught:
        await conductor.run("goal", run_id="bad")
    assert "conductor/1-a" in str(caught.value)
    run = await get_run("bad", store)  # the store is intact: the run is failed and resumable
    assert run.status is RunStatus.FAILED and run.input == "goal"


def test_a_bad_runs_argument_is_refused(store: Path) -> None:
    with pytest.raises(ValidationError, match=r"runs must be True"):
        Conductor([AgentConfig("a", Calls().appender("a"))], store=store, runs=3)  # type: ignore[arg-type]


def test_jotty_runs_list_and_show_show_a_conductor_run(store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JOTTY_DATABASE_URL", raising=False)
    monkeypatch.setenv("COLUMNS", "80")
    actors = [AgentConfig("broken", Calls().failing("broken")), AgentConfig("works", Calls().appender("works"))]
    with Conductor(actors, mode="dynamic", store=store) as conductor:
        result = asyncio.run(conductor.run("back up"))
    runner = CliRunner()
    listed = runner.invoke(app, ["runs", "list", "--db", str(store)])
    assert listed.exit_code == 0, listed.output
    assert result.run_id in listed.output and "conductor" in listed.output and "completed" in listed.output
    shown = runner.invoke(app, ["runs", "show", result.run_id, "--db", str(store), "--json"])
    assert shown.exit_code == 0, shown.output
    data = json.loads(shown.output)
    assert [s["path"] for s in data["steps"]] == ["conductor/1-broken", "conductor/2-works"]
    assert "route_chosen" in {e["type"] for e in data["events"]}
    text = runner.invoke(app, ["runs", "show", result.run_id, "--db", str(store)])
    assert text.exit_code == 0 and "conductor/2-works" in text.output
    assert "\x1b[" not in text.output and max(len(line) for line in text.output.splitlines()) <= 80
    resumed = runner.invoke(app, ["runs", "resume", result.run_id, "--db", str(store)])
    assert resumed.exit_code == 1
    assert "is a Conductor run: resume it where its Conductor lives, with conductor.run(goal, run_id=" in (
        resumed.stderr
    )


def _started(counter: Path) -> list[str]:
    return counter.read_text().split() if counter.exists() else []


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
async def test_a_dynamic_run_killed_mid_way_resumes_without_repeating_an_attempt(
    backend: Backend, tmp_path: Path
) -> None:
    store, counter = backend.store, tmp_path / "started.txt"
    first = subprocess.Popen([sys.executable, str(SCRIPT), str(store), str(counter), "third"])
    kill_when(first, lambda: "third" in _started(counter), lambda: _started(counter))
    killed = await get_run("conducted-kill-me", store)
    assert killed.status is RunStatus.RUNNING and killed.sessions == 1
    assert [(s.path, s.status) for s in killed.steps] == [
        ("conductor/1-first", StepStatus.FAILED),
        ("conductor/2-second", StepStatus.FAILED),
    ]

    second = subprocess.run(
        [sys.executable, str(SCRIPT), str(store), str(counter), ""], capture_output=True, text=True, timeout=60
    )
    assert second.returncode == 0, second.stderr
    out = json.loads(second.stdout)
    assert out["status"] == "completed" and out["output"] == "tidy the notes by third"
    # Only the attempt that was running when the process died ran again.
    assert Counter(_started(counter)) == {"first": 1, "second": 1, "third": 2}
    learning = out["learning"]
    assert [(s["actor"], s["outcome"]) for s in learning["steps"]] == [
        ("first", "failed"),
        ("second", "failed"),
        ("third", "ok"),
    ]
    assert [d["actor"] for d in learning["decisions"]] == ["first", "second", "third"]
    done = await get_run("conducted-kill-me", store)
    assert done.status is RunStatus.COMPLETED and done.sessions == 2
    assert [s.path for s in done.steps] == ["conductor/1-first", "conductor/2-second", "conductor/3-third"]
    # Every attempt was learned from once: one observation per attempt, and one TD update per state.
    attempts = dict(backend.rows("SELECT actor, attempts FROM jotty_learning_stats WHERE feature = '*'"))
    [(visits,)] = backend.rows("SELECT sum(visits) FROM jotty_learning_q")
    assert attempts == {"first": 1, "second": 1, "third": 1}
    assert visits == 3
