"""Review: a durable L4 run cancelled while it learns from the store is recorded as ended."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from jotty.context import PrefetchModel
from jotty.runs import get_run
from tests.context.flows import Seen, flows, policy
from tests.context.test_levels import earlier_runs


@pytest.mark.parametrize("level", ["L1", "L4"])
async def test_a_run_cancelled_as_it_starts_is_not_left_running(tmp_path: Path, level: str) -> None:
    store = str(tmp_path / "runs.db")
    earlier_runs(store, 1)

    async def cancel_on_start(event) -> None:  # the caller cancels the run just as it starts
        if event.type == "run_started":
            asyncio.current_task().cancel()

    seen = Seen()
    run = flows(seen)["chain"].run(
        "go", store=store, run_id="cut", level=level, sink=cancel_on_start, policy=policy(seen, PrefetchModel())
    )
    with pytest.raises(asyncio.CancelledError):
        await run
    record = await get_run("cut", store=store)
    assert str(record.status) == "failed", record.status


async def test_a_store_that_cannot_be_read_is_logged_once_not_at_every_window(caplog: pytest.LogCaptureFixture) -> None:
    from jotty.context import Level
    from jotty.context.policy import StepCall
    from jotty.errors import StoreError

    async def unreadable() -> None:
        raise StoreError("the runs table is locked")

    seen = Seen()
    session = policy(seen).session("chain", Level.L4, None)
    session.learn = unreadable
    for role in ("research", "analyse", "write"):
        await session.window(StepCall(f"chain/{role}", role, "step", seen.agent(role)), "go", {})
    assert caplog.text.count("could not learn") == 1


async def test_windows_at_once_learn_once_and_a_cancelled_one_does_not_stop_the_learning() -> None:
    from jotty.context import Level
    from jotty.context.policy import StepCall

    calls: list[str] = []
    done = asyncio.Event()

    async def slow() -> None:
        calls.append("learn")
        await asyncio.sleep(0.05)
        done.set()

    seen = Seen()
    session = policy(seen).session("chain", Level.L4, None)
    session.learn = slow
    a = asyncio.ensure_future(
        session.window(StepCall("chain/research", "research", "step", seen.agent("research")), "go", {})
    )
    b = asyncio.ensure_future(
        session.window(StepCall("chain/analyse", "analyse", "step", seen.agent("analyse")), "go", {})
    )
    await asyncio.sleep(0.01)
    a.cancel()
    await b
    assert a.cancelled() and done.is_set() and calls == ["learn"]
