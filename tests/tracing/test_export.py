"""Tracing is off unless configured; ``JOTTY_OTEL=1`` exports over OTLP/HTTP with the standard
``OTEL_*`` settings (to a real receiver on 127.0.0.1, in a separate process that flushes at exit)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

SCRIPT = Path(__file__).with_name("traced_flow.py")


class Receiver:
    """An OTLP/HTTP traces endpoint that keeps every request it gets."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, ExportTraceServiceRequest]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((self.path, ExportTraceServiceRequest.FromString(body)))
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def spans(self) -> list[tuple[str, str]]:
        """(service name, span name) of every span received."""
        out = []
        for _, request in self.requests:
            for resource_spans in request.resource_spans:
                service = next(
                    a.value.string_value for a in resource_spans.resource.attributes if a.key == "service.name"
                )
                for scope_spans in resource_spans.scope_spans:
                    out.extend((service, span.name) for span in scope_spans.spans)
        return out


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()


def run_flow(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "JOTTY_OTEL"))}
    return subprocess.run(
        [sys.executable, str(SCRIPT)], env={**clean, **env}, capture_output=True, text=True, timeout=60
    )


def test_jotty_otel_exports_over_otlp_with_the_standard_settings(receiver: Receiver) -> None:
    done = run_flow(JOTTY_OTEL="1", OTEL_EXPORTER_OTLP_ENDPOINT=receiver.url, OTEL_SERVICE_NAME="notes-service")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "completed HI!"
    assert {path for path, _ in receiver.requests} == {"/v1/traces"}
    assert sorted(receiver.spans()) == [
        ("notes-service", "invoke_agent shout"),
        ("notes-service", "invoke_agent upper"),
        ("notes-service", "invoke_workflow notes"),
    ]


def test_the_service_is_named_jotty_unless_told(receiver: Receiver) -> None:
    done = run_flow(JOTTY_OTEL="true", OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=receiver.url + "/v1/traces")
    assert done.returncode == 0, done.stderr
    assert {service for service, _ in receiver.spans()} == {"jotty"}


def test_off_unless_configured(receiver: Receiver) -> None:
    for env in ({}, {"JOTTY_OTEL": "0"}):
        done = run_flow(OTEL_EXPORTER_OTLP_ENDPOINT=receiver.url, **env)
        assert done.returncode == 0, done.stderr
    assert receiver.requests == []


def test_a_bad_setting_says_what_to_set() -> None:
    done = run_flow(JOTTY_OTEL="maybe")
    assert done.returncode != 0
    assert "JOTTY_OTEL='maybe': set it to 1 to export spans, or 0" in done.stderr
    done = run_flow(JOTTY_OTEL="1", OTEL_TRACES_EXPORTER="zipkin")
    assert done.returncode != 0 and "OTEL_TRACES_EXPORTER='zipkin' is not supported here" in done.stderr
