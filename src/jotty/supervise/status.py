"""What ``jotty supervise status`` shows: the running agents, read from the store."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from jotty.queue.base import TaskQueue
from jotty.supervise.logs import tail
from jotty.supervise.record import run_record


@dataclass(frozen=True)
class RunningAgent:
    """One running agent: task, type, PID, host, seconds running, last log line, worktree."""

    task_id: str
    title: str
    agent_type: str
    pid: int | None
    host: str | None
    seconds: float
    last_line: str
    worktree: str | None
    branch: str | None


async def running_agents(queue: TaskQueue) -> list[RunningAgent]:
    """Every ``in_progress`` task that a supervisor started, longest running first."""
    now = time.time()
    out = []
    for task in await queue.get_running_tasks():
        record = run_record(task)
        if record is None:
            continue
        last = tail(Path(record.log_file), 1)
        out.append(
            RunningAgent(
                task.task_id,
                task.title,
                record.agent_type,
                task.pid,
                record.host,
                now - record.started,
                last[0] if last else "",
                task.worktree_path,
                task.git_branch,
            )
        )
    return sorted(out, key=lambda a: -a.seconds)


def duration(seconds: float) -> str:
    """``42s``, ``3m05s``, ``2h07m``."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
