"""Server-sent events for a run that is running: each stored event as it lands, then ``end``.

The stream tails ``jotty_events`` by id (``Last-Event-ID`` or ``after``), polling every
``POLL_SECONDS``, so a reload or a reconnect mid-run continues where the browser left off. Steps
are written with their events when they finish, so a new step shows within a poll of its checkpoint.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable

from jotty.dashboard.reader import Reader
from jotty.dashboard.run_view import run_events

POLL_SECONDS = 0.1
KEEPALIVE_SECONDS = 15.0
BATCH = 500


async def live_events(
    reader: Reader, run_id: str, after: int, disconnected: Callable[[], Awaitable[bool]]
) -> AsyncIterator[str]:
    """SSE lines: one message per event (``id`` = event id), ``event: end`` once the run is over."""
    idle = 0.0
    yield "retry: 1000\n\n"
    while not await disconnected():
        events = await run_events(reader, run_id, after, BATCH)
        for event in events:
            after = event["id"]
            yield f"id: {after}\nevent: step\ndata: {json.dumps(event, default=str)}\n\n"
        if events:
            idle = 0.0
            continue
        row = await reader.one("SELECT status FROM jotty_runs WHERE run_id = ?", (run_id,))
        if row is None or row[0] != "running":
            if not await run_events(reader, run_id, after, 1):
                yield f"event: end\ndata: {json.dumps({'status': None if row is None else row[0]})}\n\n"
                return
            continue
        await asyncio.sleep(POLL_SECONDS)
        idle += POLL_SECONDS
        if idle >= KEEPALIVE_SECONDS:
            idle = 0.0
            yield ": keepalive\n\n"
