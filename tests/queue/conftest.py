"""The queue backends every conformance test runs against.

``BACKENDS`` maps a name to an async factory ``(tmp_path, **options) -> TaskQueue``. A factory may
be called several times in one test (several queue objects on the same store act as separate
workers) and must hand back queues on the same store for the same ``tmp_path``.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from jotty.queue import MemoryTaskQueue, SQLiteTaskQueue, TaskQueue

Factory = Callable[..., Awaitable[TaskQueue]]

FAST = {"retry_backoff": 0.05, "max_backoff": 0.2}


async def _memory(tmp_path: Path, **options: Any) -> TaskQueue:
    first = _memory_stores.get(tmp_path)
    queue = MemoryTaskQueue(shared_with=first, **{**FAST, **options})
    _memory_stores.setdefault(tmp_path, queue)
    return queue


_memory_stores: dict[Path, MemoryTaskQueue] = {}


async def _sqlite(tmp_path: Path, **options: Any) -> TaskQueue:
    return SQLiteTaskQueue(tmp_path / "queue.db", **{**FAST, **options})


BACKENDS: dict[str, Factory] = {"memory": _memory, "sqlite": _sqlite}


def register_backend(name: str, factory: Factory) -> None:
    """Add a backend to the conformance suite (used by the server backends' conftest hooks)."""
    BACKENDS[name] = factory


with contextlib.suppress(ImportError):  # server backends register themselves when their module exists
    from tests.queue import server_backends  # noqa: F401


@pytest.fixture(params=sorted(BACKENDS))
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def make_queue(backend: str, tmp_path: Path) -> AsyncIterator[Callable[..., Awaitable[TaskQueue]]]:
    """Open queues of the parametrized backend on one store; all are closed after the test."""
    opened: list[TaskQueue] = []

    async def make(**options: Any) -> TaskQueue:
        queue = await BACKENDS[backend](tmp_path, **options)
        opened.append(queue)
        return queue

    yield make
    for queue in opened:
        await queue.close()
    _memory_stores.pop(tmp_path, None)


@pytest.fixture
async def queue(make_queue: Callable[..., Awaitable[TaskQueue]]) -> TaskQueue:
    return await make_queue()
