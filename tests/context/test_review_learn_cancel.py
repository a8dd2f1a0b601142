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
