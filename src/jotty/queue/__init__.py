"""The durable task queue: one API over memory, SQLite, PostgreSQL and Redis backends."""

from jotty.queue.base import HistoryEntry, TaskQueue
from jotty.queue.memory import MemoryTaskQueue
from jotty.queue.sqlite import SQLiteTaskQueue
from jotty.queue.task import Task, TaskPriority, TaskStatus

__all__ = [
    "HistoryEntry",
    "MemoryTaskQueue",
    "SQLiteTaskQueue",
    "Task",
    "TaskPriority",
    "TaskQueue",
    "TaskStatus",
]
