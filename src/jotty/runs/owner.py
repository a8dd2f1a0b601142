"""Who runs a run: ``host:pid``, so a second process does not resume a run that is still alive."""

from __future__ import annotations

import os
import socket


def current_owner() -> str:
    """This process as a run owner."""
    return f"{socket.gethostname()}:{os.getpid()}"


def live_other_owner(owner: str | None) -> bool:
    """True when ``owner`` is another process on this host that is still alive.

    A process on another host cannot be checked from here; it counts as gone.
    """
    if not owner or owner == current_owner():
        return False
    host, _, pid_text = owner.rpartition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
