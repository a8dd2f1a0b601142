"""A queued task's run that the store holds complete remembers its outcome only when memory lacks
it, and only on the queue's path (a review found it remembered a run again while this process's
writer still held the outcome, and brought back an outcome that had been forgotten)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from jotty.agents import FunctionAgent, RunContext
from jotty.memory import Memory
from jotty.orchestration import AgentConfig, Conductor


def answer(value: Any, ctx: RunContext) -> str:
    return f"tallied {value}"


def clerk() -> AgentConfig:
    return AgentConfig("clerk", FunctionAgent(answer))


async def test_resuming_a_run_whose_outcome_is_still_in_this_processs_writer_remembers_it_once(store: str) -> None:
    """The first run's outcome waits in the writer (it lingers to batch runs); a resume of the run
    right after it (a client that re-fetches the result by run_id) finds memory without it and
    remembers it again: the memory is 'reinforced' by the very same run (seen 2, in both scopes)."""
    goal = "tally the Evora parcel batch 17"
    with Conductor([clerk()], store=store, memory_sleep=None) as conductor:
        assert conductor.memory is not None
        # the default linger (50 ms) is enough: nothing is changed here
        first = await conductor.run(goal)
        again = await conductor.run(goal, run_id=first.run_id)
        assert first.memory is not None and again.memory is not None
        await first.memory.settled()
        await again.memory.settled()
    statuses = [(e.scope, e.status) for e in again.memory.remembered]
    async with Memory(store, "conductor") as memory:
        [hit] = [h for h in await memory.recall("Evora parcel batch 17", k=5) if "Evora" in h.text]
    assert hit.seen == 1 and statuses == [], (hit.seen, statuses)


async def test_a_forgotten_runs_outcome_does_not_come_back_when_the_run_is_resumed(store: str) -> None:
    """A user forgets what a run remembered (forget(where={"run_id": ...}): say it held personal data).
    Resuming the completed run (reading its stored result by run_id) remembers it again."""
    goal = "tally the Evora parcel batch 17 for Ada Lovelace"
    with Conductor([clerk()], store=store, memory_sleep=None) as conductor:
        assert conductor.memory is not None
        first = await conductor.run(goal)
        assert first.memory is not None
        await first.memory.settled()
        assert await conductor.memory.memory.forget(where={"run_id": first.run_id}) == 1
        again = await conductor.run(goal, run_id=first.run_id)
        assert again.memory is not None
        await again.memory.settled()
    async with Memory(store, "conductor") as memory:
        hits = [h for h in await memory.recall("Evora parcel batch Ada", k=5) if "Ada" in h.text]
    assert hits == [], [(h.text, h.metadata) for h in hits]


@contextlib.asynccontextmanager
async def queued(store: str, goal: str) -> AsyncIterator[tuple[Any, Any]]:
    """A queue on ``store`` holding one task of ``goal``: the queue and the task."""
    from jotty.queue.factory import open_queue

    queue = open_queue(store)
    try:
        task = await queue.get_task(await queue.create_task(goal))
        assert task is not None
        yield queue, task
    finally:
        await queue.close()


async def test_a_queued_task_run_again_remembers_its_outcome_once(store: str) -> None:
    """The path remember_lost serves: a task handled again whose run the store holds complete (a
    worker that died before completing it, here the same task handed over twice while the first
    outcome may still wait in this process's writer): memory gets it once."""
    async with queued(store, "tally the Evora parcel batch 18") as (queue, task):
        with Conductor([clerk()], store=store, task_queue=queue, memory_sleep=None) as conductor:
            first = await conductor.handle_task(task)
            again = await conductor.handle_task(task)
        assert first["run_id"] == again["run_id"]
        assert again["memory"]["skipped"] and again["memory"]["remembered"] == []
        async with Memory(store, "conductor") as memory:
            [hit] = [h for h in await memory.recall("Evora parcel batch 18", k=5) if "Evora" in h.text]
        assert hit.seen == 1
