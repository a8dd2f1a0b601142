"""Fixtures for the tracing tests: spans captured by the OpenTelemetry SDK's in-memory exporter."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from jotty import tracing
from jotty.tracing import setup
from tests.support.openai_server import openai_server

__all__ = ["openai_server"]


class Spans:
    """The finished spans, with helpers to find them and their parents."""

    def __init__(self, exporter: InMemorySpanExporter) -> None:
        self.exporter = exporter

    @property
    def all(self) -> tuple[ReadableSpan, ...]:
        return self.exporter.get_finished_spans()

    def named(self, name: str) -> list[ReadableSpan]:
        return [s for s in self.all if s.name == name]

    def one(self, name: str) -> ReadableSpan:
        [span] = self.named(name)
        return span

    def parent_of(self, span: ReadableSpan) -> ReadableSpan | None:
        if span.parent is None:
            return None
        return next(s for s in self.all if s.context is not None and s.context.span_id == span.parent.span_id)

    def tree(self) -> list[tuple[str, str | None]]:
        """(span, parent span) names, in the order the spans started."""
        ordered = sorted(self.all, key=lambda s: s.start_time or 0)
        out = []
        for span in ordered:
            parent = self.parent_of(span)
            out.append((span.name, None if parent is None else parent.name))
        return out


@pytest.fixture
def spans() -> Iterator[Spans]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.configure(provider)
    try:
        yield Spans(exporter)
    finally:
        tracing.disable()
        setup._state.checked = False  # later tests read JOTTY_OTEL again
        provider.shutdown()
