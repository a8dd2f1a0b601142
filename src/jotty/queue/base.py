"""The abstract ``TaskQueue``: the public API every backend shares.

The public methods validate their input and then call a small set of storage primitives
(``_insert``, ``_claim``, ``_complete`` ...) that each backend implements. The rules they enforce
are the same everywhere (DESIGN.md, "Queue rules"):

- only ``pending`` tasks whose ``run_after`` has passed and whose dependencies are all completed are
  claimed, in order of priority (1 first), then age, then id;
- a claim is atomic, records the worker's PID and host, and carries a lease (``lease_id`` is the
  fencing token); heartbeats extend it;
- an expired lease returns the task to ``pending`` with ``retry_count + 1`` and an exponential
  backoff, or to ``failed`` when retries are spent; a worker whose lease was lost can no longer
  complete, fail or release the task;
- a task that failed for good blocks the pending tasks that depend on it;
- every transition is written to the history.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Awaitable, Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from jotty.errors import DependencyCycleError, NotFoundError, ValidationError
from jotty.processes import pid_alive
from jotty.queue import validation as check
from jotty.queue.policy import HOSTNAME, RetryPolicy, default_worker_id, progress_percent
from jotty.queue.task import DEFAULT_AGENT_TYPE, Task, TaskStatus, parse_list, queued_status, utcnow

log = logging.getLogger(__name__)

Filters = list[tuple[str, Any]]

TERMINAL = frozenset({TaskStatus.COMPLETED, TaskStatus.FAILED, TaskStatus.CANCELLED})
TEMPLATE_FIELDS = frozenset(f.name for f in fields(Task)) - {
    "task_id", "status", "created_at", "started_at", "completed_at", "last_heartbeat", "pid",
    "lease_owner", "lease_id", "lease_expires_at", "host", "result", "retry_count", "run_after",
}  # fmt: skip


@dataclass(frozen=True)
class HistoryEntry:
    """One transition of one task."""

    task_id: str
    from_status: str | None
    to_status: str
    actor: str | None
    reason: str | None
    at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "task_id": self.task_id,
            "from_status": self.from_status,
            "to_status": self.to_status,
            "actor": self.actor,
            "reason": self.reason,
            "at": self.at.isoformat(),
        }


class TaskQueue(abc.ABC):
    """A durable priority queue of ``Task``s with leases, fencing, retries and history.

    ``lease_seconds`` is how long a claim lasts without a heartbeat; ``retry_backoff`` and
    ``max_backoff`` shape the wait before a retry; ``worker_id`` names this process in claims and
    history (default ``host:pid``).
    """

    def __init__(
        self,
        *,
        lease_seconds: float = 30.0,
        retry_backoff: float = 1.0,
        max_backoff: float = 300.0,
        worker_id: str | None = None,
    ) -> None:
        if lease_seconds <= 0:
            raise ValidationError(f"lease_seconds must be > 0, got {lease_seconds!r}")
        if retry_backoff < 0 or max_backoff < 0:
            raise ValidationError("retry_backoff and max_backoff must be >= 0")
        self.lease_seconds = float(lease_seconds)
        self.retry_policy = RetryPolicy(retry_backoff, max_backoff)
        self.worker_id = worker_id or default_worker_id()

    # ------------------------------------------------------------------ creating tasks

    async def enqueue(self, task: Task) -> str:
        """Store a task and return its id. A task whose status was never set is stored as
        ``pending`` (queued to run); a status you set (``backlog``, ``suggested`` ...) is kept."""
        return (await self.enqueue_many([task]))[0]

    async def enqueue_many(self, tasks: Iterable[Task]) -> list[str]:
        """Store several tasks in one transaction; all or none are stored. Returns their ids."""
        batch = list(tasks)
        for item in batch:
            if not isinstance(item, Task):
                raise ValidationError(f"enqueue takes Task objects, got {type(item).__name__}")
            check.task(item)
        for item in batch:  # after every check: a refused batch leaves the tasks as they were
            item.status = queued_status(item)
        ids = [t.task_id for t in batch if t.task_id]
        if len(ids) != len(set(ids)):
            raise ValidationError("the batch holds the same task_id twice")
        await self._check_dependencies(batch)
        now = datetime.now()
        for item in batch:
            if item.created_at is None:
                item.created_at = now
            parent = item.parent_id
            if parent is not None and parent not in ids and await self._fetch(parent) is None:
                raise ValidationError(f"parent task {parent} does not exist: create the parent first")
        new_ids = await self._insert(batch, self.worker_id)
        self._notify()
        return new_ids

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
        """Create a task the supervisor's way (status ``backlog`` by default, agent type ``claude``
        when ``agent_type`` is None) and return its id.

        Other ``Task`` fields (tags, depends_on, parent_id, metadata, max_retries, ...) may be given
        as keywords; ``suggested_by`` marks the creator as ``AI`` as the supervisor does.
        """
        suggested_by = kw.pop("suggested_by", None)
        if "created_by" not in kw:
            kw["created_by"] = "AI" if suggested_by else "user"
        check.updates(kw)
        if isinstance(context_files, str):
            context_files = parse_list(context_files)
        task = Task(
            title=title,
            description=description,
            priority=priority,
            category=category,
            context_files=None if context_files is None else list(context_files),
            status=check.status(status),
            agent_type=agent_type,
            **kw,
        )
        return await self.enqueue(task)

    async def create_subtask(self, parent_id: str, title: str, **kw: Any) -> str:
        """Create a task whose parent is ``parent_id``; the parent's progress counts it."""
        kw.setdefault("status", "pending")
        return await self.create_task(title, parent_id=parent_id, **kw)

    # ------------------------------------------------------------------ templates

    async def create_template(self, name: str, **fields_: Any) -> None:
        """Save (or replace) a template: default task fields that ``{variables}`` may fill in."""
        check.text("template name", name, required=True, limit=200)
        unknown = set(fields_) - TEMPLATE_FIELDS
        if unknown:
            raise ValidationError(
                f"templates cannot set {', '.join(sorted(unknown))}: use fields among "
                f"{', '.join(sorted(TEMPLATE_FIELDS))}"
            )
        if "title" not in fields_:
            raise ValidationError("a template needs a title (it may hold {variables})")
        check.task(Task(**fields_))  # the template itself must make a valid task
        await self._save_template(name, check.json_value("template", fields_))

    async def get_template(self, name: str) -> dict[str, Any] | None:
        """A template's fields, or None."""
        return await self._load_template(name)

    async def list_templates(self) -> dict[str, dict[str, Any]]:
        """Every template by name."""
        return await self._all_templates()

    async def create_task_from_template(
        self, template_name: str, variables: Mapping[str, Any] | None = None, **overrides: Any
    ) -> str:
        """Create a task from a template; ``variables`` fill ``{name}`` in title and description."""
        template = await self._load_template(template_name)
        if template is None:
            raise NotFoundError(f"no task template named {template_name!r}: create it with create_template")
        fields_ = {**template, **overrides}
        values = dict(variables or {})
        for key in ("title", "description", "task_content"):
            if isinstance(fields_.get(key), str):
                try:
                    fields_[key] = fields_[key].format_map(values)
                except KeyError as exc:
                    raise ValidationError(
                        f"template {template_name!r} needs the variable {exc.args[0]!r} in variables="
                    ) from None
        fields_.setdefault("status", "pending")
        metadata = dict(fields_.pop("metadata", None) or {})
        metadata["template"] = template_name
        title = fields_.pop("title")
        return await self.create_task(title, metadata=metadata, **fields_)

    # ------------------------------------------------------------------ reading

    async def get_task(self, task_id: str) -> Task | None:
        """The task, or None if there is no such id."""
        return await self._fetch(task_id)

    async def list_tasks(self, filters: Mapping[str, Any] | None = None, limit: int | None = None) -> list[Task]:
        """Tasks matching ``filters`` (column -> value or list of values), in queue order."""
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
            raise ValidationError(f"limit must be a whole number >= 0, got {limit!r}")
        return await self._select(check.filters(filters), limit)

    async def get_tasks_by_status(self, status: str) -> list[Task]:
        """All tasks in ``status``, in queue order."""
        return await self._select([("status", str(check.status(status)))], None)

    async def get_running_tasks(self) -> list[Task]:
        """All ``in_progress`` tasks."""
        return await self.get_tasks_by_status(TaskStatus.IN_PROGRESS)

    async def get_by_filename(self, filename: str) -> Task | None:
        """The task created from ``filename`` (the supervisor's task files), or None."""
        found = await self._select([("filename", filename)], 1)
        return found[0] if found else None

    async def get_subtasks(self, parent_id: str) -> list[Task]:
        """The children of ``parent_id``."""
        return await self._select([("parent_id", parent_id)], None)

    async def get_progress(self, task_id: str) -> dict[str, Any]:
        """A parent's view of its children: counts by status and percent completed."""
        task = await self._fetch(task_id)
        if task is None:
            raise NotFoundError(f"no task {task_id!r}")
        children = await self.get_subtasks(task_id)
        by_status: dict[str, int] = {}
        for child in children:
            by_status[str(child.status)] = by_status.get(str(child.status), 0) + 1
        done = by_status.get(TaskStatus.COMPLETED, 0)
        percent = progress_percent(done, len(children)) if children else task.progress_percent
        return {"task_id": task_id, "children": len(children), "by_status": by_status, "percent": percent}

    async def get_history(self, task_id: str) -> list[HistoryEntry]:
        """Every transition of ``task_id``, oldest first."""
        return await self._history(task_id)

    async def get_running_count(self) -> int:
        """How many tasks are ``in_progress``."""
        return await self._count([("status", str(TaskStatus.IN_PROGRESS))])

    async def get_running_count_by_agent(self, agent_type: str) -> int:
        """How many ``in_progress`` tasks have ``agent_type``."""
        return await self._count([("status", str(TaskStatus.IN_PROGRESS)), ("agent_type", agent_type)])

    async def get_stats(self) -> dict[str, Any]:
        """Counts per status, running PIDs and running tasks per agent type (supervisor format)."""
        counts = await self._count_by_status()
        running = await self.get_running_tasks()
        pids = [t.pid for t in running if t.pid is not None]
        by_agent: dict[str, int] = {}
        for t in running:
            key = t.agent_type or DEFAULT_AGENT_TYPE
            by_agent[key] = by_agent.get(key, 0) + 1
        stats: dict[str, Any] = {s.value: counts.get(s.value, 0) for s in TaskStatus}
        stats.update(total=sum(counts.values()), active_pids=len(pids), pids=pids, by_agent=by_agent)
        return stats

    # ------------------------------------------------------------------ claiming and finishing

    async def dequeue(self, filters: Mapping[str, Any] | None = None, **filter_kw: Any) -> Task | None:
        """Claim the next runnable task (see ``claim``), or None.

        Filters may be a dict or keywords: ``dequeue({"agent_type": "claude"})`` and
        ``dequeue(agent_type="claude")`` are the same.
        """
        if filter_kw:
            filters = {**(filters or {}), **filter_kw}
        return await self.claim(filters)

    async def claim(
        self,
        filters: Mapping[str, Any] | None = None,
        *,
        worker_id: str | None = None,
        lease_seconds: float | None = None,
        pid: int | None = None,
    ) -> Task | None:
        """Atomically claim the next runnable task: ``in_progress`` with a lease, or None."""
        claimed = await self.claim_many(1, filters, worker_id=worker_id, lease_seconds=lease_seconds, pid=pid)
        return claimed[0] if claimed else None

    async def claim_many(
        self,
        n: int,
        filters: Mapping[str, Any] | None = None,
        *,
        worker_id: str | None = None,
        lease_seconds: float | None = None,
        pid: int | None = None,
    ) -> list[Task]:
        """Atomically claim up to ``n`` runnable tasks in queue order, each with its own lease."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValidationError(f"n must be a whole number >= 1, got {n!r}")
        lease = self._lease(lease_seconds)
        return await self._claim(
            n, check.filters(filters), worker_id or self.worker_id, lease, os.getpid() if pid is None else pid
        )

    async def heartbeat(self, task_id: str, lease_id: str | None = None, *, progress: int | None = None) -> bool:
        """Record that a running task is alive and extend its lease.

        With ``lease_id`` the heartbeat is fenced: False once the lease was lost. Without it (the
        supervisor's call) any ``in_progress`` task is touched.
        """
        if progress is not None and (
            isinstance(progress, bool) or not isinstance(progress, int) or not 0 <= progress <= 100
        ):
            raise ValidationError(f"progress must be a whole number from 0 to 100, got {progress!r}")
        return await self._heartbeat(task_id, lease_id, self.lease_seconds, progress)

    async def complete(self, task_id: str, lease_id: str, result: Any = None) -> bool:
        """Finish a claimed task. False (and nothing changes) if the lease is no longer held."""
        check.json_value("result", result)
        done = await self._complete([(task_id, lease_id, result)])
        return done[0]

    async def complete_many(self, items: Iterable[tuple[str, str, Any]]) -> list[bool]:
        """Complete several claimed tasks in one transaction: ``(task_id, lease_id, result)`` each."""
        batch = list(items)
        for _, _, result in batch:
            check.json_value("result", result)
        ids = [task_id for task_id, _, _ in batch]
        if len(set(ids)) != len(ids):
            raise ValidationError("complete_many got the same task twice: complete each task once per batch")
        return await self._complete(batch) if batch else []

    async def fail(self, task_id: str, lease_id: str, error: str, *, retry: bool = True) -> bool:
        """Record a failed attempt: pending again after a backoff while retries remain (and
        ``retry``), else failed for good. False if the lease is no longer held."""
        error = check.text("error", error if error else "failed") or "failed"
        return await self._fail(task_id, lease_id, error, retry)

    async def release(self, task_id: str, lease_id: str, reason: str = "released by worker") -> bool:
        """Give a claimed task back to ``pending`` at once, without counting a retry."""
        return await self._release(task_id, lease_id, reason)

    async def reap_expired(self) -> int:
        """Return tasks whose lease expired to ``pending`` (or ``failed``); how many were reaped."""
        return await self._reap(time.time())

    async def validate_pids(self) -> int:
        """Recover ``in_progress`` tasks whose process died on this host; how many were recovered.

        A task whose recorded host is another machine is never judged here. Tasks the supervisor
        marked running (no host recorded) are judged by their PID, as the supervisor does.
        """
        dead = []
        for t in await self.get_running_tasks():
            if t.pid is None or (t.host is not None and t.host != HOSTNAME):
                continue
            if not pid_alive(t.pid):
                dead.append(t.task_id)
        if not dead:
            return 0
        return await self._recover(dead, "process died (validate_pids)")

    # ------------------------------------------------------------------ supervisor-style updates

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
        """Set a task's status the supervisor's way (not fenced); False if there is no such task.

        ``in_progress`` records pid, log_file and agent_type and the start time; ``completed`` and
        ``failed`` record the end (and error) and clear the PID; ``pending``, ``backlog`` and
        ``suggested`` clear the run fields. Other columns may be given as keywords; ``reason``
        goes to the history.
        """
        reason = kw.pop("reason", None)
        new = check.status(status)
        check.text("error", error)
        check.text("log_file", log_file)
        if pid is not None and (isinstance(pid, bool) or not isinstance(pid, int) or pid <= 0):
            raise ValidationError(f"pid must be a positive whole number, got {pid!r}")
        updates = check.updates(kw)
        now = datetime.now()
        if new == TaskStatus.IN_PROGRESS:
            updates.update(pid=pid, log_file=log_file, last_heartbeat=now)
            updates.setdefault("host", HOSTNAME)
            if agent_type is not None:
                updates["agent_type"] = agent_type
        elif new in (TaskStatus.COMPLETED, TaskStatus.FAILED, TaskStatus.CANCELLED):
            updates.update(pid=None, completed_at=now, lease_id=None, lease_owner=None, lease_expires_at=None)
            if new == TaskStatus.COMPLETED:
                updates.setdefault("progress_percent", 100)
            if error is not None:
                updates["error_message"] = error
        elif new in (TaskStatus.PENDING, TaskStatus.BACKLOG, TaskStatus.SUGGESTED):
            updates.update(
                pid=None, log_file=None, started_at=None, last_heartbeat=None, completed_at=None,
                error_message=None, lease_id=None, lease_owner=None, lease_expires_at=None, run_after=None,
            )  # fmt: skip
        else:  # blocked
            updates.update(pid=None, lease_id=None, lease_owner=None, lease_expires_at=None)
            if error is not None:
                updates["error_message"] = error
        return await self._transition(task_id, new, updates, reason or error)

    async def update_task_priority(self, task_id: str, priority: int) -> bool:
        """Change a task's priority (1-5); False if there is no such task."""
        return await self._update(task_id, {"priority": check.priority(priority)})

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
        """Change descriptive fields (and any other column given as a keyword); False if no such task.

        ``metadata`` given as a dict is merged into the stored metadata.
        """
        updates = check.updates(kw)
        if "status" in updates:
            raise ValidationError("use update_status to change a task's status")
        for key, value in (("title", title), ("description", description), ("category", category),
                           ("agent_type", agent_type)):  # fmt: skip
            if value is not None:
                updates[key] = check.text(key, value, required=key == "title")
        if priority is not None:
            updates["priority"] = check.priority(priority)
        if context_files is not None:
            updates["context_files"] = check.string_list(
                "context_files",
                parse_list(context_files) if isinstance(context_files, str) else context_files,
            )
        if "depends_on" in updates:
            deps = check.string_list("depends_on", updates["depends_on"])
            updates["depends_on"] = deps
            await self._check_dependencies([Task(task_id=task_id, title="-", depends_on=deps)])
        if "metadata" in updates:
            current = await self._fetch(task_id)
            if current is None:
                return False
            extra = updates["metadata"]
            if not isinstance(extra, dict):
                raise ValidationError("metadata must be a dict (it is merged into the stored metadata)")
            updates["metadata"] = {**current.metadata, **check.json_value("metadata", extra)}
        if not updates:
            return await self._fetch(task_id) is not None
        return await self._update(task_id, updates)

    async def reset_task_to_backlog(self, task_id: str) -> bool:
        """Put a task back in the backlog (counting a retry), clearing its run fields."""
        task = await self._fetch(task_id)
        if task is None:
            return False
        updates = {
            "pid": None, "started_at": None, "completed_at": None, "last_heartbeat": None,
            "error_message": None, "lease_id": None, "lease_owner": None, "lease_expires_at": None,
            "run_after": None, "retry_count": task.retry_count + 1,
        }  # fmt: skip
        return await self._transition(task_id, TaskStatus.BACKLOG, updates, "reset to backlog")

    async def retry_task(self, task_id: str) -> bool:
        """Make a failed, cancelled or blocked task ``pending`` again now, with fresh retries."""
        task = await self._fetch(task_id)
        if task is None:
            return False
        if task.status not in (TaskStatus.FAILED, TaskStatus.CANCELLED, TaskStatus.BLOCKED):
            raise ValidationError(
                f"task {task_id} is {task.status}; only failed, cancelled or blocked tasks can be retried"
            )
        updates = {
            "pid": None, "started_at": None, "completed_at": None, "last_heartbeat": None,
            "error_message": None, "lease_id": None, "lease_owner": None, "lease_expires_at": None,
            "run_after": None, "retry_count": 0,
        }  # fmt: skip
        ok = await self._transition(task_id, TaskStatus.PENDING, updates, "retried by user")
        self._notify()
        return ok

    async def cancel_task(self, task_id: str, reason: str = "cancelled by user") -> bool:
        """Cancel a task that has not finished; its pending dependents become blocked."""
        task = await self._fetch(task_id)
        if task is None:
            return False
        if task.status in TERMINAL:
            raise ValidationError(f"task {task_id} already ended ({task.status}); nothing to cancel")
        return await self.update_status(task_id, TaskStatus.CANCELLED, reason=reason)

    async def delete_task(self, task_id: str) -> bool:
        """Delete a task and its history; False if there is no such task."""
        return await self._delete(task_id)

    # ------------------------------------------------------------------ export and import

    async def export_to_json(self) -> dict[str, Any]:
        """The whole queue in the supervisor's JSON state format, plus full tasks, history and
        templates so that ``import_from_json`` can restore it."""
        await self.validate_pids()
        tasks = await self._select([], None)
        history = {t.task_id: [h.to_dict() for h in await self._history(t.task_id)] for t in tasks}
        by = {s: [t.task_id for t in tasks if t.status == s] for s in TaskStatus}
        return {
            "version": "2.0-sqlite-jotty",
            "total_tasks": len(tasks),
            "completed_tasks": len(by[TaskStatus.COMPLETED]),
            "failed_tasks": len(by[TaskStatus.FAILED]),
            "suggested_tasks": by[TaskStatus.SUGGESTED],
            "backlog_tasks": by[TaskStatus.BACKLOG],
            "pending_tasks": by[TaskStatus.PENDING],
            "in_progress_tasks": by[TaskStatus.IN_PROGRESS],
            "completed_task_files": by[TaskStatus.COMPLETED],
            "failed_task_files": by[TaskStatus.FAILED],
            "task_pids": {t.task_id: t.pid for t in tasks if t.pid},
            "task_status": {t.task_id: str(t.status) for t in tasks},
            "task_details": {t.task_id: _details(t) for t in tasks},
            "last_validated": utcnow().isoformat(),
            "tasks": [t.to_dict() for t in tasks],
            "history": history,
            "templates": await self._all_templates(),
        }

    async def import_from_json(self, data: Mapping[str, Any], *, replace: bool = False) -> int:
        """Restore an ``export_to_json`` document; returns how many tasks were imported.

        Existing ids are an error unless ``replace`` (then they are overwritten). All or nothing.
        """
        if not isinstance(data, Mapping) or not isinstance(data.get("tasks"), list):
            raise ValidationError(
                "not a Jotty export: expected a JSON object with a 'tasks' list (made by export_to_json)"
            )
        tasks = []
        for i, raw in enumerate(data["tasks"]):
            if not isinstance(raw, Mapping) or not raw.get("task_id"):
                raise ValidationError(f"export task #{i} has no task_id")
            try:
                tasks.append(check.task(Task.from_dict(dict(raw))))
            except (TypeError, ValueError) as exc:
                raise ValidationError(f"export task {raw.get('task_id')}: {exc}") from None
        history = data.get("history") or {}
        entries = [_history_entry(h) for items in history.values() for h in items]
        templates = data.get("templates") or {}
        await self._import(tasks, entries, dict(templates), replace)
        self._notify()
        return len(tasks)

    # ------------------------------------------------------------------ waking and closing

    async def wait_for_work(self, timeout: float) -> bool:
        """Wait until new work may be claimable, or ``timeout`` seconds; True if woken early."""
        await asyncio.sleep(timeout)
        return False

    async def next_due(self) -> float | None:
        """When something becomes due without an enqueue: the earliest backoff end or lease
        expiry (epoch seconds), or None."""
        return None

    async def close(self) -> None:
        """Release connections and resources."""

    async def __aenter__(self) -> TaskQueue:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ------------------------------------------------------------------ shared helpers

    def _lease(self, lease_seconds: float | None) -> float:
        lease = self.lease_seconds if lease_seconds is None else lease_seconds
        if isinstance(lease, bool) or not isinstance(lease, int | float) or lease <= 0:
            raise ValidationError(f"lease_seconds must be > 0, got {lease!r}")
        return float(lease)

    def _notify(self) -> None:
        """Wake idle workers after new work was stored (backends override)."""

    async def _check_dependencies(self, batch: list[Task]) -> None:
        """Every dependency exists (in the store or the batch) and no cycle appears."""
        graph: dict[str, list[str]] = {t.task_id: list(t.depends_on or ()) for t in batch if t.task_id}
        if not any(t.depends_on for t in batch):
            return
        wanted = {d for t in batch for d in t.depends_on or ()} - set(graph)
        known = await self._dependency_map(wanted)
        missing = wanted - set(known)
        if missing:
            raise ValidationError(f"depends_on names unknown task(s) {', '.join(sorted(missing))}: create them first")
        graph.update({k: v for k, v in known.items() if k not in graph})
        # Walk further into the stored graph until every reachable node is known.
        frontier = {d for deps in known.values() for d in deps} - set(graph)
        while frontier:
            more = await self._dependency_map(frontier)
            graph.update(more)
            frontier = {d for deps in more.values() for d in deps} - set(graph)
        _find_cycle(graph, [t.task_id for t in batch if t.task_id])

    # ------------------------------------------------------------------ storage primitives

    @abc.abstractmethod
    async def _insert(self, tasks: list[Task], actor: str) -> list[str]:
        """Store validated tasks in one transaction (assigning ids to those without) and write a
        ``created`` history entry for each; a duplicate id raises ``ValidationError``."""

    @abc.abstractmethod
    async def _fetch(self, task_id: str) -> Task | None: ...

    @abc.abstractmethod
    async def _select(self, filters: Filters, limit: int | None) -> list[Task]:
        """Tasks matching all filters (list value = any of), in queue order."""

    @abc.abstractmethod
    async def _count(self, filters: Filters) -> int: ...

    @abc.abstractmethod
    async def _count_by_status(self) -> dict[str, int]: ...

    @abc.abstractmethod
    async def _dependency_map(self, task_ids: set[str]) -> dict[str, list[str]]:
        """``depends_on`` of those of ``task_ids`` that exist."""

    @abc.abstractmethod
    async def _claim(self, n: int, filters: Filters, worker: str, lease: float, pid: int) -> list[Task]: ...

    async def _claim_shielded(self, claiming: Awaitable[list[Task]]) -> list[Task]:
        """``claiming`` (a claim that goes to a server) run to its end even when the caller is
        cancelled, once or again: a cancelled caller's tasks go back to ``pending`` at once (they
        would otherwise stay leased to nobody until their leases ran out), then the cancel goes on."""
        claim = asyncio.ensure_future(claiming)
        try:
            return await asyncio.shield(claim)
        except asyncio.CancelledError:
            handing = asyncio.ensure_future(self._hand_back(claim))
            while not handing.done():  # a second cancel must not strand the claim's tasks
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.shield(handing)
            raise

    async def _hand_back(self, claim: asyncio.Future[list[Task]]) -> None:
        await asyncio.wait([claim])
        if claim.cancelled() or claim.exception() is not None:
            return
        for task in claim.result():
            try:
                await self._release(task.task_id, task.lease_id or "", "the claim's caller was cancelled")
            except Exception as exc:  # its lease runs out instead; the caller gets its cancel, not this
                log.warning("could not hand back task %s of a cancelled claim: %s", task.task_id, exc)

    @abc.abstractmethod
    async def _heartbeat(self, task_id: str, lease_id: str | None, lease: float, progress: int | None) -> bool: ...

    @abc.abstractmethod
    async def _complete(self, items: list[tuple[str, str, Any]]) -> list[bool]: ...

    @abc.abstractmethod
    async def _fail(self, task_id: str, lease_id: str, error: str, retry: bool) -> bool: ...

    @abc.abstractmethod
    async def _release(self, task_id: str, lease_id: str, reason: str) -> bool: ...

    @abc.abstractmethod
    async def _reap(self, now: float) -> int: ...

    @abc.abstractmethod
    async def _recover(self, task_ids: list[str], reason: str) -> int:
        """Treat these running tasks like expired leases (retry with backoff or fail)."""

    @abc.abstractmethod
    async def _transition(self, task_id: str, status: TaskStatus, updates: dict[str, Any], reason: str | None) -> bool:
        """Unfenced status change with column updates and a history entry; ending in failed or
        cancelled blocks pending dependents; a child ending updates its parent's progress."""

    @abc.abstractmethod
    async def _update(self, task_id: str, updates: dict[str, Any]) -> bool:
        """Column updates without a status change."""

    @abc.abstractmethod
    async def _delete(self, task_id: str) -> bool: ...

    @abc.abstractmethod
    async def _history(self, task_id: str) -> list[HistoryEntry]: ...

    @abc.abstractmethod
    async def _save_template(self, name: str, fields_: dict[str, Any]) -> None: ...

    @abc.abstractmethod
    async def _load_template(self, name: str) -> dict[str, Any] | None: ...

    @abc.abstractmethod
    async def _all_templates(self) -> dict[str, dict[str, Any]]: ...

    @abc.abstractmethod
    async def _import(
        self, tasks: list[Task], history: list[HistoryEntry], templates: dict[str, Any], replace: bool
    ) -> None:
        """Store exported tasks, history and templates as they are, in one transaction."""


def _history_entry(h: Mapping[str, Any]) -> HistoryEntry:
    try:
        at = datetime.fromisoformat(h["at"])
        return HistoryEntry(h["task_id"], h.get("from_status"), h["to_status"], h.get("actor"), h.get("reason"), at)
    except (KeyError, TypeError, ValueError) as exc:
        raise ValidationError(f"export history entry {dict(h)!r} is incomplete or malformed ({exc})") from None


def _details(t: Task) -> dict[str, Any]:
    d = t.to_dict()
    keys = ("task_id", "title", "description", "status", "pid", "priority", "category", "started_at",
            "completed_at", "last_heartbeat", "error_message", "retry_count")  # fmt: skip
    out = {k: d[k] for k in keys}
    out["context_files"] = d["context_files"]
    out["agent_type"] = t.agent_type or DEFAULT_AGENT_TYPE
    return out


def _find_cycle(graph: dict[str, list[str]], starts: list[str]) -> None:
    """Raise ``DependencyCycleError`` if a path of dependencies leads from a start back to itself."""
    for start in starts:
        stack: list[tuple[str, list[str]]] = [(d, [start, d]) for d in graph.get(start, [])]
        seen: set[str] = set()
        while stack:
            node, path = stack.pop()
            if node == start:
                raise DependencyCycleError(
                    f"dependency cycle {' -> '.join(path)}: remove one of these depends_on links"
                )
            if node in seen:
                continue
            seen.add(node)
            stack.extend((d, [*path, d]) for d in graph.get(node, []))
