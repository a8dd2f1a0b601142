"""``MemoryWriter`` on a real SQLite store: back-to-back submissions share one transaction, waiting
(flush, hurry, close) never waits out the linger, and one failing scope loses nothing of the others;
under faults: a waiter that gives up, a write that fails after its commit, near-duplicates that land
in one lingered transaction."""

from __future__ import annotations

import asyncio
import gc
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest

from jotty.memory import Memory
from jotty.runmemory import MemoryWriter, Remembered
from jotty.runmemory.use import RunMemory
from jotty.runmemory.writer import ATTEMPTS


@pytest.fixture
def memory(tmp_path: Path) -> Iterator[Memory]:
    mem = Memory(tmp_path / "memory.db", "conductor")
    yield mem
    asyncio.run(mem.close())


def entries(scope: str, *texts: str) -> list[Remembered]:
    return [Remembered(scope, text, {"kind": "run", "outcome": "success"}, "run") for text in texts]


def test_back_to_back_submissions_share_one_transaction_and_flush_does_not_linger(memory: Memory) -> None:
    writer = MemoryWriter(linger=30.0)
    actor = memory.scoped("actor:worker")
    submitted = []
    for n in range(20):  # a run hands in its outcome for two scopes
        text = f"audit the payroll for Vega-{n} in Ghent -> done: {n + 3} items"
        submitted += [*entries("conductor", text), *entries("actor:worker", text)]
        writer.submit(memory, submitted[-2:-1])
        writer.submit(actor, submitted[-1:])
    began = time.monotonic()
    assert writer.flush(timeout=20.0)
    assert time.monotonic() - began < 10.0  # not the 30 s linger
    assert writer.transactions == 1 and writer.written == 40
    assert {e.status for e in submitted} == {"stored"}
    stored = {e.id for e in submitted}
    assert len(stored) == 40 and None not in stored
    writer.close()


def test_hurry_writes_without_waiting_for_more(memory: Memory) -> None:
    writer = MemoryWriter(linger=30.0)
    mine = entries("conductor", "triage the support tickets for Orbit-7 in Cork -> done")
    done = writer.submit(memory, mine)
    writer.hurry()
    done.result(timeout=10.0)
    assert mine[0].status == "stored"
    writer.close()


def test_a_failing_scope_loses_nothing_of_the_others(memory: Memory, tmp_path: Path) -> None:
    asyncio.run(memory.stats())  # the tables
    with sqlite3.connect(tmp_path / "memory.db") as conn:  # a real refusal by the store, one scope only
        conn.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON jotty_memory WHEN new.scope = 'actor:broken' "
            "BEGIN SELECT RAISE(ABORT, 'actor:broken is read-only'); END"
        )
    written: list[str] = []
    writer = MemoryWriter(on_written=written.append, linger=30.0)
    good = entries("conductor", "draft the roadmap for Lumen-3 in Bern -> done")
    bad = entries("actor:broken", "draft the roadmap for Lumen-3 in Bern -> done")
    writer.submit(memory, good)
    writer.submit(memory.scoped("actor:broken"), bad)
    assert writer.flush(timeout=20.0)
    assert good[0].status == "stored" and good[0].id is not None
    assert bad[0].status == "failed" and "read-only" in bad[0].reason and bad[0].id is None
    assert writer.transactions == ATTEMPTS + 2  # together (retried), then each alone
    assert written == ["conductor"] and writer.written == 2
    writer.close()


def test_close_writes_everything_and_a_later_submission_starts_again(memory: Memory) -> None:
    before = set(threading.enumerate())
    writer = MemoryWriter(linger=30.0)
    first = entries("conductor", "price the shipments for Nimbus-1 in Faro -> done")
    writer.submit(memory, first)
    writer.close(timeout=20.0)
    assert first[0].status == "stored"
    assert [t for t in threading.enumerate() if t not in before] == []  # the writer's thread stopped
    later = entries("conductor", "schedule the inventory for Quarry-9 in Leeds -> done")
    writer.submit(memory, later)
    assert writer.flush(timeout=20.0) and later[0].status == "stored"
    writer.close()


def test_run_comes_after_what_is_queued(memory: Memory) -> None:
    writer = MemoryWriter(linger=30.0)
    queued = entries("conductor", "forecast the sales report for Acme-5 in Turin -> done")
    writer.submit(memory, queued)

    async def read() -> str:
        return queued[0].status

    assert writer.run(read(), timeout=20.0) == "stored"
    writer.close()


def test_each_store_gets_its_own_transaction(memory: Memory, tmp_path: Path) -> None:
    other = Memory(tmp_path / "other.db", "conductor")
    writer = MemoryWriter(linger=30.0)
    here = entries("conductor", "review the contracts for Vega-2 in Braga -> done")
    there = entries("conductor", "review the contracts for Vega-3 in Seville -> done")
    writer.submit(memory, here)
    writer.submit(other, there)
    assert writer.flush(timeout=20.0)
    assert writer.transactions == 2 and here[0].status == there[0].status == "stored"
    assert asyncio.run(memory.get(there[0].id or "")) is None  # each went to its own store
    assert asyncio.run(other.get(there[0].id or "")) is not None
    writer.close()
    asyncio.run(other.close())


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
    asyncio.run(memory.remember("the nightly backup of the billing database runs at 02:00"))
    with sqlite3.connect(tmp_path / "memory.db") as conn:  # the store refuses the recall-count update
        conn.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON jotty_memory_uses "
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
    with sqlite3.connect(tmp_path / "memory.db") as conn:
        assert conn.execute("SELECT COUNT(*) FROM jotty_memory_uses").fetchone() == (0,)  # the trigger refused


def test_back_to_back_near_duplicates_reinforce_as_they_do_one_at_a_time(memory: Memory) -> None:
    """Two runs' outcomes that are near-duplicates (cosine 0.98, the same words but a number): written
    one after the other, the second reinforces the first; written in the same lingered transaction,
    both are stored as new memories ("novelty 1.00"), because ingest compares a batch's items with the
    stored memories only (the same-words twin check is the only in-batch one). Whether a run's outcome
    deduplicates then depends on how close in time the runs ended."""
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


def test_closing_the_memory_first_writes_what_a_run_handed_over(tmp_path: Path) -> None:
    """``async with Memory(...)`` around a Conductor's runs: the memory's close waits for the
    writer's pending remembering and then releases the store (before, the writer wrote after the
    close and reopened the store, whose connection nobody closed)."""
    from jotty.runmemory import MemoryReport

    async def main() -> Memory:
        async with Memory(tmp_path / "memory.db", "conductor") as memory:
            use = RunMemory(memory)
            use.writer.linger = 0.5  # the hand-off is surely still pending when the block ends
            use.remember(MemoryReport("conductor"), "price the roadmap", {}, run_id="r1", ok=True, output="12 items",
                         error=None, actor="worker")  # fmt: skip
        return memory

    memory = asyncio.run(main())
    assert memory._database is None  # released, and nothing reopened it
    again = Memory(tmp_path / "memory.db", "conductor")
    try:
        hits = asyncio.run(again.recall("roadmap price", k=3))
        assert hits and "12 items" in hits[0].text
    finally:
        asyncio.run(again.close())


def test_an_owned_memory_closes_through_the_writer_without_waiting_on_itself(tmp_path: Path) -> None:
    """A Conductor that made its memory closes it through the writer (``run``); the memory's
    before-close wait must not wait on that very call (it hung the demo for 60 s)."""
    from jotty.runmemory import MemoryReport

    memory = Memory(tmp_path / "memory.db", "conductor")
    use = RunMemory(memory, owned=True)
    use.remember(MemoryReport("conductor"), "draft the payroll", {}, run_id="r1", ok=True, output="3 items",
                 error=None, actor="worker")  # fmt: skip
    closing = threading.Thread(target=use.close)
    began = time.monotonic()
    closing.start()
    closing.join(20)
    assert not closing.is_alive() and time.monotonic() - began < 5
    assert memory._database is None


def test_a_closed_run_memory_is_not_kept_alive_by_its_memory(memory: Memory) -> None:
    """One Memory, a Conductor per request: a closed RunMemory (its writer, its recall cache) is not
    kept by the memory's before-close hook (found by a review)."""
    refs = []
    for _ in range(5):
        use = RunMemory(memory)
        use.close()
        refs.append(weakref.ref(use))
        del use
    gc.collect()
    alive = sum(ref() is not None for ref in refs)
    assert alive == 0, f"{alive} closed RunMemory objects (and their caches) kept by the memory's before-close hook"
    assert memory._before_close == []
