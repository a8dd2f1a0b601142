"""Every run gets memory: the Conductor recalls into ctx.data["memory"] and remembers the outcome."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from jotty.agents import FunctionAgent, RunContext
from jotty.errors import ValidationError
from jotty.learning import open_store
from jotty.memory import Memory
from jotty.orchestration import AgentConfig, Conductor, ExecutionMode
from jotty.queue import SQLiteTaskQueue, TaskStatus
from tests.runs.backends import KINDS, open_backend
from tests.support.processes import spawn_module

from .helpers import Calls, settled

ROOT = Path(__file__).resolve().parents[2]


def actor(calls: Calls, name: str = "oracle") -> AgentConfig:
    def answer(value: Any, ctx: RunContext) -> str:
        calls.seen.append((name, value, dict(ctx.data)))
        if "fail" in str(value):
            raise RuntimeError("the oracle could not do it")
        return f"the oracle says {value} is settled"

    return AgentConfig(name, FunctionAgent(answer, name=name))


async def test_a_later_run_recalls_what_an_earlier_run_remembered(store: Path) -> None:
    calls = Calls()
    with Conductor([actor(calls)], store=store) as conductor:
        first = await conductor.run("plan the Lisbon offsite budget")
        assert first.memory is not None
        assert calls.seen[0][2]["memory"]["items"] == []  # nothing to recall yet
        await first.memory.settled()
        stored = {entry.scope: entry for entry in first.memory.remembered}
        assert set(stored) == {"conductor", "actor:oracle"}
        assert all(entry.status == "stored" and entry.id for entry in stored.values())
        assert "new" in stored["conductor"].reason

        second = await conductor.run("what was the Lisbon offsite budget plan?")
        memory = calls.seen[1][2]["memory"]
        assert memory["scope"] == "conductor" and memory["tokens"] > 0
        assert memory["items"][0]["id"] == stored["conductor"].id
        assert "Lisbon offsite budget" in memory["text"]
        assert second.memory is not None
        assert second.memory.recalled[0]["id"] == stored["conductor"].id
        assert second.memory.recalled[0]["score"] > 0
        summary = second.to_dict()["memory"]
        assert summary["recalled"][0]["id"] == stored["conductor"].id


async def test_a_repeat_reinforces_and_low_salience_is_skipped_with_the_reason(store: Path) -> None:
    calls = Calls()
    picky = Memory(store, "conductor", min_salience=0.3)
    with Conductor([actor(calls)], store=store, memory=picky) as conductor:
        done = await conductor.run("index the quarterly invoices")
        failed = await conductor.run("fail the quarterly invoices export")
        again = await conductor.run("fail the quarterly invoices export")
        await settled(done, failed, again)
    assert done.memory is not None and failed.memory is not None and again.memory is not None
    success = done.memory.remembered[0]
    assert success.status == "skipped" and success.id is None and "0.3" in success.reason
    assert failed.memory.remembered[0].status == "stored"  # a failure is salient: kept
    assert again.memory.remembered[0].status == "reinforced"
    assert again.memory.remembered[0].id == failed.memory.remembered[0].id
    await picky.close()


async def test_memory_false_turns_it_off(store: Path) -> None:
    calls = Calls()
    with Conductor([actor(calls)], store=store, memory=False) as conductor:
        result = await conductor.run("plan the Lisbon offsite")
    assert result.memory is None and "memory" not in calls.seen[0][2]
    assert "memory" not in result.to_dict()
    async with Memory(store, "conductor") as memory:
        assert (await memory.stats()).total == 0


async def test_the_recall_stays_within_the_token_budget(store: Path) -> None:
    async with Memory(store, "conductor") as memory:
        line = "the deployment checklist item {} says: verify the {}th mirror of the artifact store "
        await memory.remember_many([line.format(i, i) * 3 for i in range(30)])
    calls = Calls()
    with Conductor([actor(calls)], store=store, memory_tokens=120) as conductor:
        result = await conductor.run("what does the deployment checklist say?")
    memory = calls.seen[0][2]["memory"]
    assert 0 < memory["tokens"] <= 120 and 0 < len(memory["items"]) < 10
    assert len(memory["text"]) <= 120 * 4
    assert result.memory is not None and len(result.memory.recalled) == len(memory["items"])


async def test_close_writes_every_pending_outcome(store: Path) -> None:
    calls = Calls()
    conductor = Conductor([actor(calls)], store=store)
    assert conductor.memory is not None
    writer = conductor.memory.writer
    writer.linger = 30.0  # back-to-back runs: the writer waits for more, and close does not wait it out
    results = [await conductor.run(f"catalogue specimen {i} of the herbarium collection {i * 7}") for i in range(20)]
    began = time.monotonic()
    conductor.close()  # no settled(): close alone must write all of them
    assert time.monotonic() - began < 15.0
    assert writer.transactions == 1 and writer.written == 40  # both scopes of all 20 runs in one transaction
    for result in results:
        assert result.memory is not None
        assert [entry.scope for entry in result.memory.remembered] == ["conductor", "actor:oracle"]
        assert all(entry.status in ("stored", "reinforced") for entry in result.memory.remembered)
    ids = {r.memory.remembered[0].id for r in results if r.memory}
    assert len(ids) >= 10
    async with Memory(store, "conductor") as memory:
        for memory_id in ids:
            assert await memory.get(memory_id) is not None


async def test_bad_memory_options_say_what_to_pass(store: Path) -> None:
    calls = Calls()
    with pytest.raises(ValidationError, match="memory must be True"):
        Conductor([actor(calls)], store=store, memory="yes")
    with pytest.raises(ValidationError, match="memory_tokens must be a whole number >= 50"):
        Conductor([actor(calls)], store=store, memory_tokens=0)
    with pytest.raises(ValidationError, match="memory_sleep must be a positive number"):
        Conductor([actor(calls)], store=store, memory_sleep=-1)
    learned = open_store(str(store))
    with pytest.raises(ValidationError, match=r"memory=Memory\(path_or_url"):
        Conductor([actor(calls)], store=learned, memory=True)
    with Conductor([actor(calls)], store=learned) as conductor:  # the default: off for a store object
        assert conductor.memory is None
    learned.close()


async def test_queued_runs_recall_and_the_task_keeps_the_memory_report(store: Path) -> None:
    calls = Calls()
    queue = SQLiteTaskQueue(store)
    with Conductor([actor(calls)], store=store) as conductor:
        mode = ExecutionMode(conductor, style="workflow", execution="async", queue=queue)
        first = await mode.enqueue_task("survey the Porto warehouse shelving")
        await mode.process_queue(until_empty=True)
        second = await mode.enqueue_task("survey the Porto warehouse shelving again")
        await mode.process_queue(until_empty=True)
    done_first, done_second = await queue.get_task(first), await queue.get_task(second)
    await queue.close()
    assert done_first is not None and done_second is not None
    assert done_first.status == done_second.status == TaskStatus.COMPLETED
    kept = done_first.result["memory"]["remembered"][0]
    assert kept["status"] == "stored"  # the task completed after its outcome was written
    assert done_second.result["memory"]["recalled"][0]["id"] == kept["id"]


async def test_chat_style_runs_remember_what_the_user_said(store: Path) -> None:
    calls = Calls()
    with Conductor([actor(calls)], store=store) as conductor:
        chat = ExecutionMode(conductor, style="chat")
        result = await chat.execute("my favourite colour is teal")
        assert result.memory is not None
        await result.memory.settled()
    said = result.memory.remembered[0]
    assert said.kind == "chat" and said.text == "my favourite colour is teal" and said.status == "stored"


async def test_a_chat_turn_that_only_asks_is_not_remembered_and_says_why(store: Path) -> None:
    """Kept, "Where do I live?" came back first when the user asked "Where do I live now?" in a later
    session, above what the user had told: the recall went to questions."""
    calls = Calls()
    with Conductor([actor(calls)], store=store) as conductor:
        chat = ExecutionMode(conductor, style="chat")
        told = await chat.execute("I live in Lisbon, near the river.")
        asked = await chat.execute("Where do I live? Is it near the river?")
        mixed = await chat.execute("I moved my office to Porto. Where is the nearest gym?")
        await settled(told, asked, mixed)
    assert told.memory is not None and asked.memory is not None and mixed.memory is not None

    def said(result: Any) -> list[Any]:
        return [e for e in result.memory.remembered if e.kind == "chat"]  # (the actor's own entry aside)

    assert [e.status for e in said(told)] == ["stored"]
    [question] = said(asked)
    assert question.status == "skipped" and question.reason == "only a question: the user told nothing to remember"
    assert [e.status for e in said(mixed)] == ["stored"]  # it tells something too
    with Conductor([actor(calls)], store=store) as conductor:
        later = await ExecutionMode(conductor, style="chat").execute("Where do I live now?")
    assert later.memory is not None
    recalled = [item["text"] for item in later.memory.recalled]
    assert "I live in Lisbon, near the river." in recalled, recalled
    assert not any(text.startswith("Where do I live") for text in recalled), recalled


def spawn(*args: str) -> subprocess.Popen[str]:
    return spawn_module("tests.orchestration.memory_worker", *args)


@pytest.mark.parametrize("kind", KINDS)
def test_processes_share_the_conductor_scope(kind: str, tmp_path: Path) -> None:
    with open_backend(kind, tmp_path) as backend:
        shared_by_two_processes(backend.store)


def shared_by_two_processes(store: str) -> None:
    writer = spawn("run", str(store), "remember that the Faro office closes on Fridays")
    out, err = writer.communicate(timeout=120)
    assert writer.returncode == 0, err
    written = json.loads(out)["remembered"][0]
    assert written["status"] == "stored"
    reader = spawn("run", str(store), "when does the Faro office close?")
    out, err = reader.communicate(timeout=120)
    assert reader.returncode == 0, err
    assert json.loads(out)["recalled"][0]["id"] == written["id"]


GOALS = (
    "Ada reviewed the Lisbon warehouse inventory counts",
    "Ada ordered new pallet shelving for the Lisbon warehouse",
    "Ada hired two pickers for the Lisbon warehouse night shift",
    "Ada booked the Lisbon warehouse fire safety inspection",
)


def test_an_idle_worker_process_consolidates_on_its_own(store: Path) -> None:
    async def enqueue() -> None:
        queue = SQLiteTaskQueue(store)
        for goal in GOALS:
            await queue.create_task(goal, status="pending")
        await queue.close()

    asyncio.run(enqueue())
    worker = spawn("queue", str(store), "0.3")
    try:
        deadline, slept = time.monotonic() + 90, []
        assert worker.stdout is not None
        while time.monotonic() < deadline and not any(r["scope"] == "conductor" for r in slept):
            line = worker.stdout.readline()
            if line.startswith("slept "):
                slept.append(json.loads(line[6:]))
    finally:
        worker.kill()
        worker.wait()
    passes = {report["scope"]: report for report in slept}
    assert "conductor" in passes, f"the idle worker never consolidated: {slept}"
    assert passes["conductor"]["lease"] and passes["conductor"]["replayed"] == len(GOALS), passes
    assert passes["conductor"]["clusters"] >= 1

    async def semantic() -> int:
        async with Memory(store, "conductor") as memory:
            return (await memory.stats()).levels["semantic"]

    assert asyncio.run(semantic()) >= 1


def test_a_killed_worker_loses_no_outcome_of_a_completed_task(store: Path) -> None:
    async def enqueue() -> list[str]:
        queue = SQLiteTaskQueue(store)
        ids = [await queue.create_task(f"tally the Evora parcel batch {i}", status="pending") for i in range(40)]
        await queue.close()
        return ids

    async def completed(ids: list[str]) -> list[dict[str, Any]]:
        queue = SQLiteTaskQueue(store)
        tasks = [await queue.get_task(task_id) for task_id in ids]
        await queue.close()
        return [t.result for t in tasks if t is not None and t.status == TaskStatus.COMPLETED]

    ids = asyncio.run(enqueue())
    worker = spawn("queue", str(store), "600")
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and len(asyncio.run(completed(ids))) < 10:
            time.sleep(0.1)
    finally:
        worker.kill()  # SIGKILL: no flush, no atexit
        worker.wait()
    results = asyncio.run(completed(ids))
    assert 10 <= len(results) < 40, len(results)

    async def missing() -> list[str]:
        async with Memory(store, "conductor") as memory:
            kept = [
                entry["id"] for r in results for entry in r["memory"]["remembered"] if entry["scope"] == "conductor"
            ]
            return [memory_id for memory_id in kept if memory_id is None or await memory.get(memory_id) is None]

    assert asyncio.run(missing()) == []  # every completed task's outcome is in memory


async def test_a_repeated_goal_reuses_the_recall_until_the_scope_changes(store: Path) -> None:
    calls = Calls()
    async with Memory(store, "conductor") as seed:
        await seed.remember("the quarterly invoices live in the Braga archive")
    picky = Memory(store, "conductor", min_salience=0.3)  # successes are skipped: they change nothing
    with Conductor([actor(calls)], store=store, memory=picky) as conductor:
        first = await conductor.run("where are the quarterly invoices?")
        assert first.memory is not None and not first.memory.cached and first.memory.recalled
        await first.memory.settled()
        again = await conductor.run("where are the quarterly invoices?")
        assert again.memory is not None and again.memory.cached
        assert again.memory.recalled == first.memory.recalled
        failed = await conductor.run("fail the quarterly invoices export")  # a failure is stored
        assert failed.memory is not None
        await failed.memory.settled()
        after = await conductor.run("where are the quarterly invoices?")
        assert after.memory is not None and not after.memory.cached
    await picky.close()
