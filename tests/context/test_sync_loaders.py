"""A step's own sync source loader runs on a worker thread, as L4's prefetch already did: it ran
on the event loop, so the sync loads of a Parallel's steps ran one after another and a slow one
stalled every step meanwhile. A loader bound to the loop's thread still loads (test_review's C3)."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

from jotty.context import ContextPolicy, PartKind, Source
from jotty.patterns import Chain, Parallel, Step
from tests.context.flows import Seen

WAIT = 5.0
"""How long a loader waits for what only a free event loop (or a second thread) can give: only
ever reached when it fails."""


async def test_a_parallels_sync_loaders_run_at_the_same_time() -> None:
    """Two steps, each with a sync source that sleeps 0.3 s: the two loads overlap (on the loop,
    the second began only once the first had ended)."""
    spans: dict[str, tuple[float, float]] = {}
    loop_thread = threading.get_ident()
    threads: set[int] = set()

    def slow(name: str) -> Any:
        def load(query: str) -> str:
            threads.add(threading.get_ident())
            began = time.monotonic()
            time.sleep(0.3)
            spans[name] = (began, time.monotonic())
            return f"{name} rows"

        return load

    seen = Seen()
    pol = ContextPolicy(
        sources=[
            Source("archive", slow("archive"), PartKind.DATA, category="research"),
            Source("ledger", slow("ledger"), PartKind.DATA, category="analysis"),
        ]
    )
    flow = Parallel(
        [
            Step(seen.agent("research"), name="research", category="research"),
            Step(seen.agent("analyse"), name="analyse", category="analysis"),
        ]
    )
    result = await flow.run("go", level="L3", policy=pol)
    assert result.ok, result.error
    assert seen.last("research")["parts"] == {"source:archive": "archive rows"}
    assert seen.last("analyse")["parts"] == {"source:ledger": "ledger rows"}
    (a_start, a_end), (b_start, b_end) = spans["archive"], spans["ledger"]
    assert max(a_start, b_start) < min(a_end, b_end), f"one after the other: {spans}"
    assert loop_thread not in threads


async def test_a_sync_loader_leaves_the_event_loop_free() -> None:
    """Once the loader began, it waits for a task on the loop to answer: on the loop itself it
    waited in vain."""
    began, answered = threading.Event(), threading.Event()

    async def beside() -> None:
        while not began.is_set():
            await asyncio.sleep(0.01)
        answered.set()

    def load(query: str) -> str:
        began.set()
        if not answered.wait(WAIT):
            raise TimeoutError("the event loop did not run while the loader loaded")
        return "ledger rows"

    seen = Seen()
    pol = ContextPolicy(sources=[Source("ledger", load, PartKind.DATA)])
    task = asyncio.create_task(beside())
    result = await Chain([Step(seen.agent("analyse"), name="analyse")]).run("go", level="L1", policy=pol)
    await task
    assert result.ok, result.error
    assert seen.last("analyse")["parts"] == {"source:ledger": "ledger rows"}


async def test_a_failing_sync_loader_is_called_once_and_named() -> None:
    """On a worker thread, a loader's error fails its step as before, and it is not loaded again
    (in place, on the loop, as a loader bound to the loop's thread is)."""
    calls: list[str] = []

    def load(query: str) -> str:
        calls.append(query)
        raise OSError("the ledger is offline")

    pol = ContextPolicy(sources=[Source("ledger", load, PartKind.DATA)])
    result = await Chain([Step(Seen().agent("analyse"), name="analyse")]).run("go", level="L1", policy=pol)
    assert not result.ok
    assert "context source 'ledger' could not be loaded for step 'chain/analyse': OSError" in (result.error or "")
    assert len(calls) == 1, calls


async def test_a_loader_that_says_it_cannot_start_a_thread_is_not_called_again_on_the_loop() -> None:
    """Only an object bound to another thread is loaded again in place: any other error that
    mentions threads fails the step after one call."""
    calls: list[int] = []

    def load(query: str) -> str:
        calls.append(threading.get_ident())
        raise RuntimeError("can't start new thread")

    pol = ContextPolicy(sources=[Source("ledger", load, PartKind.DATA)])
    result = await Chain([Step(Seen().agent("analyse"), name="analyse")]).run("go", level="L1", policy=pol)
    assert not result.ok and "can't start new thread" in (result.error or "")
    assert len(calls) == 1, calls


async def test_loaders_hung_past_their_timeout_leave_the_shared_worker_threads_free() -> None:
    """Twelve sources that hang past their steps' timeouts keep their threads; memory's recall and
    the router's start (``asyncio.to_thread``) still get one at once."""
    release = threading.Event()

    def hang(query: str) -> str:
        release.wait(WAIT)
        return "late"

    names = [f"s{i}" for i in range(12)]
    pol = ContextPolicy(sources=[Source(name, hang, PartKind.DATA, category=name) for name in names])
    branches = [Step(Seen().agent(name), name=name, category=name) for name in names]
    try:
        result = await Parallel(branches, timeout=0.2, min_success=1).run("go", level="L3", policy=pol)
        assert not result.ok
        began = time.monotonic()
        assert await asyncio.wait_for(asyncio.to_thread(lambda: "free"), WAIT) == "free"
        assert time.monotonic() - began < WAIT / 2
    finally:
        release.set()
