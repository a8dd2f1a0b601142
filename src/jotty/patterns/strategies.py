"""Error strategies for a failed step: ``Retry``, ``Skip``, ``Abort`` (the default) and ``Fallback``.

A strategy decides what happens after a step's agent failed (it returned a failure, raised, timed
out or broke a contract). ``Retry`` and ``Fallback`` hand over to ``then`` when they are spent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from jotty.agents.base import Agent
from jotty.errors import ValidationError


@dataclass(frozen=True)
class Abort:
    """Stop: the step fails, and a Chain stops and returns the last good output."""

    name = "abort"


class _PassThrough:
    def __repr__(self) -> str:
        return "PASS_THROUGH"


PASS_THROUGH: Any = _PassThrough()
"""``Skip``'s default output: the failed step's input, passed on unchanged."""


@dataclass(frozen=True)
class Skip:
    """Go on without this step: its output is its input (``PASS_THROUGH``) or ``output``.

    Later Chain steps see the skipped names in ``ctx.data["skipped"]`` so they can handle the gap.
    """

    output: Any = PASS_THROUGH
    name = "skip"


@dataclass(frozen=True)
class Retry:
    """Run the step again, up to ``max_attempts`` calls in all, waiting ``backoff * 2**(n-1)`` s
    before retry ``n``; when spent, ``then`` decides (default ``Abort()``)."""

    max_attempts: int = 3
    backoff: float = 0.0
    then: Strategy = field(default_factory=Abort)
    name = "retry"

    def __post_init__(self) -> None:
        if not isinstance(self.max_attempts, int) or self.max_attempts < 1:
            raise ValidationError(f"Retry(max_attempts={self.max_attempts!r}): give a whole number of at least 1")
        if self.backoff < 0:
            raise ValidationError(f"Retry(backoff={self.backoff!r}): backoff is seconds, at least 0")
        _check_strategy(self.then, "Retry(then=...)")

    def delay(self, attempt: int) -> float:
        """Seconds to wait before the call after failed call number ``attempt``."""
        return self.backoff * (1 << (attempt - 1))


@dataclass(frozen=True)
class Fallback:
    """Run ``agent`` instead (once, at path ``<step>/fallback``); when it fails too, ``then`` decides."""

    agent: Agent
    then: Strategy = field(default_factory=Abort)
    name = "fallback"

    def __post_init__(self) -> None:
        if not isinstance(self.agent, Agent):
            raise ValidationError(
                f"Fallback needs an Agent, got {type(self.agent).__name__}: wrap a function in FunctionAgent(fn)"
            )
        _check_strategy(self.then, "Fallback(then=...)")


Strategy = Retry | Skip | Abort | Fallback
"""Any error strategy."""

STRATEGY_TYPES = (Retry, Skip, Abort, Fallback)


def _check_strategy(value: Any, where: str) -> None:
    if not isinstance(value, STRATEGY_TYPES):
        raise ValidationError(
            f"{where}: {value!r} is not an error strategy; use Retry(...), Skip(), Abort() or Fallback(agent)"
        )


def check_strategy(value: Any, where: str) -> None:
    """``ValidationError`` unless ``value`` is a strategy."""
    _check_strategy(value, where)
