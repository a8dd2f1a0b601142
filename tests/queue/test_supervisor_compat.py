"""A database created with the supervisor's original schema and rows: Jotty works on it, and the
supervisor's own plain SQL still reads it afterwards.

``SupervisorStateManager`` below is a re-implementation of the supervisor's own class as its users
have it (plain ``sqlite3``, a connection per call, its SQL). The DDL is written out here on
purpose, not read from Jotty's migration, so a change to Jotty's copy cannot hide a difference.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

from jotty.queue import SQLiteTaskQueue, StateManager, Task, TaskStatus

SUPERVISOR_DDL = """
CREATE TABLE IF NOT EXISTS tasks (
    task_id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    description TEXT,
    category TEXT NOT NULL DEFAULT '',
    priority INTEGER NOT NULL DEFAULT 3,
    tags TEXT,
    status TEXT NOT NULL CHECK(status IN ('suggested', 'backlog', 'pending', 'in_progress', 'completed',
        'failed', 'blocked', 'cancelled')) DEFAULT 'backlog',
    progress_percent INTEGER DEFAULT 0,
    pid INTEGER,
    worktree_path TEXT,
    git_branch TEXT,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    started_at TIMESTAMP,
    completed_at TIMESTAMP,
    last_heartbeat TIMESTAMP,
    estimated_hours REAL,
    actual_hours REAL,
    error_message TEXT,
    retry_count INTEGER DEFAULT 0,
    max_retries INTEGER DEFAULT 3,
    depends_on TEXT,
    blocks TEXT,
    created_by TEXT DEFAULT 'system',
    assigned_to TEXT,
    agent_type TEXT DEFAULT 'claude',
    log_file TEXT,
    context_files TEXT,
    task_content TEXT,
    filename TEXT,
    reference_apps TEXT,
    estimated_effort TEXT
);
CREATE INDEX IF NOT EXISTS idx_tasks_status ON tasks(status);
CREATE INDEX IF NOT EXISTS idx_tasks_priority ON tasks(priority);
CREATE INDEX IF NOT EXISTS idx_tasks_category ON tasks(category);
CREATE INDEX IF NOT EXISTS idx_tasks_pid ON tasks(pid);
CREATE INDEX IF NOT EXISTS idx_tasks_created_at ON tasks(created_at);
"""

SUPERVISOR_COLUMNS = [
    "task_id", "title", "description", "category", "priority", "tags", "status", "progress_percent", "pid",
    "worktree_path", "git_branch", "created_at", "started_at", "completed_at", "last_heartbeat",
    "estimated_hours", "actual_hours", "error_message", "retry_count", "max_retries", "depends_on", "blocks",
    "created_by", "assigned_to", "agent_type", "log_file", "context_files", "task_content", "filename",
    "reference_apps", "estimated_effort",
]  # fmt: skip


class SupervisorStateManager:
    """The supervisor's original synchronous StateManager: plain sqlite3 and its own SQL."""

    def __init__(self, db_path: str | os.PathLike[str]) -> None:
        self.db_path = os.fspath(db_path)
        with self._connect() as conn:
            conn.executescript(SUPERVISOR_DDL)

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.db_path, timeout=30)
        conn.row_factory = sqlite3.Row
        return conn

    def _generate_task_id(self, conn: sqlite3.Connection) -> str:
        prefix = f"TASK-{datetime.now():%Y%m%d}-"
        row = conn.execute(
            "SELECT task_id FROM tasks WHERE task_id LIKE ? ORDER BY task_id DESC LIMIT 1", (prefix + "%",)
        ).fetchone()
        number = int(row["task_id"].rsplit("-", 1)[1]) + 1 if row else 1
        return f"{prefix}{number:05d}"

    def create_task(
        self,
        title: str,
        description: str = "",
        priority: int = 3,
        category: str = "",
        context_files: list[str] | None = None,
        status: str = "backlog",
        agent_type: str | None = None,
        suggested_by: str | None = None,
    ) -> str:
        with self._connect() as conn:
            task_id = self._generate_task_id(conn)
            conn.execute(
                "INSERT INTO tasks (task_id, title, description, priority, category, context_files, status, "
                "agent_type, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (task_id, title, description, priority, category, ",".join(context_files or []) or None,
                 status, agent_type or "claude", "AI" if suggested_by else "user"),
            )  # fmt: skip
        return task_id

    def get_next_pending_task(self, agent_type: str = "claude") -> dict[str, Any] | None:
        with self._connect() as conn:
            row = conn.execute(
                "SELECT * FROM tasks WHERE status = 'pending' AND COALESCE(agent_type, 'claude') = ? "
                "ORDER BY priority ASC, task_id ASC LIMIT 1",
                (agent_type,),
            ).fetchone()
        return dict(row) if row else None

    def update_task_status(
        self,
        task_id: str,
        status: str,
        pid: int | None = None,
        error: str | None = None,
        log_file: str | None = None,
        agent_type: str | None = None,
    ) -> bool:
        with self._connect() as conn:
            if status == "in_progress":
                cur = conn.execute(
                    "UPDATE tasks SET status = ?, pid = ?, started_at = CURRENT_TIMESTAMP, "
                    "last_heartbeat = CURRENT_TIMESTAMP, log_file = COALESCE(?, log_file), "
                    "agent_type = COALESCE(?, agent_type) WHERE task_id = ?",
                    (status, pid, log_file, agent_type, task_id),
                )
            elif status in ("completed", "failed"):
                cur = conn.execute(
                    "UPDATE tasks SET status = ?, completed_at = CURRENT_TIMESTAMP, pid = NULL, "
                    "error_message = COALESCE(?, error_message) WHERE task_id = ?",
                    (status, error, task_id),
                )
            else:
                cur = conn.execute("UPDATE tasks SET status = ? WHERE task_id = ?", (status, task_id))
        return cur.rowcount > 0

    def heartbeat(self, task_id: str) -> bool:
        with self._connect() as conn:
            cur = conn.execute("UPDATE tasks SET last_heartbeat = CURRENT_TIMESTAMP WHERE task_id = ?", (task_id,))
        return cur.rowcount > 0

    def get_running_count_by_agent(self, agent_type: str) -> int:
        with self._connect() as conn:
            row = conn.execute(
                "SELECT COUNT(*) FROM tasks WHERE status = 'in_progress' AND pid IS NOT NULL "
                "AND COALESCE(agent_type, 'claude') = ?",
                (agent_type,),
            ).fetchone()
        return int(row[0])

    def get_stats(self) -> dict[str, Any]:
        with self._connect() as conn:
            counts = dict(conn.execute("SELECT status, COUNT(*) FROM tasks GROUP BY status").fetchall())
            pids = [r[0] for r in conn.execute("SELECT pid FROM tasks WHERE pid IS NOT NULL")]
            by_agent = dict(
                conn.execute(
                    "SELECT COALESCE(agent_type, 'claude'), COUNT(*) FROM tasks "
                    "WHERE status = 'in_progress' GROUP BY COALESCE(agent_type, 'claude')"
                ).fetchall()
            )
        return {
            "pending": counts.get("pending", 0),
            "in_progress": counts.get("in_progress", 0),
            "completed": counts.get("completed", 0),
            "failed": counts.get("failed", 0),
            "active_pids": len(pids),
            "pids": pids,
            "by_agent": by_agent,
        }

    def get_task_by_task_id(self, task_id: str) -> dict[str, Any] | None:
        with self._connect() as conn:
            row = conn.execute("SELECT * FROM tasks WHERE task_id = ?", (task_id,)).fetchone()
        return dict(row) if row else None

    def get_tasks_by_status(self, status: str) -> list[dict[str, Any]]:
        with self._connect() as conn:
            rows = conn.execute("SELECT * FROM tasks WHERE status = ? ORDER BY priority, task_id", (status,))
            return [dict(r) for r in rows]

    def validate_pids(self) -> int:
        dead = []
        with self._connect() as conn:
            for row in conn.execute("SELECT task_id, pid FROM tasks WHERE status = 'in_progress' AND pid IS NOT NULL"):
                try:
                    os.kill(row["pid"], 0)
                except ProcessLookupError:
                    dead.append(row["task_id"])
                except PermissionError:
                    pass
            for task_id in dead:
                conn.execute(
                    "UPDATE tasks SET status = 'failed', pid = NULL, error_message = 'Process died', "
                    "completed_at = CURRENT_TIMESTAMP WHERE task_id = ?",
                    (task_id,),
                )
        return len(dead)

    def export_to_json(self) -> dict[str, Any]:
        with self._connect() as conn:
            rows = [dict(r) for r in conn.execute("SELECT * FROM tasks ORDER BY priority, task_id")]
        by = {s: [r["task_id"] for r in rows if r["status"] == s] for s in ("pending", "in_progress", "completed")}
        return {
            "version": "2.0-sqlite",
            "total_tasks": len(rows),
            "pending_tasks": by["pending"],
            "in_progress_tasks": by["in_progress"],
            "completed_task_files": by["completed"],
            "task_details": {r["task_id"]: r for r in rows},
        }


def supervisor_database(path: Path) -> dict[str, str]:
    """A database made by the supervisor: its DDL, rows inserted its way. Returns ids by name."""
    conn = sqlite3.connect(path)
    conn.executescript(SUPERVISOR_DDL)
    rows = [
        # (task_id, title, priority, status, agent_type, context_files, depends_on)
        ("TASK-20240101-00001", "urgent fix", 1, "pending", "claude", "src/a.py,src/b.py", None),
        ("TASK-20240101-00002", "untyped legacy row", 2, "pending", None, '["docs/x.md"]', None),
        ("TASK-20240101-00003", "cursor job", 1, "pending", "cursor", None, None),
        ("TASK-20240101-00004", "after the fix", 3, "pending", "claude", None, "TASK-20240101-00001"),
        ("TASK-20240101-00005", "shipped", 3, "completed", "claude", None, None),
        ("TASK-20240101-00006", "idea", 4, "backlog", "claude", None, None),
    ]
    for task_id, title, priority, status, agent, files, deps in rows:
        conn.execute(
            "INSERT INTO tasks (task_id, title, description, priority, category, context_files, status, "
            "agent_type, created_by, depends_on) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (task_id, title, f"{title} (desc)", priority, "ops", files, status, agent, "user", deps),
        )
    conn.execute("UPDATE tasks SET completed_at = CURRENT_TIMESTAMP WHERE status = 'completed'")
    conn.commit()
    conn.close()
    return {"fix": rows[0][0], "untyped": rows[1][0], "cursor": rows[2][0], "after": rows[3][0]}


def raw(path: Path, task_id: str) -> dict[str, Any]:
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    row = conn.execute("SELECT * FROM tasks WHERE task_id = ?", (task_id,)).fetchone()
    conn.close()
    assert row is not None, task_id
    return dict(row)


async def test_jotty_works_on_a_supervisor_database_and_the_supervisor_still_reads_it(tmp_path: Path) -> None:
    db = tmp_path / "supervisor-state.db"
    ids = supervisor_database(db)
    before = raw(db, ids["fix"])

    queue = SQLiteTaskQueue(db)
    try:
        # The supervisor's rows read as Tasks: CURRENT_TIMESTAMP times, comma-separated and JSON lists.
        fix = await queue.get_task(ids["fix"])
        assert fix is not None and fix.context_files == ["src/a.py", "src/b.py"] and fix.created_at is not None
        untyped = await queue.get_task(ids["untyped"])
        # A NULL agent_type reads as the supervisor's default, as its Task does (the row keeps NULL).
        assert untyped is not None and untyped.context_files == ["docs/x.md"] and untyped.agent_type == "claude"

        # Claims follow Jotty's order: priority 1 first (created at the same second, then by id).
        first = await queue.claim()
        assert first is not None and first.task_id == ids["fix"] and first.lease_id
        assert await queue.complete(first.task_id, first.lease_id, {"ok": True})
        # The dependent of the completed supervisor task is now claimable; fail it for good.
        claimed = [await queue.claim() for _ in range(3)]
        by_id = {t.task_id: t for t in claimed if t is not None}
        assert set(by_id) == {ids["cursor"], ids["untyped"], ids["after"]}
        after = by_id[ids["after"]]
        assert after.lease_id and await queue.fail(after.task_id, after.lease_id, "boom", retry=False)
        for task_id in (ids["cursor"], ids["untyped"]):
            lease = by_id[task_id].lease_id
            assert lease and await queue.release(task_id, lease)
        jotty_id = await queue.create_task("made by jotty", status="pending", context_files=["j.py"])
    finally:
        await queue.close()

    # Jotty changed only what it had to in the supervisor's row.
    after_fix = raw(db, ids["fix"])
    assert after_fix["status"] == "completed" and after_fix["pid"] is None and after_fix["completed_at"]
    for column in ("title", "description", "category", "priority", "context_files", "created_at", "agent_type"):
        assert after_fix[column] == before[column], column
    assert raw(db, ids["untyped"])["agent_type"] is None

    # The supervisor's own SQL, as it runs it, on the file Jotty used.
    supervisor = SupervisorStateManager(db)
    stats = supervisor.get_stats()
    assert stats["completed"] == 2 and stats["failed"] == 1 and stats["in_progress"] == 0
    assert stats["pending"] == 3 and stats["active_pids"] == 0
    assert supervisor.get_task_by_task_id(ids["after"])["error_message"] == "boom"  # type: ignore[index]
    row = supervisor.get_task_by_task_id(jotty_id)
    assert row is not None and row["status"] == "pending" and row["created_by"] == "user"
    assert json.loads(row["context_files"]) == ["j.py"]

    # Its INSERT (without Jotty's columns) after Jotty's ids of the same day.
    new_id = supervisor.create_task("made by the supervisor", priority=1, status="pending", context_files=["s.py"])
    assert re.fullmatch(r"TASK-\d{8}-\d{5}", new_id) and new_id != jotty_id
    # Its claim SELECT: priority 1 first; the NULL agent type counts as claude.
    nxt = supervisor.get_next_pending_task("claude")
    assert nxt is not None and nxt["task_id"] == new_id
    assert supervisor.get_next_pending_task("cursor")["task_id"] == ids["cursor"]  # type: ignore[index]
    # Its status UPDATEs.
    assert supervisor.update_task_status(new_id, "in_progress", pid=os.getpid(), log_file="/tmp/x.log")
    assert supervisor.get_running_count_by_agent("claude") == 1
    assert supervisor.update_task_status(new_id, "completed")
    assert supervisor.get_task_by_task_id(new_id)["pid"] is None  # type: ignore[index]
    assert supervisor.export_to_json()["total_tasks"] == 8

    # Jotty again: the supervisor's new rows are read; its created task is claimable by Jotty.
    late = supervisor.create_task("late supervisor task", priority=1, status="pending")
    async with SQLiteTaskQueue(db) as queue2:
        done = await queue2.get_task(new_id)
        assert done is not None and done.status == TaskStatus.COMPLETED and done.context_files == ["s.py"]
        got = await queue2.claim({"agent_type": "claude"})
        assert got is not None and got.task_id == late and got.lease_id
        assert await queue2.complete(got.task_id, got.lease_id)
        history = [h.to_status for h in await queue2.get_history(late)]
        assert history == ["in_progress", "completed"]  # a row the supervisor inserted has no "created" entry
        another = await queue2.create_task("jotty after supervisor", status="pending")
        assert another not in {new_id, late, jotty_id}
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()


def test_state_manager_drops_in_for_the_supervisor_on_its_own_database(tmp_path: Path) -> None:
    db = tmp_path / "supervisor-state.db"
    ids = supervisor_database(db)
    supervisor = SupervisorStateManager(db)
    with StateManager(db) as jotty:
        # Same dicts as the supervisor's own class: every supervisor column, raw stored text.
        theirs, ours = supervisor.get_task_by_task_id(ids["fix"]), jotty.get_task_by_task_id(ids["fix"])
        assert theirs is not None and ours is not None
        assert ours == theirs and set(SUPERVISOR_COLUMNS) <= set(ours)
        assert ours["context_files"] == "src/a.py,src/b.py"
        assert jotty.get_tasks_by_status("pending") and supervisor.get_tasks_by_status("pending")
        assert [r["task_id"] for r in jotty.get_tasks_by_status("completed")] == [
            r["task_id"] for r in supervisor.get_tasks_by_status("completed")
        ]

        claimed = jotty.get_next_pending_task("cursor")
        assert claimed is not None and claimed["task_id"] == ids["cursor"] and claimed["status"] == "in_progress"
        assert claimed["lease_id"] and claimed["pid"] == os.getpid()
        # The supervisor sees Jotty's claim and does not hand the task out again.
        assert supervisor.get_next_pending_task("cursor") is None
        assert supervisor.get_running_count_by_agent("cursor") == 1
        assert jotty.update_task_status(ids["cursor"], "completed")
        assert supervisor.get_task_by_task_id(ids["cursor"])["status"] == "completed"  # type: ignore[index]

        made = supervisor.create_task("from supervisor", status="pending", agent_type="opencode")
        got = jotty.get_next_pending_task("opencode")
        assert got is not None and got["task_id"] == made
        assert jotty.get_stats()["in_progress"] == supervisor.get_stats()["in_progress"] == 1
        assert Task.from_row(got).status == TaskStatus.IN_PROGRESS
