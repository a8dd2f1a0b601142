"""The durable task queue: one API over memory, SQLite, PostgreSQL and Redis backends.

``PostgresTaskQueue`` and ``RedisTaskQueue`` are imported on first use, so psycopg and redis stay
optional (``jotty[postgres]``, ``jotty[redis]``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from jotty.queue.adapter import SupervisorStateManagerAdapter
from jotty.queue.base import HistoryEntry, TaskQueue
from jotty.queue.factory import open_queue
from jotty.queue.manager import PermanentFailure, TaskQueueManager, WorkerStats
from jotty.queue.memory import MemoryTaskQueue
from jotty.queue.sqlite import SQLiteTaskQueue
from jotty.queue.state_manager import StateManager
from jotty.queue.task import Task, TaskPriority, TaskStatus

if TYPE_CHECKING:
    from jotty.queue.postgres import PostgresTaskQueue
    from jotty.queue.redis_backend import RedisTaskQueue

_LAZY = {"PostgresTaskQueue": "jotty.queue.postgres", "RedisTaskQueue": "jotty.queue.redis_backend"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'jotty.queue' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "HistoryEntry",
    "MemoryTaskQueue",
    "PermanentFailure",
    "PostgresTaskQueue",
    "RedisTaskQueue",
    "SQLiteTaskQueue",
    "StateManager",
    "SupervisorStateManagerAdapter",
    "Task",
    "TaskPriority",
    "TaskQueue",
    "TaskQueueManager",
    "TaskStatus",
    "WorkerStats",
    "open_queue",
]
