"""Every bad input gives a clear error and leaves the repository and the queue consistent."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from jotty.errors import AgentError, ValidationError
from jotty.queue import SQLiteTaskQueue
from jotty.supervise import Supervisor, SupervisorConfig, load_config
from tests.support.git import git


async def _run_one(config: SupervisorConfig, queue: SQLiteTaskQueue, **task: Any) -> Any:
    task_id = await queue.create_task("bad", status="pending", **{"agent_type": "coder", **task})
    stats = await Supervisor(config, queue).run(burst=True)
    assert stats.failed == 1  # failed for good at once: no retries of a configuration problem
    found = await queue.get_task(task_id)
    assert found is not None and found.status == "failed" and found.retry_count == 0
    return found


async def test_missing_agent_program(
    config: Callable[..., SupervisorConfig], queue: SQLiteTaskQueue, repo: Path
) -> None:
    task = await _run_one(config({"coder": {"argv": ["no-such-agent-program", "{prompt}"]}}), queue)
    assert "agent program 'no-such-agent-program' was not found" in task.error_message
    assert git(repo, "branch", "--list", "jotty/*") == ""  # nothing was created
    assert len(git(repo, "worktree", "list").splitlines()) == 1


async def test_repository_that_is_not_git(
    config: Callable[..., SupervisorConfig], queue: SQLiteTaskQueue, tmp_path: Path
) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    task_id = await queue.create_task("t", status="pending", agent_type="coder")
    with pytest.raises(AgentError, match="is not a git repository: run 'git init' there"):
        await Supervisor(config(repo=plain), queue).run(burst=True)
    with pytest.raises(AgentError, match="does not exist"):
        await Supervisor(config(repo=tmp_path / "nowhere"), queue).run(burst=True)
    task = await queue.get_task(task_id)
    assert task is not None and task.status == "pending"  # untouched


async def test_branch_that_already_exists(
    config: Callable[..., SupervisorConfig], queue: SQLiteTaskQueue, repo: Path
) -> None:
    git(repo, "branch", "feature/taken")
    before = git(repo, "rev-parse", "feature/taken")
    task = await _run_one(config(branch="feature/taken"), queue)
    assert "branch 'feature/taken' already exists" in task.error_message
    assert "git branch -D feature/taken" in task.error_message
    assert git(repo, "rev-parse", "feature/taken") == before


async def test_dirty_directory_in_the_way(
    config: Callable[..., SupervisorConfig], queue: SQLiteTaskQueue, tmp_path: Path
) -> None:
    cfg = config(worktrees=tmp_path / "trees", branch="fixed")
    (tmp_path / "trees" / "fixed").mkdir(parents=True)
    (tmp_path / "trees" / "fixed" / "notes.txt").write_text("mine")
    task = await _run_one(cfg, queue)
    assert "exists and is not empty" in task.error_message
    assert (tmp_path / "trees" / "fixed" / "notes.txt").read_text() == "mine"


async def test_locked_leftover_worktree(
    config: Callable[..., SupervisorConfig], queue: SQLiteTaskQueue, repo: Path, tmp_path: Path
) -> None:
    cfg = config(worktrees=tmp_path / "trees", branch="jotty/locked")
    git(repo, "worktree", "add", "-b", "jotty/locked", str(tmp_path / "trees" / "jotty-locked"))
    git(repo, "worktree", "lock", "--reason", "in use by me", str(tmp_path / "trees" / "jotty-locked"))
    task_id = await queue.create_task("t", status="pending", agent_type="coder", git_branch="jotty/locked")
    await Supervisor(cfg, queue).run(burst=True)
    task = await queue.get_task(task_id)
    assert task is not None and task.status == "failed"
    assert "is locked (in use by me)" in (task.error_message or "") and "git worktree unlock" in (
        task.error_message or ""
    )
    assert "locked" in git(repo, "worktree", "list", "--porcelain")


async def test_branch_checked_out_elsewhere(
    config: Callable[..., SupervisorConfig], queue: SQLiteTaskQueue, repo: Path, tmp_path: Path
) -> None:
    git(repo, "worktree", "add", "-b", "jotty/busy", str(tmp_path / "elsewhere"))
    task_id = await queue.create_task("t", status="pending", agent_type="coder", git_branch="jotty/busy")
    await Supervisor(config(branch="jotty/busy"), queue).run(burst=True)
    task = await queue.get_task(task_id)
    assert task is not None and "is checked out in another worktree" in (task.error_message or "")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"agents": {"coder": {"argv": ["x", "{nope}"]}}},
            "agents.coder.argv[1] '{nope}' names unknown field {nope}: use one of",
        ),
        ({"branch": "b/{prompt}"}, "branch 'b/{prompt}' names unknown field {prompt}"),
        ({"agents": {}}, "no agent types"),
        ({"agents": {"coder": {"argv": []}}}, "argv is empty"),
        ({"agents": {"coder": {"argv": ["x"], "concurrency": 0}}}, "agents.coder.concurrency"),
        ({"agents": {"coder": {"argv": ["x"], "colour": 1}}}, "agents.coder.colour: unknown key"),
        ({"log_max_bytes": "lots"}, "is not a size"),
        ({"agents": {"auto": {"argv": ["x"]}}}, "auto_agent_type 'auto' is also an agent type"),
    ],
)
def test_bad_config_is_refused_with_the_key(tmp_path: Path, repo: Path, change: dict[str, Any], message: str) -> None:
    import yaml

    data = {"repo": str(repo), "agents": {"coder": {"argv": ["x", "{title}"]}}, **change}
    file = tmp_path / "supervise.yaml"
    file.write_text(yaml.safe_dump(data))
    with pytest.raises(ValidationError) as caught:
        load_config(file)
    assert message in str(caught.value)
    assert str(file) in str(caught.value)


def test_unreadable_config_files(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="no such config file"):
        load_config(tmp_path / "missing.yaml")
    (tmp_path / "bad.yaml").write_text("agents: [unclosed")
    with pytest.raises(ValidationError, match="not valid YAML"):
        load_config(tmp_path / "bad.yaml")
    (tmp_path / "list.yaml").write_text("- a\n- b\n")
    with pytest.raises(ValidationError, match="must be a mapping"):
        load_config(tmp_path / "list.yaml")


async def test_unconfigured_agent_types_are_left_pending(
    config: Callable[..., SupervisorConfig], queue: SQLiteTaskQueue
) -> None:
    task_id = await queue.create_task("t", status="pending", agent_type="cursor")
    stats = await Supervisor(config(), queue).run(burst=True)
    assert stats.claimed == 0
    task = await queue.get_task(task_id)
    assert task is not None and task.status == "pending"
