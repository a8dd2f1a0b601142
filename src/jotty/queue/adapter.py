"""``SupervisorStateManagerAdapter``: any synchronous supervisor-style ``StateManager`` as an async
``TaskQueue``.

The adapter is a ``TaskQueue`` (so ``TaskQueueManager`` and the Conductor accept it), but it stores
nothing itself: each public method makes one call to the wrapped object, in a worker thread so the
event loop never blocks, and turns the supervisor's row dicts into ``Task`` objects. It is only as
capable as what it wraps:

- the supervisor's methods map one to one (``dequeue`` -> ``get_next_pending_task``,
  ``update_status`` -> ``update_task_status``, ``get_task`` -> ``get_task_by_task_id``, ...);
- other ``TaskQueue`` methods call the wrapped method of the same name when there is one
  (``complete``, ``fail``, ``release``, ``list_tasks``, ``get_history`` ...);
- anything the wrapped object cannot do (a fenced ``complete`` on an object without leases, a
  claim with a lease, an all-or-nothing batch) raises ``MissingMethodError`` naming the missing
  method. Nothing is emulated.

A claim is exactly as safe as the wrapped ``get_next_pending_task``: the supervisor's own class
only SELECTs the next pending row (it does not mark it), while ``jotty.queue.StateManager`` claims
atomically with a lease. Wrap the latter to run ``TaskQueueManager`` on a supervisor database.
Calls run one at a time on one thread, so objects that are not thread-safe are fine.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import fields
from datetime import datetime
from typing import Any

from jotty.errors import JottyError, ValidationError
from jotty.queue import validation as check
from jotty.queue.base import Filters, HistoryEntry, TaskQueue
from jotty.queue.task import Task, TaskStatus, queued_status

# create_task's own parameters; other Task fields are passed as keywords when they are set.
_CREATE_ARGS = ("title", "description", "priority", "category", "context_files", "status", "agent_type")
_DEFAULT_TASK = Task()
_LEASE_HINT = (
    "the wrapped StateManager has no leases; use update_status(task_id, 'completed' or 'failed') for the "
    "supervisor's unfenced update, or wrap jotty.queue.StateManager, which has them"
)


class MissingMethodError(JottyError, NotImplementedError):
    """The wrapped StateManager does not offer what this ``TaskQueue`` call needs."""


class SupervisorStateManagerAdapter(TaskQueue):
    """Wrap a synchronous supervisor-style ``StateManager`` as an async ``TaskQueue``.

    ``state_manager`` needs at least ``get_next_pending_task``, ``update_task_status`` and
    ``get_task_by_task_id``. ``close()`` also closes it (when it has ``close``) unless
    ``close_wrapped=False``. ``lease_seconds`` and ``worker_id`` are only passed on to a wrapped
    object that accepts them.
    """

    def __init__(self, state_manager: Any, *, close_wrapped: bool = True, **options: Any) -> None:
        super().__init__(**options)
        missing = [
            name
            for name in ("get_next_pending_task", "update_task_status", "get_task_by_task_id")
            if not callable(getattr(state_manager, name, None))
        ]
        if missing:
            raise ValidationError(
                f"{type(state_manager).__name__} is not a supervisor StateManager: it has no "
                f"{', '.join(missing)}; wrap an object with the supervisor's methods"
            )
        self.state_manager = state_manager
        self.close_wrapped = close_wrapped
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="jotty-supervisor-adapter")
        self._closed = False

    def __repr__(self) -> str:
        return f"SupervisorStateManagerAdapter({self.state_manager!r})"

    # ------------------------------------------------------------------ plumbing

    def _method(self, name: str, keywords: Iterable[str] = (), hint: str | None = None) -> Any:
        """The wrapped bound method ``name``, checked to accept the keyword arguments ``keywords``."""
        method = getattr(self.state_manager, name, None)
        kind = type(self.state_manager).__name__
        if not callable(method):
            raise MissingMethodError(
                f"{kind} has no {name}(), which this call needs: "
                f"{hint or 'add it to the wrapped object, or use a Jotty queue such as SQLiteTaskQueue'}"
            )
        refused = _refused(method, list(keywords))
        if refused:
            raise MissingMethodError(
                f"{kind}.{name}() takes no {', '.join(refused)}: "
                f"{hint or 'leave them out, or use a Jotty queue such as SQLiteTaskQueue'}"
            )
        return method

    async def _call(self, method: Any, *args: Any, **kwargs: Any) -> Any:
        """Run one blocking wrapped call on the adapter's thread and wait for it without blocking."""
        if self._closed:
            raise JottyError("this SupervisorStateManagerAdapter was closed: create a new one")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(method, *args, **kwargs))

    async def _invoke(self, name: str, *args: Any, hint: str | None = None, **extras: Any) -> Any:
        """Call wrapped ``name(*args, **extras)``, passing only the extras that are not None."""
        given = {k: v for k, v in extras.items() if v is not None}
        return await self._call(self._method(name, given, hint), *args, **given)

    @staticmethod
    def _task(row: Any, name: str) -> Task | None:
        if row is None:
            return None
        if isinstance(row, Task):
            return row
        if isinstance(row, Mapping):
            return Task.from_row(row)
        raise ValidationError(f"the wrapped {name}() returned {type(row).__name__}; expected a dict of a tasks row")

    def _tasks(self, rows: Any, name: str) -> list[Task]:
        return [t for t in (self._task(r, name) for r in rows or []) if t is not None]

    @staticmethod
    def _agent_type(filters: Mapping[str, Any] | None) -> str | None:
        if not filters:
            return None
        if not isinstance(filters, Mapping) or set(filters) - {"agent_type"}:
            raise ValidationError(
                f"the supervisor's get_next_pending_task filters by agent_type only; got {filters!r}: "
                "use filters={'agent_type': 'claude'} or none"
            )
        value = filters["agent_type"]
        if value is not None and not isinstance(value, str):
            raise ValidationError(f"agent_type must be one agent type (a string), got {value!r}")
        return value

    # ------------------------------------------------------------------ the supervisor's methods

    async def claim_many(
        self,
        n: int,
        filters: Mapping[str, Any] | None = None,
        *,
        worker_id: str | None = None,
        lease_seconds: float | None = None,
        pid: int | None = None,
    ) -> list[Task]:
        """Up to ``n`` calls of ``get_next_pending_task(agent_type=filters.get('agent_type'))``.

        Stops at the first None, or when the wrapped call hands back a task already returned (the
        supervisor's own method selects without claiming). ``worker_id``, ``lease_seconds`` and
        ``pid`` need a wrapped method that takes them.
        """
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValidationError(f"n must be a whole number >= 1, got {n!r}")
        agent_type = self._agent_type(filters)
        hint = f"claiming with a lease needs one; {_LEASE_HINT}"
        extras = {"worker_id": worker_id, "lease_seconds": lease_seconds, "pid": pid}
        claimed: list[Task] = []
        for _ in range(n):
            row = await self._invoke("get_next_pending_task", agent_type, hint=hint, **extras)
            task = self._task(row, "get_next_pending_task")
            if task is None or any(t.task_id == task.task_id for t in claimed):
                break
            claimed.append(task)
        return claimed

    async def update_status(
        self,
        task_id: str,
        status: str,
        pid: int | None = None,
        error: str | None = None,
        log_file: str | None = None,
        agent_type: str | None = None,
        **kw: Any,
    ) -> bool:
        """``update_task_status(task_id, status, pid, error, log_file, agent_type, **kw)``."""
        status = str(check.status(status))
        method = self._method("update_task_status", kw)
        return bool(await self._call(method, task_id, status, pid, error, log_file, agent_type, **kw))

    async def get_task(self, task_id: str) -> Task | None:
        """``get_task_by_task_id(task_id)`` as a ``Task``."""
        return self._task(await self._invoke("get_task_by_task_id", task_id), "get_task_by_task_id")

    async def get_stats(self) -> dict[str, Any]:
        """The wrapped ``get_stats()`` as it is."""
        return dict(await self._invoke("get_stats"))

    async def get_running_count_by_agent(self, agent_type: str) -> int:
        return int(await self._invoke("get_running_count_by_agent", agent_type))

    async def get_running_count(self) -> int:
        """The wrapped ``get_running_count()``, else how many ``get_running_tasks()`` returns."""
        if callable(getattr(self.state_manager, "get_running_count", None)):
            return int(await self._invoke("get_running_count"))
        return len(await self.get_running_tasks())

    async def get_tasks_by_status(self, status: str) -> list[Task]:
        rows = await self._invoke("get_tasks_by_status", str(check.status(status)))
        return self._tasks(rows, "get_tasks_by_status")

    async def create_task(
        self,
        title: str,
        description: str = "",
        priority: int = 3,
        category: str = "",
        context_files: list[str] | str | None = None,
        status: str = "backlog",
        agent_type: str | None = None,
        **kw: Any,
    ) -> str:
        """``create_task(...)``; extra keywords need a wrapped method that takes them."""
        method = self._method("create_task", kw)
        return str(await self._call(method, title, description, priority, category, context_files, status,
                                    agent_type, **kw))  # fmt: skip

    async def validate_pids(self) -> int:
        return int(await self._invoke("validate_pids"))

    async def export_to_json(self) -> dict[str, Any]:
        return dict(await self._invoke("export_to_json"))

    async def heartbeat(self, task_id: str, lease_id: str | None = None, *, progress: int | None = None) -> bool:
        """``heartbeat(task_id)``; a fenced heartbeat (``lease_id``) needs a method that takes it."""
        hint = f"a fenced heartbeat needs one; {_LEASE_HINT}"
        return bool(await self._invoke("heartbeat", task_id, hint=hint, lease_id=lease_id, progress=progress))

    # ------------------------------------------------------------------ creating

    async def enqueue(self, task: Task) -> str:
        """Store ``task`` through the wrapped ``create_task`` (its other set fields as keywords)."""
        if not isinstance(task, Task):
            raise ValidationError(f"enqueue takes Task objects, got {type(task).__name__}")
        check.task(task)
        if task.task_id:
            raise ValidationError("the wrapped create_task assigns task ids: leave task_id empty")
        extras = {
            f.name: getattr(task, f.name)
            for f in fields(Task)
            if f.name not in (*_CREATE_ARGS, "task_id", "created_at")
            and getattr(task, f.name) != getattr(_DEFAULT_TASK, f.name)
        }
        args = [getattr(task, name) for name in _CREATE_ARGS]
        args[_CREATE_ARGS.index("status")] = str(queued_status(task))
        task.task_id = await self.create_task(*args, **extras)
        return task.task_id

    async def enqueue_many(self, tasks: Iterable[Task]) -> list[str]:
        """One task only: the wrapped ``create_task`` stores one task per call, so a batch could
        not be all-or-nothing."""
        batch = list(tasks)
        if len(batch) > 1:
            raise MissingMethodError(
                "the wrapped create_task stores one task per call, so a batch cannot be all-or-nothing: "
                "call enqueue() once per task"
            )
        return [await self.enqueue(t) for t in batch]

    # ------------------------------------------------------------------ same-name delegation

    async def complete(self, task_id: str, lease_id: str, result: Any = None) -> bool:
        check.json_value("result", result)
        return bool(await self._invoke("complete", task_id, lease_id, result, hint=_LEASE_HINT))

    async def complete_many(self, items: Iterable[tuple[str, str, Any]]) -> list[bool]:
        """The wrapped ``complete_many``, else one wrapped ``complete`` per item."""
        batch = list(items)
        if callable(getattr(self.state_manager, "complete_many", None)):
            return [bool(ok) for ok in await self._invoke("complete_many", batch)]
        return [await self.complete(task_id, lease_id, result) for task_id, lease_id, result in batch]

    async def fail(self, task_id: str, lease_id: str, error: str, *, retry: bool = True) -> bool:
        return bool(await self._invoke("fail", task_id, lease_id, error, hint=_LEASE_HINT, retry=retry))

    async def release(self, task_id: str, lease_id: str, reason: str = "released by worker") -> bool:
        return bool(await self._invoke("release", task_id, lease_id, reason, hint=_LEASE_HINT))

    async def reap_expired(self) -> int:
        return int(await self._invoke("reap_expired", hint=_LEASE_HINT))

    async def get_by_filename(self, filename: str) -> Task | None:
        return self._task(await self._invoke("get_by_filename", filename), "get_by_filename")

    async def list_tasks(self, filters: Mapping[str, Any] | None = None, limit: int | None = None) -> list[Task]:
        return self._tasks(await self._invoke("list_tasks", filters, limit), "list_tasks")

    async def get_subtasks(self, parent_id: str) -> list[Task]:
        return self._tasks(await self._invoke("get_subtasks", parent_id), "get_subtasks")

    async def get_progress(self, task_id: str) -> dict[str, Any]:
        return dict(await self._invoke("get_progress", task_id))

    async def get_history(self, task_id: str) -> list[HistoryEntry]:
        entries = await self._invoke("get_history", task_id)
        return [e if isinstance(e, HistoryEntry) else _history(e) for e in entries]

    async def update_task_priority(self, task_id: str, priority: int) -> bool:
        return bool(await self._invoke("update_task_priority", task_id, check.priority(priority)))

    async def update_task_metadata(
        self,
        task_id: str,
        title: str | None = None,
        description: str | None = None,
        priority: int | None = None,
        category: str | None = None,
        context_files: list[str] | str | None = None,
        agent_type: str | None = None,
        **kw: Any,
    ) -> bool:
        """The wrapped ``update_task_metadata`` with the fields that are given (not None)."""
        given = dict(title=title, description=description, priority=priority, category=category,
                     context_files=context_files, agent_type=agent_type, **kw)  # fmt: skip
        return bool(await self._invoke("update_task_metadata", task_id, **given))

    async def reset_task_to_backlog(self, task_id: str) -> bool:
        return bool(await self._invoke("reset_task_to_backlog", task_id))

    async def retry_task(self, task_id: str) -> bool:
        return bool(await self._invoke("retry_task", task_id))

    async def cancel_task(self, task_id: str, reason: str = "cancelled by user") -> bool:
        return bool(await self._invoke("cancel_task", task_id, reason))

    async def delete_task(self, task_id: str) -> bool:
        return bool(await self._invoke("delete_task", task_id))

    async def create_template(self, name: str, **fields_: Any) -> None:
        await self._invoke("create_template", name, **fields_)

    async def get_template(self, name: str) -> dict[str, Any] | None:
        found = await self._invoke("get_template", name)
        return dict(found) if found is not None else None

    async def list_templates(self) -> dict[str, dict[str, Any]]:
        return dict(await self._invoke("list_templates"))

    async def create_task_from_template(
        self, template_name: str, variables: Mapping[str, Any] | None = None, **overrides: Any
    ) -> str:
        return str(await self._invoke("create_task_from_template", template_name, variables, **overrides))

    async def import_from_json(self, data: Mapping[str, Any], *, replace: bool = False) -> int:
        return int(await self._invoke("import_from_json", data, replace=replace))

    async def next_due(self) -> float | None:
        """The wrapped ``next_due()`` when it has one, else None (idle workers then poll)."""
        if callable(getattr(self.state_manager, "next_due", None)):
            due = await self._invoke("next_due")
            return float(due) if due is not None else None
        return None

    async def close(self) -> None:
        """Stop the adapter's thread; close the wrapped object too (see ``close_wrapped``)."""
        if self._closed:
            return
        try:
            close = getattr(self.state_manager, "close", None)
            if self.close_wrapped and callable(close):
                await self._call(close)
        finally:
            self._closed = True
            self._executor.shutdown(wait=False)

    # ------------------------------------------------------------------ storage primitives
    # Every public method above delegates a whole call, so the base class never reaches these.

    def _no_storage(self, name: str) -> MissingMethodError:
        return MissingMethodError(f"SupervisorStateManagerAdapter stores nothing itself ({name} is not used)")

    async def _insert(self, tasks: list[Task], actor: str) -> list[str]:
        raise self._no_storage("_insert")

    async def _fetch(self, task_id: str) -> Task | None:
        raise self._no_storage("_fetch")

    async def _select(self, filters: Filters, limit: int | None) -> list[Task]:
        raise self._no_storage("_select")

    async def _count(self, filters: Filters) -> int:
        raise self._no_storage("_count")

    async def _count_by_status(self) -> dict[str, int]:
        raise self._no_storage("_count_by_status")

    async def _dependency_map(self, task_ids: set[str]) -> dict[str, list[str]]:
        raise self._no_storage("_dependency_map")

    async def _claim(self, n: int, filters: Filters, worker: str, lease: float, pid: int) -> list[Task]:
        raise self._no_storage("_claim")

    async def _heartbeat(self, task_id: str, lease_id: str | None, lease: float, progress: int | None) -> bool:
        raise self._no_storage("_heartbeat")

    async def _complete(self, items: list[tuple[str, str, Any]]) -> list[bool]:
        raise self._no_storage("_complete")

    async def _fail(self, task_id: str, lease_id: str, error: str, retry: bool) -> bool:
        raise self._no_storage("_fail")

    async def _release(self, task_id: str, lease_id: str, reason: str) -> bool:
        raise self._no_storage("_release")

    async def _reap(self, now: float) -> int:
        raise self._no_storage("_reap")

    async def _recover(self, task_ids: list[str], reason: str) -> int:
        raise self._no_storage("_recover")

    async def _transition(self, task_id: str, status: TaskStatus, updates: dict[str, Any], reason: str | None) -> bool:
        raise self._no_storage("_transition")

    async def _update(self, task_id: str, updates: dict[str, Any]) -> bool:
        raise self._no_storage("_update")

    async def _delete(self, task_id: str) -> bool:
        raise self._no_storage("_delete")

    async def _history(self, task_id: str) -> list[HistoryEntry]:
        raise self._no_storage("_history")

    async def _save_template(self, name: str, fields_: dict[str, Any]) -> None:
        raise self._no_storage("_save_template")

    async def _load_template(self, name: str) -> dict[str, Any] | None:
        raise self._no_storage("_load_template")

    async def _all_templates(self) -> dict[str, dict[str, Any]]:
        raise self._no_storage("_all_templates")

    async def _import(
        self, tasks: list[Task], history: list[HistoryEntry], templates: dict[str, Any], replace: bool
    ) -> None:
        raise self._no_storage("_import")


def _refused(method: Any, names: list[str]) -> list[str]:
    """Those of ``names`` that ``method`` cannot take as keywords ([] when it takes any)."""
    if not names:
        return []
    try:
        params = inspect.signature(method).parameters.values()
    except (TypeError, ValueError):  # no signature to read: let the call decide
        return []
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return []
    accepted = {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    return [name for name in names if name not in accepted]


def _history(entry: Any) -> HistoryEntry:
    if not isinstance(entry, Mapping):
        raise ValidationError(f"the wrapped get_history() returned {entry!r}; expected dicts or HistoryEntry")
    at = entry.get("at")
    return HistoryEntry(
        str(entry.get("task_id")),
        entry.get("from_status"),
        str(entry.get("to_status")),
        entry.get("actor"),
        entry.get("reason"),
        at if isinstance(at, datetime) else datetime.fromisoformat(str(at)),
    )
