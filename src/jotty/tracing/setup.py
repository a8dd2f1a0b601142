"""Turning tracing on and off: ``JOTTY_OTEL=1`` in the environment, or ``configure()``.

Off by default: a run then pays one attribute read. ``JOTTY_OTEL=1`` (or ``true``/``yes``/``on``)
turns it on at the first run, as ``configure()`` with no provider does: the tracer provider the
application installed globally, if any, else an OpenTelemetry SDK provider of Jotty's own whose
exporters follow the standard settings (``OTEL_TRACES_EXPORTER``: ``otlp`` (default),
``console``, ``none``; ``OTEL_EXPORTER_OTLP_ENDPOINT``, ``..._TRACES_ENDPOINT``, ``..._HEADERS``,
``..._PROTOCOL``; ``OTEL_SERVICE_NAME``, default ``jotty``). Spans of that provider are batched
and flushed at exit.
"""

from __future__ import annotations

import atexit
import importlib
import os
from typing import Any

from jotty.errors import ValidationError

ENV = "JOTTY_OTEL"
_ON = frozenset({"1", "true", "yes", "on"})
_OFF = frozenset({"", "0", "false", "no", "off"})


class _State:
    tracer: Any = None
    checked = False
    provider: Any = None  # a provider Jotty made (and shuts down at exit)


_state = _State()


def active_tracer() -> Any:
    """The OpenTelemetry tracer runs report to, or None when tracing is off."""
    if not _state.checked:  # a bad setting fails every run until it is fixed
        value = os.environ.get(ENV, "").strip().lower()
        if value in _ON:
            configure()
        elif value not in _OFF:
            raise ValidationError(f"{ENV}={value!r}: set it to 1 to export spans, or 0 (or unset it) for none")
        _state.checked = True
    return _state.tracer


def configure(tracer_provider: Any = None) -> None:
    """Report every run's spans from now on, to ``tracer_provider`` (an OpenTelemetry
    ``TracerProvider``; default: the global one if the application set one, else a provider
    configured from the standard ``OTEL_*`` settings). Needs ``jotty[otel]``."""
    try:
        from opentelemetry import trace
    except ImportError as exc:
        raise ValidationError(f"tracing needs OpenTelemetry ({exc}): pip install 'jotty[otel]'") from exc
    if tracer_provider is None:
        current = trace.get_tracer_provider()
        tracer_provider = current if not isinstance(current, trace.ProxyTracerProvider) else _own_provider()
    elif not hasattr(tracer_provider, "get_tracer"):
        raise ValidationError(
            f"tracer_provider must be an OpenTelemetry TracerProvider, got {type(tracer_provider).__name__}"
        )
    from jotty import __version__

    _state.tracer = tracer_provider.get_tracer("jotty", __version__)
    _state.checked = True


def disable() -> None:
    """Stop reporting spans (a provider Jotty made is flushed and shut down)."""
    _state.tracer = None
    _state.checked = True
    _shutdown()


def enabled() -> bool:
    """True when runs report spans."""
    return active_tracer() is not None


def _own_provider() -> Any:
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    named = "OTEL_SERVICE_NAME" in os.environ or "service.name=" in os.environ.get("OTEL_RESOURCE_ATTRIBUTES", "")
    resource = Resource.create({} if named else {"service.name": "jotty"})
    provider = TracerProvider(resource=resource)
    for exporter in _exporters():
        provider.add_span_processor(BatchSpanProcessor(exporter))
    _shutdown()
    _state.provider = provider
    return provider


def _exporters() -> list[Any]:
    names = [n.strip().lower() for n in os.environ.get("OTEL_TRACES_EXPORTER", "otlp").split(",") if n.strip()]
    exporters = []
    for name in names:
        if name == "none":
            continue
        if name == "console":
            from opentelemetry.sdk.trace.export import ConsoleSpanExporter

            exporters.append(ConsoleSpanExporter())
        elif name == "otlp":
            exporters.append(_otlp())
        else:
            raise ValidationError(f"OTEL_TRACES_EXPORTER={name!r} is not supported here: use otlp, console or none")
    return exporters


def _otlp() -> Any:
    protocol = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or os.environ.get(
        "OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"
    )
    transport = "grpc" if protocol == "grpc" else "http"
    try:
        module = importlib.import_module(f"opentelemetry.exporter.otlp.proto.{transport}.trace_exporter")
    except ImportError as exc:
        extra = "opentelemetry-exporter-otlp-proto-grpc" if protocol == "grpc" else "'jotty[otel-otlp]'"
        raise ValidationError(
            f"exporting spans over OTLP ({protocol}) needs its exporter ({exc}): pip install {extra}, "
            "or set OTEL_TRACES_EXPORTER=console"
        ) from exc
    return module.OTLPSpanExporter()


def _shutdown() -> None:
    provider, _state.provider = _state.provider, None
    if provider is not None:
        provider.shutdown()


atexit.register(_shutdown)
