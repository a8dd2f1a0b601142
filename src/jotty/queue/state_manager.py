"""``StateManager``: the supervisor's synchronous API on a Jotty SQLite store.

It is a drop-in for the supervisor's own ``StateManager`` class: same method names, same
arguments, and task dicts as the supervisor returned them (``dict`` of the ``tasks`` row, raw
column text). Underneath, every write goes through ``SQLiteTaskQueue``, so a claim made here is
atomic, leased and written to the history exactly like one made by a Jotty worker: supervisor
code and Jotty workers can share one database safely.

Each ``StateManager`` runs its queue on a private event loop in a background thread; the public
methods block the calling thread until the call is done. Call them from synchronous code (any
number of threads). From ``async`` code use ``SQLiteTaskQueue`` directly, or wrap this object in
``SupervisorStateManagerAdapter``: calling a ``StateManager`` method inside a running event loop
works, but blocks that loop for the duration of the call.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Coroutine
from types import TracebackType
from typing import Any, TypeVar

from jotty.db import connect, translate_errors
from jotty.errors import JottyError
from jotty.queue import validation as check
from jotty.queue.sqlite import SQLiteTaskQueue
from jotty.queue.task import DEFAULT_AGENT_TYPE, TaskStatus

T = TypeVar("T")

TaskDict = dict[str, Any]

_ORDER = "ORDER BY priority, created_at, task_id"


class StateManager:
    """The supervisor's ``StateManager`` API over Jotty's SQLite queue (see the module docstring).

    ``db_path`` is the supervisor's database file (opened as it is; Jotty only adds columns and
    tables). Other keywords (``lease_seconds``, ``retry_backoff``, ``worker_id`` ...) configure the
    underlying ``SQLiteTaskQueue``. Close it with ``close()`` or use it as a context manager.
    """

    def __init__(self, db_path: str | os.PathLike[str], **queue_options: Any) -> None:
        self.db_path = os.fspath(db_path)
        self._closed = False
        self._read_lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="jotty-state-manager", daemon=True)
        self._thread.start()
        try:
            self.queue = SQLiteTaskQueue(self.db_path, **queue_options)
        except BaseException:
            self._stop_loop()
            raise
        try:
            self._reader = connect(self.db_path)
        except BaseException:
            self._call(self.queue.close())
            self._stop_loop()
            raise

    def __repr__(self) -> str:
        return f"StateManager({self.db_path!r})"

    # ------------------------------------------------------------------ plumbing

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run a queue coroutine on the private loop and wait for its result."""
        if self._closed:
            coro.close()
            raise JottyError(f"this StateManager ({self.db_path}) was closed: create a new one")
        if threading.get_ident() == self._thread.ident:
            coro.close()
            raise JottyError("StateManager was called from its own event loop thread: call it from your own threads")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def _rows(self, where: str, params: tuple[Any, ...], *, order: bool = True) -> list[TaskDict]:
        """``SELECT *`` rows as the supervisor returned them: plain dicts of the stored values."""
        sql = f"SELECT * FROM tasks WHERE {where} {_ORDER if order else ''}"
        with self._read_lock, translate_errors(self.db_path):
            return [dict(row) for row in self._reader.execute(sql, params).fetchall()]

    def _row(self, task_id: str) -> TaskDict | None:
        found = self._rows("task_id = ?", (task_id,), order=False)
        return found[0] if found else None

    # ------------------------------------------------------------------ the supervisor's API

    def get_next_pending_task(
        self,
        agent_type: str | None = None,
        *,
        lease_seconds: float | None = None,
        worker_id: str | None = None,
        pid: int | None = None,
    ) -> TaskDict | None:
        """Claim the next runnable pending task of ``agent_type`` and return its row, or None.

        Unlike the supervisor's own SELECT this is an atomic claim: the task is ``in_progress``
        with a lease when it is returned, so no other worker gets it. NULL ``agent_type`` counts
        as ``claude``, as in the supervisor; ``agent_type=None`` takes any agent type. Hand the task
        to a process with ``update_task_status(task_id, "in_progress", pid=...)``, or keep the lease
        alive with ``heartbeat(task_id)``.
        """
        filters = {"agent_type": agent_type}  # None: any; claude: NULL too (the queue's filter rules)
        task = self._call(self.queue.claim(filters, worker_id=worker_id, lease_seconds=lease_seconds, pid=pid))
        return None if task is None else self._row(task.task_id)

    def update_task_status(
        self,
        task_id: str,
        status: str,
        pid: int | None = None,
        error: str | None = None,
        log_file: str | None = None,
        agent_type: str | None = None,
        **kw: Any,
    ) -> bool:
        """Set a task's status the supervisor's way; False if there is no such task.

        ``in_progress`` with a ``pid`` hands the task to that process: its lease is dropped and its
        liveness is the PID from then on (``validate_pids`` recovers it when the process dies), as
        in the supervisor. ``completed``/``failed`` record the end time and clear the PID.
        """
        if str(status) == TaskStatus.IN_PROGRESS and pid is not None:
            for column in ("lease_id", "lease_owner", "lease_expires_at"):
                kw.setdefault(column, None)
        return self._call(self.queue.update_status(task_id, status, pid, error, log_file, agent_type, **kw))

    def heartbeat(self, task_id: str, lease_id: str | None = None) -> bool:
        """Record that a running task is alive (and extend its lease); False if it is not running.

        With ``lease_id`` the heartbeat is fenced: False once that lease was lost.
        """
        return self._call(self.queue.heartbeat(task_id, lease_id))

    def get_running_count_by_agent(self, agent_type: str) -> int:
        """How many running tasks of ``agent_type`` have a PID (NULL agent type counts as claude)."""
        running = self._call(self.queue.get_running_tasks())
        return sum(1 for t in running if t.pid is not None and (t.agent_type or DEFAULT_AGENT_TYPE) == agent_type)

    def get_running_count(self) -> int:
        """How many tasks are ``in_progress``."""
        return self._call(self.queue.get_running_count())

    def get_stats(self) -> dict[str, Any]:
        """Counts per status plus ``active_pids``, ``pids`` and ``by_agent`` (supervisor format)."""
        return self._call(self.queue.get_stats())

    def create_task(
        self,
        title: str,
        description: str = "",
        priority: int = 3,
        category: str = "",
        context_files: list[str] | str | None = None,
        status: str = "backlog",
        agent_type: str | None = None,
        suggested_by: str | None = None,
        **kw: Any,
    ) -> str:
        """Create a task (``backlog`` by default, agent type ``claude`` by default); return its id."""
        return self._call(
            self.queue.create_task(
                title,
                description,
                priority,
                category,
                context_files,
                status,
                agent_type or DEFAULT_AGENT_TYPE,
                suggested_by=suggested_by,
                **kw,
            )
        )

    def get_task_by_task_id(self, task_id: str) -> TaskDict | None:
        """The task's row as a dict, or None."""
        return self._row(task_id)

    def get_tasks_by_status(self, status: str) -> list[TaskDict]:
        """Rows of every task in ``status``, in queue order."""
        return self._rows("status = ?", (str(check.status(status)),))

    def get_running_tasks(self) -> list[TaskDict]:
        """Rows of every ``in_progress`` task."""
        return self.get_tasks_by_status(TaskStatus.IN_PROGRESS)

    def get_by_filename(self, filename: str) -> TaskDict | None:
        """The row of the task created from ``filename``, or None."""
        found = self._rows("filename = ?", (filename,))
        return found[0] if found else None

    def update_task_priority(self, task_id: str, priority: int) -> bool:
        """Change a task's priority (1-5); False if there is no such task."""
        return self._call(self.queue.update_task_priority(task_id, priority))

    def update_task_metadata(self, task_id: str, **fields: Any) -> bool:
        """Change descriptive fields (title, description, priority, ...); False if no such task."""
        return self._call(self.queue.update_task_metadata(task_id, **fields))

    def reset_task_to_backlog(self, task_id: str) -> bool:
        """Put a task back in the backlog, clearing its run fields; False if no such task."""
        return self._call(self.queue.reset_task_to_backlog(task_id))

    def delete_task(self, task_id: str) -> bool:
        """Delete a task and its history; False if there is no such task."""
        return self._call(self.queue.delete_task(task_id))

    def validate_pids(self) -> int:
        """Recover running tasks whose process died on this host; returns how many."""
        return self._call(self.queue.validate_pids())

    def export_to_json(self) -> dict[str, Any]:
        """The supervisor's JSON state (version, total_tasks, pending_tasks, task_details, ...)."""
        return self._call(self.queue.export_to_json())

    # ------------------------------------------------------------------ leases (Jotty's additions)

    def complete(self, task_id: str, lease_id: str, result: Any = None) -> bool:
        """Finish a task claimed with ``lease_id``; False if that lease was lost."""
        return self._call(self.queue.complete(task_id, lease_id, result))

    def fail(self, task_id: str, lease_id: str, error: str, *, retry: bool = True) -> bool:
        """Record a failed attempt of a claimed task (retried per the queue's rules)."""
        return self._call(self.queue.fail(task_id, lease_id, error, retry=retry))

    def release(self, task_id: str, lease_id: str, reason: str = "released by worker") -> bool:
        """Give a claimed task back to ``pending`` without counting a retry."""
        return self._call(self.queue.release(task_id, lease_id, reason))

    def reap_expired(self) -> int:
        """Return tasks whose lease expired to ``pending`` (or ``failed``); returns how many."""
        return self._call(self.queue.reap_expired())

    # ------------------------------------------------------------------ closing

    def close(self) -> None:
        """Close the queue, its loop and thread. Safe to call twice."""
        if self._closed:
            return
        try:
            self._call(self.queue.close())
        finally:
            self._stop_loop()
            with self._read_lock:
                self._reader.close()

    def _stop_loop(self) -> None:
        self._closed = True
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    def __enter__(self) -> StateManager:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
