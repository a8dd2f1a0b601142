"""The agent runner: one small process between the supervisor and each agent.

Started as ``python -I -S shim.py SPEC`` in its own session (so it leads the agent's process
group), it runs the agent with stdout and stderr into a pipe, copies that pipe into the log file,
rotating it at ``cap`` bytes and keeping ``keep`` old files (a program printing gigabytes is never
blocked and never fills the disk), and when the agent exits writes ``exit_file`` (JSON: exit code,
signal, bytes seen, rotations). It uses the standard library only and outlives the supervisor, so
a supervisor killed with ``kill -9`` finds its agents still running, and their exit codes
afterwards. After the agent exits it waits until the supervisor closes its stdin (see
``wait_for_release``). SIGTERM does not stop the runner itself: it keeps copying until the agent has gone.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from typing import Any

CHUNK = 65536


class LogWriter:
    """Appends to ``path``; beyond ``cap`` bytes renames it to ``path.1`` (``path.2`` ...)."""

    def __init__(self, path: str, cap: int, keep: int) -> None:
        self.path, self.cap, self.keep = path, cap, keep
        self.total = 0
        self.rotations = 0
        self.fd = self._open()
        self.size = os.fstat(self.fd).st_size

    def _open(self) -> int:
        return os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def write(self, data: bytes) -> None:
        self.total += len(data)
        while data:
            room = max(self.cap - self.size, 0)
            if room == 0:
                self.rotate()
                room = self.cap
            part, data = data[:room], data[room:]
            os.write(self.fd, part)
            self.size += len(part)

    def rotate(self) -> None:
        self.rotations += 1
        if self.keep <= 0:
            os.ftruncate(self.fd, 0)
            self.size = 0
            return
        os.close(self.fd)
        for i in range(self.keep - 1, 0, -1):
            older = f"{self.path}.{i}"
            if os.path.exists(older):
                os.replace(older, f"{self.path}.{i + 1}")
        os.replace(self.path, f"{self.path}.1")
        self.fd = self._open()
        self.size = 0


def write_exit(path: str, values: dict[str, Any]) -> None:
    """Write the exit record atomically (a reader never sees half of it)."""
    tmp = f"{path}.tmp"
    with open(tmp, "w") as out:
        json.dump(values, out)
    os.replace(tmp, path)


def run(spec: dict[str, Any]) -> int:
    log = LogWriter(spec["log"], int(spec["cap"]), int(spec["keep"]))
    record: dict[str, Any] = {"exit_code": None, "signal": None, "error": None}
    try:
        child = subprocess.Popen(
            spec["argv"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
    except OSError as exc:
        message = f"cannot start {spec['argv'][0]!r}: {exc.strerror or exc}"
        log.write(f"jotty supervise: {message}\n".encode())
        record.update(exit_code=127, error=message)
    else:
        assert child.stdout is not None
        fd = child.stdout.fileno()
        while True:
            try:
                data = os.read(fd, CHUNK)
            except InterruptedError:
                continue
            if not data:
                break
            log.write(data)
        code = child.wait()
        if code < 0:
            record.update(exit_code=128 - code, signal=-code)
        else:
            record["exit_code"] = code
    record.update(bytes=log.total, rotations=log.rotations, ended_at=time.time())
    os.close(log.fd)
    write_exit(spec["exit_file"], record)
    wait_for_release()
    return int(record["exit_code"])


def wait_for_release() -> None:
    """Tell the supervisor the agent ended (a byte on stdout), then stay until it closes our
    stdin: while it records the result, the task's PID (ours) is still alive, so no one's
    ``validate_pids`` takes the task back meanwhile. A dead supervisor closes stdin at once."""
    try:
        os.write(1, b"x")
        while os.read(0, 4096):
            pass
    except OSError:
        pass


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: None)  # a handler (not SIG_IGN): the agent gets the default
    sys.exit(run(json.loads(sys.argv[1])))


if __name__ == "__main__":
    main()
