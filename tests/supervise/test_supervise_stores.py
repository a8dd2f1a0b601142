"""The supervisor on the supervisor's own database (the StateManager drop-in) and on PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from jotty.queue import StateManager
from jotty.queue.postgres import PostgresTaskQueue
from jotty.supervise import Supervisor, SupervisorConfig
from tests.queue.server_backends import PG_URL, pg_schema
from tests.queue.test_supervisor_compat import raw, supervisor_database
from tests.supervise.conftest import starts


async def test_supervise_a_database_the_supervisor_made(
    config: Callable[..., SupervisorConfig], agents: dict[str, str], tmp_path: Path
) -> None:
    db = tmp_path / "supervisor-state.db"
    ids = supervisor_database(db)
    coder = {"argv": [agents["coder"], "{title}"], "concurrency": 2}
    cfg = config({"claude": coder, "cursor": coder})
    async with Supervisor(cfg, str(db)) as supervisor:
        stats = await supervisor.run(burst=True)
    assert stats.completed == 4  # the fix, the untyped legacy row (claude), cursor, and the dependent task
    row = raw(db, ids["fix"])  # the supervisor's own SQL reads what was recorded
    assert row["status"] == "completed" and row["pid"] is None
    assert row["git_branch"] == f"jotty/{ids['fix']}" and row["log_file"].endswith(".log")
    assert row["worktree_path"] and not Path(row["worktree_path"]).exists()
    with StateManager(db) as manager:  # and the StateManager drop-in sees the same
        task = manager.get_task_by_task_id(ids["after"])
        assert task is not None and task["status"] == "completed"
        assert manager.get_stats()["completed"] == 5
    assert (tmp_path / "logs" / "supervise").is_dir()


async def test_supervise_on_postgresql(config: Callable[..., SupervisorConfig], tmp_path: Path) -> None:
    queue = await PostgresTaskQueue(PG_URL, schema=pg_schema(tmp_path), lease_seconds=5, retry_backoff=0.05).open()
    try:
        typed = await queue.create_task("typed", status="pending", agent_type="coder", category="pg")
        routed = await queue.create_task("routed", status="pending", agent_type="auto", category="pg")
        async with Supervisor(config(), queue) as supervisor:
            stats = await supervisor.run(burst=True)
        assert stats.completed == 2
        for task_id in (typed, routed):
            task = await queue.get_task(task_id)
            assert task is not None and task.status == "completed" and task.git_branch == f"jotty/{task_id}"
        task = await queue.get_task(routed)
        assert task is not None and task.metadata["routing"]["agent_type"] in ("coder", "sleeper")
    finally:
        await queue.close()


async def test_two_supervisors_share_one_postgresql_queue(
    config: Callable[..., SupervisorConfig], agents: dict[str, str], marks: Path, tmp_path: Path
) -> None:
    schema = pg_schema(tmp_path)
    queues = [
        await PostgresTaskQueue(PG_URL, schema=schema, lease_seconds=5, worker_id=f"host-{name}:1").open()
        for name in ("a", "b")
    ]
    try:
        env = {"MARKS": str(marks), "SLEEP": "0.3"}
        cfg = config({"sleeper": {"argv": [agents["sleeper"]], "concurrency": 2, "env": env}})
        ids = [await queues[0].create_task(f"t{i}", status="pending", agent_type="sleeper") for i in range(8)]
        supervisors = [Supervisor(cfg, q) for q in queues]
        await asyncio.gather(*(s.run(burst=True) for s in supervisors))
        assert sorted(starts(marks)) == sorted(ids)  # each task started once
        owners = {h.actor for t in ids for h in await queues[0].get_history(t) if h.to_status == "in_progress"}
        assert owners == {"host-a:1", "host-b:1"}
        assert (await queues[0].get_stats())["completed"] == 8
    finally:
        for q in queues:
            await q.close()
