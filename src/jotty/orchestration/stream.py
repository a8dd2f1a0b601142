"""``ConductorStream``: a run's events as dicts while it happens, then its result."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any

from jotty.errors import RunError
from jotty.events import Event, EventSink
from jotty.orchestration.result import ConductorResult

Start = Callable[[EventSink], Awaitable[ConductorResult]]


class ConductorStream:
    """``async for event in conductor.run_stream(goal)`` yields each event as a dict
    (``Event.to_dict()``); ``stream.result`` is then the ``ConductorResult``.

    The run starts on the first iteration. Leaving early (``break`` inside ``async with``, or
    ``aclose()``) cancels it. An error of the run is raised after its events.
    """

    def __init__(self, start: Start) -> None:
        self._start = start
        self._events: asyncio.Queue[Event | None] = asyncio.Queue()
        self._task: asyncio.Task[ConductorResult] | None = None
        self._done = False

    @property
    def result(self) -> ConductorResult:
        """The run's result, once every event was read."""
        if self._task is None or not self._done or not self._task.done() or self._task.cancelled():
            raise RunError("the run has not finished: iterate the stream to its end before reading .result")
        return self._task.result()

    async def _run(self) -> ConductorResult:
        try:
            return await self._start(self._events.put)
        finally:
            self._events.put_nowait(None)

    def __aiter__(self) -> ConductorStream:
        return self

    async def __anext__(self) -> dict[str, Any]:
        if self._done:
            raise StopAsyncIteration
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())
        event = await self._events.get()
        if event is None:
            self._done = True
            await self._task  # raises the run's error, if any
            raise StopAsyncIteration
        return event.to_dict()

    async def aclose(self) -> None:
        """Stop the run if it is still going."""
        self._done = True
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def __aenter__(self) -> ConductorStream:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()
