"""``jotty worker``: real worker processes on an SQLite file, and its handler errors."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from jotty.queue import SQLiteTaskQueue, Task, TaskStatus
from tests.cli.checks import error
from tests.cli.conftest import Jotty

HANDLERS = """
import asyncio, os, pathlib

MARKS = pathlib.Path(os.environ["MARKS"])

async def upper(task):
    await asyncio.sleep(0)
    return task.title.upper()

def length(task):
    return len(task.title)

def boom(task):
    raise RuntimeError("no luck")

async def slow(task):
    (MARKS / f"{task.task_id}.started").touch()
    while not (MARKS / "finish").exists():
        await asyncio.sleep(0.01)
    return "finished"
"""


def until(predicate: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.01)


def add(db: Path, *tasks: Task) -> list[str]:
    async def go() -> list[str]:
        async with SQLiteTaskQueue(db) as queue:
            return [await queue.enqueue(t) for t in tasks]

    return asyncio.run(go())


def read(db: Path, task_id: str) -> Task:
    async def go() -> Task | None:
        async with SQLiteTaskQueue(db) as queue:
            return await queue.get_task(task_id)

    task = asyncio.run(go())
    assert task is not None
    return task


def reasons(db: Path, task_id: str) -> list[str | None]:
    async def go() -> list[str | None]:
        async with SQLiteTaskQueue(db) as queue:
            return [h.reason for h in await queue.get_history(task_id)]

    return asyncio.run(go())


class Worker:
    """A ``jotty worker`` process in ``tmp_path`` (where ``handlers.py`` lives)."""

    def __init__(self, tmp_path: Path, db: Path, *args: str, module: bool = True) -> None:
        (tmp_path / "handlers.py").write_text(HANDLERS)
        env = {**os.environ, "JOTTY_HOME": str(tmp_path / "home"), "MARKS": str(tmp_path)}
        env.pop("JOTTY_DATABASE_URL", None)
        script = Path(sys.executable).with_name("jotty")
        command = [sys.executable, "-m", "jotty"] if module or not script.exists() else [str(script)]
        self.stderr_path = tmp_path / "worker.err"
        with self.stderr_path.open("w") as err:
            self.proc = subprocess.Popen(
                [*command, "worker", "--db", str(db), "--poll-interval", "0.05", *args],
                cwd=tmp_path,
                env=env,
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
            )

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text()

    def finish(self, timeout: float = 60) -> str:
        """Wait for the process to exit 0; its stdout."""
        out, _ = self.proc.communicate(timeout=timeout)
        assert self.proc.returncode == 0, (self.proc.returncode, out, self.stderr)
        assert "Traceback" not in self.stderr, self.stderr
        return out

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Callable[..., Worker]]:
    started: list[Worker] = []

    def start(*args: str, **kw: Any) -> Worker:
        worker = Worker(tmp_path, tmp_path / "queue.db", *args, **kw)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.kill()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "queue.db"


def test_burst_runs_an_async_handler_from_the_current_directory(workers: Callable[..., Worker], db: Path) -> None:
    ids = add(db, *(Task(title=f"job {i}", agent_type="claude") for i in range(5)))
    (other,) = add(db, Task(title="not mine", agent_type="cursor"))
    out = workers("--handler", "handlers:upper", "--concurrency", "3", "--agent-type", "claude", "--burst",
                  module=False).finish()  # fmt: skip
    assert "5 claimed, 5 completed, 0 failed, 0 released, 0 lost" in out
    for i, task_id in enumerate(ids):
        task = read(db, task_id)
        assert task.status == TaskStatus.COMPLETED and task.result == f"JOB {i}"
    assert read(db, other).status == TaskStatus.PENDING


def test_sync_handler_max_tasks_and_failures(workers: Callable[..., Worker], db: Path) -> None:
    ids = add(db, Task(title="a", priority=1), Task(title="bb", priority=2), Task(title="ccc", priority=3))
    out = workers("--handler", "handlers:length", "--max-tasks", "2").finish()
    assert "2 claimed, 2 completed" in out
    assert [read(db, i).result for i in ids[:2]] == [1, 2] and read(db, ids[2]).status == TaskStatus.PENDING
    (doomed,) = add(db, Task(title="doomed", max_retries=0))
    out = workers("--handler", "handlers:boom", "--burst").finish()
    assert "2 claimed, 0 completed, 2 failed" in out
    retried, failed = read(db, ids[2]), read(db, doomed)
    assert (retried.status, retried.retry_count) == (TaskStatus.PENDING, 1)  # retried later, with a backoff
    assert (failed.status, failed.error_message) == (TaskStatus.FAILED, "RuntimeError: no luck")


def test_sigterm_releases_a_task_still_running_after_the_grace_period(
    workers: Callable[..., Worker], db: Path, tmp_path: Path
) -> None:
    (task_id,) = add(db, Task(title="long"))
    worker = workers("--handler", "handlers:slow", "--grace", "0.2")
    until(lambda: (tmp_path / f"{task_id}.started").exists())
    worker.proc.send_signal(signal.SIGTERM)
    out = worker.finish()
    assert "1 claimed, 0 completed, 0 failed, 1 released" in out and "SIGTERM" in worker.stderr
    task = read(db, task_id)
    assert task.status == TaskStatus.PENDING and task.retry_count == 0 and task.lease_id is None
    assert reasons(db, task_id)[-1] == "worker stopped before the task finished"


def test_sigterm_lets_a_running_task_finish_and_claims_nothing_new(
    workers: Callable[..., Worker], db: Path, tmp_path: Path
) -> None:
    first, second = add(db, Task(title="running", priority=1), Task(title="waiting", priority=2))
    worker = workers("--handler", "handlers:slow", "--grace", "60", "--lease", "7")
    until(lambda: (tmp_path / f"{first}.started").exists())
    lease_left = (read(db, first).lease_expires_at or 0) - time.time()
    assert 0 < lease_left <= 7.5  # --lease sets the claim's lease (the default is 30 s)
    worker.proc.send_signal(signal.SIGTERM)
    until(lambda: "SIGTERM" in worker.stderr)
    (tmp_path / "finish").touch()
    out = worker.finish()
    assert "1 claimed, 1 completed" in out
    assert read(db, first).status == TaskStatus.COMPLETED and read(db, first).result == "finished"
    assert read(db, second).status == TaskStatus.PENDING


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    return tmp_path


@pytest.mark.parametrize(
    ("source", "spec", "message"),
    [
        (None, "handlers", "--handler must look like module:function (e.g. tasks:handle)"),
        (None, ":fn", "--handler must look like module:function"),
        (None, "jotty_no_such_module_x:fn", "there is no module 'jotty_no_such_module_x' in"),
        ("VALUE = 1\n", "{mod}:handle", "has no 'handle'; define `async def handle(task)`"),
        ("VALUE = 1\n", "{mod}:VALUE", "'VALUE' is a int, not a function"),
        ("raise RuntimeError('broken at import')\n", "{mod}:h", "raised RuntimeError: broken at import"),
        ("import jotty_missing_dependency_y\n", "{mod}:h", "failed: No module named 'jotty_missing_dependency_y'"),
        ("def h(task:\n", "{mod}:h", "raised SyntaxError"),
    ],
)
def test_bad_handlers_are_one_clear_line(
    jotty: Jotty, in_tmp: Path, request: pytest.FixtureRequest, source: str | None, spec: str, message: str
) -> None:
    module = f"handler_{abs(hash(request.node.name))}"
    if source is not None:
        (in_tmp / f"{module}.py").write_text(textwrap.dedent(source))
    assert message in error(jotty("worker", "--handler", spec.format(mod=module)))


def test_bad_numbers_are_usage_errors(jotty: Jotty) -> None:
    result = jotty("worker", "--handler", "m:f", "--concurrency", "0")
    assert result.exit_code == 2 and "Traceback" not in result.output and "concurrency" in result.output
