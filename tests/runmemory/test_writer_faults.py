"""The write-behind ``MemoryWriter`` under faults: a waiter that gives up, a write that fails after its
commit, near-duplicates that land in one lingered transaction."""

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


def test_a_failure_after_the_write_committed_is_not_written_again(memory: Memory, tmp_path: Path) -> None:
    """``Memory._ingest_scopes`` writes the recall counts (``_flush_uses``, a transaction of its own)
    AFTER the entries' transaction committed; when that second write fails, the writer takes the whole
    write for failed and retries it: the entries are written twice, and the report says "reinforced"
    (the same words as ... seen 2 times) for what was stored once."""
    import sqlite3

    from jotty.runmemory import MemoryWriter

    asyncio.run(memory.remember("the nightly backup of the billing database runs at 02:00"))
    with sqlite3.connect(tmp_path / "memory.db") as conn:  # the store refuses the recall-count update
        conn.execute(
            "CREATE TRIGGER refuse BEFORE UPDATE OF uses ON jotty_memory "
            "BEGIN SELECT RAISE(ABORT, 'database is locked'); END"
        )
    assert asyncio.run(memory.recall("when does the billing backup run?"))  # a recall count to write
    memory._uses_since -= 60
    writer = MemoryWriter(linger=0)
    mine = entries("conductor", "rotate the API keys for Atlas-4 in Oslo -> done")
    writer.submit(memory, mine)
    assert writer.flush(timeout=20.0)
    writer.close()
    hit = asyncio.run(memory.get(mine[0].id or ""))
    assert hit is not None
    assert mine[0].status == "stored", mine[0].reason  # not "reinforced" by a second write of itself


def test_back_to_back_near_duplicates_reinforce_as_they_do_one_at_a_time(memory: Memory) -> None:
    """Two runs' outcomes that are near-duplicates (cosine 0.98, the same words but a number): written
    one after the other, the second reinforces the first; written in the same lingered transaction,
    both are stored as new memories ("novelty 1.00"), because ingest compares a batch's items with the
    stored memories only (the same-words twin check is the only in-batch one). Whether a run's outcome
    deduplicates then depends on how close in time the runs ended."""
    from jotty.runmemory import MemoryWriter

    first = entries("conductor", "reconcile the invoices for Acme-12 in Lisbon -> done: 12 items, on time")
    second = entries("conductor", "reconcile the invoices for Acme-12 in Lisbon -> done: 13 items, on time")
    writer = MemoryWriter(linger=30.0)  # back-to-back runs: one transaction
    writer.submit(memory, first)
    writer.submit(memory, second)
    assert writer.flush(timeout=20.0)
    writer.close()
    assert first[0].status == "stored"
    assert second[0].status == "reinforced", second[0].reason  # not stored again as "new (novelty 1.00, ...)"
    assert second[0].id == first[0].id
