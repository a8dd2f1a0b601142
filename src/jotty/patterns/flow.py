"""``Flow``: the base of every pattern. A flow is an ``Agent``, so flows nest in any pattern."""

from __future__ import annotations

import abc
from typing import Any, ClassVar

from jotty.agents.base import Agent, AgentResult, RunContext
from jotty.context import TokenBudget
from jotty.context.levels import Level
from jotty.context.policy import ContextPolicy
from jotty.events import EventSink
from jotty.patterns.execution import Scope
from jotty.patterns.names import check_name
from jotty.patterns.result import RunResult
from jotty.patterns.runner import run_flow
from jotty.patterns.stream import RunStream
from jotty.runs import StoreArg


class Flow(Agent, abc.ABC):
    """A composition of agents and flows. ``run`` executes it; ``stream`` yields its events live.

    To write a new pattern, implement ``execute`` (run children with ``jotty.patterns.step.run_step``)
    and ``describe`` (the structure a resumed run must match).
    """

    kind: ClassVar[str] = "flow"

    def __init__(self, name: str | None = None) -> None:
        self.name = check_name(self.kind if name is None else name, f"{type(self).__name__}(name=...)")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"

    async def run(
        self,
        input: Any,
        ctx: RunContext | None = None,
        *,
        store: StoreArg = None,
        run_id: str | None = None,
        sink: EventSink | None = None,
        budget: TokenBudget | None = None,
        metadata: dict[str, Any] | None = None,
        level: str | Level | None = None,
        policy: ContextPolicy | None = None,
    ) -> RunResult:
        """Run the flow on ``input`` and return its ``RunResult``.

        ``store`` (a path, URL or ``RunStore``) makes the run durable: each finished step is
        checkpointed, and running the same ``run_id`` again resumes it. ``sink`` receives every
        event as it happens. ``budget`` limits tokens. ``metadata`` (JSON) is stored with a new
        durable run (``get_run(...).metadata``). ``level`` (``"L1"``...``"L4"``) sets what goes
        into each step's window and ``policy`` (a ``ContextPolicy``) what there is to pick from;
        either (or ``budget.per_window``) puts every window through the context guard. Called as
        an agent (with ``ctx``), the flow runs in memory under the caller's step path and passes
        its events to the caller's sink.
        """
        return await run_flow(
            self,
            input,
            ctx=ctx,
            store=store,
            run_id=run_id,
            sink=sink,
            budget=budget,
            metadata=metadata,
            level=level,
            policy=policy,
        )

    def stream(
        self,
        input: Any,
        *,
        store: StoreArg = None,
        run_id: str | None = None,
        budget: TokenBudget | None = None,
        metadata: dict[str, Any] | None = None,
        level: str | Level | None = None,
        policy: ContextPolicy | None = None,
    ) -> RunStream:
        """Run the flow and yield its events as they happen: ``async for event in flow.stream(x)``;
        the ``RunResult`` is then ``stream.result``. The arguments are those of ``run``."""
        options: dict[str, Any] = {"store": store, "run_id": run_id, "budget": budget, "metadata": metadata}
        return RunStream(lambda sink: self.run(input, sink=sink, level=level, policy=policy, **options))

    @abc.abstractmethod
    async def execute(self, input: Any, scope: Scope) -> AgentResult:
        """Execute once within a run, at ``scope.path``; a failure is returned, not raised."""

    @abc.abstractmethod
    def describe(self) -> dict[str, Any]:
        """The flow's structure (kinds and names of its step paths), JSON-serialisable."""
