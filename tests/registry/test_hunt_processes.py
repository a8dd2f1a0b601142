"""Several writers on one registry: two registering one name at the very same moment leave no index
entry behind; two processes scanning one folder at once, and a process killed with SIGKILL in the
middle of a scan, leave every file registered once, whole, and findable."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from jotty.registry import DataRegistry
from jotty.registry import table as registry_rows
from tests.runs.backends import Backend
from tests.support.processes import spawn_module

WORDS = ["amber", "basalt", "cobalt", "dune", "ember", "fjord", "garnet", "harbor", "indigo", "jasper", "kelp", "lumen"]


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

    def interleaved(cur: Any, scope: str, source: Any, memory_id: str | None) -> str | None:
        with order:
            started.append(memory_id or "")
            first = len(started) == 1
        if first:
            second_read.wait(timeout=1)  # with the fix the second writer waits for this one instead
            return upsert(cur, scope, source, memory_id)
        return upsert(SecondWriter(cur), scope, source, memory_id)

    monkeypatch.setattr(registry_rows, "upsert", interleaved)
    async with DataRegistry(backend.store, embedder=False) as registry:
        await asyncio.gather(
            registry.add_artifact("shared", {"by": "a"}, description="first writer"),
            registry.add_artifact("shared", {"by": "b"}, description="second writer"),
        )
        assert len(started) == 2
        assert whole(backend) == ["shared"]
        assert index_entries(backend) == (1, 1)  # PostgreSQL kept the first writer's entry: (1, 2)


def make_folder(root: Path, files: int = 12) -> Path:
    folder = root / "shared"
    folder.mkdir()
    for i in range(files):
        (folder / f"{WORDS[i]}.csv").write_text(f"{WORDS[i]}_id,{WORDS[i]}_total\n{i},{i * 10}\n")
    return folder


def spawn(*args: str) -> subprocess.Popen[str]:
    return spawn_module("tests.registry.hunt_worker", *args)


async def findable(store: str, names: list[str]) -> None:
    async with DataRegistry(store, embedder=False) as registry:
        for word in WORDS[:12]:
            hits = await registry.discover(f"{word} total", k=1)
            assert [h.source.name for h in hits] == [f"shared/{word}.csv"], word
        assert [s.name for s in await registry.sources()] == names


@pytest.mark.slow
async def test_two_processes_scanning_one_folder_at_once(backend: Backend, tmp_path: Path) -> None:
    folder = make_folder(tmp_path)
    workers = [spawn("scan", backend.store, str(folder), "shared") for _ in range(2)]
    for worker in workers:
        out, err = worker.communicate(timeout=60)
        assert worker.returncode == 0 and out.startswith("ok"), err[-2_000:]
    names = whole(backend)
    assert names == ["shared", *sorted(f"shared/{w}.csv" for w in WORDS[:12])]
    assert index_entries(backend) == (13, 13)
    await findable(backend.store, names)


@pytest.mark.slow
async def test_a_scan_killed_in_the_middle_leaves_the_registry_whole(backend: Backend, tmp_path: Path) -> None:
    folder = make_folder(tmp_path)
    marker = tmp_path / "scanned"
    worker = spawn("rescan", backend.store, str(folder), "shared", str(marker))
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert worker.poll() is None, worker.communicate()[1][-2_000:]
        assert time.monotonic() < deadline, "the worker never finished a scan"
        time.sleep(0.02)
    first = marker.stat().st_mtime_ns
    while marker.stat().st_mtime_ns == first and time.monotonic() < deadline:  # well into later scans
        time.sleep(0.01)
    time.sleep(0.05)
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait(timeout=30)
    assert worker.returncode == -signal.SIGKILL
    names = whole(backend)
    assert names == ["shared", *sorted(f"shared/{w}.csv" for w in WORDS[:12])]
    sources, entries = index_entries(backend)
    assert sources == 13 and entries <= 26  # at most one scan's entries written and not yet pointed at
    await findable(backend.store, names)
