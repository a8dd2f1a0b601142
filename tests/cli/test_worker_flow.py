"""``jotty worker --flow``: the default handler is a Conductor running a flow file, learning as it goes."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from jotty.learning import learning_table, open_store
from jotty.queue import SQLiteTaskQueue, TaskStatus

FLOW = """
name: shout
flow:
  pattern: chain
  steps:
    - name: upper
      agent: {kind: function, function: "steps:upper"}
    - name: mark
      agent: {kind: function, function: "steps:mark"}
"""
STEPS = """
def upper(text):
    return text.upper()

def mark(text):
    return text + "!"
"""


def test_a_worker_runs_queued_goals_through_a_flow_and_learns(tmp_path: Path) -> None:
    (tmp_path / "flow.yaml").write_text(FLOW)
    (tmp_path / "steps.py").write_text(STEPS)
    db = tmp_path / "jotty.db"

    async def enqueue() -> list[str]:
        queue = SQLiteTaskQueue(db)
        ids = [await queue.create_task(f"goal {i}", status="pending") for i in range(3)]
        await queue.close()
        return ids

    ids = asyncio.run(enqueue())
    done = subprocess.run(
        [sys.executable, "-m", "jotty", "worker", "--flow", "flow.yaml", "--db", str(db), "--burst", "-c", "2"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "3 completed" in done.stdout

    async def check() -> None:
        queue = SQLiteTaskQueue(db)
        for i, task_id in enumerate(ids):
            task = await queue.get_task(task_id)
            assert task is not None and task.status == TaskStatus.COMPLETED
            assert task.result["output"] == f"GOAL {i}!"
        await queue.close()

    asyncio.run(check())
    store = open_store(str(db))
    try:
        rows = {(row.actor, row.category): row.successes for row in learning_table(store).rows}
    finally:
        store.close()
    assert rows[("flow:shout", "(all)")] == 3


def test_a_worker_needs_exactly_one_of_handler_and_flow(tmp_path: Path) -> None:
    for args in ([], ["--handler", "x:y", "--flow", "f.yaml"]):
        done = subprocess.run(
            [sys.executable, "-m", "jotty", "worker", "--db", str(tmp_path / "j.db"), *args],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode != 0 and "--handler module:function or --flow FLOW.yaml" in done.stderr


def test_an_idle_flow_worker_consolidates_memory_on_its_own(tmp_path: Path) -> None:
    (tmp_path / "flow.yaml").write_text(FLOW)
    (tmp_path / "steps.py").write_text(STEPS)
    db = tmp_path / "jotty.db"
    goals = (
        "Ada reviewed the Lisbon warehouse inventory counts",
        "Ada ordered new pallet shelving for the Lisbon warehouse",
        "Ada hired two pickers for the Lisbon warehouse night shift",
        "Ada booked the Lisbon warehouse fire safety inspection",
    )

    async def enqueue() -> None:
        queue = SQLiteTaskQueue(db)
        for goal in goals:
            await queue.create_task(goal, status="pending")
        await queue.close()

    async def semantic() -> int:
        from jotty.memory import Memory

        async with Memory(db, "conductor") as memory:
            return (await memory.stats()).levels["semantic"]

    asyncio.run(enqueue())
    worker = subprocess.Popen(
        [sys.executable, "-m", "jotty", "worker", "--flow", "flow.yaml", "--db", str(db), "--memory-sleep", "0.3"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline, found = time.monotonic() + 90, 0
        while time.monotonic() < deadline and not found:
            time.sleep(0.2)
            found = asyncio.run(semantic())
    finally:
        worker.send_signal(signal.SIGTERM)
        out, err = worker.communicate(timeout=60)
    assert found >= 1, err
    assert worker.returncode == 0, err
    assert "4 completed" in out
