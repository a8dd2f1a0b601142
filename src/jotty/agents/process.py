"""Process groups: tell whether one still has live members, and stop all of them.

A ``CommandAgent`` starts its program with ``start_new_session=True``, so the program and every
process it spawns share a process group whose id is the program's PID. Stopping the group sends
SIGTERM to all of it, waits a grace period, then sends SIGKILL, and waits until no member is alive.
A process that calls ``setsid()`` itself leaves the group and is out of reach (POSIX only).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from typing import Any

from jotty.processes import PROC, proc_stat

logger = logging.getLogger(__name__)


def signal_group(pgid: int, sig: int) -> bool:
    """Send ``sig`` to process group ``pgid``; ``False`` if the group no longer exists."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    except PermissionError:
        logger.warning("not allowed to signal process group %d", pgid)
    return True


def group_alive(pgid: int) -> bool:
    """Whether any process of group ``pgid`` is still running (zombies count as gone)."""
    if not signal_group(pgid, 0):
        return False
    if not PROC.is_dir():
        return True
    return any(state != "Z" for state in _group_states(pgid))


def _group_states(pgid: int) -> list[str]:
    states = []
    with os.scandir(PROC) as entries:
        for entry in entries:
            if entry.name.isdigit():
                stat = proc_stat(int(entry.name))
                if stat is not None and stat[1] == pgid:
                    states.append(stat[0])
    return states


class _ExitProtocol(asyncio.subprocess.SubprocessStreamProtocol):
    """The stream protocol of ``asyncio.create_subprocess_exec`` that also reports the exit itself.

    ``Process.wait()`` returns only once the pipes are closed too, which a grandchild holding
    them can delay forever; ``exited`` resolves as soon as the program itself exits.
    """

    def __init__(self, limit: int, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(limit=limit, loop=loop)
        self.exited: asyncio.Future[None] = loop.create_future()

    def process_exited(self) -> None:
        super().process_exited()
        if not self.exited.done():
            self.exited.set_result(None)


async def spawn(program: str, *args: str, **kwargs: Any) -> tuple[asyncio.subprocess.Process, asyncio.Future[None]]:
    """Start a program like ``asyncio.create_subprocess_exec``; also return a future of its exit."""
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.subprocess_exec(
        lambda: _ExitProtocol(limit=2**16, loop=loop), program, *args, **kwargs
    )
    return asyncio.subprocess.Process(transport, protocol, loop), protocol.exited


async def wait_group_gone(process: asyncio.subprocess.Process, timeout: float) -> bool:
    """Wait up to ``timeout`` seconds until the leader has exited and the group is empty."""
    deadline = time.monotonic() + timeout
    interval = 0.002
    while True:
        if process.returncode is not None and not group_alive(process.pid):
            return True
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        await asyncio.sleep(min(interval, remaining))
        interval = min(interval * 2, 0.05)


async def stop_group(process: asyncio.subprocess.Process, grace: float) -> None:
    """Stop the process group led by ``process``: SIGTERM, ``grace`` seconds, then SIGKILL."""
    pgid = process.pid
    if signal_group(pgid, signal.SIGTERM) and await wait_group_gone(process, grace):
        return
    if signal_group(pgid, signal.SIGKILL):
        logger.info("process group %d did not stop within %.1fs of SIGTERM: sent SIGKILL", pgid, grace)
    if not await wait_group_gone(process, 10.0):
        logger.warning("process group %d still has live members after SIGKILL", pgid)
