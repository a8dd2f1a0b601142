"""Agent log files: where they go, their last lines, and following one as it grows."""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

from jotty.db import resolve_store
from jotty.db.location import jotty_home

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def default_log_dir(store: str | None) -> Path:
    """The store's log directory: ``logs/`` beside an SQLite file, else ``$JOTTY_HOME/logs``."""
    location = resolve_store(store)
    if location.kind == "sqlite":
        return Path(location.target).resolve().parent / "logs"
    return jotty_home().resolve() / "logs"


def task_dir(log_dir: Path, task_id: str) -> Path:
    """The directory of one task's files (logs, prompt, exit records)."""
    return log_dir / "supervise" / (_SAFE.sub("-", task_id).strip("-.") or "task")


def tail(path: Path, lines: int, max_bytes: int = 65536) -> list[str]:
    """The last ``lines`` lines of ``path`` (reading at most ``max_bytes`` from its end)."""
    if lines <= 0:
        return []
    try:
        with open(path, "rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            handle.seek(max(0, size - max_bytes))
            data = handle.read()
    except OSError:
        return []
    text = data.decode("utf-8", errors="replace").replace("\r", "\n")
    return [line for line in text.splitlines() if line.strip()][-lines:]


async def follow(
    path: Path, running: Callable[[], Awaitable[bool]], *, interval: float = 0.2, start: int = 0
) -> AsyncIterator[bytes]:
    """Yield what is written to ``path`` from byte ``start`` on, until ``running()`` is false and
    nothing more comes. A rotated log (the file replaced or shrunk) is reopened from its start."""
    position = start
    inode = None
    while True:
        try:
            stat = path.stat()
        except FileNotFoundError:
            stat = None
        if stat is not None:
            if inode is not None and (stat.st_ino != inode or stat.st_size < position):
                position = 0
            inode = stat.st_ino
            if stat.st_size > position:
                with open(path, "rb") as handle:
                    handle.seek(position)
                    data = handle.read(1 << 20)
                position += len(data)
                yield data
                continue
        if not await running():
            return
        await asyncio.sleep(interval)
