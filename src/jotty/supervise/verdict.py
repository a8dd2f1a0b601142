"""Whether an agent's run succeeded: its exit code, a command run afterwards, a JSON field."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from jotty.agents.process import group_alive, signal_group
from jotty.supervise.config import SuccessCheck
from jotty.supervise.logs import tail

_MISSING = object()


@dataclass(frozen=True)
class Check:
    """One check's outcome: its name, whether it passed and what was seen."""

    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class Verdict:
    """Every check's outcome; ``success`` when all passed."""

    success: bool
    checks: tuple[Check, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"success": self.success, "checks": [asdict(c) for c in self.checks]}

    def summary(self) -> str:
        """The failed checks in one line (or ``ok``)."""
        failed = [f"{c.name}: {c.detail}" for c in self.checks if not c.ok]
        return "; ".join(failed) if failed else "ok"


async def judge(
    rule: SuccessCheck, exit_code: int | None, log_file: Path, worktree: Path, commit_count: int, env: dict[str, str]
) -> Verdict:
    """Apply ``rule`` to a finished run. The command runs only when the exit code passed."""
    checks = [Check("exit_code", exit_code in rule.exit_codes, f"exit code {exit_code}, expected {rule.exit_codes}")]
    if rule.require_commits:
        checks.append(Check("commits", commit_count > 0, f"{commit_count} commit(s) on the branch"))
    if rule.json_field is not None:
        checks.append(_json_check(rule, log_file))
    if rule.command is not None and checks[0].ok:
        checks.append(await _command_check(rule, worktree, env))
    return Verdict(all(c.ok for c in checks), tuple(checks))


def _json_check(rule: SuccessCheck, log_file: Path) -> Check:
    assert rule.json_field is not None
    name = f"json {rule.json_field}"
    for line in reversed(tail(log_file, 200)):
        try:
            data = json.loads(line)
        except ValueError:
            continue
        value: Any = data
        for key in rule.json_field.split("."):
            value = value.get(key, _MISSING) if isinstance(value, dict) else _MISSING
        if value is _MISSING:
            continue
        ok = bool(value) if rule.json_equals is None else value == rule.json_equals
        want = "a true value" if rule.json_equals is None else repr(rule.json_equals)
        return Check(name, ok, f"{rule.json_field} = {value!r}, expected {want}")
    return Check(name, False, f"the agent printed no JSON object with {rule.json_field!r}")


async def _command_check(rule: SuccessCheck, worktree: Path, env: dict[str, str]) -> Check:
    assert rule.command is not None
    name = "command " + " ".join(rule.command)
    if not worktree.is_dir():
        return Check(name, False, f"worktree '{worktree}' is gone")
    try:
        process = await asyncio.create_subprocess_exec(
            *rule.command,
            cwd=worktree,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
    except OSError as exc:
        return Check(name, False, f"cannot run {rule.command[0]!r}: {exc.strerror or exc}: fix success.command")
    try:
        out, _ = await asyncio.wait_for(process.communicate(), rule.command_timeout)
    except TimeoutError:
        signal_group(process.pid, signal.SIGKILL)
        await process.wait()
        return Check(name, False, f"timed out after {rule.command_timeout:g}s")
    finally:
        if process.returncode is not None and group_alive(process.pid):
            signal_group(process.pid, signal.SIGKILL)
    last = out.decode(errors="replace").strip().splitlines()[-3:]
    detail = f"exit code {process.returncode}" + (": " + " | ".join(last) if last else "")
    return Check(name, process.returncode == 0, detail)


def environment(extra: dict[str, str]) -> dict[str, str]:
    """The supervisor's environment with ``extra`` over it."""
    return {**os.environ, **extra}
