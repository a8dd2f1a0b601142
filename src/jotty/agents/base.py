"""The agent protocol: run an input in a context, return an ``AgentResult``.

Every agent (a Python function, a CLI program, an LLM) implements ``Agent.run``. Patterns compose
agents; they never care which kind an agent is.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Any

from jotty.events import Event, EventSink


@dataclass
class TokenUsage:
    """Tokens an agent used in its context window."""

    prompt: int = 0
    completion: int = 0

    @property
    def total(self) -> int:
        return self.prompt + self.completion

    def __add__(self, other: TokenUsage) -> TokenUsage:
        return TokenUsage(self.prompt + other.prompt, self.completion + other.completion)


@dataclass
class AgentResult:
    """What one agent run produced: output or error, tokens, duration and artifacts."""

    output: Any = None
    ok: bool = True
    error: str | None = None
    tokens: TokenUsage = field(default_factory=TokenUsage)
    duration: float = 0.0
    artifacts: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def failure(cls, error: str, **kw: Any) -> AgentResult:
        """A failed result carrying ``error``."""
        return cls(ok=False, error=error, **kw)


@dataclass
class RunContext:
    """Where an agent runs: its run and step path, the caller's context data, and an event sink.

    ``data`` is the context window's explicit contents given by the caller (goal context, a
    predecessor's summary); an agent reads only what is here.
    """

    run_id: str | None = None
    step_path: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    sink: EventSink | None = None

    async def emit(self, type: str, **data: Any) -> None:
        """Send an event of ``type`` for this step to the sink, if any."""
        if self.sink is not None:
            await self.sink(Event(type=type, step_path=self.step_path, run_id=self.run_id, data=data))

    def child(self, name: str, **data: Any) -> RunContext:
        """A context for a nested step ``name`` (path ``parent/name``) with extra data."""
        path = f"{self.step_path}/{name}" if self.step_path else name
        return RunContext(self.run_id, path, {**self.data, **data}, self.sink)


class Agent(abc.ABC):
    """Anything that runs an input in a context and returns an ``AgentResult``.

    ``run`` never raises for a failure of the work itself: it returns ``AgentResult.failure``.
    It raises ``jotty.errors.AgentError`` only when the agent cannot be run at all.
    """

    name: str = "agent"

    @abc.abstractmethod
    async def run(self, input: Any, ctx: RunContext | None = None) -> AgentResult:
        """Run once on ``input``."""
