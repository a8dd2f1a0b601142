"""Killing a process with SIGKILL at the moment a test chooses, for the kill -9 tests."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from typing import Any


def kill_when(
    process: subprocess.Popen[Any], ready: Callable[[], bool], seen: Callable[[], object], timeout: float = 30
) -> None:
    """Poll ``ready()`` until it is true while ``process`` runs, then SIGKILL the process and reap
    it. Fails (saying what ``seen()`` shows) if the process ends first or ``timeout`` passes."""
    try:
        deadline = time.monotonic() + timeout
        while not ready():
            assert process.poll() is None, f"the process ended before it was killed; seen: {seen()}"
            assert time.monotonic() < deadline, f"not ready after {timeout:g} s; seen: {seen()}"
            time.sleep(0.01)
        os.kill(process.pid, signal.SIGKILL)
        assert process.wait(timeout=10) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
