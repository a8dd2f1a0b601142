"""``llmock serve`` (the chaos server from PyPI, written elsewhere) on a free local port, for tests.

``LLMock(*flags)`` starts the real ``llmock`` command as a subprocess with the given ``serve``
flags, waits until it answers ``/health`` and stops it on exit. ``script`` queues scripted
behaviours (``{"type": "stream_fault", "kind": "truncate", "after_chunks": 3}``), ``requests`` is
its journal of attempts, ``reset`` forgets both (one server can serve several tests), and ``report``
runs ``llmock report`` against it.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

CHAOS_FLAGS = (
    "--error-rate-429",
    "0.2",
    "--error-rate-500",
    "0.1",
    "--stream-fault",
    "truncate=0.1",
    "--stream-fault",
    "disconnect=0.1",
    "--stream-fault",
    "malformed=0.05",
)
"""The fault rates of issue 9: 30% of attempts get an HTTP error, 25% of streams are broken."""

LLMOCK = Path(sys.executable).with_name("llmock")


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Report:
    """What ``llmock report`` said: its exit status, its text and its JSON verdict."""

    returncode: int
    text: str
    verdict: dict[str, Any]


class LLMock:
    """A running ``llmock serve`` with the given flags (see the module docstring)."""

    def __init__(self, *flags: str) -> None:
        self.flags = flags
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.base_url = f"{self.url}/v1"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> LLMock:
        if not LLMOCK.exists():
            raise RuntimeError(f"{LLMOCK} is missing: install the dev extra (pip install -e '.[dev]')")
        command = [str(LLMOCK), "serve", "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning"]
        env = {**os.environ, "NO_COLOR": "1"}
        self._process = subprocess.Popen(
            [*command, *self.flags], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                err = self._process.stderr.read().decode() if self._process.stderr else ""
                raise RuntimeError(f"llmock serve exited with {self._process.returncode}: {err}")
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=1) as response:
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("llmock serve did not answer /health within 30 s")

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None

    def __enter__(self) -> LLMock:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _admin(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.url}/_llmock{path}", data=data, method=method, headers={"content-type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def script(self, *behaviors: dict[str, Any]) -> None:
        """Queue scripted behaviours for the next requests."""
        self._admin("POST", "/scenario", {"behaviors": list(behaviors)})

    def reset(self) -> None:
        """Forget every recorded request and queued behaviour (the flags stay): a fresh server."""
        self._admin("POST", "/reset")

    def requests(self) -> list[dict[str, Any]]:
        """Every attempt the server saw, in order (its journal)."""
        return list(self._admin("GET", "/requests")["requests"])

    def report(self, strict: bool = True) -> Report:
        """Run ``llmock report`` (``--strict`` by default) against this server."""
        flags = ["--strict"] if strict else []
        done = subprocess.run(
            [str(LLMOCK), "report", "--url", self.url, *flags], capture_output=True, text=True, timeout=60
        )
        verdict = self._admin("GET", "/verdict")
        return Report(done.returncode, done.stdout + done.stderr, verdict)


def unexplained(report: Report, requests: list[dict[str, Any]], attempts: int) -> list[dict[str, Any]]:
    """The findings of ``report`` that llmock's blind spots do not explain.

    llmock groups a request with the attempt before it only if it saw that attempt fail. A malformed
    chunk in a stream it finished writing before the client hung up therefore reads as "ignored"
    even though the very next request is the same call retried (and the attempts after it look like a
    new call, which may "give up" after one attempt); and a call whose last allowed attempt (of
    ``attempts``) was broken reads as "accepted" although the client gave up on it. Both are checked
    here against the journal: a later request with the same body, or all attempts used.
    """
    out = []
    for finding in report.verdict["findings"]:
        [seq] = finding["requests"] if len(finding["requests"]) == 1 else [None]
        record = next((r for r in requests if r["seq"] == seq), None)
        if record is None:
            out.append(finding)
            continue
        same = [r for r in requests if r["fingerprint"] == record["fingerprint"]]
        retried = any(r["started_at"] >= record["ended_at"] and r["seq"] > seq for r in same)
        broken = finding["code"] in ("malformed_chunk_ignored", "truncated_stream_accepted")
        used_all = len(same) == attempts and (broken or finding["code"] == "gave_up")
        if not ((broken and retried) or used_all):
            out.append(finding)
    return out


@pytest.fixture
def llmock_chaos() -> Iterator[LLMock]:
    """``llmock serve`` with issue 9's fault rates, on a free port."""
    with LLMock(*CHAOS_FLAGS) as server:
        yield server


@pytest.fixture
def llmock_plain() -> Iterator[LLMock]:
    """``llmock serve`` without random faults (script them with ``.script``)."""
    with LLMock() as server:
        yield server
