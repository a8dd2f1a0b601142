"""Several processes on one store: four remembering and recalling at once lose nothing; two
consolidators racing never merge an episode twice; a consolidator killed with SIGKILL mid-pass
loses nothing and leaves no half-written group."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from jotty.memory import Memory
from tests.runs.backends import Backend

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def spawn(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.memory.worker", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


async def test_four_processes_remember_and_recall_at_once(backend: Backend) -> None:
    workers = [spawn("remember", backend.store, "shared", name, "30") for name in "abcd"]
    for worker in workers:
        out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0 and out.startswith("ok"), err
    async with Memory(backend.store, scope="shared") as memory:
        stats = await memory.stats()
        assert stats.total == 120 and stats.embedded == 120
        for name in "abcd":
            hits = await memory.recall(f"worker {name} fact number 29 about topic {name}29", k=3)
            assert hits[0].metadata == {"w": name, "i": 29}
    rows = backend.rows("SELECT COUNT(DISTINCT signature), MAX(rev) FROM jotty_memory WHERE scope = 'shared'")
    assert rows[0][0] == 120


async def seed_groups(store: str, scope: str, groups: int) -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    items = []
    for g in range(groups):
        name = f"Person{g}"
        for j, act in enumerate(("moved to a new city", "started a new job", "adopted a cat")):
            items.append(
                {"text": f"{name} {act}", "at": start + timedelta(days=g * 60 + j), "metadata": {"g": g, "j": j}}
            )
    async with Memory(store, scope=scope) as memory:
        assert all(await memory.remember_many(items))


def check_whole(backend: Backend, scope: str, episodes: int) -> int:
    """No episode lost, none absorbed twice, every group whole; the number of semantic memories."""
    rows = backend.rows("SELECT id, level, metadata, absorbed_into FROM jotty_memory WHERE scope = ?", (scope,))
    semantic = {r[0]: json.loads(r[2])["episodes"] for r in rows if r[1] == "semantic"}
    absorbed = {r[0]: r[3] for r in rows if r[1] != "semantic"}
    assert len(absorbed) == episodes
    listed = [e for members in semantic.values() for e in members]
    assert len(listed) == len(set(listed))  # no episode in two semantic memories
    for memory_id, members in semantic.items():
        assert all(absorbed[e] == memory_id for e in members)  # whole groups only
    assert {e for e, holder in absorbed.items() if holder} == set(listed)
    return len(semantic)


async def test_racing_consolidators_do_not_double_merge(backend: Backend, tmp_path: Path) -> None:
    await seed_groups(backend.store, "race", 6)
    racers = [spawn("consolidate", backend.store, "race", str(tmp_path / f"m{i}"), "0") for i in range(2)]
    outputs = [r.communicate(timeout=120) for r in racers]
    assert all(r.returncode == 0 for r in racers), outputs
    assert check_whole(backend, "race", 18) == 6


async def test_kill_9_mid_consolidation_loses_nothing(backend: Backend, tmp_path: Path) -> None:
    await seed_groups(backend.store, "killed", 6)
    marker = tmp_path / "started"
    victim = spawn("consolidate", backend.store, "killed", str(marker), "30")
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert victim.poll() is None and time.monotonic() < deadline, victim.stderr.read() if victim.stderr else ""
        time.sleep(0.02)
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait(timeout=30)
    assert check_whole(backend, "killed", 18) == 1  # killed in its second group: the first whole, no half
    async with Memory(backend.store, scope="killed") as memory:
        deadline = time.monotonic() + 30
        while not (report := await memory.consolidate()).lease:  # the dead holder's lease expires (1 s)
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert report.clusters == 5
    assert check_whole(backend, "killed", 18) == 6
