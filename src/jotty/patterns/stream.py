"""``RunStream``: the events of a run as they happen, then its result."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import TYPE_CHECKING

from jotty.errors import RunError
from jotty.events import Event, EventSink

if TYPE_CHECKING:
    from jotty.patterns.result import RunResult


class RunStream:
    """``async for event in flow.stream(x)`` yields each event; ``stream.result`` is then the result.

    The run starts on the first iteration. Leaving early (``break`` inside ``async with``, or
    ``aclose()``) cancels the run. An error of the run is raised after its events.
    """

    def __init__(self, start: Callable[[EventSink], Awaitable[RunResult]]) -> None:
        self._start = start
        self._queue: asyncio.Queue[Event | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._result: RunResult | None = None
        self._finished = False

    @property
    def result(self) -> RunResult:
        """The run's result, once the stream is exhausted."""
        if self._result is None:
            raise RunError("the run has not finished: iterate the stream to its end before reading .result")
        return self._result

    async def _run(self) -> None:
        async def sink(event: Event) -> None:
            self._queue.put_nowait(event)

        try:
            self._result = await self._start(sink)
        finally:
            self._queue.put_nowait(None)

    def __aiter__(self) -> RunStream:
        return self

    async def __anext__(self) -> Event:
        if self._finished:
            raise StopAsyncIteration
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())
        event = await self._queue.get()
        if event is None:
            self._finished = True
            await self._task  # raises the run's error, if any
            raise StopAsyncIteration
        return event

    async def aclose(self) -> None:
        """Stop the run if it is still going."""
        self._finished = True
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def __aenter__(self) -> RunStream:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()
