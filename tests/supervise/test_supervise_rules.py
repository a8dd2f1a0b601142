"""Limits, dependencies, retries, success checks, timeouts and huge output."""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from jotty.queue import SQLiteTaskQueue
from jotty.supervise import Supervisor, SupervisorConfig
from tests.supervise.conftest import alive, max_overlap, starts
from tests.support.git import git


async def test_per_type_concurrency_holds_under_load(
    config: Callable[..., SupervisorConfig], queue: SQLiteTaskQueue, marks: Path, agents: dict[str, str]
) -> None:
    env = {"MARKS": str(marks), "SLEEP": "0.4"}
    types = {
        "sleeper": {"argv": [agents["sleeper"]], "concurrency": 2, "env": env},
        "other": {"argv": [agents["sleeper"]], "concurrency": 1, "env": {**env, "MARKS": str(marks / "other")}},
    }
    (marks / "other").mkdir()
    ids = [await queue.create_task(f"s{i}", status="pending", agent_type="sleeper") for i in range(8)]
    ids += [await queue.create_task(f"o{i}", status="pending", agent_type="other") for i in range(3)]
    stats = await Supervisor(config(types), queue).run(burst=True)
    assert stats.completed == 11
    assert max_overlap(marks) == 2  # the limit was reached and never exceeded
    assert max_overlap(marks / "other") == 1
    assert sorted(starts(marks)) == sorted(ids[:8])


async def test_depends_on_waits_for_the_dependency(
    config: Callable[..., SupervisorConfig], queue: SQLiteTaskQueue, marks: Path
) -> None:
    first = await queue.create_task("first", status="pending", agent_type="sleeper", priority=5)
    second = await queue.create_task("second", status="pending", agent_type="sleeper", depends_on=[first], priority=1)
    await Supervisor(config(), queue).run(burst=True)
    assert starts(marks) == [first, second]
    lines = (marks / "timeline").read_text().split()
    assert lines[1::2] == ["start", "end", "start", "end"]  # the second started after the first ended


async def test_crashing_agent_is_retried_then_failed_with_a_clear_error(
    config: Callable[..., SupervisorConfig], queue: SQLiteTaskQueue, agents: dict[str, str], repo: Path
) -> None:
    task_id = await queue.create_task("crash", status="pending", agent_type="crasher", max_retries=2)
    cfg = config({"crasher": {"argv": [agents["crasher"]]}})
    stats = await Supervisor(cfg, queue).run(burst=True)
    assert stats.failed == 3  # the first attempt and two retries
    task = await queue.get_task(task_id)
    assert task is not None and task.status == "failed" and task.retry_count == 2
    assert "exit code 3, expected [0]" in (task.error_message or "")
    assert "about to crash" in (task.error_message or "")
    result = task.metadata["supervise_result"]
    assert result["exit_code"] == 3 and result["verdict"]["success"] is False
    assert not Path(result["worktree"]).exists()  # removed; the branch stays
    assert f"jotty/{task_id}" in git(repo, "branch", "--list", "jotty/*")
    assert [h.to_status for h in await queue.get_history(task_id)].count("pending") == 3


@pytest.mark.parametrize(
    ("success", "fragment"),
    [
        ({"json_field": "status", "json_equals": "done"}, "status = 'ok', expected 'done'"),
        ({"json_field": "missing.key"}, "no JSON object with 'missing.key'"),
        ({"command": ["sh", "-c", "echo tests failed; exit 1"]}, "exit code 1: tests failed"),
        ({"command": ["no-such-checker-program"]}, "cannot run 'no-such-checker-program'"),
    ],
)
async def test_success_checks_decide_the_verdict(
    config: Callable[..., SupervisorConfig],
    queue: SQLiteTaskQueue,
    agents: dict[str, str],
    success: dict[str, object],
    fragment: str,
) -> None:
    task_id = await queue.create_task("checked", status="pending", agent_type="coder", max_retries=0)
    cfg = config({"coder": {"argv": [agents["coder"], "{title}"], "success": success}})
    await Supervisor(cfg, queue).run(burst=True)
    task = await queue.get_task(task_id)
    assert task is not None and task.status == "failed"
    assert fragment in (task.error_message or "")
    assert task.metadata["supervise_result"]["commits"]  # the agent's commit is still reported


async def test_passing_checks_complete_the_task(
    config: Callable[..., SupervisorConfig], queue: SQLiteTaskQueue, agents: dict[str, str], repo: Path
) -> None:
    task_id = await queue.create_task("checked", status="pending", agent_type="coder")
    success = {"json_field": "status", "json_equals": "ok", "require_commits": True,
               "command": ["sh", "-c", f"test -f work-{task_id}.txt"]}  # fmt: skip
    cfg = config({"coder": {"argv": [agents["coder"], "{title}"], "success": success}}, keep_worktrees=True)
    await Supervisor(cfg, queue).run(burst=True)
    task = await queue.get_task(task_id)
    assert task is not None and task.status == "completed"
    assert [c["ok"] for c in task.result["verdict"]["checks"]] == [True, True, True, True]
    assert task.worktree_path and Path(task.worktree_path, f"work-{task_id}.txt").exists()  # kept by config


async def test_hung_agent_is_stopped_at_its_timeout_with_its_whole_group(
    config: Callable[..., SupervisorConfig], queue: SQLiteTaskQueue, agents: dict[str, str], marks: Path
) -> None:
    task_id = await queue.create_task("hang", status="pending", agent_type="hanger", max_retries=0)
    cfg = config({"hanger": {"argv": [agents["hanger"]], "timeout": 0.5, "env": {"MARKS": str(marks)}}})
    await Supervisor(cfg, queue).run(burst=True)
    task = await queue.get_task(task_id)
    assert task is not None and task.status == "failed"
    assert "timeout: stopped after 0.5s" in (task.error_message or "")
    child = int((marks / f"child-{task_id}").read_text())
    assert not alive(child)  # the agent's own child went with it
    assert task.metadata["supervise_result"]["signal"] in (signal.SIGTERM, signal.SIGKILL, None)


async def test_a_huge_printer_is_capped_and_rotated_without_blocking(
    config: Callable[..., SupervisorConfig], queue: SQLiteTaskQueue, agents: dict[str, str]
) -> None:
    task_id = await queue.create_task("print", status="pending", agent_type="printer")
    cfg = config(
        {"printer": {"argv": [agents["printer"]], "env": {"BYTES": str(20 * 1024**2)}}},
        log_max_bytes="1MB",
        log_keep=1,
    )
    await Supervisor(cfg, queue).run(burst=True)
    task = await queue.get_task(task_id)
    assert task is not None and task.status == "completed"
    log_file = Path(task.log_file or "")
    assert log_file.stat().st_size <= 1024**2
    assert Path(f"{log_file}.1").stat().st_size == 1024**2
    assert not Path(f"{log_file}.2").exists()
    assert task.result["log_bytes"] == 20 * 1024**2 + len("\nprinted\n")
    assert task.result["log_rotations"] == 20
    assert task.result["log_tail"][-1] == "printed"


async def test_filters_restrict_what_the_supervisor_claims(
    config: Callable[..., SupervisorConfig], queue: SQLiteTaskQueue, marks: Path
) -> None:
    web = await queue.create_task("web", category="web", status="pending", agent_type="sleeper")
    other = await queue.create_task("db", category="db", status="pending", agent_type="sleeper")
    routed = await queue.create_task("db, routed", category="db", status="pending", agent_type="auto")
    stats = await Supervisor(config(filters={"category": "web"}), queue).run(burst=True)
    assert stats.completed == 1 and starts(marks) == [web]
    left = [await queue.get_task(t) for t in (other, routed)]
    assert [(t.status, t.agent_type) for t in left if t is not None] == [("pending", "sleeper"), ("pending", "auto")]
