"""The durable task queue: one API over memory, SQLite, PostgreSQL and Redis backends."""

from jotty.queue.adapter import SupervisorStateManagerAdapter
from jotty.queue.base import HistoryEntry, TaskQueue
from jotty.queue.factory import open_queue
from jotty.queue.manager import PermanentFailure, TaskQueueManager, WorkerStats
from jotty.queue.memory import MemoryTaskQueue
from jotty.queue.sqlite import SQLiteTaskQueue
from jotty.queue.state_manager import StateManager
from jotty.queue.task import Task, TaskPriority, TaskStatus

__all__ = [
    "HistoryEntry",
    "MemoryTaskQueue",
    "PermanentFailure",
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
