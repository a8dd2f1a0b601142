"""Facts about local processes read from the kernel: is a PID alive, what state and group is it in."""

from __future__ import annotations

import os
from pathlib import Path

PROC = Path("/proc")


def proc_stat(pid: int) -> tuple[str, int] | None:
    """The state letter and process group of ``pid`` from ``/proc``, or ``None``."""
    try:
        raw = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rfind(")") + 2 :].split()
    return fields[0], int(fields[2])


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie (exited, not yet reaped)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    state = proc_stat(pid)
    return state is None or state[0] != "Z"
