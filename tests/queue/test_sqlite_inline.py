"""Single-task operations of ``SQLiteTaskQueue`` run on the event loop's thread only when the store
is free at once; a store locked by another writer sends them to the database thread, and the event
loop keeps running while they wait (issue 9, item 3)."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import subprocess
import sys
from pathlib import Path

from jotty.queue import SQLiteTaskQueue, TaskStatus

HOLD_LOCK = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.readline()
conn.execute("COMMIT")
"""


async def test_a_free_store_is_served_on_the_loop_thread(tmp_path: Path) -> None:
    queue = SQLiteTaskQueue(tmp_path / "q.db")
    try:
        task_id = await queue.create_task("inline", status="pending")
        task = await queue.dequeue()
        assert task is not None and task.task_id == task_id
        assert await queue.update_status(task_id, "completed")
        history = [h.to_status for h in await queue.get_history(task_id)]
        assert history == ["pending", "in_progress", "completed"]
        # The loop's thread got an inline connection of its own (no busy timeout).
        inline = queue._db.current
        assert inline.execute("PRAGMA busy_timeout").fetchone()[0] == 0
        assert inline is not queue._db._main
    finally:
        await queue.close()


async def test_a_locked_store_sends_the_operation_to_the_database_thread(tmp_path: Path) -> None:
    path = tmp_path / "q.db"
    queue = SQLiteTaskQueue(path)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdin is not None
        assert await asyncio.to_thread(holder.stdout.readline) == "locked\n"
        creating = asyncio.ensure_future(queue.create_task("waits", status="pending"))
        ticks = 0
        while ticks < 20:  # the loop is free while the create waits for the lock on the database thread
            await asyncio.sleep(0.005)
            ticks += 1
        assert not creating.done()
        holder.stdin.write("\n")
        holder.stdin.flush()
        task_id = await asyncio.wait_for(creating, 30)
        stored = await queue.get_task(task_id)
        assert stored is not None and stored.status == TaskStatus.PENDING
        with contextlib.closing(sqlite3.connect(path)) as conn:
            assert conn.execute("SELECT COUNT(*) FROM jotty_task_history WHERE task_id = ?", (task_id,)).fetchone() == (
                1,
            )
    finally:
        if holder.poll() is None:
            holder.kill()
        holder.wait()
        await queue.close()
