"""The queue page: tasks by status with filters, one task's history, the workers that hold leases
(alive while their heartbeats keep the lease), and finished tasks per hour."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from jotty.dashboard import params
from jotty.dashboard.reader import Reader
from jotty.errors import NotFoundError, ValidationError
from jotty.queue import TaskStatus

STATUSES = tuple(str(s.value) for s in TaskStatus)
TASK_COLUMNS = (
    "task_id, title, status, priority, category, agent_type, created_at, started_at, completed_at, "
    "last_heartbeat, retry_count, error_message, lease_owner, host, pid"
)
TASK_KEYS = tuple(c.strip() for c in TASK_COLUMNS.split(","))
WORKERS = (
    "SELECT lease_owner, host, MAX(last_heartbeat), MAX(lease_expires_at), COUNT(*) FROM tasks "
    "WHERE status = 'in_progress' AND lease_owner IS NOT NULL GROUP BY lease_owner, host ORDER BY lease_owner LIMIT 200"
)
FINISHED = (  # the condition is the partial index's (migration 0008), so the index serves it
    "SELECT to_status, at FROM jotty_task_history WHERE at >= ? AND to_status IN ('completed', 'failed') LIMIT 200000"
)


def _time(value: Any) -> str | None:
    if value is None:
        return None
    return value.isoformat(" ") if isinstance(value, datetime) else str(value)


def _task(row: tuple[Any, ...]) -> dict[str, Any]:
    out = dict(zip(TASK_KEYS, row, strict=True))
    for key in ("created_at", "started_at", "completed_at", "last_heartbeat"):
        out[key] = _time(out[key])
    return out


async def queue_page(reader: Reader, query: Mapping[str, str]) -> dict[str, Any]:
    """Counts by status, one page of tasks (filters: status, category, agent_type, q), workers, throughput."""
    if not await reader.has_table("tasks"):
        return {"counts": {}, "tasks": [], "next": None, "workers": [], "throughput": [], "statuses": list(STATUSES)}
    status = params.choice(query, "status", STATUSES)
    category = params.text(query, "category")
    agent_type = params.text(query, "agent_type")
    search = params.text(query, "q")
    limit = params.integer(query, "limit", 50, 1, 500)
    hours = params.integer(query, "hours", 24, 1, 24 * 90)
    cursor = params.text(query, "cursor")
    where = params.Where()
    where.equal(status=status, category=category, agent_type=agent_type)
    if search is not None:
        where.add("title LIKE ?", f"%{search}%")
    if cursor is not None:
        stamp, sep, task_id = cursor.partition("~")
        if not sep:
            raise ValidationError(f"cursor={cursor!r} is not one this API gave: use the 'next' value of a page")
        where.after_cursor("task_id", stamp, task_id)
    rows = await reader.rows(
        f"SELECT {TASK_COLUMNS} FROM tasks {where.clause} ORDER BY created_at DESC, task_id LIMIT ?",
        [*where.args, limit + 1],
    )
    tasks = [_task(r) for r in rows[:limit]]
    counts = {s: n for s, n in await reader.rows("SELECT status, COUNT(*) FROM tasks GROUP BY status")}
    now = time.time()
    workers = [
        {
            "worker": owner,
            "host": host,
            "last_heartbeat": _time(beat),
            "tasks": n,
            "alive": expires is not None and float(expires) > now,
        }
        for owner, host, beat, expires, n in await reader.rows(WORKERS)
    ]
    return {
        "counts": counts,
        "tasks": tasks,
        "next": f"{tasks[-1]['created_at']}~{tasks[-1]['task_id']}" if len(rows) > limit and tasks else None,
        "workers": workers,
        "throughput": await throughput(reader, hours),
        "statuses": list(STATUSES),
        "filters": {"status": status, "category": category, "agent_type": agent_type, "q": search},
    }


async def throughput(reader: Reader, hours: int) -> list[dict[str, Any]]:
    """Tasks completed and failed per hour over the last ``hours`` hours (UTC), oldest first."""
    start = datetime.now(UTC).replace(tzinfo=None, minute=0, second=0, microsecond=0) - timedelta(hours=hours - 1)
    done: Counter[tuple[str, str]] = Counter()
    for to_status, at in await reader.rows(FINISHED, (start.isoformat(" "),)):
        done[(_time(at)[:13], to_status)] += 1  # type: ignore[index]
    out = []
    for i in range(hours):
        hour = (start + timedelta(hours=i)).isoformat(" ")[:13]
        out.append({"hour": hour + ":00", "completed": done[(hour, "completed")], "failed": done[(hour, "failed")]})
    return out


async def task_history(reader: Reader, task_id: str) -> dict[str, Any]:
    """One task and every transition it went through."""
    row = await reader.one(f"SELECT {TASK_COLUMNS} FROM tasks WHERE task_id = ?", (task_id,))
    if row is None:
        raise NotFoundError(f"no task {task_id!r} in this store: pick one from /api/queue")
    history = await reader.rows(
        "SELECT from_status, to_status, actor, reason, at FROM jotty_task_history WHERE task_id = ? ORDER BY id",
        (task_id,),
    )
    return {
        "task": _task(row),
        "history": [{"from": f, "to": t, "actor": a, "reason": r, "at": _time(at)} for f, t, a, r, at in history],
    }
