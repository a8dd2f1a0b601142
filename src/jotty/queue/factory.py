"""``open_queue``: the right ``TaskQueue`` backend for a store path or URL."""

from __future__ import annotations

import importlib
import os
from typing import Any

from jotty.db import resolve_store
from jotty.errors import JottyError
from jotty.queue.base import TaskQueue
from jotty.queue.sqlite import SQLiteTaskQueue

# kind -> (module, class, the extra that installs its driver)
_SERVER_BACKENDS = {
    "postgresql": ("jotty.queue.postgres", "PostgresTaskQueue", "postgres"),
    "redis": ("jotty.queue.redis_backend", "RedisTaskQueue", "redis"),
}


def open_queue(store: str | os.PathLike[str] | None = None, **options: Any) -> TaskQueue:
    """Open the queue of ``store``: an SQLite file path (or ``sqlite:///PATH``), a ``postgresql://``
    URL or a ``redis://`` URL; None means ``JOTTY_DATABASE_URL`` or the default SQLite file.

    ``options`` (``lease_seconds``, ``retry_backoff`` ...) go to the backend. Server backends are
    imported only when asked for.
    """
    location = resolve_store(store)
    if location.kind == "sqlite":
        return SQLiteTaskQueue(location.target, **options)
    module_name, class_name, extra = _SERVER_BACKENDS[location.kind]
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise JottyError(
            f"the {location.kind} queue backend cannot be loaded ({exc}): pip install 'jotty[{extra}]'"
        ) from exc
    queue: TaskQueue = getattr(module, class_name)(location.target, **options)
    return queue
