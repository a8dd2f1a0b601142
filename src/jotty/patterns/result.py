"""``RunResult``: what a flow run returns. It is an ``AgentResult``, so a flow can stand in for an agent."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from jotty.agents.base import AgentResult
from jotty.context import TokenShape
from jotty.events import Event
from jotty.runs import RunStatus, StepRecord, StepStatus


@dataclass
class RunResult(AgentResult):
    """The output, status, step records, events and token shape of a run.

    ``steps`` has one record per step path (nested steps included, in the order they started);
    each says its status, attempts and which error strategy fired (``strategy``). ``events`` are
    this session's events. ``token_shape`` lists the context windows with their tokens.
    """

    run_id: str = ""
    status: RunStatus = RunStatus.COMPLETED
    steps: list[StepRecord] = field(default_factory=list)
    events: Sequence[Event] = field(default_factory=list)
    token_shape: TokenShape = field(default_factory=lambda: TokenShape(""))
    resumed: bool = False

    def step(self, key: str) -> StepRecord:
        """The record at path ``key``, or of the one step named ``key``."""
        named = []
        for record in self.steps:
            if record.path == key:
                return record
            if record.name == key:
                named.append(record)
        if len(named) == 1:
            return named[0]
        if named:
            raise KeyError(f"{len(named)} steps are named {key!r}: ask by path ({[r.path for r in named]})")
        raise KeyError(f"no step {key!r} in run {self.run_id}; steps: {[r.path for r in self.steps]}")

    @property
    def failures(self) -> list[StepRecord]:
        """Steps that failed or were cancelled, including tolerated ones (a Parallel's failed branch)."""
        return [r for r in self.steps if r.status in (StepStatus.FAILED, StepStatus.CANCELLED)]

    @property
    def handled(self) -> dict[str, str]:
        """Where an error strategy fired: step path -> strategy (``retry``, ``skip``, ``abort``, ...)."""
        return {r.path: r.strategy for r in self.steps if r.strategy}
