"""A lost outcome is looked for in each scope it goes to: a chat turn skipped in the conductor's
scope but stored in the actor's was remembered there again each time the queue handed the task over
(a review's finding)."""

from __future__ import annotations

from typing import Any

from jotty.agents import FunctionAgent, RunContext
from jotty.memory import Memory
from jotty.orchestration import AgentConfig, Conductor


def helper(value: Any, ctx: RunContext) -> str:
    return "You are welcome: the Evora parcel batch 20 is tallied at 412 parcels"


async def test_a_completed_chat_task_handed_over_again_is_remembered_once_by_its_actor(store: str) -> None:
    from jotty.queue.factory import open_queue

    queue = open_queue(store)
    try:
        with Conductor(
            [AgentConfig("helper", FunctionAgent(helper))], store=store, task_queue=queue, memory_sleep=None
        ) as c:
            task_id = await c.enqueue_goal("ok thanks", context={"style": "chat"})
            task = await queue.get_task(task_id)
            assert task is not None
            first = await c.handle_task(task)
            again = await c.handle_task(task)  # a worker that died before completing the task, say
        assert first["run_id"] == again["run_id"]
        assert [e["status"] for e in first["memory"]["remembered"]] == ["skipped", "stored"]
        async with Memory(store, "actor:helper") as memory:
            hits = [h for h in await memory.recall("Evora parcel batch 20 tallied", k=5) if "Evora" in h.text]
        assert [h.seen for h in hits] == [1], (again["memory"]["remembered"], [(h.text, h.seen) for h in hits])
    finally:
        await queue.close()
