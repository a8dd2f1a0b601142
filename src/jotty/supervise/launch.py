"""Start an agent under the runner (``shim.py``), wait for it, stop its process group.

The runner leads a new session, so the agent and everything it spawns share one process group
whose id is the runner's PID: that PID is what the task records. ``process_start`` (the kernel's
start time of a PID) tells a live agent from an unrelated process that reused its PID.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from jotty.agents.process import group_alive, signal_group
from jotty.processes import PROC, pid_alive

SHIM = str(Path(__file__).with_name("shim.py"))


@dataclass
class Launched:
    """A started agent: its runner's PID (= process group), start time and exit record file."""

    pid: int
    start: int | None
    exit_file: Path
    popen: subprocess.Popen[bytes] | None = None


def process_start(pid: int) -> int | None:
    """The start time of ``pid`` in clock ticks since boot, or None (no such process)."""
    try:
        raw = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    return int(raw[raw.rfind(")") + 2 :].split()[19])


def same_process(pid: int, start: int | None) -> bool:
    """Whether ``pid`` is alive and is the process that started at ``start`` (when known)."""
    if not pid_alive(pid):
        return False
    return start is None or process_start(pid) in (None, start)


def launch(
    argv: list[str], *, cwd: Path, env: dict[str, str], log_file: Path, exit_file: Path, cap: int, keep: int
) -> Launched:
    """Start ``argv`` in ``cwd`` under the runner; output goes to ``log_file`` (capped, rotated)."""
    exit_file.unlink(missing_ok=True)
    spec = {"argv": argv, "log": str(log_file), "exit_file": str(exit_file), "cap": cap, "keep": keep}
    popen = subprocess.Popen(
        [sys.executable, "-I", "-S", SHIM, json.dumps(spec)],
        cwd=cwd,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    return Launched(popen.pid, process_start(popen.pid), exit_file, popen)


async def wait_exit(agent: Launched, timeout: float | None) -> bool:
    """Wait until the agent ended (our runner says so on its stdout; an adopted runner exits);
    False if ``timeout`` seconds passed first."""
    deadline = None if timeout is None else time.monotonic() + timeout
    own = agent.popen is not None and agent.popen.stdout is not None
    if own:
        assert agent.popen is not None and agent.popen.stdout is not None
        fd: int | None = agent.popen.stdout.fileno()
    else:
        try:
            fd = os.pidfd_open(agent.pid)
        except (OSError, AttributeError):  # gone already, or no pidfd: poll
            fd = None
    try:
        if fd is not None:
            loop = asyncio.get_running_loop()
            exited = loop.create_future()
            loop.add_reader(fd, _settle, exited)
            try:
                await asyncio.wait_for(exited, None if deadline is None else max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                return False
            finally:
                loop.remove_reader(fd)
        else:
            while _running(agent):
                if deadline is not None and time.monotonic() >= deadline:
                    return False
                await asyncio.sleep(0.1)
    finally:
        if fd is not None and not own:
            os.close(fd)
    return True


async def release(agent: Launched) -> None:
    """Let our runner exit (it waits for this once the agent ended) and reap it."""
    popen = agent.popen
    if popen is None:
        return
    for pipe in (popen.stdin, popen.stdout):
        if pipe is not None:
            pipe.close()
    delay = 0.001
    while popen.poll() is None:
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.05)


def _settle(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _running(agent: Launched) -> bool:
    if agent.popen is not None:
        return agent.popen.poll() is None
    return same_process(agent.pid, agent.start)


def read_exit(agent: Launched) -> dict[str, object]:
    """The runner's exit record; without one (the runner was killed) what is known of the exit."""
    with contextlib.suppress(OSError, ValueError):
        data = json.loads(agent.exit_file.read_text())
        if isinstance(data, dict):
            return data
    code = agent.popen.returncode if agent.popen is not None else None
    if code is not None and code < 0:
        return {"exit_code": 128 - code, "signal": -code, "error": "the agent's runner was killed"}
    return {"exit_code": code, "signal": None, "error": "the agent ended without an exit record (killed)"}


async def stop(agent: Launched, grace: float) -> None:
    """Stop the agent's whole process group: SIGTERM, ``grace`` seconds, then SIGKILL."""
    if agent.popen is not None and agent.popen.stdin is not None:
        agent.popen.stdin.close()  # the runner leaves as soon as the agent is gone
    if signal_group(agent.pid, signal.SIGTERM) and await _group_gone(agent, grace):
        return
    signal_group(agent.pid, signal.SIGKILL)
    await _group_gone(agent, 10.0)


async def _group_gone(agent: Launched, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    interval = 0.005
    while True:
        if agent.popen is not None:
            agent.popen.poll()  # reap our runner so the group can empty
        if not group_alive(agent.pid):
            return True
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(interval)
        interval = min(interval * 2, 0.1)
