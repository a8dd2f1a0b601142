"""A run's events as OpenTelemetry spans, in the GenAI semantic conventions.

=====================  =========================================  =======================================
span                   from the events                            attributes
=====================  =========================================  =======================================
``invoke_workflow X``  ``run_started`` .. ``run_completed/failed``  ``jotty.flow.*``, ``jotty.run.id``, usage
``invoke_agent A``     ``step_started`` .. ``step_completed/        ``gen_ai.agent.name``, ``jotty.step.*``,
                       failed`` (one span per attempt)              usage
``chat M``             ``llm_call`` (one model request)             ``gen_ai.request.model``, usage
``execute_tool T``     ``tool_call`` .. ``tool_result``             ``gen_ai.tool.name``, ``.call.id``
=====================  =========================================  =======================================

Usage is ``gen_ai.usage.input_tokens`` / ``output_tokens``; every span has
``gen_ai.operation.name``. A span's parent is the open span of the nearest step path above it,
so spans nest as the steps do (a pattern inside a pattern, a fallback beside its step). Other
events (``route_chosen``, ``chain_error_handled``, ``llm_retry``, a validator's rejection, ...)
become span events of that span. Spans take their times from the events, so they are exact
even when the events are observed late.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer

from jotty.events import Event, EventSink, EventType
from jotty.tracing.sink import TracingSink
from jotty.wording import cut

logger = logging.getLogger(__name__)

OPERATION = "gen_ai.operation.name"
INPUT_TOKENS = "gen_ai.usage.input_tokens"
OUTPUT_TOKENS = "gen_ai.usage.output_tokens"
QUIET = frozenset(
    {EventType.TEXT_CHUNK, EventType.PROCESS_OUTPUT, EventType.CHAIN_STEP_STARTED, EventType.CHAIN_STEP_COMPLETED}
)
"""Events not kept on spans: too frequent, or told by the step spans already."""
MAX_TEXT = 256


def _ns(at: float) -> int:
    return int(at * 1e9)


def _parent_path(path: str) -> str | None:
    head, slash, _ = path.rpartition("/")
    return head if slash else None


def _scalars(data: dict[str, Any], prefix: str = "jotty.") -> dict[str, Any]:
    """The scalar values of an event's data as span attributes (long text clipped)."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, bool | int | float):
            out[prefix + key] = value
        elif isinstance(value, str):
            out[prefix + key] = cut(value, MAX_TEXT)
    return out


def _usage(data: dict[str, Any]) -> dict[str, int]:
    prompt, completion = data.get("prompt_tokens"), data.get("completion_tokens")
    if not isinstance(prompt, int) or not isinstance(completion, int):
        return {}
    return {INPUT_TOKENS: prompt, OUTPUT_TOKENS: completion}


class RunSpans(TracingSink):
    """An event sink that turns one run's events into spans and passes them on to ``inner``.

    Tracing never breaks a run: a span that cannot be made is logged and skipped.
    """

    def __init__(self, tracer: Tracer, inner: EventSink | None = None) -> None:
        self._tracer = tracer
        self._inner = inner
        self._open: dict[str, list[Span]] = {}
        self._tools: dict[tuple[str, str], Span] = {}
        self._handlers: dict[str, Callable[[Event], None]] = {
            EventType.RUN_STARTED: self._run_started,
            EventType.RUN_RESUMED: self._run_started,
            EventType.RUN_COMPLETED: self._run_ended,
            EventType.RUN_FAILED: self._run_ended,
            EventType.STEP_STARTED: self._step_started,
            EventType.STEP_COMPLETED: self._step_ended,
            EventType.STEP_FAILED: self._step_ended,
            EventType.LLM_CALL: self._llm_call,
            EventType.TOOL_CALL: self._tool_call,
            EventType.TOOL_RESULT: self._tool_result,
        }

    async def __call__(self, event: Event) -> None:
        self.observe(event)
        if self._inner is not None:
            await self._inner(event)

    def observe(self, event: Event) -> None:
        """Turn ``event`` into (part of) a span."""
        try:
            handler = self._handlers.get(event.type)
            if handler is not None:
                handler(event)
            elif event.type not in QUIET:
                self._note(event)
        except Exception:
            logger.warning("tracing: could not record the %s event of %s", event.type, event.step_path, exc_info=True)

    def close(self, error: BaseException | None = None) -> None:
        """End every span still open (the run ended by an exception: they end with its error)."""
        spans = [*self._tools.values(), *(s for stack in self._open.values() for s in reversed(stack))]
        self._tools.clear()
        self._open.clear()
        for span in spans:
            if error is not None:
                span.record_exception(error)
                span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"))
            span.end()

    # -- spans ---------------------------------------------------------------------------------

    def _start(
        self, name: str, parent: Span | None, at: float, attributes: dict[str, Any], kind: SpanKind = SpanKind.INTERNAL
    ) -> Span:
        context = None if parent is None else trace.set_span_in_context(parent)
        return self._tracer.start_span(name, context=context, kind=kind, attributes=attributes, start_time=_ns(at))

    def _nearest(self, path: str | None) -> Span | None:
        """The innermost open span at ``path`` or above it."""
        while path is not None:
            stack = self._open.get(path)
            if stack:
                return stack[-1]
            path = _parent_path(path)
        return None

    def _push(self, path: str, span: Span) -> None:
        self._open.setdefault(path, []).append(span)

    def _pop(self, path: str) -> Span | None:
        stack = self._open.get(path)
        if not stack:
            return None
        span = stack.pop()
        if not stack:
            del self._open[path]
        return span

    def _run_started(self, event: Event) -> None:
        data, path = event.data, event.step_path
        name = str(data.get("flow") or path)
        attributes = {
            OPERATION: "invoke_workflow",
            "jotty.flow.name": name,
            "jotty.flow.kind": str(data.get("kind", "")),
            "jotty.run.id": event.run_id or "",
            "jotty.run.resumed": event.type == EventType.RUN_RESUMED,
            "jotty.run.restored_steps": int(data.get("restored_steps", 0)),
        }
        self._push(path, self._start(f"invoke_workflow {name}", self._nearest(path), event.at, attributes))

    def _run_ended(self, event: Event) -> None:
        span = self._pop(event.step_path)
        if span is None:
            return
        span.set_attributes(_usage(event.data))
        if event.type == EventType.RUN_FAILED:
            span.set_status(Status(StatusCode.ERROR, str(event.data.get("error", "the run failed"))))
            span.set_attribute("error.type", "run_failed")
        span.end(_ns(event.at))

    def _step_started(self, event: Event) -> None:
        data, path = event.data, event.step_path
        agent = str(data.get("agent") or path.rpartition("/")[2])
        attributes = {
            OPERATION: "invoke_agent",
            "gen_ai.agent.name": agent,
            "jotty.step.path": path,
            "jotty.step.attempt": int(data.get("attempt", 1)),
            "jotty.step.role": str(data.get("role", "")),
        }
        self._push(path, self._start(f"invoke_agent {agent}", self._nearest(_parent_path(path)), event.at, attributes))

    def _step_ended(self, event: Event) -> None:
        data = event.data
        span = self._pop(event.step_path)
        if span is None:  # a validator rejected a finished step's output
            self._note(event)
            return
        span.set_attributes(_usage(data))
        if event.type == EventType.STEP_FAILED:
            span.set_status(Status(StatusCode.ERROR, str(data.get("error", "the step failed"))))
            span.set_attribute("error.type", "step_failed")
        span.end(_ns(event.at))

    def _llm_call(self, event: Event) -> None:
        data = event.data
        model = str(data.get("model", ""))
        attributes: dict[str, Any] = {
            OPERATION: "chat",
            "gen_ai.provider.name": "openai",
            "gen_ai.request.model": model,
            "jotty.llm.attempt": int(data.get("attempt", 1)),
            **_usage(data),
        }
        if data.get("finish_reason"):
            attributes["gen_ai.response.finish_reasons"] = [str(data["finish_reason"])]
        started = float(data.get("started", event.at))
        span = self._start(f"chat {model}", self._nearest(event.step_path), started, attributes, SpanKind.CLIENT)
        if "error" in data:
            span.set_status(Status(StatusCode.ERROR, str(data["error"])))
            span.set_attribute("error.type", "llm_request_failed")
        span.end(_ns(event.at))

    def _tool_call(self, event: Event) -> None:
        data = event.data
        name, call_id = str(data.get("name", "")), str(data.get("id", ""))
        attributes = {
            OPERATION: "execute_tool",
            "gen_ai.tool.name": name,
            "gen_ai.tool.call.id": call_id,
            "gen_ai.tool.type": "function",
        }
        span = self._start(f"execute_tool {name}", self._nearest(event.step_path), event.at, attributes)
        self._tools[(event.step_path, call_id)] = span

    def _tool_result(self, event: Event) -> None:
        span = self._tools.pop((event.step_path, str(event.data.get("id", ""))), None)
        if span is None:
            return
        if "error" in event.data:
            span.set_status(Status(StatusCode.ERROR, str(event.data["error"])))
            span.set_attribute("error.type", "tool_error")
        span.end(_ns(event.at))

    def _note(self, event: Event) -> None:
        span = self._nearest(event.step_path)
        if span is not None:
            attributes = {"jotty.step.path": event.step_path, **_scalars(event.data)}
            span.add_event(str(event.type), attributes, _ns(event.at))
