"""OpenTelemetry export of runs (``jotty[otel]``): spans in the GenAI semantic conventions.

Off unless configured: ``JOTTY_OTEL=1`` in the environment, or ``configure(tracer_provider)``
(see ``jotty.tracing.setup`` for the standard ``OTEL_*`` settings that apply). Every top-level
flow run, Conductor runs included, then reports an ``invoke_workflow`` span with
``invoke_agent``, ``chat`` and ``execute_tool`` spans nested as its steps are
(``jotty.tracing.spans``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from jotty.events import EventSink
from jotty.tracing.setup import active_tracer, configure, disable, enabled
from jotty.tracing.sink import TracingSink

T = TypeVar("T")

__all__ = ["TracingSink", "active_tracer", "configure", "disable", "enabled", "traced"]


async def traced(run: Callable[[EventSink | None], Awaitable[T]], sink: EventSink | None) -> T:
    """``await run(sink)``; when tracing is on, its events become spans on the way to ``sink``."""
    tracer = active_tracer()
    if tracer is None:
        return await run(sink)
    from jotty.tracing.spans import RunSpans

    spans = RunSpans(tracer, sink)
    try:
        result = await run(spans)
    except BaseException as exc:
        spans.close(exc)
        raise
    spans.close()
    return result
