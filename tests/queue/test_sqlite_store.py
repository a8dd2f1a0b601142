"""The SQLite store's files: corrupt, read-only, newer schema, concurrent first opens, and wake-ups
between processes."""

from __future__ import annotations

import asyncio
import hashlib
import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from jotty.db.migrations import load_migrations
from jotty.errors import SchemaVersionError, StoreCorruptError, StoreReadOnlyError
from jotty.queue import SQLiteTaskQueue, Task
from jotty.queue.wake import channel_dir


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


async def make_store(path: Path, titles: list[str]) -> None:
    queue = SQLiteTaskQueue(path)
    await queue.enqueue_many([Task(title=t) for t in titles])
    await queue.close()


def test_a_file_that_is_not_a_database_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_bytes(b"these are my notes, not a database\n" * 200)
    before = digest(path)
    with pytest.raises(StoreCorruptError, match=r"notes\.db is not a readable SQLite database.*restore it"):
        SQLiteTaskQueue(path)
    assert digest(path) == before


def test_a_damaged_database_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "jotty.db"
    asyncio.run(make_store(path, [f"t{i}" for i in range(300)]))
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(path.read_bytes())
    data[4096 : 4096 * 3] = b"\xff" * (4096 * 2)  # wreck two pages after the header page
    path.write_bytes(bytes(data))
    before = digest(path)

    async def use() -> None:
        queue = SQLiteTaskQueue(path)
        try:
            await queue.list_tasks()
            await queue.create_task("new")
        finally:
            await queue.close()

    with pytest.raises(StoreCorruptError, match="restore it from a backup"):
        asyncio.run(use())
    assert digest(path) == before


@contextmanager
def immutable(path: Path) -> Iterator[None]:
    """Make a file read-only even for root (this suite runs as root in CI)."""
    subprocess.run(["chattr", "+i", str(path)], check=True)
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)


def test_a_read_only_database_reads_and_refuses_writes_clearly(tmp_path: Path) -> None:
    path = tmp_path / "jotty.db"
    asyncio.run(make_store(path, ["keep me"]))
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    before = digest(path)

    async def use() -> None:
        queue = SQLiteTaskQueue(path)
        try:
            assert [t.title for t in await queue.list_tasks()] == ["keep me"]
            with pytest.raises(StoreReadOnlyError, match="make the file and its directory writable"):
                await queue.create_task("new")
            with pytest.raises(StoreReadOnlyError):
                await queue.dequeue()
        finally:
            await queue.close()

    with immutable(path):
        asyncio.run(use())
    assert digest(path) == before


def test_a_directory_that_cannot_be_created(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreReadOnlyError, match="cannot create the directory"):
        SQLiteTaskQueue(blocker / "sub" / "jotty.db")


def test_a_store_from_a_newer_jotty_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "jotty.db"
    asyncio.run(make_store(path, ["t"]))
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO jotty_schema_migrations (version, name) VALUES (999, 'from_the_future')")
        conn.execute("DELETE FROM jotty_schema_migrations WHERE version = 2")  # a missing one is NOT applied
        schema = sorted(conn.execute("SELECT type, name, sql FROM sqlite_master"))
    with pytest.raises(SchemaVersionError, match=r"schema version 999, newer than this Jotty knows.*upgrade"):
        SQLiteTaskQueue(path)
    with sqlite3.connect(path) as conn:
        assert sorted(conn.execute("SELECT type, name, sql FROM sqlite_master")) == schema
        assert {r[0] for r in conn.execute("SELECT version FROM jotty_schema_migrations")} >= {1, 999}


def test_processes_opening_a_new_store_at_once_migrate_it_once(tmp_path: Path) -> None:
    path = tmp_path / "fresh.db"
    go = tmp_path / "go"
    script = textwrap.dedent(
        f"""
        import asyncio, os, time
        from jotty.queue import SQLiteTaskQueue
        while not os.path.exists({str(go)!r}):
            time.sleep(0.001)
        async def main():
            queue = SQLiteTaskQueue({str(path)!r})
            await queue.create_task("from " + str(os.getpid()))
            await queue.close()
        asyncio.run(main())
        """
    )
    procs = [subprocess.Popen([sys.executable, "-c", script], stderr=subprocess.PIPE) for _ in range(4)]
    time.sleep(0.3)  # give the interpreters time to start; correctness does not depend on it
    go.touch()
    for proc in procs:
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err.decode()
    with sqlite3.connect(path) as conn:
        versions = [r[0] for r in conn.execute("SELECT version FROM jotty_schema_migrations ORDER BY version")]
        assert versions == [m.version for m in load_migrations("sqlite")]  # every shipped version, once
        assert conn.execute("SELECT COUNT(*) FROM tasks").fetchone()[0] == 4


def test_an_idle_worker_in_another_process_wakes_on_enqueue(tmp_path: Path) -> None:
    path = tmp_path / "jotty.db"
    asyncio.run(make_store(path, []))
    script = textwrap.dedent(
        f"""
        import asyncio, sys, time
        from jotty.queue import SQLiteTaskQueue
        async def main():
            queue = SQLiteTaskQueue({str(path)!r})
            await queue.wait_for_work(0.001)  # start listening
            print("ready", flush=True)
            started = time.monotonic()
            woken = await queue.wait_for_work(30)
            print(woken, time.monotonic() - started, flush=True)
            await queue.close()
        asyncio.run(main())
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    asyncio.run(make_store(path, ["wake up"]))
    woken, waited = proc.stdout.readline().split()
    proc.wait(10)
    assert woken == "True" and float(waited) < 5


def test_a_killed_listener_does_not_break_enqueue(tmp_path: Path) -> None:
    path = tmp_path / "jotty.db"
    asyncio.run(make_store(path, []))
    script = f"""
import asyncio
from jotty.queue import SQLiteTaskQueue
async def main():
    queue = SQLiteTaskQueue({str(path)!r})
    await queue.wait_for_work(0.001)
    print("ready", flush=True)
    await asyncio.sleep(60)
asyncio.run(main())
"""
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    proc.kill()
    proc.wait(10)
    assert any(channel_dir(path).iterdir())
    asyncio.run(make_store(path, ["after the crash"]))  # the dead socket is found and removed
    assert not any(name.startswith(f"{proc.pid}-") for name in os.listdir(channel_dir(path)))


def test_a_missing_older_version_is_applied(tmp_path: Path) -> None:
    path = tmp_path / "jotty.db"
    asyncio.run(make_store(path, ["before"]))
    with sqlite3.connect(path) as conn:
        conn.execute("DROP TABLE jotty_task_templates")
        conn.execute("DELETE FROM jotty_schema_migrations WHERE version = 2")

    async def use() -> None:
        queue = SQLiteTaskQueue(path)  # version 2 is below the highest: it runs again
        await queue.create_template("t", title="T")
        assert [t.title for t in await queue.list_tasks()] == ["before"]
        await queue.close()

    asyncio.run(use())
    with sqlite3.connect(path) as conn:
        versions = [r[0] for r in conn.execute("SELECT version FROM jotty_schema_migrations ORDER BY version")]
    assert versions == [m.version for m in load_migrations("sqlite")]  # every shipped version, once
