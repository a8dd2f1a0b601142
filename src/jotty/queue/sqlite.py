"""``SQLiteTaskQueue``: the durable queue in one SQLite file, on the supervisor's ``tasks`` table.

Every operation is one short ``BEGIN IMMEDIATE`` transaction. Batches, scans and anything that
may wait for a lock run on the queue's database thread, so the event loop never waits on the
database; a single-task operation runs at once on the calling thread when the store is free
(``QueueConnections.quick``). SQLite serialises writers, which is what makes a claim atomic
across threads, processes and workers.
"""

from __future__ import annotations

import functools
import json
import os
import sqlite3
import time
from collections import deque
from datetime import datetime
from pathlib import Path
from typing import Any

from jotty.db import write_transaction
from jotty.errors import ValidationError
from jotty.queue.base import Filters, HistoryEntry, TaskQueue
from jotty.queue.policy import HOSTNAME, day_key, plan_failure, task_id_for, task_id_prefix
from jotty.queue.sqlite_conns import QueueConnections
from jotty.queue.task import (
    SELECT_COLUMNS,
    TASK_COLUMNS,
    Task,
    TaskStatus,
    format_time,
    parse_list,
    parse_time,
    stored_updates,
    time_key,
    utc_stamp,
    utcnow,
)
from jotty.queue.wake import WakeChannel

# agent_type is always written: left out, the supervisor's schema would default it to 'claude'.
_ALWAYS_AT = frozenset(TASK_COLUMNS.index(name) for name in ("task_id", "agent_type"))
_HISTORY = (
    "INSERT INTO jotty_task_history (task_id, from_status, to_status, actor, reason, at) VALUES (?, ?, ?, ?, ?, ?)"
)
_UNSET = object()
_HISTORY_FROM_ROW = (
    "INSERT INTO jotty_task_history (task_id, from_status, to_status, actor, reason, at) "
    "SELECT task_id, status, ?, ?, ?, ? FROM tasks"
)
_ORDER = "ORDER BY priority, created_at, task_id"
# Dependencies are JSON arrays; the supervisor's comma-separated text is read as a list too.
_DEPS_DONE = """(t.depends_on IS NULL OR t.depends_on IN ('', '[]') OR NOT EXISTS (
    SELECT 1 FROM json_each(CASE WHEN json_valid(t.depends_on) THEN t.depends_on
        ELSE '["' || replace(replace(t.depends_on, ' ', ''), ',', '","') || '"]' END) d
    LEFT JOIN tasks dep ON dep.task_id = d.value
    WHERE dep.status IS NOT 'completed'))"""
_CLEAR_LEASE = "pid = NULL, lease_id = NULL, lease_owner = NULL, lease_expires_at = NULL"


def _insert_rows(conn: sqlite3.Connection, rows: list[tuple[Any, ...]]) -> None:
    """Insert task rows naming only their non-NULL columns (binding dozens of NULLs costs more than
    the insert itself); rows with the same columns go in one ``executemany``."""
    groups: dict[tuple[int, ...], list[tuple[Any, ...]]] = {}
    for row in rows:
        present = tuple(i for i, value in enumerate(row) if value is not None or i in _ALWAYS_AT)
        groups.setdefault(present, []).append(tuple(row[i] for i in present))
    for present, values in groups.items():
        if len(values) == 1:
            conn.execute(_insert_sql(present), values[0])
        else:
            conn.executemany(_insert_sql(present), values)


@functools.lru_cache(maxsize=256)
def _insert_sql(present: tuple[int, ...]) -> str:
    names = ", ".join(TASK_COLUMNS[i] for i in present)
    return f"INSERT INTO tasks ({names}) VALUES ({', '.join('?' * len(present))})"


def _where(filters: Filters, alias: str = "") -> tuple[str, list[Any]]:
    """SQL conditions for validated filters: column names come from the task columns, values are bound."""
    parts, params = [], []
    for column, value in filters:
        name = f"{alias}{column}"
        if isinstance(value, list):
            parts.append(f"({name} IN ({', '.join('?' * len(value))}){f' OR {name} IS NULL' if None in value else ''})")
            params.extend(value)
        elif value is None:
            parts.append(f"{name} IS NULL")
        else:
            parts.append(f"{name} = ?")
            params.append(value)
    return " AND ".join(parts), params


class _DuplicateId(Exception):
    def __init__(self, task_id: str) -> None:
        super().__init__(task_id)
        self.task_id = task_id


class SQLiteTaskQueue(TaskQueue):
    """A durable ``TaskQueue`` in an SQLite file (created and migrated on first use).

    Opens a supervisor database as it is: Jotty only adds columns and ``jotty_`` tables.
    """

    def __init__(self, db_path: str | os.PathLike[str], **options: Any) -> None:
        super().__init__(**options)
        self.db_path = Path(db_path)
        self._db = QueueConnections(self.db_path)
        self._run = self._db.run
        self._quick = self._db.quick
        self._wake = WakeChannel(self.db_path)
        self._closed = False

    def __repr__(self) -> str:
        return f"SQLiteTaskQueue({str(self.db_path)!r})"

    @property
    def _conn(self) -> sqlite3.Connection:
        """This thread's connection (see ``QueueConnections``)."""
        return self._db.current

    def _tx(self) -> Any:
        return write_transaction(self._conn)

    # ------------------------------------------------------------------ shared SQL steps

    def _log(self, entries: list[tuple[str, str | None, str, str | None, str | None]], at: str | None = None) -> None:
        at = at or utc_stamp()
        if len(entries) == 1:
            self._conn.execute(_HISTORY, (*entries[0], at))
        else:
            self._conn.executemany(_HISTORY, [(*e, at) for e in entries])

    def _set_status(self, task_id: str, before: str, after: TaskStatus, actor: str | None,
                    reason: str | None, parent_id: str | None) -> None:  # fmt: skip
        """The follow-ups of a status change inside the current transaction."""
        self._log([(task_id, before, str(after), actor, reason)])
        if after in (TaskStatus.FAILED, TaskStatus.CANCELLED):
            self._block_dependents(task_id, actor)
        if parent_id is not None:
            self._roll_up(parent_id)

    def _block_dependents(self, task_id: str, actor: str | None) -> None:
        frontier = deque([task_id])  # breadth first, each level in queue order (as MemoryTaskQueue)
        while frontier:
            current = frontier.popleft()
            rows = self._conn.execute(
                "SELECT task_id, status, depends_on, parent_id FROM tasks "
                f"WHERE status IN ('pending', 'backlog') AND depends_on LIKE ? {_ORDER}",
                (f"%{current}%",),
            ).fetchall()
            for row in rows:
                if current not in parse_list(row["depends_on"]):
                    continue
                self._conn.execute("UPDATE tasks SET status = 'blocked' WHERE task_id = ?", (row["task_id"],))
                self._log([(row["task_id"], row["status"], "blocked", actor,
                            f"dependency {current} did not complete")])  # fmt: skip
                if row["parent_id"] is not None:
                    self._roll_up(row["parent_id"])
                frontier.append(row["task_id"])

    def _roll_up(self, parent_id: str) -> None:
        self._conn.execute(
            "UPDATE tasks SET progress_percent = (SELECT 100 * SUM(c.status = 'completed') / COUNT(*) "
            "FROM tasks c WHERE c.parent_id = ?1) WHERE task_id = ?1 AND EXISTS "
            "(SELECT 1 FROM tasks c WHERE c.parent_id = ?1)",
            (parent_id,),
        )

    def _give_up(self, row: sqlite3.Row, now: float, error: str, actor: str | None, reason: str,
                 retry: bool) -> None:  # fmt: skip
        """An attempt ended without success: retry after a backoff, or fail for good."""
        plan = plan_failure(row["retry_count"] or 0, row["max_retries"] or 0, now, self.retry_policy, retry=retry)
        completed = utc_stamp() if plan.status == TaskStatus.FAILED else None
        self._conn.execute(
            f"UPDATE tasks SET status = ?, {_CLEAR_LEASE}, error_message = ?, retry_count = ?, "
            "run_after = ?, completed_at = COALESCE(?, completed_at) WHERE task_id = ?",
            (str(plan.status), error, plan.retry_count, plan.run_after, completed, row["task_id"]),
        )
        self._set_status(row["task_id"], row["status"], plan.status, actor, reason, row["parent_id"])

    def _held(self, task_id: str, lease_id: str | None) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self._conn.execute(
            "SELECT * FROM tasks WHERE task_id = ? AND status = 'in_progress' AND lease_id = ?",
            (task_id, lease_id),
        ).fetchone()
        return row

    # ------------------------------------------------------------------ creating

    def _take_numbers(self, day: datetime, count: int) -> int:
        """Reserve ``count`` id numbers of ``day`` (one statement when the day has a counter) and
        return the last number before them."""
        key = day_key(day)
        row = self._conn.execute(
            "UPDATE jotty_id_counters SET last = last + ? WHERE day = ? RETURNING last", (count, key)
        ).fetchone()
        if row is not None:
            return int(row[0]) - count
        prefix = task_id_prefix(day)
        found = self._conn.execute(
            "SELECT MAX(CAST(substr(task_id, ?) AS INTEGER)) FROM tasks WHERE task_id >= ? AND task_id < ?",
            (len(prefix) + 1, prefix, prefix[:-1] + "."),
        ).fetchone()[0]
        last = int(found or 0)
        self._conn.execute("INSERT INTO jotty_id_counters (day, last) VALUES (?, ?)", (key, last + count))
        return last

    def _insert_sync(self, tasks: list[Task], actor: str) -> list[str]:
        with self._tx():
            now = utcnow()
            wanted = sum(1 for t in tasks if not t.task_id)
            number = self._take_numbers(now, wanted) if wanted else 0
            ids = []
            for t in tasks:
                if not t.task_id:
                    number += 1
                ids.append(t.task_id or task_id_for(now, number))
            rows = [(task_id, *t.to_values()[1:]) for t, task_id in zip(tasks, ids, strict=True)]
            try:
                _insert_rows(self._conn, rows)
            except sqlite3.IntegrityError:
                raise self._duplicate(ids) from None
            self._log([(i, None, str(t.status), actor, "created") for t, i in zip(tasks, ids, strict=True)])
            for parent in {t.parent_id for t in tasks if t.parent_id is not None}:
                self._roll_up(parent)
        for t, task_id in zip(tasks, ids, strict=True):
            t.task_id = task_id
        return ids

    def _duplicate(self, ids: list[str]) -> Exception:
        marks = ", ".join("?" * len(ids))
        taken = [r[0] for r in self._conn.execute(f"SELECT task_id FROM tasks WHERE task_id IN ({marks})", ids)]
        return _DuplicateId(taken[0] if taken else "?")

    async def _insert(self, tasks: list[Task], actor: str) -> list[str]:
        try:
            return await (self._quick if len(tasks) == 1 else self._run)(self._insert_sync, tasks, actor)
        except _DuplicateId as exc:
            if any(t.task_id == exc.task_id for t in tasks):
                raise ValidationError(f"task id {exc.task_id} already exists: choose another id or omit it") from None
        # A generated id collided with one another program wrote: recount from the table once.
        await self._run(self._reset_counters)
        try:
            return await self._run(self._insert_sync, tasks, actor)
        except _DuplicateId as exc:
            raise ValidationError(f"task id {exc.task_id} already exists: choose another id or omit it") from None

    def _reset_counters(self) -> None:
        with self._tx():
            self._conn.execute("DELETE FROM jotty_id_counters")

    # ------------------------------------------------------------------ reading

    def _fetch_sync(self, task_id: str) -> Task | None:
        row = self._conn.execute(f"SELECT {SELECT_COLUMNS} FROM tasks WHERE task_id = ?", (task_id,)).fetchone()
        return Task.from_values(row) if row is not None else None

    async def _fetch(self, task_id: str) -> Task | None:
        return await self._quick(self._fetch_sync, task_id)

    def _select_sync(self, filters: Filters, limit: int | None) -> list[Task]:
        where, params = _where(filters)
        sql = f"SELECT {SELECT_COLUMNS} FROM tasks {'WHERE ' + where if where else ''} {_ORDER}"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [Task.from_values(r) for r in self._conn.execute(sql, params)]

    async def _select(self, filters: Filters, limit: int | None) -> list[Task]:
        return await self._run(self._select_sync, filters, limit)

    def _count_sync(self, filters: Filters) -> int:
        where, params = _where(filters)
        return int(self._conn.execute(f"SELECT COUNT(*) FROM tasks {'WHERE ' + where if where else ''}",
                                      params).fetchone()[0])  # fmt: skip

    async def _count(self, filters: Filters) -> int:
        return await self._run(self._count_sync, filters)

    def _count_by_status_sync(self) -> dict[str, int]:
        return {r[0]: r[1] for r in self._conn.execute("SELECT status, COUNT(*) FROM tasks GROUP BY status")}

    async def _count_by_status(self) -> dict[str, int]:
        return await self._run(self._count_by_status_sync)

    def _dependency_map_sync(self, task_ids: set[str]) -> dict[str, list[str]]:
        ids = sorted(task_ids)
        out: dict[str, list[str]] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            rows = self._conn.execute(
                f"SELECT task_id, depends_on FROM tasks WHERE task_id IN ({', '.join('?' * len(chunk))})",
                chunk,
            )
            out.update({r[0]: parse_list(r[1]) for r in rows})
        return out

    async def _dependency_map(self, task_ids: set[str]) -> dict[str, list[str]]:
        return await self._run(self._dependency_map_sync, task_ids) if task_ids else {}

    # ------------------------------------------------------------------ claiming and finishing

    def _claim_sync(self, n: int, filters: Filters, worker: str, lease: float, pid: int) -> list[sqlite3.Row]:
        where, params = _where(filters, "t.")
        now = time.time()
        stamp = utc_stamp()
        with self._tx():
            rows = self._conn.execute(
                f"""UPDATE tasks SET status = 'in_progress', lease_id = lower(hex(randomblob(16))),
                        lease_owner = ?, lease_expires_at = ?, pid = ?, host = ?, started_at = ?,
                        last_heartbeat = ?, run_after = NULL
                    WHERE task_id IN (
                        SELECT t.task_id FROM tasks t INDEXED BY idx_jotty_tasks_claim
                        WHERE t.status = 'pending' AND (t.run_after IS NULL OR t.run_after <= ?)
                          {"AND " + where if where else ""} AND {_DEPS_DONE}
                        ORDER BY t.priority, t.created_at, t.task_id LIMIT ?)
                    RETURNING {SELECT_COLUMNS}""",
                [worker, now + lease, pid, HOSTNAME, stamp, stamp, now, *params, n],
            ).fetchall()
            if rows:
                self._log([(r["task_id"], "pending", "in_progress", worker, "claimed") for r in rows], stamp)
                for parent in {r["parent_id"] for r in rows if r["parent_id"] is not None}:
                    self._roll_up(parent)
        return rows

    async def _claim(self, n: int, filters: Filters, worker: str, lease: float, pid: int) -> list[Task]:
        rows = await (self._quick if n == 1 else self._run)(
            self._claim_sync, n, filters, worker, lease, pid, orphaned=self._hand_back_sync
        )
        # Rows become Tasks here, on the event loop, while the database thread serves the next call.
        tasks = [Task.from_values(r) for r in rows]
        tasks.sort(key=lambda t: (t.priority, time_key(t.created_at), t.task_id))
        return tasks

    def _hand_back_sync(self, rows: list[sqlite3.Row]) -> None:
        """Release the tasks of a claim whose caller was cancelled while it ran (on the database thread)."""
        for row in rows:
            self._release_sync(row["task_id"], row["lease_id"], "the claim's caller was cancelled")

    def _heartbeat_sync(self, task_id: str, lease_id: str | None, lease: float, progress: int | None) -> bool:
        fence = "AND lease_id = ?" if lease_id is not None else ""
        params: list[Any] = [utc_stamp(), time.time() + lease, progress, task_id]
        if lease_id is not None:
            params.append(lease_id)
        with self._tx():
            cur = self._conn.execute(
                "UPDATE tasks SET last_heartbeat = ?, "
                "lease_expires_at = CASE WHEN lease_id IS NULL THEN NULL ELSE ? END, "
                f"progress_percent = COALESCE(?, progress_percent) "
                f"WHERE task_id = ? AND status = 'in_progress' {fence}",
                params,
            )
        return cur.rowcount > 0

    async def _heartbeat(self, task_id: str, lease_id: str | None, lease: float, progress: int | None) -> bool:
        return await self._quick(self._heartbeat_sync, task_id, lease_id, lease, progress)

    def _complete_sync(self, items: list[tuple[str, str, Any]]) -> list[bool]:
        stamp = utc_stamp()
        done: set[str] = set()
        with self._tx():
            for start in range(0, len(items), 300):  # one statement per 300 tasks (900 bound values)
                chunk = items[start : start + 300]
                values = [v for t, lease, r in chunk for v in (t, lease, json.dumps(r) if r is not None else None)]
                rows = self._conn.execute(
                    f"UPDATE tasks SET status = 'completed', {_CLEAR_LEASE}, completed_at = ?, "
                    "progress_percent = 100, error_message = NULL, result = done.column3, "
                    "actual_hours = (julianday(?) - julianday(tasks.started_at)) * 24 "
                    f"FROM (VALUES {', '.join(['(?, ?, ?)'] * len(chunk))}) AS done "
                    "WHERE tasks.task_id = done.column1 AND tasks.lease_id = done.column2 "
                    "AND tasks.status = 'in_progress' RETURNING tasks.task_id, tasks.parent_id",
                    [stamp, stamp, *values],
                ).fetchall()
                if rows:
                    self._log([(r[0], "in_progress", "completed", self.worker_id, "completed") for r in rows], stamp)
                    for parent in {r[1] for r in rows if r[1] is not None}:
                        self._roll_up(parent)
                done.update(r[0] for r in rows)
        return [task_id in done for task_id, _, _ in items]

    async def _complete(self, items: list[tuple[str, str, Any]]) -> list[bool]:
        return await (self._quick if len(items) == 1 else self._run)(self._complete_sync, items)

    def _fail_sync(self, task_id: str, lease_id: str, error: str, retry: bool) -> bool:
        with self._tx():
            row = self._held(task_id, lease_id)
            if row is None:
                return False
            self._give_up(row, time.time(), error, row["lease_owner"], f"failed: {error}", retry)
        return True

    async def _fail(self, task_id: str, lease_id: str, error: str, retry: bool) -> bool:
        ok = await self._quick(self._fail_sync, task_id, lease_id, error, retry)
        if ok:
            self._notify()
        return ok

    def _release_sync(self, task_id: str, lease_id: str, reason: str) -> bool:
        with self._tx():
            row = self._held(task_id, lease_id)
            if row is None:
                return False
            self._conn.execute(
                f"UPDATE tasks SET status = 'pending', {_CLEAR_LEASE}, run_after = NULL WHERE task_id = ?",
                (task_id,),
            )
            self._set_status(task_id, "in_progress", TaskStatus.PENDING, row["lease_owner"], reason, row["parent_id"])
        return True

    async def _release(self, task_id: str, lease_id: str, reason: str) -> bool:
        ok = await self._quick(self._release_sync, task_id, lease_id, reason)
        if ok:
            self._notify()
        return ok

    def _reap_sync(self, now: float) -> int:
        with self._tx():
            rows = self._conn.execute(
                "SELECT * FROM tasks WHERE status = 'in_progress' AND lease_expires_at < ?", (now,)
            ).fetchall()
            for row in rows:
                reason = f"lease expired (held by {row['lease_owner']})"
                self._give_up(row, now, reason, self.worker_id, reason, True)
        return len(rows)

    async def _reap(self, now: float) -> int:
        count = await self._run(self._reap_sync, now)
        if count:
            self._notify()
        return count

    def _recover_sync(self, task_ids: list[str], reason: str) -> int:
        count = 0
        with self._tx():
            now = time.time()
            for task_id in task_ids:
                row = self._conn.execute(
                    "SELECT * FROM tasks WHERE task_id = ? AND status = 'in_progress'", (task_id,)
                ).fetchone()
                if row is not None:
                    self._give_up(row, now, reason, self.worker_id, reason, True)
                    count += 1
        return count

    async def _recover(self, task_ids: list[str], reason: str) -> int:
        count = await self._run(self._recover_sync, task_ids, reason)
        if count:
            self._notify()
        return count

    # ------------------------------------------------------------------ unfenced updates

    def _transition_sync(self, task_id: str, status: TaskStatus, updates: dict[str, Any], reason: str | None) -> bool:
        stamp = utc_stamp()
        values = stored_updates(updates)
        values["status"] = str(status)
        given_start = values.pop("started_at", _UNSET) if status == TaskStatus.IN_PROGRESS else _UNSET
        sets = [f"{k} = ?" for k in values]
        params = list(values.values())
        if status == TaskStatus.IN_PROGRESS:  # started now, unless it was running already (the old row)
            running = "started_at" if given_start is _UNSET else "?"
            sets.append(f"started_at = CASE WHEN status = 'in_progress' THEN {running} ELSE ? END")
            params += [stamp] if given_start is _UNSET else [given_start, stamp]
        with self._tx():
            # The history row first: it reads the status before the change (nothing when unchanged).
            logged = self._conn.execute(
                f"{_HISTORY_FROM_ROW} WHERE task_id = ? AND status IS NOT ?",
                (str(status), self.worker_id, reason, stamp, task_id, str(status)),
            ).rowcount
            row = self._conn.execute(
                f"UPDATE tasks SET {', '.join(sets)} WHERE task_id = ? RETURNING parent_id", [*params, task_id]
            ).fetchone()
            if row is None:
                return False
            if logged and status in (TaskStatus.FAILED, TaskStatus.CANCELLED):
                self._block_dependents(task_id, self.worker_id)
            if row[0] is not None:
                self._roll_up(row[0])
        return True

    async def _transition(self, task_id: str, status: TaskStatus, updates: dict[str, Any], reason: str | None) -> bool:
        ok = await self._quick(self._transition_sync, task_id, status, updates, reason)
        if ok and status == TaskStatus.PENDING:
            self._notify()
        return ok

    def _update_sync(self, task_id: str, updates: dict[str, Any]) -> bool:
        values = stored_updates(updates)
        sets = ", ".join(f"{k} = ?" for k in values)
        with self._tx():
            cur = self._conn.execute(f"UPDATE tasks SET {sets} WHERE task_id = ?", [*values.values(), task_id])
        return cur.rowcount > 0

    async def _update(self, task_id: str, updates: dict[str, Any]) -> bool:
        return await self._quick(self._update_sync, task_id, updates)

    def _delete_sync(self, task_id: str) -> bool:
        with self._tx():
            row = self._conn.execute("DELETE FROM tasks WHERE task_id = ? RETURNING parent_id", (task_id,)).fetchone()
            if row is None:
                return False
            self._conn.execute("DELETE FROM jotty_task_history WHERE task_id = ?", (task_id,))
            if row[0] is not None:
                self._roll_up(row[0])
        return True

    async def _delete(self, task_id: str) -> bool:
        return await self._run(self._delete_sync, task_id)

    def _history_sync(self, task_id: str) -> list[HistoryEntry]:
        rows = self._conn.execute(
            "SELECT task_id, from_status, to_status, actor, reason, at FROM jotty_task_history "
            "WHERE task_id = ? ORDER BY id",
            (task_id,),
        )
        return [HistoryEntry(r[0], r[1], r[2], r[3], r[4], parse_time(r[5]) or utcnow()) for r in rows]

    async def _history(self, task_id: str) -> list[HistoryEntry]:
        return await self._quick(self._history_sync, task_id)

    # ------------------------------------------------------------------ templates and import

    def _upsert_template(self, name: str, fields_: dict[str, Any]) -> None:
        self._conn.execute(
            "INSERT INTO jotty_task_templates (name, fields, created_at) VALUES (?, ?, ?) "
            "ON CONFLICT(name) DO UPDATE SET fields = excluded.fields",
            (name, json.dumps(fields_), utc_stamp()),
        )

    def _save_template_sync(self, name: str, fields_: dict[str, Any]) -> None:
        with self._tx():
            self._upsert_template(name, fields_)

    async def _save_template(self, name: str, fields_: dict[str, Any]) -> None:
        await self._run(self._save_template_sync, name, fields_)

    async def _load_template(self, name: str) -> dict[str, Any] | None:
        row = await self._run(
            lambda: self._conn.execute("SELECT fields FROM jotty_task_templates WHERE name = ?", (name,)).fetchone()
        )
        return json.loads(row[0]) if row is not None else None

    async def _all_templates(self) -> dict[str, dict[str, Any]]:
        rows = await self._run(
            lambda: self._conn.execute("SELECT name, fields FROM jotty_task_templates ORDER BY name").fetchall()
        )
        return {r[0]: json.loads(r[1]) for r in rows}

    def _import_sync(
        self, tasks: list[Task], history: list[HistoryEntry], templates: dict[str, Any], replace: bool
    ) -> None:
        with self._tx():
            ids = [t.task_id for t in tasks]
            clash = [i for i in ids if self._conn.execute("SELECT 1 FROM tasks WHERE task_id = ?", (i,)).fetchone()]
            if clash and not replace:
                raise ValidationError(
                    f"{len(clash)} imported task id(s) already exist (e.g. {clash[0]}): import into an "
                    "empty queue, or pass replace=True to overwrite them"
                )
            for i in clash:
                self._conn.execute("DELETE FROM tasks WHERE task_id = ?", (i,))
            self._conn.executemany("DELETE FROM jotty_task_history WHERE task_id = ?", [(i,) for i in ids])
            _insert_rows(self._conn, [t.to_values() for t in tasks])
            self._conn.executemany(
                _HISTORY,
                [(h.task_id, h.from_status, h.to_status, h.actor, h.reason, format_time(h.at)) for h in history],
            )
            for name, fields_ in templates.items():
                self._upsert_template(name, fields_)

    async def _import(
        self, tasks: list[Task], history: list[HistoryEntry], templates: dict[str, Any], replace: bool
    ) -> None:
        await self._run(self._import_sync, tasks, history, templates, replace)

    # ------------------------------------------------------------------ waking and closing

    def _notify(self) -> None:
        self._wake.post()

    async def wait_for_work(self, timeout: float) -> bool:
        return await self._wake.wait(timeout)

    def _next_due_sync(self) -> float | None:
        row = self._conn.execute(
            "SELECT MIN(x) FROM ("
            "SELECT MIN(run_after) AS x FROM tasks WHERE status = 'pending' AND run_after IS NOT NULL "
            "UNION ALL SELECT MIN(lease_expires_at) FROM tasks WHERE status = 'in_progress')"
        ).fetchone()
        return float(row[0]) if row[0] is not None else None

    async def next_due(self) -> float | None:
        return await self._run(self._next_due_sync)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._wake.close()
        self._db.close()
