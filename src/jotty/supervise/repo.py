"""The repository side of a task: its worktree and branch, and what the agent did on them.

``prepare`` gives a task its worktree on its branch. A branch that already exists is reused only
when it is this task's own (recorded on the task by an earlier attempt); a leftover worktree of
this task is replaced (its commits stay on the branch); anything else in the way (another branch
of that name, a foreign directory, a locked worktree) is a ``PermanentFailure`` that says what to
do. Worktree changes in one repository are serialized across processes by a lock file in the
repository's git directory, so several supervisors never race ``git worktree``.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from jotty.agents.worktree import git
from jotty.errors import AgentError
from jotty.queue.manager import PermanentFailure


@dataclass(frozen=True)
class Workspace:
    """A task's worktree: where, on which branch, and the commit the branch started from."""

    path: Path
    branch: str
    base: str


async def check_repository(repo: Path) -> Path:
    """The top directory of ``repo``; ``AgentError`` if it is not a git repository."""
    if not repo.is_dir():
        raise AgentError(f"repository '{repo}' does not exist: set repo: to a git repository's directory")
    try:
        top = (await git(repo, "rev-parse", "--show-toplevel")).strip()
    except AgentError:
        raise AgentError(f"'{repo}' is not a git repository: run 'git init' there or set repo: to one") from None
    return Path(top)


@contextlib.asynccontextmanager
async def repo_lock(repo: Path) -> AsyncIterator[None]:
    """Hold the repository's worktree lock (one ``git worktree`` change at a time, across processes)."""
    common = Path((await git(repo, "rev-parse", "--git-common-dir")).strip())
    if not common.is_absolute():
        common = repo / common
    fd = os.open(common / "jotty-supervise.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            await asyncio.to_thread(fcntl.flock, fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


async def prepare(
    repo: Path, path: Path, branch: str, base: str, own_branch: bool, claim: Callable[[], Awaitable[None]]
) -> Workspace:
    """Create (or recreate) the task's worktree at ``path`` on ``branch``.

    ``own_branch``: the task recorded this branch in an earlier attempt, so reusing it continues
    that work; otherwise an existing branch of that name is an error. ``claim()`` is awaited once
    the checks passed and before git creates anything, to record the branch as the task's.
    """
    async with repo_lock(repo):
        await git(repo, "worktree", "prune")
        worktrees = await _worktrees(repo)
        exists = await _rev(repo, f"refs/heads/{branch}") is not None
        if exists and not own_branch:
            raise PermanentFailure(
                f"branch {branch!r} already exists in '{repo}' and is not this task's: delete it "
                f"(git branch -D {branch}) or change the branch: template"
            )
        leftover = worktrees.get(str(path))
        if leftover is not None:
            if leftover.get("branch") != f"refs/heads/{branch}":
                raise PermanentFailure(
                    f"worktree '{path}' belongs to {leftover.get('branch', 'a detached HEAD')}, not {branch!r}: "
                    f"remove it (git worktree remove '{path}') or change worktrees:"
                )
            if "locked" in leftover:
                raise PermanentFailure(
                    f"worktree '{path}' is locked ({leftover['locked'] or 'no reason given'}): "
                    f"unlock it with git worktree unlock '{path}' and retry the task"
                )
            await git(repo, "worktree", "remove", "--force", "--", str(path))
        elif path.exists() and any(path.iterdir()):
            raise PermanentFailure(
                f"worktree path '{path}' exists and is not empty (not a worktree of this task): "
                "move it away or change worktrees:"
            )
        else:
            for busy_path, info in worktrees.items():
                if info.get("branch") == f"refs/heads/{branch}":
                    raise PermanentFailure(
                        f"branch {branch!r} is checked out in another worktree '{busy_path}': "
                        f"remove that worktree (git worktree remove '{busy_path}') and retry the task"
                    )
        await claim()
        path.parent.mkdir(parents=True, exist_ok=True)
        if exists:
            await git(repo, "worktree", "add", "--", str(path), branch)
        else:
            await git(repo, "worktree", "add", "-b", branch, "--", str(path), base)
    start = await _rev(repo, base)
    return Workspace(path, branch, start or "")


async def remove(repo: Path, path: Path) -> None:
    """Remove a worktree (changes in it are discarded; its branch and commits stay)."""
    async with repo_lock(repo):
        if path.exists():
            with contextlib.suppress(AgentError):
                await git(repo, "worktree", "remove", "--force", "--", str(path))
        await git(repo, "worktree", "prune")


async def commits(path: Path, base: str) -> list[dict[str, str]]:
    """The commits on the worktree's branch since ``base``, oldest first (sha and subject)."""
    if not path.is_dir():
        return []
    out = await git(path, "log", "--reverse", "--format=%H%x09%s", f"{base}..HEAD")
    return [dict(zip(("sha", "subject"), line.split("\t", 1), strict=False)) for line in out.splitlines()]


async def diffstat(path: Path, base: str) -> str:
    """``git diff --stat`` of the branch against ``base``, plus uncommitted changes."""
    if not path.is_dir():
        return ""
    stat = (await git(path, "diff", "--stat", base, "HEAD")).rstrip()
    dirty = (await git(path, "status", "--porcelain")).splitlines()
    if dirty:
        stat += f"\n{len(dirty)} uncommitted change(s) left in the worktree"
    return stat.strip()


async def _rev(repo: Path, name: str) -> str | None:
    try:
        return (await git(repo, "rev-parse", "--verify", "--quiet", name)).strip() or None
    except AgentError:
        return None


async def _worktrees(repo: Path) -> dict[str, dict[str, str]]:
    """Registered worktrees by path: ``{"branch": ..., "locked": reason}`` as git lists them."""
    out = await git(repo, "worktree", "list", "--porcelain")
    found: dict[str, dict[str, str]] = {}
    current: dict[str, str] = {}
    for line in out.splitlines():
        key, _, value = line.partition(" ")
        if key == "worktree":
            current = {}
            found[str(Path(value).resolve())] = current
        elif key:
            current[key] = value
    return found
