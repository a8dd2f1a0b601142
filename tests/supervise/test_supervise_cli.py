"""``jotty supervise``, ``status`` and ``logs`` at 80 columns and through a pipe."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from typer.testing import CliRunner

from jotty.cli.main import app
from jotty.queue import SQLiteTaskQueue
from jotty.supervise import SupervisorConfig
from tests.supervise.conftest import starts, until


def _jotty(*args: str) -> Any:
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "80", "NO_COLOR": "1"})


async def _ajotty(*args: str) -> Any:
    """``_jotty`` from a test that runs an event loop (the command runs its own)."""
    return await asyncio.to_thread(_jotty, *args)


async def test_status_and_logs_of_a_running_agent(
    config: Callable[..., SupervisorConfig],
    queue: SQLiteTaskQueue,
    agents: dict[str, str],
    marks: Path,
    tmp_path: Path,
    spawn_supervisor: Any,
) -> None:
    env = {"MARKS": str(marks), "SLEEP": "30"}
    task_id = await queue.create_task("a long job", status="pending", agent_type="sleeper")
    process = spawn_supervisor(config({"sleeper": {"argv": [agents["sleeper"]], "env": env}}))
    await until(lambda: len(starts(marks)) == 1)
    db = str(tmp_path / "jotty.db")
    task = await queue.get_task(task_id)
    assert task is not None and task.pid is not None

    result = await _ajotty("supervise", "status", "--db", db)
    assert result.exit_code == 0, result.output
    assert "\x1b[" not in result.output and max(len(line) for line in result.output.splitlines()) <= 80
    row = next(line for line in result.output.splitlines() if task_id in line)
    assert "sleeper" in row and str(task.pid) in row
    assert "1 running, 0 pending, 0 failed" in result.output

    shown = await _ajotty("supervise", "logs", task_id, "--no-follow", "--db", db)
    assert shown.exit_code == 0
    with Path(task.log_file or "").open("a") as log_file:
        log_file.write("a line from the agent\n")
    shown = await _ajotty("supervise", "logs", task_id, "--no-follow", "--db", db)
    assert shown.output.splitlines()[-1] == "a line from the agent"

    process.send_signal(signal.SIGTERM)
    await asyncio.to_thread(process.communicate, timeout=30)
    assert "no agents running" in (await _ajotty("supervise", "status", "--db", db)).output


async def test_logs_follows_until_the_agent_ends(
    config: Callable[..., SupervisorConfig],
    queue: SQLiteTaskQueue,
    marks: Path,
    tmp_path: Path,
    spawn_supervisor: Any,
) -> None:
    script = tmp_path / "talker"
    script.write_text(
        '#!/bin/sh\necho "$JOTTY_TASK_ID" >> "$MARKS/starts"\nfor i in 1 2 3 4 5; do echo "step $i"; sleep 0.3; done\n'
    )
    script.chmod(0o755)
    task_id = await queue.create_task("talk", status="pending", agent_type="talker")
    process = spawn_supervisor(config({"talker": {"argv": [str(script)], "env": {"MARKS": str(marks)}}}))
    await until(lambda: len(starts(marks)) == 1)
    code = "from jotty.cli.main import main; main()"
    follower = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", code, "supervise", "logs", task_id, "--db", str(tmp_path / "jotty.db")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert follower.returncode == 0, follower.stderr
    assert follower.stdout.splitlines()[-1] == "step 5"  # followed to the end, then stopped by itself
    process.send_signal(signal.SIGTERM)
    await asyncio.to_thread(process.communicate, timeout=30)


def test_cli_errors_are_one_clear_line(tmp_path: Path, repo: Path) -> None:
    db = str(tmp_path / "jotty.db")
    result = _jotty("supervise", "--db", db)
    assert result.exit_code == 1 and "error: give the supervisor its config" in result.output
    result = _jotty("supervise", "--config", str(tmp_path / "nope.yaml"), "--db", db)
    assert result.exit_code == 1 and "no such config file" in result.output
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"repo": str(repo), "agents": {"a": {"argv": ["x", "{bogus}"]}}}))
    result = _jotty("supervise", "--config", str(bad), "--db", db)
    assert result.exit_code == 1 and "names unknown field {bogus}" in result.output
    assert "Traceback" not in result.output
    result = _jotty("supervise", "logs", "TASK-NOPE", "--db", db)
    assert result.exit_code == 1 and f"error: no store at {db}: check --db" in result.output
    assert not Path(db).exists()  # a read creates no store
    assert _jotty("queue", "add", "another task", "--db", db).exit_code == 0
    result = _jotty("supervise", "logs", "TASK-NOPE", "--db", db)
    assert result.exit_code == 1 and "no task 'TASK-NOPE'" in result.output


async def test_logs_of_a_task_that_never_ran(queue: SQLiteTaskQueue, tmp_path: Path) -> None:
    task_id = await queue.create_task("waiting", status="pending")
    result = await _ajotty("supervise", "logs", task_id, "--db", str(tmp_path / "jotty.db"))
    assert result.exit_code == 1 and "has no log yet (pending)" in result.output
