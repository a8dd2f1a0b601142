"""What the supervisor writes on a task about its agent (``metadata["supervise"]``) and reads back.

The supervisor's own columns hold the runner PID, log file, worktree and branch; this record adds
what adoption after a crash needs: the runner's start time, its exit record file, the host, who
watches it now, when it started, the agent type and the commit the branch started from.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import fcntl
import os
import tempfile
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from jotty.processes import pid_alive
from jotty.queue.policy import HOSTNAME
from jotty.queue.task import Task
from jotty.supervise.launch import Launched

KEY = "supervise"


@dataclass(frozen=True)
class RunRecord:
    """One attempt's agent as recorded on its task."""

    pid: int
    start: int | None
    exit_file: str
    host: str
    watcher: str
    started: float
    agent_type: str
    base: str
    worktree: str
    branch: str
    log_file: str
    worktree_seconds: float = 0.0
    """How long creating the worktree took (the start latency beyond it is the supervisor's)."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def launched(self) -> Launched:
        return Launched(self.pid, self.start, Path(self.exit_file))


_REQUIRED = {name for name, f in RunRecord.__dataclass_fields__.items() if f.default is dataclasses.MISSING}


def run_record(task: Task) -> RunRecord | None:
    """The task's run record, or None (never started by a supervisor, or unreadable)."""
    raw = (task.metadata or {}).get(KEY)
    if not isinstance(raw, dict):
        return None
    try:
        return RunRecord(**{k: raw[k] for k in RunRecord.__dataclass_fields__ if k in raw or k in _REQUIRED})
    except (KeyError, TypeError):
        return None


def watcher_alive(watcher: str) -> bool:
    """Whether the supervisor ``host:pid`` is alive (judged only on its own host: elsewhere, yes)."""
    host, _, pid = watcher.rpartition(":")
    if host != HOSTNAME:
        return True
    return pid.isdigit() and pid_alive(int(pid))


@contextlib.asynccontextmanager
async def host_lock() -> AsyncIterator[None]:
    """One adoption scan at a time on this host (supervisors of any store)."""
    path = Path(tempfile.gettempdir()) / f"jotty-supervise-{os.getuid()}.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        await asyncio.to_thread(fcntl.flock, fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
