"""A task's PID is judged only on its own host; following a log across its rotation."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path

from jotty.queue import SQLiteTaskQueue
from jotty.supervise import Supervisor, SupervisorConfig
from jotty.supervise.logs import follow
from jotty.supervise.record import KEY, RunRecord


async def test_agents_of_another_machine_are_neither_adopted_nor_recovered(
    config: Callable[..., SupervisorConfig], queue: SQLiteTaskQueue
) -> None:
    task_id = await queue.create_task("elsewhere", status="pending", agent_type="sleeper")
    claimed = await queue.claim(lease_seconds=600)
    assert claimed is not None and claimed.task_id == task_id
    dead_here = 2**22 + 12345  # no such PID on this machine
    record = RunRecord(dead_here, None, "/nowhere/exit.json", "other-machine", "other-machine:1", 0.0, "sleeper",
                       "", "/w", "jotty/x", "/l")  # fmt: skip
    await queue.update_task_metadata(task_id, pid=dead_here, host="other-machine", metadata={KEY: record.to_dict()})
    supervisor = Supervisor(config(), queue)
    assert await supervisor.adopt_orphans() == 0
    task = await queue.get_task(task_id)
    assert task is not None and task.status == "in_progress" and task.pid == dead_here  # left to its own host


async def test_follow_reads_on_across_a_rotation(tmp_path: Path) -> None:
    log = tmp_path / "agent.log"
    log.write_bytes(b"one\n")
    chunks: list[bytes] = []
    done = asyncio.Event()

    async def running() -> bool:
        return not done.is_set()

    async def reader() -> None:
        async for chunk in follow(log, running, interval=0.01):
            chunks.append(chunk)

    task = asyncio.create_task(reader())
    while b"".join(chunks) != b"one\n":
        await asyncio.sleep(0.01)
    os.replace(log, tmp_path / "agent.log.1")  # the runner rotates: a new file starts
    log.write_bytes(b"two\n")
    while not b"".join(chunks).endswith(b"two\n"):
        await asyncio.sleep(0.01)
    done.set()
    await asyncio.wait_for(task, 5)
    assert b"".join(chunks) == b"one\ntwo\n"
