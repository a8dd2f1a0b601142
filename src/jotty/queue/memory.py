"""``MemoryTaskQueue``: the queue's rules in plain Python dicts, for tests and throwaway use.

It is the reference the other backends are checked against (same conformance suite, and a
hypothesis state machine comparing it with SQLite). Nothing survives the process. It is safe for
any number of coroutines on one event loop; it is not shared between threads or processes.
"""

from __future__ import annotations

import asyncio
import copy
import time
from collections import deque
from datetime import datetime
from typing import Any

from jotty.errors import ValidationError
from jotty.queue import validation as check
from jotty.queue.base import TERMINAL, Filters, HistoryEntry, TaskQueue
from jotty.queue.policy import HOSTNAME, plan_failure, progress_percent, task_id_for
from jotty.queue.task import TIME_COLUMNS, Task, TaskStatus, local_time, new_lease_id, time_key, utcnow


def _store_times(t: Task) -> Task:
    """Times as the durable stores give them back: naive local time (see ``local_time``)."""
    for name in TIME_COLUMNS:
        value = getattr(t, name)
        if value is not None and value.tzinfo is not None:
            setattr(t, name, local_time(value))
    return t


class _Store:
    """The state that handles opened with ``shared_with`` have in common."""

    def __init__(self) -> None:
        self.tasks: dict[str, Task] = {}
        self.history: list[HistoryEntry] = []
        self.templates: dict[str, dict[str, Any]] = {}
        self.day_counters: dict[str, int] = {}
        self.wake = asyncio.Event()


class MemoryTaskQueue(TaskQueue):
    """An in-process ``TaskQueue`` with the same semantics as the durable backends."""

    def __init__(self, *, shared_with: MemoryTaskQueue | None = None, **options: Any) -> None:
        """``shared_with`` opens another handle (its own worker id and options) on the same tasks,
        as a second worker process would open the same database."""
        super().__init__(**options)
        self._store: _Store = shared_with._store if shared_with is not None else _Store()
        self._tasks = self._store.tasks
        self._templates = self._store.templates
        self._day_counters = self._store.day_counters
        self._wake = self._store.wake

    @property
    def _history_log(self) -> list[HistoryEntry]:
        return self._store.history

    @_history_log.setter
    def _history_log(self, entries: list[HistoryEntry]) -> None:
        self._store.history = entries

    # ------------------------------------------------------------------ helpers

    def _log(self, task_id: str, before: str | None, after: str, actor: str | None, reason: str | None) -> None:
        self._history_log.append(HistoryEntry(task_id, before, after, actor, reason, utcnow()))

    def _next_id(self) -> str:
        now = utcnow()
        key = f"{now:%Y%m%d}"
        prefix = f"TASK-{key}-"
        if key not in self._day_counters:
            taken = [int(t[len(prefix) :]) for t in self._tasks if t.startswith(prefix) and t[len(prefix) :].isdigit()]
            self._day_counters[key] = max(taken, default=0)
        while True:
            self._day_counters[key] += 1
            candidate = task_id_for(now, self._day_counters[key])
            if candidate not in self._tasks:
                return candidate

    @staticmethod
    def _order(t: Task) -> tuple[int, float, str]:
        return (t.priority, time_key(t.created_at), t.task_id)

    def _deps_done(self, t: Task) -> bool:
        for dep in t.depends_on or ():
            other = self._tasks.get(dep)
            if other is None or other.status != TaskStatus.COMPLETED:
                return False
        return True

    def _set_status(self, t: Task, status: TaskStatus, actor: str | None, reason: str | None) -> None:
        before = str(t.status)
        t.status = status
        self._log(t.task_id, before, str(status), actor, reason)
        if status in (TaskStatus.FAILED, TaskStatus.CANCELLED):
            self._block_dependents(t.task_id, actor)
        if t.parent_id is not None:
            self._roll_up(t.parent_id)

    def _block_dependents(self, task_id: str, actor: str | None) -> None:
        frontier = deque([task_id])  # breadth first, each level in queue order
        while frontier:
            current = frontier.popleft()
            waiting = [
                t
                for t in self._tasks.values()
                if current in (t.depends_on or ()) and t.status in (TaskStatus.PENDING, TaskStatus.BACKLOG)
            ]
            for other in sorted(waiting, key=self._order):
                self._set_status(other, TaskStatus.BLOCKED, actor, f"dependency {current} did not complete")
                frontier.append(other.task_id)

    def _roll_up(self, parent_id: str) -> None:
        parent = self._tasks.get(parent_id)
        children = [t for t in self._tasks.values() if t.parent_id == parent_id]
        if parent is not None and children:
            done = sum(1 for t in children if t.status == TaskStatus.COMPLETED)
            parent.progress_percent = progress_percent(done, len(children))

    def _held(self, task_id: str, lease_id: str | None) -> Task | None:
        t = self._tasks.get(task_id)
        if t is None or t.status != TaskStatus.IN_PROGRESS or t.lease_id is None or t.lease_id != lease_id:
            return None
        return t

    @staticmethod
    def _clear_run(t: Task) -> None:
        t.pid = None
        t.lease_id = t.lease_owner = None
        t.lease_expires_at = None

    def _give_up_attempt(self, t: Task, now: float, error: str, actor: str, reason: str, retry: bool) -> None:
        plan = plan_failure(t.retry_count, t.max_retries, now, self.retry_policy, retry=retry)
        self._clear_run(t)
        t.error_message = error
        t.retry_count = plan.retry_count
        t.run_after = plan.run_after
        if plan.status == TaskStatus.FAILED:
            t.completed_at = datetime.now()
        self._set_status(t, plan.status, actor, reason)

    # ------------------------------------------------------------------ primitives

    async def _insert(self, tasks: list[Task], actor: str) -> list[str]:
        for t in tasks:
            if t.task_id and t.task_id in self._tasks:
                raise ValidationError(f"task id {t.task_id} already exists: choose another id or omit it")
        ids = []
        for t in tasks:
            stored = _store_times(copy.deepcopy(t))
            if not stored.task_id:
                stored.task_id = self._next_id()
            self._tasks[stored.task_id] = stored
            self._log(stored.task_id, None, str(stored.status), actor, "created")
            ids.append(stored.task_id)
            t.task_id = stored.task_id
        for t in tasks:
            if t.parent_id is not None:
                self._roll_up(t.parent_id)
        return ids

    async def _fetch(self, task_id: str) -> Task | None:
        t = self._tasks.get(task_id)
        return copy.deepcopy(t) if t is not None else None

    def _matching(self, filters: Filters) -> list[Task]:
        found = [t for t in self._tasks.values() if check.matches(t, filters)]
        found.sort(key=self._order)
        return found

    async def _select(self, filters: Filters, limit: int | None) -> list[Task]:
        found = self._matching(filters)
        if limit is not None:
            found = found[:limit]
        return [copy.deepcopy(t) for t in found]

    async def _count(self, filters: Filters) -> int:
        return len(self._matching(filters))

    async def _count_by_status(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for t in self._tasks.values():
            counts[str(t.status)] = counts.get(str(t.status), 0) + 1
        return counts

    async def _dependency_map(self, task_ids: set[str]) -> dict[str, list[str]]:
        return {i: list(self._tasks[i].depends_on or ()) for i in task_ids if i in self._tasks}

    async def _claim(self, n: int, filters: Filters, worker: str, lease: float, pid: int) -> list[Task]:
        now = time.time()
        runnable = [
            t
            for t in self._matching([("status", str(TaskStatus.PENDING)), *filters])
            if (t.run_after is None or t.run_after <= now) and self._deps_done(t)
        ][:n]
        stamp = datetime.now()
        for t in runnable:
            t.lease_id = new_lease_id()
            t.lease_owner = worker
            t.lease_expires_at = now + lease
            t.pid = pid
            t.host = HOSTNAME
            t.started_at = stamp
            t.last_heartbeat = stamp
            t.run_after = None
            self._set_status(t, TaskStatus.IN_PROGRESS, worker, "claimed")
        return [copy.deepcopy(t) for t in runnable]

    async def _heartbeat(self, task_id: str, lease_id: str | None, lease: float, progress: int | None) -> bool:
        if lease_id is None:
            t = self._tasks.get(task_id)
            if t is None or t.status != TaskStatus.IN_PROGRESS:
                return False
        else:
            held = self._held(task_id, lease_id)
            if held is None:
                return False
            t = held
        t.last_heartbeat = datetime.now()
        if t.lease_id is not None:
            t.lease_expires_at = time.time() + lease
        if progress is not None:
            t.progress_percent = progress
        return True

    async def _complete(self, items: list[tuple[str, str, Any]]) -> list[bool]:
        out = []
        for task_id, lease_id, result in items:
            t = self._held(task_id, lease_id)
            if t is None:
                out.append(False)
                continue
            t.completed_at = datetime.now()
            if t.started_at is not None:
                t.actual_hours = (time_key(t.completed_at) - time_key(t.started_at)) / 3600
            t.result = copy.deepcopy(result)
            t.progress_percent = 100
            t.error_message = None
            self._clear_run(t)
            self._set_status(t, TaskStatus.COMPLETED, t.lease_owner or self.worker_id, "completed")
            out.append(True)
        return out

    async def _fail(self, task_id: str, lease_id: str, error: str, retry: bool) -> bool:
        t = self._held(task_id, lease_id)
        if t is None:
            return False
        actor = t.lease_owner or self.worker_id
        self._give_up_attempt(t, time.time(), error, actor, f"failed: {error}", retry)
        self._wake.set()
        return True

    async def _release(self, task_id: str, lease_id: str, reason: str) -> bool:
        t = self._held(task_id, lease_id)
        if t is None:
            return False
        actor = t.lease_owner
        self._clear_run(t)
        t.run_after = None
        self._set_status(t, TaskStatus.PENDING, actor, reason)
        self._wake.set()
        return True

    async def _reap(self, now: float) -> int:
        expired = [
            t
            for t in self._tasks.values()
            if t.status == TaskStatus.IN_PROGRESS and t.lease_expires_at is not None and t.lease_expires_at < now
        ]
        for t in expired:
            reason = f"lease expired (held by {t.lease_owner})"
            self._give_up_attempt(t, now, reason, self.worker_id, reason, True)
        return len(expired)

    async def _recover(self, task_ids: list[str], reason: str) -> int:
        now = time.time()
        count = 0
        for task_id in task_ids:
            t = self._tasks.get(task_id)
            if t is not None and t.status == TaskStatus.IN_PROGRESS:
                self._give_up_attempt(t, now, reason, self.worker_id, reason, True)
                count += 1
        return count

    async def _transition(self, task_id: str, status: TaskStatus, updates: dict[str, Any], reason: str | None) -> bool:
        t = self._tasks.get(task_id)
        if t is None:
            return False
        if status == TaskStatus.IN_PROGRESS and t.status != TaskStatus.IN_PROGRESS:
            t.started_at = datetime.now()
        self._apply(t, updates)
        if t.status != status:
            self._set_status(t, status, self.worker_id, reason)
        elif t.parent_id is not None:
            self._roll_up(t.parent_id)
        if status == TaskStatus.PENDING:
            self._wake.set()
        return True

    @staticmethod
    def _apply(t: Task, updates: dict[str, Any]) -> None:
        fresh = Task.from_dict({**t.to_dict(), **{k: v for k, v in updates.items() if k != "result"}})
        if "result" in updates:
            fresh.result = copy.deepcopy(updates["result"])
        else:
            fresh.result = t.result
        for key in updates:
            setattr(t, key, getattr(fresh, key))
        _store_times(t)

    async def _update(self, task_id: str, updates: dict[str, Any]) -> bool:
        t = self._tasks.get(task_id)
        if t is None:
            return False
        self._apply(t, updates)
        return True

    async def _delete(self, task_id: str) -> bool:
        t = self._tasks.pop(task_id, None)
        if t is None:
            return False
        self._history_log = [h for h in self._history_log if h.task_id != task_id]
        if t.parent_id is not None:
            self._roll_up(t.parent_id)
        return True

    async def _history(self, task_id: str) -> list[HistoryEntry]:
        return [h for h in self._history_log if h.task_id == task_id]

    async def _save_template(self, name: str, fields_: dict[str, Any]) -> None:
        self._templates[name] = copy.deepcopy(fields_)

    async def _load_template(self, name: str) -> dict[str, Any] | None:
        found = self._templates.get(name)
        return copy.deepcopy(found) if found is not None else None

    async def _all_templates(self) -> dict[str, dict[str, Any]]:
        return copy.deepcopy(self._templates)

    async def _import(
        self, tasks: list[Task], history: list[HistoryEntry], templates: dict[str, Any], replace: bool
    ) -> None:
        clash = [t.task_id for t in tasks if t.task_id in self._tasks]
        if clash and not replace:
            raise ValidationError(
                f"{len(clash)} imported task id(s) already exist (e.g. {clash[0]}): import into an "
                "empty queue, or pass replace=True to overwrite them"
            )
        ids = {t.task_id for t in tasks}
        self._history_log = [h for h in self._history_log if h.task_id not in ids]
        for t in tasks:
            self._tasks[t.task_id] = _store_times(copy.deepcopy(t))
        self._history_log.extend(history)
        self._templates.update(copy.deepcopy(templates))

    # ------------------------------------------------------------------ waking

    def _notify(self) -> None:
        self._wake.set()

    async def wait_for_work(self, timeout: float) -> bool:
        try:
            await asyncio.wait_for(self._wake.wait(), timeout)
        except TimeoutError:
            return False
        finally:
            self._wake.clear()
        return True

    async def next_due(self) -> float | None:
        times = [
            t.run_after if t.status == TaskStatus.PENDING else t.lease_expires_at
            for t in self._tasks.values()
            if t.status not in TERMINAL
        ]
        known = [x for x in times if x is not None]
        return min(known) if known else None
