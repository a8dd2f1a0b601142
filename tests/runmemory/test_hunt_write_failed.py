"""Probes: the writer gives up on a run's outcome (the store refuses the write past its retries: here a
real SQLite trigger, as a full disk or a locked file would). The run says so (a warning, each entry
``failed`` with the store's error) and, once the store takes writes again, the outcome is written
with the writer's next write or at close: before, it was lost for good though the run had completed."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from jotty.agents import FunctionAgent, RunContext
from jotty.memory import Memory
from jotty.orchestration import AgentConfig, Conductor
from jotty.runmemory import MemoryWriter, Remembered
from jotty.runmemory.writer import ATTEMPTS

REFUSAL = "database or disk is full (the test trigger)"


def answer(value: Any, ctx: RunContext) -> str:
    return f"tallied {value}"


def refuse_writes(store: Path, refuse: bool) -> None:
    """Make the store's memory table refuse (or take again) every new memory, from any connection."""
    with sqlite3.connect(store) as db:
        if refuse:
            db.execute(
                f"CREATE TRIGGER refuse BEFORE INSERT ON jotty_memory BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END"
            )
        else:
            db.execute("DROP TRIGGER refuse")


def entries(text: str) -> list[Remembered]:
    return [Remembered("conductor", text, {"kind": "run", "outcome": "success"}, "run")]


async def make_store(store: Path) -> None:
    async with Memory(store, "conductor") as memory:  # the schema, before the trigger
        await memory.remember("the Evora depot opens at 7")


async def holds(store: Path, run_id: str) -> dict[str, bool]:
    async with Memory(store, "conductor") as memory:
        return {scope: memory.scoped(scope).holds_run(run_id) for scope in ("conductor", "actor:clerk")}


async def test_an_outcome_the_writer_gave_up_on_is_reported_and_written_with_the_next_write(
    store: Path, caplog: pytest.LogCaptureFixture
) -> None:
    await make_store(store)
    refuse_writes(store, True)
    with Conductor([AgentConfig("clerk", FunctionAgent(answer))], store=store, memory_sleep=None) as conductor:
        with caplog.at_level(logging.WARNING, logger="jotty.runmemory"):
            first = await conductor.run("tally the Evora parcel batch 31")
            assert first.memory is not None
            await first.memory.settled()
        # reported: each entry failed, with the store's error; and a warning
        assert [(e.scope, e.status) for e in first.memory.remembered] == [
            ("conductor", "failed"),
            ("actor:clerk", "failed"),
        ]
        assert all(REFUSAL in e.reason for e in first.memory.remembered), first.memory.remembered
        assert any(REFUSAL in r.getMessage() and r.levelno == logging.WARNING for r in caplog.records)
        refuse_writes(store, False)  # the store takes writes again
        second = await conductor.run("tally the Evora parcel batch 32")
        assert second.memory is not None
        await second.memory.settled()
        assert await holds(store, first.run_id) == {"conductor": True, "actor:clerk": True}
        assert [e.status for e in first.memory.remembered] == ["stored", "stored"]


async def test_an_outcome_the_writer_gave_up_on_is_written_at_close(store: Path) -> None:
    await make_store(store)
    refuse_writes(store, True)
    with Conductor([AgentConfig("clerk", FunctionAgent(answer))], store=store, memory_sleep=None) as conductor:
        first = await conductor.run("tally the Evora parcel batch 33")
        assert first.memory is not None
        await first.memory.settled()
        assert {e.status for e in first.memory.remembered} == {"failed"}
        refuse_writes(store, False)
    assert await holds(store, first.run_id) == {"conductor": True, "actor:clerk": True}


def test_a_store_that_still_refuses_costs_one_more_try_of_what_it_refused(tmp_path: Path) -> None:
    """Five outcomes held while the store refuses: the next write tries one of them alone, not each
    (a store down for long would be asked again for every held outcome on every write)."""
    store = tmp_path / "memory.db"
    memory = Memory(store, "conductor")
    asyncio.run(memory.stats())  # the tables
    refuse_writes(store, True)
    writer = MemoryWriter(linger=30.0)
    held = [entries(f"tally the Evora parcel batch {n} -> done") for n in range(5)]
    for mine in held:
        writer.submit(memory, mine)
    assert writer.flush(timeout=20.0) and writer.transactions == ATTEMPTS + 5
    later = entries("tally the Evora parcel batch 40 -> done")
    writer.submit(memory, later)
    assert writer.flush(timeout=20.0)
    assert writer.transactions == 2 * ATTEMPTS + 5 + 2  # together, the oldest held alone, the new one alone
    assert {e[0].status for e in [*held, later]} == {"failed"}
    refuse_writes(store, False)
    assert writer.flush(timeout=20.0) and writer.transactions == 2 * ATTEMPTS + 8  # all six in one
    assert {e[0].status for e in [*held, later]} == {"stored"} and writer.written == 6
    writer.close()
    asyncio.run(memory.close())


def test_bad_input_is_not_held_and_a_close_drops_what_is_held_saying_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = tmp_path / "memory.db"
    memory = Memory(store, "conductor")
    asyncio.run(memory.stats())
    writer = MemoryWriter(linger=0)
    bad = [Remembered("conductor", "", {"kind": "run"}, "run")]  # no text: it will never be written
    writer.submit(memory, bad)
    assert writer.flush(timeout=20.0) and bad[0].status == "failed" and "held" not in bad[0].reason
    tried = writer.transactions
    assert writer.flush(timeout=20.0) and writer.transactions == tried  # not tried again
    refuse_writes(store, True)
    refused = entries("tally the Evora parcel batch 41 -> done")
    writer.submit(memory, refused)
    assert writer.flush(timeout=20.0) and "held" in refused[0].reason
    with caplog.at_level(logging.ERROR, logger="jotty.runmemory"):
        writer.close()
    assert refused[0].status == "failed" and "not remembered: the writer closed" in refused[0].reason
    assert any("gave up remembering 1 items in scope conductor" in r.getMessage() for r in caplog.records)
    asyncio.run(memory.close())
