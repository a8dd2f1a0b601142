"""A supervisor runs fake agents on queued tasks in real git worktrees."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from jotty.queue import SQLiteTaskQueue
from jotty.supervise import Supervisor, SupervisorConfig
from tests.support.git import git


async def test_agent_commits_on_its_branch_and_result_is_recorded(
    config: Callable[..., SupervisorConfig], queue: SQLiteTaskQueue, repo: Path, tmp_path: Path
) -> None:
    task_id = await queue.create_task(
        "add a greeting", description="say hi", status="pending", agent_type="coder", context_files=["a.py"]
    )
    supervisor = Supervisor(config(), queue)
    stats = await supervisor.run(burst=True)
    assert stats.completed == 1
    task = await queue.get_task(task_id)
    assert task is not None and task.status == "completed"
    result = task.result
    assert result["exit_code"] == 0 and result["verdict"]["success"] is True
    assert [c["subject"] for c in result["commits"]] == [f"agent: {task_id}"]
    assert f"work-{task_id}.txt" in result["diffstat"]
    assert result["log_tail"][-1].startswith('{"status": "ok"')
    assert task.git_branch == f"jotty/{task_id}"
    assert task.log_file and Path(task.log_file).is_file() and str(tmp_path / "logs") in task.log_file
    # the worktree is gone, the branch and its commit stay
    assert task.worktree_path and not Path(task.worktree_path).exists()
    assert f"work-{task_id}.txt" in git(repo, "ls-tree", "--name-only", f"jotty/{task_id}")
    prompt = (Path(task.log_file).parent / "prompt.md").read_text()
    assert "# add a greeting" in prompt and "say hi" in prompt and "- a.py" in prompt
    assert json.dumps(result)  # the stored result is JSON
