"""Queue workers in several processes on one store, killed with SIGKILL at random and started
again: every task's outcome is remembered exactly once (one item per run in the conductor scope,
one in the actor's), whatever the kills interrupted."""

from __future__ import annotations

import asyncio
import json
import random
import time
from pathlib import Path

import pytest

from jotty.queue import SQLiteTaskQueue, TaskStatus
from tests.runs.backends import Backend
from tests.support.processes import spawn_module


def items_per_run(backend: Backend, scope: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for level, metadata, sources in backend.rows(
        "SELECT level, metadata, sources FROM jotty_memory WHERE scope = ?", (scope,)
    ):
        meta = json.loads(metadata)
        if level == "semantic" and meta.get("kind") == "consolidated":
            continue  # a summary copies its episodes' items
        for item in json.loads(sources):
            run = (item.get("metadata") or {}).get("run_id")
            if run:
                counts[run] = counts.get(run, 0) + 1
    return counts


def test_every_outcome_is_remembered_exactly_once_under_kill_9(
    backend: Backend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    queue_path = str(tmp_path / "queue.db")
    monkeypatch.setenv("QUEUE", queue_path)  # the workers inherit it
    goals = [f"tally the Evora parcel batch {i % 25}" for i in range(30)]  # repeats reinforce

    async def enqueue() -> list[str]:
        queue = SQLiteTaskQueue(queue_path, lease_seconds=2.0)
        ids = [await queue.create_task(goal, status="pending") for goal in goals]
        await queue.close()
        return ids

    ids = asyncio.run(enqueue())
    rng = random.Random(3)
    workers = [spawn_module("tests.memory.mp_queue_worker", backend.store) for _ in range(3)]
    kills = 0

    async def statuses() -> list[TaskStatus]:
        queue = SQLiteTaskQueue(queue_path, lease_seconds=2.0)
        try:
            return [(await queue.get_task(t)).status for t in ids]  # type: ignore[union-attr]
        finally:
            await queue.close()

    try:
        deadline = time.monotonic() + 150
        while time.monotonic() < deadline:
            time.sleep(rng.uniform(0.3, 1.2))
            done = asyncio.run(statuses())
            if all(s == TaskStatus.COMPLETED for s in done):
                break
            if kills < 5:
                victim = rng.randrange(len(workers))
                workers[victim].kill()
                workers[victim].wait()
                kills += 1
                workers[victim] = spawn_module("tests.memory.mp_queue_worker", backend.store)
        done = asyncio.run(statuses())
    finally:
        for worker in workers:
            worker.kill()
            worker.communicate()
    assert all(s == TaskStatus.COMPLETED for s in done), done
    runs = {f"task-{t}" for t in ids}
    conductor = items_per_run(backend, "conductor")
    actor = items_per_run(backend, "actor:clerk")
    wrong = {
        r: (conductor.get(r, 0), actor.get(r, 0)) for r in runs if (conductor.get(r, 0), actor.get(r, 0)) != (1, 1)
    }
    print("kills", kills, "wrong", wrong)
    assert wrong == {}
