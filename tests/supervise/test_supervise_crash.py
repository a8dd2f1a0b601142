"""Crash safety with real processes: kill -9 of the supervisor or of an agent, SIGTERM, and two
supervisors on one store."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jotty.queue import SQLiteTaskQueue
from jotty.supervise import Supervisor, SupervisorConfig
from tests.supervise.conftest import alive, starts, until
from tests.support.git import git


def _sleepers(agents: dict[str, str], marks: Path, concurrency: int = 2) -> dict[str, Any]:
    env = {"MARKS": str(marks), "SLEEP": "{description}"}  # each task says how long its agent sleeps
    return {"sleeper": {"argv": [agents["sleeper"]], "concurrency": concurrency, "env": env}}


async def _recorded(queue: SQLiteTaskQueue, task_id: str) -> bool:
    task = await queue.get_task(task_id)
    return task is not None and "supervise" in task.metadata and task.pid == task.metadata["supervise"]["pid"]


async def _running(queue: SQLiteTaskQueue, marks: Path, *task_ids: str) -> None:
    """Wait until these tasks' agents are recorded and have started."""
    for task_id in task_ids:
        await until(lambda task_id=task_id: _recorded(queue, task_id))
    await until(lambda: len(starts(marks)) == len(task_ids))


async def _crash_while_running(
    process: subprocess.Popen[bytes], queue: SQLiteTaskQueue, marks: Path, *ids: str
) -> None:
    """Once the supervisor ``process`` runs these tasks' agents, kill it with SIGKILL."""
    await _running(queue, marks, *ids)
    process.send_signal(signal.SIGKILL)
    process.wait()


async def test_kill_9_of_the_supervisor_then_restart_adopts_live_agents_and_finishes_ended_ones(
    config: Callable[..., SupervisorConfig],
    queue: SQLiteTaskQueue,
    agents: dict[str, str],
    marks: Path,
    spawn_supervisor: Any,
) -> None:
    long = await queue.create_task("long", description="4", status="pending", agent_type="sleeper")
    short = await queue.create_task("short", description="0.2", status="pending", agent_type="sleeper")
    cfg = config(_sleepers(agents, marks))
    await _crash_while_running(spawn_supervisor(cfg), queue, marks, long, short)
    await until(lambda: (marks / f"ended-{short}").exists())  # finished while no supervisor watched
    running = await queue.get_task(long)
    assert running is not None and running.pid is not None and alive(running.pid)  # survived the kill

    second = spawn_supervisor(cfg, "--burst")
    out, _ = await asyncio.to_thread(second.communicate, timeout=60)
    assert second.returncode == 0, out
    for task_id in (long, short):
        task = await queue.get_task(task_id)
        assert task is not None and task.status == "completed", task
        assert task.result["exit_code"] == 0 and task.retry_count == 0
        statuses = [h.to_status for h in await queue.get_history(task_id)]
        assert statuses.count("in_progress") == 1  # adopted with its lease, never claimed again
    assert sorted(starts(marks)) == sorted([long, short])  # no agent started twice
    assert b"adopted task" in out


async def test_kill_9_of_supervisor_and_agent_then_validate_pids_recovers_the_task(
    config: Callable[..., SupervisorConfig],
    queue: SQLiteTaskQueue,
    agents: dict[str, str],
    marks: Path,
    spawn_supervisor: Any,
) -> None:
    task_id = await queue.create_task("doomed", description="30", status="pending", agent_type="sleeper")
    cfg = config(_sleepers(agents, marks))
    await _crash_while_running(spawn_supervisor(cfg), queue, marks, task_id)
    task = await queue.get_task(task_id)
    assert task is not None and task.pid is not None
    os.killpg(task.pid, signal.SIGKILL)  # the agent and its runner die too: no exit record
    await until(lambda: not alive(task.pid or 0))
    await queue.update_task_metadata(task_id, description="0.1")  # the retry is quick

    second = spawn_supervisor(cfg, "--burst")
    out, _ = await asyncio.to_thread(second.communicate, timeout=60)
    assert second.returncode == 0, out
    done = await queue.get_task(task_id)
    assert done is not None and done.status == "completed" and done.retry_count == 1
    history = await queue.get_history(task_id)
    assert any(h.reason and "validate_pids" in h.reason for h in history)
    assert starts(marks) == [task_id, task_id], (out, done.result)


async def test_kill_9_of_an_agent_fails_the_attempt_and_the_retry_runs(
    config: Callable[..., SupervisorConfig], queue: SQLiteTaskQueue, agents: dict[str, str], marks: Path
) -> None:
    task_id = await queue.create_task("victim", description="1", status="pending", agent_type="sleeper")
    supervisor = Supervisor(config(_sleepers(agents, marks)), queue)
    run = asyncio.create_task(supervisor.run(burst=True))
    await until(lambda: len(starts(marks)) == 1)
    agent_pid = int((marks / "starts").read_text().split()[1])
    os.kill(agent_pid, signal.SIGKILL)
    stats = await asyncio.wait_for(run, 60)
    assert stats.failed == 1 and stats.completed == 1
    task = await queue.get_task(task_id)
    assert task is not None and task.status == "completed" and task.retry_count == 1
    assert "exit code 137" in str(task.metadata["supervise_result"]["verdict"])
    assert starts(marks) == [task_id, task_id]


async def test_sigterm_stops_agents_after_the_grace_period_and_requeues_their_tasks(
    config: Callable[..., SupervisorConfig],
    queue: SQLiteTaskQueue,
    agents: dict[str, str],
    marks: Path,
    spawn_supervisor: Any,
) -> None:
    slow = await queue.create_task("slow", description="60", status="pending", agent_type="sleeper")
    quick = await queue.create_task("quick", description="0.5", status="pending", agent_type="sleeper")
    process = spawn_supervisor(config(_sleepers(agents, marks), grace_period=2))
    await _running(queue, marks, slow, quick)
    task = await queue.get_task(slow)
    assert task is not None and task.pid is not None
    pid, worktree = task.pid, Path(task.worktree_path or "")
    process.send_signal(signal.SIGTERM)
    out, _ = await asyncio.to_thread(process.communicate, timeout=30)
    assert process.returncode == 0, out
    assert b"no new agents" in out
    back = await queue.get_task(slow)
    assert back is not None and back.status == "pending" and back.retry_count == 0
    assert not alive(pid) and not worktree.exists()
    finished = await queue.get_task(quick)
    assert finished is not None and finished.status == "completed"  # finished within the grace period


async def test_two_supervisor_processes_on_one_store_never_start_a_task_twice(
    config: Callable[..., SupervisorConfig],
    queue: SQLiteTaskQueue,
    agents: dict[str, str],
    marks: Path,
    spawn_supervisor: Any,
) -> None:
    cfg = config(_sleepers(agents, marks, concurrency=3))
    processes = [spawn_supervisor(cfg), spawn_supervisor(cfg)]
    ids = [
        await queue.create_task(f"t{i}", description="0.1", status="pending", agent_type="sleeper") for i in range(12)
    ]

    async def all_done() -> bool:
        return bool((await queue.get_stats())["completed"] == 12)

    await until(all_done, timeout=90)
    for process in processes:
        process.send_signal(signal.SIGTERM)
    outs = [await asyncio.to_thread(p.communicate, timeout=30) for p in processes]
    assert sorted(starts(marks)) == sorted(ids)  # each exactly once
    owners = {h.actor for t in ids for h in await queue.get_history(t) if h.to_status == "in_progress"}
    assert len(owners) == 2, outs  # both supervisors took part
    assert all(p.returncode == 0 for p in processes)
    assert len(git(cfg.repo, "worktree", "list").splitlines()) == 1  # every worktree was removed


async def test_an_agent_whose_lease_was_reaped_is_stopped_before_its_task_runs_again(
    config: Callable[..., SupervisorConfig],
    queue: SQLiteTaskQueue,
    agents: dict[str, str],
    marks: Path,
    spawn_supervisor: Any,
) -> None:
    task_id = await queue.create_task("orphan", description="60", status="pending", agent_type="sleeper")
    cfg = config(_sleepers(agents, marks), lease_seconds=0.5)
    await _crash_while_running(spawn_supervisor(cfg), queue, marks, task_id)
    task = await queue.get_task(task_id)
    assert task is not None and task.pid is not None
    orphan = task.pid

    async def reaped() -> bool:  # another worker takes the expired lease back while no supervisor runs
        return await queue.reap_expired() == 1

    await until(reaped)
    assert alive(orphan)
    await queue.update_task_metadata(task_id, description="0.1")
    second = spawn_supervisor(cfg, "--burst")
    out, _ = await asyncio.to_thread(second.communicate, timeout=60)
    assert second.returncode == 0, out
    assert not alive(orphan)  # stopped before the new attempt started
    assert b"stopping the earlier attempt's agent" in out
    done = await queue.get_task(task_id)
    assert done is not None and done.status == "completed" and done.retry_count == 1


async def test_a_restart_after_the_lease_ran_out_still_adopts_the_live_agent(
    config: Callable[..., SupervisorConfig],
    queue: SQLiteTaskQueue,
    agents: dict[str, str],
    marks: Path,
    spawn_supervisor: Any,
) -> None:
    task_id = await queue.create_task("slow", description="3", status="pending", agent_type="sleeper")
    cfg = config(_sleepers(agents, marks), lease_seconds=0.5)
    await _crash_while_running(spawn_supervisor(cfg), queue, marks, task_id)

    async def expired() -> bool:
        task = await queue.get_task(task_id)
        return task is not None and (task.lease_expires_at or 0) < time.time()

    await until(expired)  # no one reaped it yet: the restarted supervisor must not reap it either
    second = spawn_supervisor(cfg, "--burst")
    out, _ = await asyncio.to_thread(second.communicate, timeout=60)
    assert second.returncode == 0, out
    done = await queue.get_task(task_id)
    assert done is not None and done.status == "completed" and done.retry_count == 0, out
    assert starts(marks) == [task_id]
