"""One task's attempt from start to result: worktree, prompt, agent, watch, verdict, clean-up.

``start`` prepares everything and launches the agent, recording it on the task; ``finish`` waits
for the agent (stopping its process group at the timeout, or when the attempt is cancelled),
collects what it did and decides success. A failed attempt raises ``AttemptFailed`` (retried by
the queue's rules); a configuration problem raises ``PermanentFailure`` (not retried).
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import shutil
import time
from pathlib import Path
from typing import Any

from jotty.agents.template import Template
from jotty.errors import AgentError, JottyError
from jotty.queue.base import TaskQueue
from jotty.queue.manager import PermanentFailure
from jotty.queue.policy import HOSTNAME
from jotty.queue.task import Task
from jotty.supervise import repo
from jotty.supervise.config import AgentType, SupervisorConfig
from jotty.supervise.fields import prompt_text, task_values
from jotty.supervise.launch import Launched, launch, read_exit, release, same_process, stop, wait_exit
from jotty.supervise.logs import tail, task_dir
from jotty.supervise.record import KEY, RunRecord, run_record
from jotty.supervise.verdict import Check, Verdict, environment, judge

log = logging.getLogger(__name__)

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
STOP_GRACE = 5.0


class AttemptFailed(Exception):
    """An agent ran but its attempt did not succeed (retried by the queue's rules)."""


class Attempts:
    """Starts and finishes attempts for one supervisor (``worker`` names it in run records)."""

    def __init__(self, config: SupervisorConfig, queue: TaskQueue, repo_top: Path, log_dir: Path, worker: str) -> None:
        self.config = config
        self.queue = queue
        self.repo = repo_top
        self.log_dir = log_dir
        self.worker = worker
        self.popens: dict[int, Launched] = {}

    # ------------------------------------------------------------------ starting

    async def start(self, task: Task) -> RunRecord:
        """Prepare the worktree, write the prompt, launch the agent and record it on the task."""
        agent = self.config.agents.get(task.agent_type or "")
        if agent is None:
            raise PermanentFailure(
                f"agent type {task.agent_type!r} is not configured: add it under agents: "
                "or change the task's agent_type"
            )
        await self._stop_stale(task)
        values = task_values(task)
        branch = _render(self.config.branch, values, "branch")
        path = (self.config.worktree_root() / (_SAFE.sub("-", branch).strip("-.") or task.task_id)).resolve()
        files = task_dir(self.log_dir, task.task_id)
        files.mkdir(parents=True, exist_ok=True)
        log_file = files / f"attempt-{task.retry_count + 1}.log"
        prompt_file = files / "prompt.md"
        values.update(prompt=prompt_text(task), prompt_file=str(prompt_file), worktree=str(path), branch=branch,
                      log_file=str(log_file))  # fmt: skip
        argv = [_render(arg, values, f"agents.{task.agent_type}.argv") for arg in agent.argv]
        env = environment({k: _render(v, values, f"agents.{task.agent_type}.env") for k, v in agent.env.items()})
        env.update(JOTTY_TASK_ID=task.task_id, JOTTY_WORKTREE=str(path), JOTTY_BRANCH=branch)
        program = _find_program(argv[0], self.repo, env)
        own = task.git_branch == branch or (run_record(task) or _NO_RECORD).branch == branch

        writing = [0.0]

        async def record_branch() -> None:  # before git makes it: a crash then still leaves it the task's
            clock = time.perf_counter()
            await self.queue.update_task_metadata(task.task_id, git_branch=branch, worktree_path=str(path))
            writing[0] = time.perf_counter() - clock

        clock = time.perf_counter()
        try:
            space = await repo.prepare(self.repo, path, branch, self.config.base, own, record_branch)
        except AgentError as exc:
            raise PermanentFailure(f"cannot create the worktree for {task.task_id}: {exc}") from None
        worktree_seconds = time.perf_counter() - clock - writing[0]  # git's time only
        base = (run_record(task) or _NO_RECORD).base or space.base
        prompt_file.write_text(str(values["prompt"]), encoding="utf-8")
        launched = launch(
            [program, *argv[1:]], cwd=path, env=env, log_file=log_file, exit_file=files / "exit.json",
            cap=self.config.log_max_bytes, keep=self.config.log_keep,
        )  # fmt: skip
        record = RunRecord(
            pid=launched.pid, start=launched.start, exit_file=str(launched.exit_file), host=HOSTNAME,
            watcher=self.worker, started=time.time(), agent_type=str(task.agent_type), base=base,
            worktree=str(path), branch=branch, log_file=str(log_file), worktree_seconds=worktree_seconds,
        )  # fmt: skip
        try:
            await self.queue.update_task_metadata(
                task.task_id, pid=launched.pid, log_file=str(log_file), worktree_path=str(path), git_branch=branch,
                metadata={KEY: record.to_dict()},
            )  # fmt: skip
        except BaseException:  # an agent nobody knows of must not keep running
            await stop(launched, STOP_GRACE)
            raise
        self.popens[launched.pid] = launched
        log.info("task %s: %s started (pid %d) in %s", task.task_id, task.agent_type, launched.pid, path)
        return record

    async def _stop_stale(self, task: Task) -> None:
        """An earlier attempt's agent still running on this host (its lease was lost while no
        supervisor watched it) is stopped first: never two agents on one task."""
        old = run_record(task)
        if old is not None and old.host == HOSTNAME and same_process(old.pid, old.start):
            log.warning("task %s: stopping the earlier attempt's agent (pid %d) first", task.task_id, old.pid)
            await stop(old.launched(), STOP_GRACE)

    # ------------------------------------------------------------------ finishing

    async def finish(self, task: Task, record: RunRecord) -> dict[str, Any]:
        """Wait for the agent, then return its result (success) or raise ``AttemptFailed``."""
        agent = self.config.agents.get(record.agent_type) or AgentType(argv=["?"])
        launched = self.popens.pop(record.pid, None) or record.launched()
        remaining = None if agent.timeout is None else record.started + agent.timeout - time.time()
        try:
            exited = await wait_exit(launched, remaining)
            await self._answer_for(task)
            if exited:
                await release(launched)
            else:
                log.info("task %s: timed out after %ss; stopping its process group", task.task_id, agent.timeout)
                await stop(launched, STOP_GRACE)
        except asyncio.CancelledError:
            await stop(launched, STOP_GRACE)
            if self.config.keep_worktrees is not True:
                await repo.remove(self.repo, Path(record.worktree))
            raise
        result = await self._collect(task, record, agent, launched, timed_out=not exited)
        verdict = result["verdict"]
        if self.config.keep_worktrees is False or (self.config.keep_worktrees == "failed" and verdict["success"]):
            await repo.remove(self.repo, Path(record.worktree))
            result["worktree_removed"] = True
        if verdict["success"]:
            return result
        await self.queue.update_task_metadata(task.task_id, metadata={"supervise_result": result})
        failed = "; ".join(f"{c['name']}: {c['detail']}" for c in verdict["checks"] if not c["ok"])
        last = result["log_tail"][-1] if result["log_tail"] else "(no output)"
        raise AttemptFailed(f"{record.agent_type} failed ({failed}); last log line: {last}")

    async def _answer_for(self, task: Task) -> None:
        """Before the runner goes, record this supervisor's PID on the task (if the lease is still
        ours): the task's process stays alive for ``validate_pids`` while the result is recorded."""
        if task.lease_id and await self.queue.heartbeat(task.task_id, task.lease_id):
            await self.queue.update_task_metadata(task.task_id, pid=os.getpid())

    async def _collect(
        self, task: Task, record: RunRecord, agent: AgentType, launched: Launched, *, timed_out: bool
    ) -> dict[str, Any]:
        exit_record = read_exit(launched)
        code = exit_record.get("exit_code")
        worktree = Path(record.worktree)
        try:
            made = await repo.commits(worktree, record.base)
            stat = await repo.diffstat(worktree, record.base)
        except JottyError as exc:
            made, stat = [], f"(git failed: {exc})"
        log_file = Path(record.log_file)
        if timed_out:
            verdict = Verdict(False, (Check("timeout", False, f"stopped after {agent.timeout:g}s"),))
        else:
            env = environment(dict(agent.env))
            verdict = await judge(agent.success, code if isinstance(code, int) else None, log_file, worktree,
                                  len(made), env)  # fmt: skip
        return {
            "agent_type": record.agent_type,
            "exit_code": code,
            "signal": exit_record.get("signal"),
            "error": exit_record.get("error"),
            "seconds": round(_number(exit_record.get("ended_at"), time.time()) - record.started, 3),
            "commits": made,
            "diffstat": stat,
            "log_file": str(log_file),
            "log_bytes": exit_record.get("bytes"),
            "log_rotations": exit_record.get("rotations"),
            "log_tail": tail(log_file, self.config.log_tail_lines),
            "branch": record.branch,
            "worktree": record.worktree,
            "verdict": verdict.to_dict(),
        }


_NO_RECORD = RunRecord(0, None, "", "", "", 0.0, "", "", "", "", "")


def _number(value: object, default: float) -> float:
    return float(value) if isinstance(value, int | float) else default


def _render(source: str, values: dict[str, Any], what: str) -> str:
    try:
        return Template.parse(source, what).render(values, what)
    except JottyError as exc:
        raise PermanentFailure(str(exc)) from None


def _find_program(program: str, repo_top: Path, env: dict[str, str]) -> str:
    """The agent program's path; ``PermanentFailure`` naming it when it cannot be run."""
    if os.sep in program:
        if os.access(program, os.X_OK) and not os.path.isdir(program):
            return os.path.abspath(program)
        if os.access(repo_top / program, os.X_OK):
            return program  # a program of the repository: run from the worktree's copy
    else:
        found = shutil.which(program, path=env.get("PATH"))
        if found:
            return found
    raise PermanentFailure(
        f"agent program {program!r} was not found or is not executable: install it, put it on PATH, "
        "or fix argv in the supervisor config"
    )
