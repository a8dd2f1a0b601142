"""Real actors for the orchestration tests: plain functions that record what they were given."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from jotty.agents import AgentResult, RunContext, TokenUsage


@dataclass
class Calls:
    """What each actor was called with, in order: ``(actor, input, ctx.data)``."""

    seen: list[tuple[str, Any, dict[str, Any]]] = field(default_factory=list)

    @property
    def actors(self) -> list[str]:
        return [name for name, _, _ in self.seen]

    def appender(self, name: str) -> Any:
        """An actor that appends ``|name`` to its input."""

        def actor(value: Any, ctx: RunContext) -> str:
            self.seen.append((name, value, dict(ctx.data)))
            return f"{value}|{name}"

        actor.__name__ = name
        return actor

    def failing(self, name: str, error: str = "boom") -> Any:
        """An actor that always raises."""

        def actor(value: Any, ctx: RunContext) -> str:
            self.seen.append((name, value, dict(ctx.data)))
            raise RuntimeError(error)

        actor.__name__ = name
        return actor

    def answering(self, name: str, answer: Any, tokens: int = 0) -> Any:
        """An actor that returns ``answer`` (using ``tokens``)."""

        def actor(value: Any, ctx: RunContext) -> AgentResult:
            self.seen.append((name, value, dict(ctx.data)))
            return AgentResult(output=answer, tokens=TokenUsage(tokens, 0))

        actor.__name__ = name
        return actor


async def settled(*results: Any) -> None:
    """Wait until what each Conductor result's run remembers is written (each has a memory report)."""
    for result in results:
        assert result.memory is not None
        await result.memory.settled()
