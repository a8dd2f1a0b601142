"""``MemoryWriter`` on a real SQLite store: back-to-back submissions share one transaction, waiting
(flush, hurry, close) never waits out the linger, and one failing scope loses nothing of the others."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from jotty.memory import Memory
from jotty.runmemory import MemoryWriter, Remembered
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
