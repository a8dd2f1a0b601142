"""Several processes on one registry: four registering at once lose nothing; a process killed with
SIGKILL in the middle of updates leaves every source registered once and findable."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from jotty.registry import DataRegistry
from tests.registry.worker import words
from tests.runs.backends import Backend
from tests.support.processes import spawn_module

pytestmark = pytest.mark.slow


def spawn(*args: str) -> subprocess.Popen[str]:
    return spawn_module("tests.registry.worker", *args)


def consistent(backend: Backend) -> None:
    """Every source row points at an index entry that exists and names it."""
    rows = backend.rows(
        "SELECT r.name, m.metadata FROM jotty_registry r LEFT JOIN jotty_memory m ON m.id = r.memory_id "
        "AND m.scope = 'registry'"
    )
    assert rows and all(meta is not None and f'"{name}"' in meta for name, meta in rows), rows


async def test_four_processes_register_at_once(backend: Backend) -> None:
    workers = [spawn("register", backend.store, name, "15") for name in ("wa", "wb", "wc", "wd")]
    for worker in workers:
        out, err = worker.communicate(timeout=180)
        assert worker.returncode == 0 and out.startswith("ok"), err
    consistent(backend)
    async with DataRegistry(backend.store) as registry:
        assert len(await registry.sources()) == 60
        for name in ("wa", "wb", "wc", "wd"):
            hits = await registry.discover(words(name, 7), k=1)
            assert [h.source.name for h in hits] == [f"{name}/7"]
            assert hits[0].source.run_id == name and hits[0].source.step == "s"


async def test_a_process_killed_mid_update_leaves_the_registry_whole(backend: Backend, tmp_path: Path) -> None:
    marker = tmp_path / "round"
    worker = spawn("churn", backend.store, "kx", str(marker))
    deadline = time.monotonic() + 120
    while not marker.exists():
        assert worker.poll() is None, worker.communicate()[1]
        assert time.monotonic() < deadline, "the worker never finished a round"
        time.sleep(0.05)
    time.sleep(0.3)  # well inside a later round
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait(timeout=30)
    assert worker.returncode == -signal.SIGKILL
    consistent(backend)
    async with DataRegistry(backend.store) as registry:
        assert [s.name for s in await registry.sources()] == [f"kx/{i}" for i in range(10)]
        for i in range(10):
            assert [h.source.name for h in await registry.discover(words("kx", i), k=1)] == [f"kx/{i}"]
        await registry.add_artifact("kx/0", {"after": True}, description=words("kx", 0))
        assert (await registry.read("kx/0")).text == '{"after": true}'
    consistent(backend)
