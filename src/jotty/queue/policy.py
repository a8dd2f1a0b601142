"""Pure queue rules shared by every backend: ids, retry backoff, what a failure leads to."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from jotty.queue.task import TaskStatus, format_time, stored_updates, utcnow

HOSTNAME = socket.gethostname()


def task_id_for(day: datetime, number: int) -> str:
    """A supervisor-style id: ``TASK-YYYYMMDD-00001``."""
    return f"TASK-{day_key(day)}-{number:05d}"


def task_id_prefix(day: datetime) -> str:
    return f"TASK-{day_key(day)}-"


def day_key(day: datetime) -> str:
    """``YYYYMMDD`` (as ``strftime("%Y%m%d")``, without its cost on every id)."""
    return f"{day.year:04d}{day.month:02d}{day.day:02d}"


def default_worker_id() -> str:
    """``host:pid``, the identity written to claims and history by this process."""
    return f"{HOSTNAME}:{os.getpid()}"


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff: retry n waits ``backoff * 2**(n-1)`` seconds, at most ``max_backoff``."""

    backoff: float = 1.0
    max_backoff: float = 300.0

    def delay(self, retry_count: int) -> float:
        if retry_count <= 0:
            return 0.0
        return float(min(self.max_backoff, self.backoff * 2 ** (retry_count - 1)))


@dataclass(frozen=True)
class FailurePlan:
    """Where a failed or abandoned attempt goes: back to pending later, or failed for good."""

    status: TaskStatus
    retry_count: int
    run_after: float | None


def plan_failure(
    retry_count: int, max_retries: int, now: float, policy: RetryPolicy, *, retry: bool = True
) -> FailurePlan:
    """Pending again after a backoff while retries remain (and ``retry``), else failed."""
    if retry and retry_count < max_retries:
        count = retry_count + 1
        return FailurePlan(TaskStatus.PENDING, count, now + policy.delay(count))
    return FailurePlan(TaskStatus.FAILED, retry_count, None)


def progress_percent(done: int, total: int) -> int:
    """A parent's progress from its children: whole percent completed, rounded down."""
    return 100 * done // total if total else 0


def transition_values(updates: dict[str, Any], status: TaskStatus, current: str) -> dict[str, Any]:
    """The stored column values of an unfenced status change from ``current`` to ``status``: the
    updates, the status, and the start time when the task enters ``in_progress``."""
    values = stored_updates(updates)
    if status == TaskStatus.IN_PROGRESS and current != TaskStatus.IN_PROGRESS:
        values["started_at"] = format_time(utcnow())
    values["status"] = str(status)
    return values
