"""Fixtures for the agent tests: a real OpenAI-compatible server, event capture, process checks."""

from __future__ import annotations

import sys
from pathlib import Path

# `python -m pytest` (make test) puts the repository root on sys.path; a bare `pytest` does not.
_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

import pytest  # noqa: E402
from tests.support.openai_server import openai_server  # noqa: E402

from jotty.agents import RunContext  # noqa: E402
from jotty.events import Event  # noqa: E402

__all__ = ["openai_server"]


class EventLog:
    """A RunContext sink that keeps every event."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    async def __call__(self, event: Event) -> None:
        self.events.append(event)

    def of(self, type: str) -> list[Event]:
        return [e for e in self.events if e.type == type]

    def ctx(self, **data: object) -> RunContext:
        return RunContext(run_id="run-1", step_path="step", data=dict(data), sink=self)


@pytest.fixture
def events() -> EventLog:
    return EventLog()
