"""A forget racing a recall-count flush on PostgreSQL (SQLite runs one writer at a time): both take
the scope's row first, so neither deadlocks nor leaves a count row for a forgotten memory."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jotty.memory import Memory
from jotty.memory import postgres as memory_postgres
from jotty.memory.forget import Criteria, forget
from tests.runs.backends import Backend, open_backend

TEXTS = ["the lighthouse keeper painted the door teal", "the baker sold rye bread"]


@pytest.fixture
def postgres(tmp_path: Path) -> Iterator[Backend]:
    with open_backend("postgres", tmp_path) as opened:
        yield opened


def forget_paused_before_its_delete(
    monkeypatch: pytest.MonkeyPatch, memory: Memory, memory_id: str
) -> tuple[threading.Thread, threading.Event, threading.Event]:
    """A thread forgetting ``memory_id``, held just before it deletes the memory's row (its
    transaction has done everything before that) until ``go`` is set; ``paused`` says it got there."""
    paused, go = threading.Event(), threading.Event()
    run = memory_postgres._PostgresCursor.run

    def held(self: Any, statement: str, params: Any = ()) -> Any:
        if statement.startswith("DELETE FROM jotty_memory WHERE seq IN") and not paused.is_set():
            paused.set()
            assert go.wait(10)
        return run(self, statement, params)

    monkeypatch.setattr(memory_postgres._PostgresCursor, "run", held)
    thread = threading.Thread(target=forget, args=(memory.database(), memory.scope, Criteria(ids=[memory_id])))
    return thread, paused, go


async def test_a_count_flushed_during_a_forget_leaves_no_row_behind(
    postgres: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with Memory(postgres.store, scope="race") as memory:
        ids = await memory.remember_many(TEXTS)
        assert (await memory.recall("lighthouse door", k=1))[0].id == ids[0]  # its first count, pending
        forgetting, paused, go = forget_paused_before_its_delete(monkeypatch, memory, ids[0])
        forgetting.start()
        assert paused.wait(10)
        flushing = threading.Thread(target=memory._flush_uses, kwargs={"force": True})
        flushing.start()
        flushing.join(0.5)
        go.set()
        forgetting.join(10)
        flushing.join(10)
        assert postgres.rows("SELECT COUNT(*) FROM jotty_memory WHERE id = ?", (ids[0],)) == [(0,)]
        assert postgres.rows("SELECT seq, uses FROM jotty_memory_uses") == []


async def test_a_forced_flush_and_a_forget_do_not_deadlock(postgres: Backend, monkeypatch: pytest.MonkeyPatch) -> None:
    async with Memory(postgres.store, scope="race") as memory:
        ids = await memory.remember_many(TEXTS)
        await memory.recall("lighthouse door", k=1)
        await memory.stats()  # writes the count: the memory has a count row now
        await memory.recall("lighthouse door", k=1)  # a second count, pending
        forgetting, paused, go = forget_paused_before_its_delete(monkeypatch, memory, ids[0])
        forgetting.start()
        assert paused.wait(10)
        failed: list[BaseException] = []

        def flush() -> None:
            try:
                memory._flush_uses(force=True)  # as stats(), consolidate() and close() do
            except BaseException as exc:
                failed.append(exc)

        flushing = threading.Thread(target=flush)
        flushing.start()
        time.sleep(0.3)
        started = time.monotonic()
        go.set()
        forgetting.join(15)
        flushing.join(15)
        # a deadlock is found after PostgreSQL's deadlock_timeout (1 s from the first wait, 0.3 s
        # before go) and rolls back one of the two (run again, since BlockingPool retries it)
        assert failed == [] and time.monotonic() - started < 0.5, failed
        assert postgres.rows("SELECT COUNT(*) FROM jotty_memory WHERE id = ?", (ids[0],)) == [(0,)]
        assert postgres.rows("SELECT seq, uses FROM jotty_memory_uses") == []
