"""Several writers on one registry: two registering one name at the very same moment leave no index
entry behind; two processes scanning one folder at once, and a process killed with SIGKILL in the
middle of a scan, leave every file registered once, whole, and findable."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

from jotty.registry import DataRegistry
from jotty.registry import table as registry_rows
from tests.runs.backends import Backend


def index_entries(backend: Backend) -> tuple[int, int]:
    """How many sources are registered, and how many index entries the registry's scope holds."""
    sources = backend.rows("SELECT COUNT(*) FROM jotty_registry")[0][0]
    entries = backend.rows("SELECT COUNT(*) FROM jotty_memory WHERE scope = 'registry'")[0][0]
    return int(sources), int(entries)


def whole(backend: Backend) -> list[str]:
    """The registered names, after checking that each row points at an index entry that names it."""
    rows = backend.rows(
        "SELECT r.name, m.metadata FROM jotty_registry r LEFT JOIN jotty_memory m ON m.id = r.memory_id "
        "AND m.scope = 'registry' ORDER BY r.name"
    )
    assert all(meta is not None and f'"{name}"' in meta for name, meta in rows), rows
    return [name for name, _ in rows]


async def test_two_writers_of_one_name_at_once_leave_no_index_entry_behind(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second writer reads the row's index entry before the first commits, and writes after: the
    first one's entry was never removed (PostgreSQL; SQLite's writers wait for each other)."""
    upsert = registry_rows.upsert
    order = threading.Lock()
    started: list[str] = []
    second_read = threading.Event()

    class SecondWriter:  # reads at once; writes once the first writer's row is committed
        def __init__(self, cur: Any) -> None:
            self.cur = cur

        def rows(self, statement: str, params: Any = ()) -> Any:
            found = self.cur.rows(statement, params)
            second_read.set()
            return found

        def run(self, statement: str, params: Any = ()) -> Any:
            deadline = time.monotonic() + 2
            while not backend.rows("SELECT memory_id FROM jotty_registry WHERE name = 'shared'"):
                assert time.monotonic() < deadline, "the first writer never committed"
                time.sleep(0.01)
            return self.cur.run(statement, params)

    def interleaved(cur: Any, source: Any, memory_id: str | None) -> str | None:
        with order:
            started.append(memory_id or "")
            first = len(started) == 1
        if first:
            second_read.wait(timeout=1)  # with the fix the second writer waits for this one instead
            return upsert(cur, source, memory_id)
        return upsert(SecondWriter(cur), source, memory_id)

    monkeypatch.setattr(registry_rows, "upsert", interleaved)
    async with DataRegistry(backend.store, embedder=False) as registry:
        await asyncio.gather(
            registry.add_artifact("shared", {"by": "a"}, description="first writer"),
            registry.add_artifact("shared", {"by": "b"}, description="second writer"),
        )
        assert len(started) == 2
        assert whole(backend) == ["shared"]
        assert index_entries(backend) == (1, 1)  # PostgreSQL kept the first writer's entry: (1, 2)
