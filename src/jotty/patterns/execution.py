"""The state of one run while it executes: events, step records, checkpoints and token windows.

Patterns never touch the store directly: ``Execution.finish`` checkpoints a step (in memory, and
in the store for a durable run, together with the events emitted since the last write).
"""

from __future__ import annotations

import time
from typing import Any

from jotty.agents.base import TokenUsage
from jotty.context import TokenBudget, WindowLedger
from jotty.events import Event, EventSink
from jotty.runs import Checkpoint, RunStore, StepRecord, StepStatus


class Execution:
    """One session of a run. ``done`` holds every finished step by path: a step found there is
    never run again, neither after a resume nor when a retry re-enters a nested flow."""

    __slots__ = ("_flushed", "budget", "done", "events", "records", "run_id", "sink", "store", "windows")

    def __init__(
        self,
        run_id: str,
        *,
        sink: EventSink | None = None,
        store: RunStore | None = None,
        budget: TokenBudget | None = None,
    ) -> None:
        self.run_id = run_id
        self.sink = sink
        self.store = store
        self.budget = budget
        self.events: list[Event] = []
        self.records: dict[str, StepRecord] = {}
        self.done: dict[str, Checkpoint] = {}
        self.windows = WindowLedger()
        self._flushed = 0

    async def emit(self, type: str, path: str, data: dict[str, Any]) -> None:
        """Record an event and pass it to the sink."""
        event = Event(type, path, self.run_id, data)
        self.events.append(event)
        if self.sink is not None:
            await self.sink(event)

    async def receive(self, event: Event) -> None:
        """The sink agents emit into (``RunContext.sink``)."""
        self.events.append(event)
        if self.sink is not None:
            await self.sink(event)

    def unflushed(self) -> list[Event]:
        """Events not yet written to the store (and from now on counted as written)."""
        events = self.events[self._flushed :]
        self._flushed = len(self.events)
        return events

    def restore(self, checkpoints: list[Checkpoint]) -> None:
        """Start from the checkpoints of earlier sessions."""
        for cp in checkpoints:
            self.done[cp.path] = cp
            self.records[cp.path] = cp.record

    def begin(self, path: str, name: str, kind: str) -> StepRecord:
        """The record of the step at ``path``, new or (when it runs again) the existing one."""
        record = self.records.get(path)
        if record is None:
            record = self.records[path] = StepRecord(path, name, kind, started_at=time.time())
        else:
            record.status = StepStatus.RUNNING
        return record

    async def finish(self, record: StepRecord, output: Any, extra: dict[str, Any] | None = None) -> None:
        """Checkpoint a finished step: in the store first (a failure there leaves it unfinished)."""
        checkpoint = Checkpoint(record.path, output, record, extra)
        if self.store is not None:
            await self.store.save_checkpoint(self.run_id, checkpoint, self.unflushed())
        self.done[record.path] = checkpoint

    def account(self, window: str, kind: str, tokens: TokenUsage) -> str | None:
        """Count a call's tokens in ``window``; the reason when that breaks the window budget.

        Raises ``BudgetExceededError`` when the run's total budget is spent.
        """
        used = self.windows.add(window, kind, tokens)
        if self.budget is None:
            return None
        self.budget.check_total(self.windows.prompt + self.windows.completion)
        return self.budget.window_error(used)


class Scope:
    """Where a flow executes: its run, its step path, its context data, and what its steps used."""

    __slots__ = ("completion", "data", "ex", "partial", "path", "prompt")

    def __init__(self, ex: Execution, path: str, data: dict[str, Any]) -> None:
        self.ex = ex
        self.path = path
        self.data = data
        self.partial = False
        self.prompt = 0
        self.completion = 0

    @property
    def tokens(self) -> TokenUsage:
        return TokenUsage(self.prompt, self.completion)

    def add_tokens(self, tokens: TokenUsage) -> None:
        self.prompt += tokens.prompt
        self.completion += tokens.completion
