"""A queued run retried after a failure holds the failure under its run id: a lost success is still
recovered (the check asked for anything of the run: a review's finding)."""

from __future__ import annotations

from typing import Any

import pytest

from jotty.agents import FunctionAgent, RunContext
from jotty.memory import Memory
from jotty.orchestration import AgentConfig, Conductor
from jotty.orchestration.result import ConductorRunFailed
from tests.memory.test_remember_lost import queued

calls = {"n": 0}


def flaky(value: Any, ctx: RunContext) -> str:
    calls["n"] += 1
    if calls["n"] == 1:
        raise RuntimeError("the Evora ledger service timed out")
    return "tallied 412 parcels"


async def test_a_retried_task_whose_worker_died_keeps_its_success(store: str) -> None:
    calls["n"] = 0
    async with queued(store, "tally the Evora parcel batch 19") as (queue, task):
        # attempt 1 fails: its failure is remembered under the task's run id; the queue retries
        with (
            Conductor(
                [AgentConfig("clerk", FunctionAgent(flaky))], store=store, task_queue=queue, memory_sleep=None
            ) as c,
            pytest.raises(ConductorRunFailed),
        ):
            await c.handle_task(task)
        # attempt 2 completes and is recorded, but the worker is killed before its writer writes
        # (simulated: the outcome never reaches the writer)
        with Conductor(
            [AgentConfig("clerk", FunctionAgent(flaky))], store=store, task_queue=queue, memory_sleep=None
        ) as c:
            assert c.memory is not None
            c.memory.remember = lambda *a, **k: None  # type: ignore[method-assign]
            done = await c.handle_task(task)
            assert done["output"] == "tallied 412 parcels"
        # attempt 3 (another worker): the store holds the run complete, so remember_lost should recover it
        with Conductor(
            [AgentConfig("clerk", FunctionAgent(flaky))], store=store, task_queue=queue, memory_sleep=None
        ) as c:
            again = await c.handle_task(task)
        assert calls["n"] == 2 and again["output"] == "tallied 412 parcels"
        async with Memory(store, "conductor") as memory:
            texts = [h.text for h in await memory.recall("Evora parcel batch 19 tallied", k=10)]
        assert any("tallied 412 parcels" in t for t in texts), texts
