"""``SubAgent``: a focused agent in a clean context window that hands back a summary (pattern 2)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jotty.agents.base import Agent, AgentResult
from jotty.context import truncate
from jotty.errors import ValidationError
from jotty.patterns.execution import Scope
from jotty.patterns.flow import Flow
from jotty.patterns.names import check_count
from jotty.patterns.step import Step, run_step
from jotty.patterns.strategies import Strategy
from jotty.runs import StepStatus

Summarizer = Agent | Callable[[Any], Any]
"""How a sub-agent's output is summarized: an agent (its own window) or a function ``fn(output)``."""


class SubAgent(Flow):
    """Run ``agent`` in a clean context window (none of the caller's context data) and return a
    summary of its output: ``summarize`` (an agent or a function), else the output truncated to
    ``max_tokens``. Its failure is contained: ``on_error`` (``Retry``, ``Skip``, ``Fallback``...)
    decides; unhandled, the SubAgent fails and its caller's strategy decides.

    Paths: ``<name>/work`` (window kind ``sub``) and, for an agent summarizer, ``<name>/summary``.
    """

    kind = "subagent"

    def __init__(
        self,
        agent: Agent,
        *,
        summarize: Summarizer | None = None,
        max_tokens: int = 1000,
        on_error: Strategy | None = None,
        timeout: float | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__(name)
        where = f"SubAgent {self.name!r}"
        self.work = Step(agent, name="work", on_error=on_error, timeout=timeout)
        self.max_tokens = check_count(max_tokens, f"{where}: max_tokens")
        self.summary_step = Step(summarize, name="summary") if isinstance(summarize, Agent) else None
        if summarize is not None and self.summary_step is None and not callable(summarize):
            raise ValidationError(
                f"{where}: summarize must be an Agent or a function fn(output), got {type(summarize).__name__}"
            )
        self.summarize_fn = None if isinstance(summarize, Agent) else summarize

    def describe(self) -> dict[str, Any]:
        steps = [self.work] if self.summary_step is None else [self.work, self.summary_step]
        return {"kind": self.kind, "name": self.name, "steps": [s.describe() for s in steps]}

    async def execute(self, input: Any, scope: Scope) -> AgentResult:
        record, output = await run_step(self.work, input, scope, role="sub", data={})
        if record.status is StepStatus.FAILED:
            return AgentResult.failure(f"sub-agent {record.path!r} failed: {record.error}")
        if record.status is StepStatus.SKIPPED:
            return AgentResult(output=output)
        if self.summary_step is not None:
            summary_record, summary = await run_step(self.summary_step, output, scope, role="summary", data={})
            if summary_record.status is StepStatus.FAILED:
                return AgentResult.failure(f"summary {summary_record.path!r} failed: {summary_record.error}")
            return AgentResult(output=summary)
        if self.summarize_fn is not None:
            try:
                return AgentResult(output=self.summarize_fn(output))
            except Exception as exc:
                return AgentResult.failure(f"summarize of {scope.path!r} failed: {type(exc).__name__}: {exc}")
        return AgentResult(output=truncate(output, self.max_tokens))
