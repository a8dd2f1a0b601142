"""``open_queue``: the right ``TaskQueue`` backend for a store path or URL."""

from __future__ import annotations

import importlib
import os
from typing import Any

from jotty.db import resolve_store
from jotty.errors import JottyError
from jotty.queue.base import TaskQueue
from jotty.queue.sqlite import SQLiteTaskQueue

_SERVER_BACKENDS = {"postgresql": ("PostgresTaskQueue", "postgres"), "redis": ("RedisTaskQueue", "redis")}


def open_queue(store: str | os.PathLike[str] | None = None, **options: Any) -> TaskQueue:
    """Open the queue of ``store``: an SQLite file path (or ``sqlite:///PATH``), a ``postgresql://``
    URL or a ``redis://`` URL; None means ``JOTTY_DATABASE_URL`` or the default SQLite file.

    ``options`` (``lease_seconds``, ``retry_backoff`` ...) go to the backend. Server backends are
    imported only when asked for.
    """
    location = resolve_store(store)
    if location.kind == "sqlite":
        return SQLiteTaskQueue(location.target, **options)
    class_name, extra = _SERVER_BACKENDS[location.kind]
    try:
        backend = getattr(importlib.import_module("jotty.queue"), class_name, None)
    except ImportError as exc:
        raise JottyError(
            f"the {location.kind} queue backend cannot be loaded ({exc}): pip install 'jotty[{extra}]'"
        ) from exc
    if backend is None:
        raise JottyError(
            f"this Jotty has no {class_name} (jotty.queue does not export it), so it cannot open "
            f"{location.kind} stores: upgrade Jotty, or use an SQLite file path"
        )
    queue: TaskQueue = backend(location.target, **options)
    return queue
