"""Review findings on the write-behind ``MemoryWriter`` (each test fails on main as of e47a815)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from jotty.memory import Memory
from jotty.runmemory import Remembered
from jotty.runmemory.use import RunMemory


@pytest.fixture
def memory(tmp_path: Path) -> Iterator[Memory]:
    mem = Memory(tmp_path / "memory.db", "conductor")
    yield mem
    asyncio.run(mem.close())


def entries(scope: str, *texts: str) -> list[Remembered]:
    return [Remembered(scope, text, {"kind": "run", "outcome": "success"}, "run") for text in texts]


def test_a_timed_out_settled_does_not_stop_the_writer(memory: Memory) -> None:
    """``report.settled(timeout)`` timing out (or its task cancelled: a queue worker's grace period,
    a lost lease) cancels the writer's concurrent future through ``asyncio.wrap_future``; the writer
    then calls ``set_result`` on a cancelled future, ``InvalidStateError`` kills its thread, and
    every later submission waits forever: nothing more is ever written."""
    gate = threading.Event()
    real = memory.remember_scopes_now

    def slow(batches):  # a busy store: the write takes longer than the caller will wait
        gate.wait(10.0)
        return real(batches)

    memory.remember_scopes_now = slow  # type: ignore[method-assign]
    run_memory = RunMemory(memory, sleep_after=None)
    first = run_memory.recall_report()
    run_memory.note(first, entries("conductor", "audit the payroll for Vega-1 in Ghent -> done"))

    async def impatient() -> None:
        with pytest.raises(TimeoutError):
            await first.settled(timeout=0.2)

    asyncio.run(impatient())
    gate.set()
    later = run_memory.recall_report()
    run_memory.note(later, entries("conductor", "price the shipments for Nimbus-1 in Faro -> done"))
    assert run_memory.writer.flush(timeout=5.0), "the writer thread died: later entries are never written"
    assert later.remembered[0].status == "stored"
    run_memory.writer.close(timeout=5.0)
