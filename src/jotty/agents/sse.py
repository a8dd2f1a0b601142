"""Server-sent events read line by line, for streams whose end must be checked, not assumed.

The OpenAI SDK's stream ends quietly when the connection closes, whether or not the server sent
``data: [DONE]``, and raises a raw ``JSONDecodeError`` on a malformed chunk. ``sse_events`` yields
each event so the caller can insist on the terminator and parse each chunk itself.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass


@dataclass(frozen=True)
class SSEEvent:
    """One server-sent event: its ``event`` name (``None`` when unnamed) and its ``data`` text."""

    data: str
    event: str | None = None


async def sse_events(lines: AsyncIterable[str]) -> AsyncIterator[SSEEvent]:
    """The events of an SSE body given line by line (a last event without its blank line too: the
    caller's checks of the JSON and of the terminator tell whether the stream was cut)."""
    data: list[str] = []
    event: str | None = None
    async for raw in lines:
        line = raw.rstrip("\r\n")
        if not line:
            if data:
                yield SSEEvent("\n".join(data), event)
            data, event = [], None
            continue
        if line.startswith(":"):
            continue  # a comment (keep-alive)
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            data.append(value)
        elif name == "event":
            event = value or None
    if data:
        yield SSEEvent("\n".join(data), event)
