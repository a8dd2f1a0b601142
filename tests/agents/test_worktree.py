from __future__ import annotations

import sys
from pathlib import Path

import pytest
from tests.support.git import git, make_repo

from jotty.agents import CommandAgent, create_worktree, git_worktree, remove_worktree
from jotty.errors import AgentError, ValidationError


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo")


def worktree_paths(repo: Path) -> list[str]:
    lines = git(repo, "worktree", "list", "--porcelain").splitlines()
    return [str(Path(line.removeprefix("worktree ")).resolve()) for line in lines if line.startswith("worktree ")]


async def test_command_agent_works_in_its_own_worktree(repo: Path, tmp_path: Path) -> None:
    code = "import pathlib; pathlib.Path('made-by-agent.txt').write_text('work'); print(pathlib.Path.cwd())"
    async with git_worktree(repo, "agent/task-1") as worktree:
        assert worktree.branch == "agent/task-1"
        assert worktree.path == (repo.parent / "repo.worktrees" / "agent-task-1").resolve()
        assert (worktree.path / "README.md").read_text() == "hello\n"
        assert str(worktree.path) in worktree_paths(repo)

        branch = await CommandAgent(
            ["git", "rev-parse", "--abbrev-ref", "HEAD"], cwd=worktree.path, log_dir=tmp_path
        ).run(None)
        assert branch.ok and branch.output == "agent/task-1"
        made = await CommandAgent([sys.executable, "-c", code], cwd=worktree.path, log_dir=tmp_path).run(None)
        assert Path(made.output).resolve() == worktree.path
        assert (worktree.path / "made-by-agent.txt").read_text() == "work"
        assert not (repo / "made-by-agent.txt").exists()
        git(worktree.path, "add", "made-by-agent.txt")
        git(worktree.path, "commit", "-q", "-m", "agent work")

    assert not worktree.path.exists()
    assert str(worktree.path) not in worktree_paths(repo)
    # the branch and the agent's commit outlive the worktree
    assert git(repo, "log", "-1", "--format=%s", "agent/task-1") == "agent work"


async def test_existing_branch_explicit_path_keep_and_delete_branch(repo: Path, tmp_path: Path) -> None:
    git(repo, "branch", "feature")
    path = tmp_path / "trees" / "feature"
    async with git_worktree(repo, "feature", path, keep=True) as worktree:
        assert worktree.path == path.resolve()
        assert git(worktree.path, "rev-parse", "--abbrev-ref", "HEAD") == "feature"
    assert path.exists()  # kept
    await remove_worktree(worktree, delete_branch=True)
    assert not path.exists()
    assert git(repo, "branch", "--list", "feature") == ""


async def test_worktree_is_removed_even_with_uncommitted_changes_and_on_error(repo: Path) -> None:
    with pytest.raises(RuntimeError, match="agent crashed"):
        async with git_worktree(repo, "wip") as worktree:
            (worktree.path / "README.md").write_text("changed\n")
            raise RuntimeError("agent crashed")
    assert not worktree.path.exists()


async def test_worktree_from_a_base_commit(repo: Path) -> None:
    first = git(repo, "rev-parse", "HEAD")
    (repo / "second.txt").write_text("2")
    git(repo, "add", "second.txt")
    git(repo, "commit", "-q", "-m", "second")
    worktree = await create_worktree(repo, "from-first", base=first)
    try:
        assert git(worktree.path, "rev-parse", "HEAD") == first
        assert not (worktree.path / "second.txt").exists()
    finally:
        await remove_worktree(worktree, delete_branch=True)


async def test_worktree_errors_are_clear(repo: Path, tmp_path: Path) -> None:
    plain = tmp_path / "not-a-repo"
    plain.mkdir()
    with pytest.raises(AgentError, match=r"git rev-parse --show-toplevel failed in .*not a git repository"):
        await create_worktree(plain, "x")
    with pytest.raises(ValidationError, match="not a branch name"):
        await create_worktree(repo, "--force")
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "file").write_text("x")
    with pytest.raises(AgentError, match="already exists and is not empty"):
        await create_worktree(repo, "busy", busy)
    async with git_worktree(repo, "taken"):
        with pytest.raises(AgentError, match="already"):
            await create_worktree(repo, "taken", tmp_path / "second-checkout")
