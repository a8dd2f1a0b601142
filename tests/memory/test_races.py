"""Races with another process that forgets or consolidates, found by an adversarial hunt: a recall
or a remember while another process forgets (and, on SQLite, gives the freed seqs to another scope),
and a forget racing a consolidation (PostgreSQL, read committed). Each failed before its fix."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jotty.memory import Memory
from jotty.memory import postgres as memory_postgres
from tests.memory.race_worker import TWIN
from tests.memory.test_processes import seed_groups
from tests.runs.backends import Backend, open_backend

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


@contextlib.contextmanager
def worker(*args: str) -> Iterator[subprocess.Popen[str]]:
    """A race_worker process, killed with SIGKILL at the end (mid-write or mid-forget)."""
    command = [sys.executable, "-m", "tests.memory.race_worker", *args]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("started"), (line, process.stderr.read() if process.stderr else "")
        yield process
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)


@pytest.fixture
def postgres(tmp_path: Path) -> Iterator[Backend]:
    """PostgreSQL, read committed: where a forget and a consolidation can interleave (SQLite runs one
    writer at a time)."""
    with open_backend("postgres", tmp_path) as opened:
        yield opened


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[str]:
    """SQLite, where a forgotten memory's seq is given to the next insert, of any scope."""
    with open_backend("sqlite", tmp_path) as opened:
        yield opened.store


async def test_a_recall_while_another_process_forgets_does_not_raise(backend: Backend) -> None:
    async with Memory(backend.store, scope="a") as memory:
        await memory.remember("seed")
        errors: dict[str, int] = {}
        recalls = 0
        with worker("churn", backend.store, "60", "plain"):
            deadline = time.monotonic() + 4
            while time.monotonic() < deadline:
                try:
                    await memory.recall("Alice lighthouse harbour", k=5)
                except Exception as exc:  # a KeyError before: a ranked row forgotten before it was read
                    errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
                recalls += 1
        assert errors == {}, f"{errors} in {recalls} recalls"
        await memory.recall("Alice lighthouse harbour", k=5)


async def test_a_recall_never_returns_another_scopes_memory(sqlite_store: str) -> None:
    async with Memory(sqlite_store, scope="a") as memory:
        await memory.remember("seed")
        await memory.scoped("b").remember("seed of b")
        leaked: list[str] = []
        with worker("churn", sqlite_store, "60", "cross"):
            deadline = time.monotonic() + 6
            while time.monotonic() < deadline and not leaked:
                leaked += [
                    hit.text for hit in await memory.recall("Alice lighthouse harbour", k=5) if "SECRET" in hit.text
                ]
        assert leaked == [], "scope a's recall returned scope b's memories"


async def test_a_remember_never_reinforces_another_scopes_memory(sqlite_store: str) -> None:
    async with Memory(sqlite_store, scope="a") as memory:
        other = memory.scoped("b")
        await memory.remember("seed")
        await other.remember("seed of b")
        wrong: list[Any] = []
        with worker("twin", sqlite_store, "60"):
            deadline = time.monotonic() + 6
            while time.monotonic() < deadline and not wrong:
                outcome = await memory.remember_detailed(TWIN + " indeed")
                if outcome.id and await memory.get(outcome.id) is None and await other.get(outcome.id) is not None:
                    wrong.append(outcome)
                await memory.forget(everything=True)
        assert wrong == [], "an item remembered into scope a went into scope b's memory"


def sources_of(backend: Backend, scope: str) -> dict[str, list[str]]:
    rows = backend.rows("SELECT id, sources FROM jotty_memory WHERE scope = ?", (scope,))
    return {row[0]: [s["id"] for s in json.loads(row[1])] for row in rows}


async def test_a_group_written_after_a_forget_holds_nothing_forgotten(postgres: Backend, tmp_path: Path) -> None:
    backend = postgres
    await seed_groups(backend.store, "f", 2)
    marker = tmp_path / "checked"
    command = [
        sys.executable,
        "-m",
        "tests.memory.race_worker",
        "consolidate_paused",
        backend.store,
        "f",
        str(marker),
        "2",
    ]
    consolidator = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not marker.exists() or not marker.read_text():  # its first group is checked free; it waits 2 s
        assert consolidator.poll() is None and time.monotonic() < deadline, consolidator.communicate()
        time.sleep(0.02)
    victim = backend.rows("SELECT id FROM jotty_memory WHERE seq = ?", (json.loads(marker.read_text())[0],))[0][0]
    async with Memory(backend.store, scope="f") as memory:
        assert await memory.forget(victim) == 1
    _, err = consolidator.communicate(timeout=60)
    assert consolidator.returncode == 0, err
    assert all(victim not in ids for ids in sources_of(backend, "f").values())


async def test_a_forget_racing_a_consolidation_cleans_the_group_that_absorbed_it(
    postgres: Backend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = postgres
    await seed_groups(backend.store, "g", 2)
    victim = backend.rows("SELECT id FROM jotty_memory WHERE scope = 'g' ORDER BY seq LIMIT 1")[0][0]
    started: list[subprocess.Popen[str]] = []
    cursor: Any = memory_postgres._PostgresCursor
    original = cursor.rows

    def rows(self: Any, statement: str, params: Any = ()) -> Any:
        found = original(self, statement, params)
        if statement.startswith("SELECT seq, id, metadata, absorbed_into FROM jotty_memory") and not started:
            # the forget has read its rows: another process consolidates now (5 s to finish)
            command = [sys.executable, "-m", "tests.memory.race_worker", "consolidate_paused", backend.store, "g"]
            process = subprocess.Popen(
                [*command, str(tmp_path / "unused"), "0"],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            started.append(process)
            with contextlib.suppress(subprocess.TimeoutExpired):  # it waits for this forget's lock
                process.communicate(timeout=5)
        return found

    monkeypatch.setattr(cursor, "rows", rows)
    async with Memory(backend.store, scope="g") as memory:
        assert await memory.forget(victim) == 1
    monkeypatch.undo()
    started[0].communicate(timeout=60)
    assert all(victim not in ids for ids in sources_of(backend, "g").values())


async def test_forget_where_forgets_items_not_only_the_memories_that_hold_them(backend: Backend) -> None:
    async with Memory(backend.store, scope="w") as memory:
        kept = await memory.remember("Dana booked the Lisbon offsite venue", metadata={"user": "u1"})
        again = await memory.remember("dana booked the lisbon offsite venue!", metadata={"user": "u2"})
        other = await memory.remember("Omar ordered the team lunch", metadata={"user": "u2"})
        assert again == kept  # reinforced: one memory, two items
        assert await memory.forget(where={"user": "u2"}) == 2  # Omar's memory deleted, Dana's changed
        left = [s for hit in await memory.recall("Dana Lisbon venue", k=5) for s in hit.sources]
        assert [s["metadata"] for s in left] == [{"user": "u1"}]  # u2's item is gone, u1's stays
        assert await memory.get(other) is None
        assert await memory.forget(where={"user": "u1"}) == 1
        assert await memory.get(kept) is None

        first = await memory.remember("Priya renewed the Porto lease", metadata={"user": "u1"})
        assert await memory.remember("priya renewed the porto lease.", metadata={"user": "u3"}) == first
        assert await memory.forget(where={"user": "u1"}) == 1  # the holder's first item goes; u3's stays
        hit = await memory.get(first)
        assert hit is not None and hit.text == "priya renewed the porto lease." and hit.metadata == {"user": "u3"}
        assert [s["metadata"] for s in hit.sources] == [{"user": "u3"}] and hit.seen == 1
        assert [h.id for h in await memory.recall("Priya Porto lease", k=1)] == [first]
