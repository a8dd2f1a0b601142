"""The sweep against registrations in other processes: an entry whose rows are not committed yet is
not taken for an orphan within the grace; a registration whose entry a sweep took anyway (grace 0)
indexes again; a sweep that forgets an entry whose row committed after it looked indexes the row
again; the entry of a registration killed before its row is swept."""

from __future__ import annotations

import json
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
    return spawn_module("tests.registry.sweep_worker", *args)


def reached(marker: Path, worker: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 120
    while not marker.exists():
        assert worker.poll() is None, worker.communicate()
        assert time.monotonic() < deadline, "the worker never got there"
        time.sleep(0.02)


def finished(worker: subprocess.Popen[str]) -> str:
    out, err = worker.communicate(timeout=120)
    assert worker.returncode == 0, err
    return out


def whole(backend: Backend) -> None:
    """Every row points at an index entry that names it, and every index entry is some row's."""
    rows = backend.rows(
        "SELECT r.name, m.metadata FROM jotty_registry r LEFT JOIN jotty_memory m ON m.id = r.memory_id "
        "AND m.scope = 'registry'"
    )
    assert rows and all(meta is not None and f'"{name}"' in meta for name, meta in rows), rows
    entries = {r[0] for r in backend.rows("SELECT id FROM jotty_memory WHERE scope = 'registry'")}
    assert entries == {r[0] for r in backend.rows("SELECT memory_id FROM jotty_registry")}


async def findable(backend: Backend, name: str) -> None:
    async with DataRegistry(backend.store) as registry:
        assert [h.source.name for h in await registry.discover(words(name, 3), k=1)] == [name]


async def test_a_registration_under_way_survives_sweeps(backend: Backend, tmp_path: Path) -> None:
    marker, go = tmp_path / "indexed", tmp_path / "go"
    worker = spawn("stall", backend.store, "slow", str(marker), str(go))
    reached(marker, worker)  # its index entry is written, its row is not
    async with DataRegistry(backend.store) as registry:
        assert (await registry.sweep()).forgotten == 0  # within the grace: left alone
        assert (await registry.sweep(grace=0)).forgotten == 1  # no grace: taken for an orphan
    go.touch()
    assert finished(worker).startswith("ok")  # it saw its entry gone and indexed again
    whole(backend)
    await findable(backend, "slow")


async def test_a_sweep_that_forgets_a_live_entry_indexes_its_row_again(backend: Backend, tmp_path: Path) -> None:
    indexed, go_register = tmp_path / "indexed", tmp_path / "go-register"
    chosen, go_sweep = tmp_path / "chosen", tmp_path / "go-sweep"
    register = spawn("stall", backend.store, "racer", str(indexed), str(go_register))
    reached(indexed, register)
    sweeper = spawn("sweep", backend.store, "0", str(chosen), str(go_sweep))
    reached(chosen, sweeper)  # it has taken the racer's entry for an orphan
    go_register.touch()
    assert finished(register).startswith("ok")  # the row is committed, pointing at that entry
    go_sweep.touch()
    assert json.loads(finished(sweeper)) == {"forgotten": 1, "reindexed": ["racer"]}
    whole(backend)
    await findable(backend, "racer")


async def test_a_registration_killed_before_its_row_leaves_an_entry_the_sweep_takes(
    backend: Backend, tmp_path: Path
) -> None:
    marker = tmp_path / "indexed"
    worker = spawn("stall", backend.store, "doomed", str(marker), str(tmp_path / "never"))
    reached(marker, worker)
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait(timeout=30)
    async with DataRegistry(backend.store) as registry:
        await registry.add_artifact("alive", {"a": 1}, description=words("alive", 3))
        assert len(backend.rows("SELECT id FROM jotty_memory WHERE scope = 'registry'")) == 2
        assert (await registry.sweep()).forgotten == 0
        assert (await registry.sweep(grace=0)).forgotten == 1
        assert [s.name for s in await registry.sources()] == ["alive"]
    whole(backend)
    await findable(backend, "alive")
