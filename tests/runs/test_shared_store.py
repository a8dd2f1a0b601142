"""``store=`` given as a path or URL reuses one open store per event loop (issue 9, item 4): reused
within a loop, closed when the loop shuts down or the process exits, separate per event loop
(two loops in two threads), and never shared across ``fork`` (``os.fork`` inside a running loop,
and a multiprocessing child on the same file)."""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import sqlite3
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

import pytest

from jotty.agents import FunctionAgent
from jotty.patterns import Chain, Step
from jotty.runs import RunStatus, RunStore, SQLiteRunStore, get_run
from jotty.runs.shared import shared_store
from tests.runs.backends import Backend

STEPS = 3


def chain() -> Chain:
    async def add(x: int) -> int:
        return x + 1

    return Chain([Step(FunctionAgent(add), name=f"s{i}") for i in range(STEPS)])


def run_ids(path: Path) -> set[str]:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return {r[0] for r in conn.execute("SELECT run_id FROM jotty_runs WHERE status = 'completed'")}


def integrity(path: Path) -> str:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])


async def test_one_store_per_path_and_loop_is_reused(backend: Backend) -> None:
    first = await shared_store(backend.store)
    assert await shared_store(backend.store) is first
    flow = chain()
    for n in range(3):
        result = await flow.run(0, store=backend.store, run_id=f"r-{n}")
        assert result.output == STEPS and result.status is RunStatus.COMPLETED
    assert await shared_store(backend.store) is first  # the runs did not open another
    record = await get_run("r-2", store=backend.store)
    assert record is not None and record.status is RunStatus.COMPLETED
    opened = SQLiteRunStore(":memory:") if backend.kind == "sqlite" else None
    if opened is not None:  # an open store passed in is the caller's, returned as it is
        assert await shared_store(opened) is opened
        await opened.close()


async def test_a_relative_path_is_the_same_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert await shared_store("runs.db") is await shared_store(str(tmp_path / "runs.db"))


async def test_a_replaced_file_is_opened_again(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    flow = chain()
    await flow.run(0, store=str(path), run_id="before")
    old = await shared_store(str(path))
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    result = await flow.run(0, store=str(path), run_id="after")
    assert result.output == STEPS
    assert await shared_store(str(path)) is not old
    assert run_ids(path) == {"after"}  # written into the new file, not the deleted one


def test_the_stores_close_when_the_loop_shuts_down(backend: Backend) -> None:
    async def main() -> RunStore:
        await chain().run(0, store=backend.store, run_id="loop-end")
        return await shared_store(backend.store)

    store = asyncio.run(main())
    if isinstance(store, SQLiteRunStore):
        with pytest.raises(sqlite3.ProgrammingError, match="closed"):
            asyncio.run(store.get_run("loop-end"))
    else:
        assert getattr(store, "_closed") is True  # noqa: B009 (PostgresRunStore's flag)
    again = asyncio.run(main())  # a new loop opens the store again
    assert again is not store


def test_two_event_loops_in_two_threads(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    stores: dict[int, int] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def worker(n: int) -> None:
        async def main() -> None:
            flow = chain()
            stores[n] = id(await shared_store(str(path)))
            start.wait(timeout=30)
            for i in range(25):
                result = await flow.run(0, store=str(path), run_id=f"t{n}-{i}")
                assert result.output == STEPS, result.error

        try:
            asyncio.run(main())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert stores[1] != stores[2]  # each loop (thread) has its own connection
    assert run_ids(path) == {f"t{n}-{i}" for n in (1, 2) for i in range(25)}
    assert integrity(path) == "ok"


async def _runs(path: Path, prefix: str, count: int) -> bool:
    flow = chain()
    results = [await flow.run(0, store=str(path), run_id=f"{prefix}-{i}") for i in range(count)]
    return all(r.output == STEPS for r in results)


def _forked(work: Any) -> int:
    """Run ``work()`` (returning True when all went well) in a forked child; its exit code."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            code = 0 if work() else 2
        finally:
            os._exit(code)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork")
def test_os_fork_with_the_same_event_loop(tmp_path: Path) -> None:
    """The child drives the very loop object its parent used: the parent's store stays the parent's."""
    path = tmp_path / "runs.db"
    loop = asyncio.new_event_loop()
    try:
        assert loop.run_until_complete(_runs(path, "parent-a", 3))
        parent_store = loop.run_until_complete(shared_store(str(path)))

        def child() -> bool:
            mine = loop.run_until_complete(shared_store(str(path)))
            return mine is not parent_store and loop.run_until_complete(_runs(path, "child", 10))

        assert _forked(child) == 0
        assert loop.run_until_complete(shared_store(str(path))) is parent_store  # still open, still works
        assert loop.run_until_complete(_runs(path, "parent-b", 3))
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
    expected = {f"{p}-{i}" for p, n in (("parent-a", 3), ("child", 10), ("parent-b", 3)) for i in range(n)}
    assert run_ids(path) == expected
    assert integrity(path) == "ok"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork")
async def test_os_fork_inside_a_running_loop(tmp_path: Path) -> None:
    """A child forked from a coroutine starts its own loop (asyncio does not carry the running
    loop across fork) and opens its own store."""
    path = tmp_path / "runs.db"
    assert await _runs(path, "parent-a", 3)
    parent_store = await shared_store(str(path))

    def child() -> bool:
        async def main() -> bool:
            return (await shared_store(str(path))) is not parent_store and await _runs(path, "child", 10)

        return asyncio.run(main())

    assert await asyncio.to_thread(lambda: None) is None  # the loop's thread pool exists before the fork
    assert _forked(child) == 0
    assert await shared_store(str(path)) is parent_store
    assert await _runs(path, "parent-b", 3)
    expected = {f"{p}-{i}" for p, n in (("parent-a", 3), ("child", 10), ("parent-b", 3)) for i in range(n)}
    assert run_ids(path) == expected
    assert integrity(path) == "ok"


def _child_runs(path: str, count: int) -> None:
    async def main() -> None:
        flow = chain()
        for i in range(count):
            result = await flow.run(0, store=path, run_id=f"mp-{os.getpid()}-{i}")
            assert result.output == STEPS, result.error

    asyncio.run(main())


async def test_a_forked_worker_process_on_the_same_path(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    flow = chain()
    await flow.run(0, store=str(path), run_id="parent-before")  # the parent holds the store open
    ctx = multiprocessing.get_context("fork")
    children = [ctx.Process(target=_child_runs, args=(str(path), 10)) for _ in range(2)]
    for child in children:
        child.start()
    for i in range(10):
        await flow.run(0, store=str(path), run_id=f"parent-{i}")
    for child in children:
        await asyncio.to_thread(child.join, 120)
        assert child.exitcode == 0
    ids = run_ids(path)
    assert len(ids) == 1 + 10 + 20 and {f"mp-{c.pid}-9" for c in children} <= ids
    assert integrity(path) == "ok"


EXIT_SCRIPT = """
import asyncio, os, sys
from jotty.agents import FunctionAgent
from jotty.patterns import Chain, Step

async def add(x):
    return x + 1

async def main():
    await Chain([Step(FunctionAgent(add), name="s")]).run(0, store=sys.argv[1], run_id="exit")

loop = asyncio.new_event_loop()
loop.run_until_complete(main())
loop.close()  # closed without shutting down: the store is still open
if sys.argv[2] == "hard":
    os._exit(0)
"""


@pytest.mark.parametrize("how", ["normal", "hard"])
def test_stores_left_open_are_closed_at_process_exit(tmp_path: Path, how: str) -> None:
    path = tmp_path / "runs.db"
    script = tmp_path / "exit.py"
    script.write_text(textwrap.dedent(EXIT_SCRIPT))
    env: dict[str, Any] = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    subprocess.run([sys.executable, str(script), str(path), how], check=True, timeout=60, env=env)
    # Closing the last connection checkpoints the WAL into the file and removes it: proof of the close.
    assert Path(f"{path}-wal").exists() is (how == "hard")
    assert run_ids(path) == {"exit"}
