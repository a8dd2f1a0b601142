"""Real git repositories and small fake agent programs for the supervisor's tests.

The agents are shell scripts: they edit files and commit, sleep, crash, hang, or print a lot;
``$JOTTY_TASK_ID`` names the task. ``started/`` and ``ended/`` marker files let tests see when
each agent ran without fixed sleeps.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from jotty.queue import SQLiteTaskQueue
from jotty.supervise import SupervisorConfig
from tests.support.git import make_repo

AGENTS = {
    # edits a file named after the task, commits it, prints a JSON verdict
    "coder": """echo "working on $JOTTY_TASK_ID"
echo "$1" > "work-$JOTTY_TASK_ID.txt"
git add . && git -c user.name=agent -c user.email=a@x commit -qm "agent: $JOTTY_TASK_ID"
echo '{"status": "ok", "task": "'$JOTTY_TASK_ID'"}'
""",
    # records start and end times, sleeps $SLEEP seconds
    "sleeper": """echo "$JOTTY_TASK_ID $$" >> "$MARKS/starts"
echo "$(date +%s.%N) start" >> "$MARKS/timeline"
sleep "${SLEEP:-0.3}"
echo "$(date +%s.%N) end" >> "$MARKS/timeline"
touch "$MARKS/ended-$JOTTY_TASK_ID"
echo done
""",
    "crasher": """echo "about to crash" >&2
exit 3
""",
    # spawns a child that also hangs: the whole group must go at the timeout
    "hanger": """sleep 300 &
echo $! > "$MARKS/child-$JOTTY_TASK_ID"
echo "$JOTTY_TASK_ID $$" >> "$MARKS/starts"
wait
""",
    "printer": """head -c "${BYTES:-3000000}" /dev/zero | tr '\\0' 'x'
echo
echo printed
""",
}


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository with one commit."""
    return make_repo(tmp_path / "repo")


@pytest.fixture
def marks(tmp_path: Path) -> Path:
    path = tmp_path / "marks"
    path.mkdir()
    return path


@pytest.fixture
def agents(tmp_path: Path) -> dict[str, str]:
    """The fake agent programs by name (executable shell scripts)."""
    folder = tmp_path / "agents"
    folder.mkdir()
    out = {}
    for name, body in AGENTS.items():
        script = folder / name
        script.write_text("#!/bin/sh\n" + body)
        script.chmod(0o755)
        out[name] = str(script)
    return out


@pytest.fixture
def config(repo: Path, tmp_path: Path, agents: dict[str, str], marks: Path) -> Callable[..., SupervisorConfig]:
    """``config(agents={...}, **more)``: a config on the test repository; agent types by default:
    coder (commits) and sleeper (sleeps), each with concurrency 2."""

    def make(types: dict[str, Any] | None = None, **more: Any) -> SupervisorConfig:
        env = {"MARKS": str(marks)}
        types = types or {
            "coder": {"argv": [agents["coder"], "{title}"], "concurrency": 2, "env": env},
            "sleeper": {"argv": [agents["sleeper"]], "concurrency": 2, "env": env},
        }
        data = {"repo": repo, "agents": types, "logs": tmp_path / "logs", "lease_seconds": 5,
                "retry_backoff": 0.05, "grace_period": 2, **more}  # fmt: skip
        return SupervisorConfig.model_validate(data)

    return make


@pytest.fixture
async def queue(tmp_path: Path) -> Any:
    q = SQLiteTaskQueue(tmp_path / "jotty.db", lease_seconds=5, retry_backoff=0.05, max_backoff=0.2)
    yield q
    await q.close()


async def until(predicate: Callable[[], Awaitable[bool]] | Callable[[], bool], timeout: float = 20.0) -> None:
    """Wait until ``predicate`` holds (polling), or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"


def starts(marks: Path) -> list[str]:
    """The task ids of every agent start so far (one line per start)."""
    path = marks / "starts"
    return [line.split()[0] for line in path.read_text().splitlines()] if path.exists() else []


def max_overlap(marks: Path) -> int:
    """The most sleepers that ran at the same time, from their start/end timeline."""
    events = sorted(
        (float(stamp), 1 if kind == "start" else -1)
        for stamp, kind in (line.split() for line in (marks / "timeline").read_text().splitlines())
    )
    running = peak = 0
    for _, delta in events:
        running += delta
        peak = max(peak, running)
    return peak


@pytest.fixture
def spawn_supervisor(tmp_path: Path) -> Any:
    """``spawn_supervisor(config, *args)``: ``jotty supervise`` in its own process on the test store."""
    started: list[subprocess.Popen[bytes]] = []

    def spawn(cfg: SupervisorConfig, *args: str) -> subprocess.Popen[bytes]:
        file = tmp_path / f"supervise-{len(started)}.yaml"
        file.write_text(yaml.safe_dump(cfg.model_dump(mode="json")))
        code = "from jotty.cli.main import main; main()"
        process = subprocess.Popen(
            [sys.executable, "-c", code, "supervise", "--config", str(file), "--db", str(tmp_path / "jotty.db"), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        started.append(process)
        return process

    yield spawn
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait()
