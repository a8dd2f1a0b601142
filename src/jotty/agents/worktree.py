"""Git worktrees for agent runs: each coding agent works on its own branch in its own directory.

``git_worktree(repo, branch)`` creates the worktree (``git worktree add``) and removes it on exit
(``git worktree remove --force``); the branch and its commits stay in the repository.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from jotty.errors import AgentError, ValidationError


@dataclass(frozen=True)
class Worktree:
    """A git worktree: the repository it belongs to, its directory and its branch."""

    repo: Path
    path: Path
    branch: str


async def git(repo: str | os.PathLike[str], *args: str) -> str:
    """Run ``git -C repo args...``; return stdout, raise ``AgentError`` with git's stderr on failure."""
    program = shutil.which("git")
    if program is None:
        raise AgentError("program 'git' not found on PATH: install git to use worktrees")
    process = await asyncio.create_subprocess_exec(
        program,
        "-C",
        os.fspath(repo),
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    if process.returncode != 0:
        message = err.decode(errors="replace").strip() or out.decode(errors="replace").strip()
        raise AgentError(f"git {' '.join(args)} failed in '{os.fspath(repo)}': {message}")
    return out.decode(errors="replace")


def default_worktree_path(repo: Path, branch: str) -> Path:
    """Where a branch's worktree goes by default: ``<repo>.worktrees/<branch>`` beside the repo."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", branch).strip("-.") or "worktree"
    return repo.parent / f"{repo.name}.worktrees" / safe


async def create_worktree(
    repo: str | os.PathLike[str],
    branch: str,
    path: str | os.PathLike[str] | None = None,
    *,
    base: str = "HEAD",
) -> Worktree:
    """Add a worktree of ``repo`` at ``path`` on ``branch``: a new branch from ``base``, or the branch if it exists."""
    if not branch or branch.startswith("-"):
        raise ValidationError(f"worktree branch {branch!r} is not a branch name: give one like 'agent/task-1'")
    top = Path((await git(repo, "rev-parse", "--show-toplevel")).strip())
    target = Path(path) if path is not None else default_worktree_path(top, branch)
    if target.exists() and any(target.iterdir()):
        raise AgentError(f"worktree path '{target}' already exists and is not empty: remove it or choose another")
    target.parent.mkdir(parents=True, exist_ok=True)
    exists = await _branch_exists(top, branch)
    if exists:
        await git(top, "worktree", "add", "--", str(target), branch)
    else:
        await git(top, "worktree", "add", "-b", branch, "--", str(target), base)
    return Worktree(repo=top, path=target.resolve(), branch=branch)


async def remove_worktree(worktree: Worktree, *, delete_branch: bool = False) -> None:
    """Remove the worktree's directory (even with changes in it); optionally delete its branch."""
    if worktree.path.exists():
        await git(worktree.repo, "worktree", "remove", "--force", "--", str(worktree.path))
    await git(worktree.repo, "worktree", "prune")
    if delete_branch:
        await git(worktree.repo, "branch", "-D", "--", worktree.branch)


@asynccontextmanager
async def git_worktree(
    repo: str | os.PathLike[str],
    branch: str,
    path: str | os.PathLike[str] | None = None,
    *,
    base: str = "HEAD",
    keep: bool = False,
    delete_branch: bool = False,
) -> AsyncIterator[Worktree]:
    """A worktree for the ``async with`` block; removed afterwards unless ``keep=True``."""
    worktree = await create_worktree(repo, branch, path, base=base)
    try:
        yield worktree
    finally:
        if not keep:
            await remove_worktree(worktree, delete_branch=delete_branch)


async def _branch_exists(repo: Path, branch: str) -> bool:
    try:
        await git(repo, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}")
    except AgentError:
        return False
    return True
