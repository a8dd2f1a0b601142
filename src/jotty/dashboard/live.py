"""Server-sent events for a run that is running: each stored event and each new step checkpoint as
it lands, then ``end``.

The stream tails ``jotty_events`` by id (``Last-Event-ID`` or ``after``), polling every
``POLL_SECONDS``, so a reload or a reconnect mid-run continues where the browser left off. A run
writes its events in batches (with a checkpoint, at most every 0.1 s), so the stream also watches
the step checkpoints themselves: a finished step shows within one poll of its checkpoint
(``event: checkpoint``), whether or not its events were written with it.
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
NEW_STEPS = (
    "SELECT step_path, status, finished_at FROM jotty_run_steps WHERE run_id = ? AND finished_at > ? "
    "ORDER BY finished_at"
)


async def live_events(
    reader: Reader, run_id: str, after: int, since: float, disconnected: Callable[[], Awaitable[bool]]
) -> AsyncIterator[str]:
    """SSE lines: one message per event with id above ``after`` (``id`` = event id), one per step
    checkpointed after ``since`` (the run page's ``checkpoint_at``), ``event: end`` once the run is over."""
    idle = 0.0
    yield "retry: 1000\n\n"
    checkpointed = since
    while not await disconnected():
        steps = await reader.rows(NEW_STEPS, (run_id, checkpointed))
        for path, status, finished in steps:
            checkpointed = max(checkpointed, finished)
            yield f"event: checkpoint\ndata: {json.dumps({'path': path, 'status': status, 'at': finished})}\n\n"
        events = await run_events(reader, run_id, after, BATCH)
        for event in events:
            after = event["id"]
            yield f"id: {after}\nevent: step\ndata: {json.dumps(event, default=str)}\n\n"
        if events or steps:
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
