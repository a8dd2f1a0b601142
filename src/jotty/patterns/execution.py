"""The state of one run while it executes: events, step records, checkpoints and token windows.

Patterns never touch the store directly: ``Execution.finish`` checkpoints a step (in memory, and
in the store for a durable run). A checkpoint is written before the run goes on, in its own short
transaction; the run's events ride along in those transactions every 0.1 s (and all at the end),
so a fast run does not pay an event write per step.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from time import perf_counter
from typing import Any

from jotty.agents.base import Agent, AgentResult, TokenUsage
from jotty.context import TokenBudget, WindowLedger
from jotty.context.levels import Level
from jotty.context.policy import ContextSession
from jotty.events import Event, EventSink
from jotty.patterns.eventlog import EventLog
from jotty.runs import Checkpoint, RunStore, StepRecord, StepStatus

EVENT_FLUSH_SECONDS = 0.1
EVENT_FLUSH_COUNT = 500


class Execution:
    """One session of a run. ``outputs`` holds the output of every finished step by path: a step
    found there is never run again, neither after a resume nor when a retry re-enters a nested flow.
    (Outputs, records and extras are kept in plain dicts, not in an object per step: a run of
    thousands of branches then leaves the garbage collector less to walk.)"""

    __slots__ = (
        "_flushed",
        "_flushed_at",
        "budget",
        "context",
        "events",
        "extras",
        "outputs",
        "records",
        "run_id",
        "sink",
        "store",
        "windows",
    )

    def __init__(
        self,
        run_id: str,
        *,
        sink: EventSink | None = None,
        store: RunStore | None = None,
        budget: TokenBudget | None = None,
        context: ContextSession | None = None,
    ) -> None:
        self.run_id = run_id
        self.context = context
        """How windows are built (level, pool, guard); ``None``: as the patterns give them."""
        self.sink = sink
        self.store = store
        self.budget = budget
        self.events = EventLog(run_id)
        self.records: dict[str, StepRecord] = {}
        self.outputs: dict[str, Any] = {}
        self.extras: dict[str, dict[str, Any]] = {}
        self.windows = WindowLedger()
        self._flushed = 0
        self._flushed_at = perf_counter()

    def note(self, type: str, path: str, data: dict[str, Any]) -> Event | None:
        """Record an event; return it when a sink waits for it (``publish`` it then)."""
        if self.sink is None:
            self.events.add(type, path, data)
            return None
        event = Event(type, path, self.run_id, data)
        self.events.add_event(event)
        return event

    async def publish(self, event: Event) -> None:
        """Pass a noted event to the sink."""
        if self.sink is not None:
            await self.sink(event)

    async def emit(self, type: str, path: str, data: dict[str, Any]) -> None:
        """Record an event and pass it to the sink, if any."""
        event = self.note(type, path, data)
        if event is not None:
            await self.publish(event)

    async def receive(self, event: Event) -> None:
        """The sink agents emit into (``RunContext.sink``)."""
        self.events.add_event(event)
        await self.publish(event)

    def unflushed(self) -> list[Event]:
        """Events not yet written to the store (and from now on counted as written)."""
        events = self.events[self._flushed :]
        self._flushed = len(self.events)
        self._flushed_at = perf_counter()
        return events

    def due_events(self) -> list[Event]:
        """The unwritten events, when it is time to write them (they ride along with checkpoints:
        at most every ``EVENT_FLUSH_SECONDS`` or ``EVENT_FLUSH_COUNT`` events, and at the end)."""
        if (
            len(self.events) - self._flushed < EVENT_FLUSH_COUNT
            and perf_counter() - self._flushed_at < EVENT_FLUSH_SECONDS
        ):
            return []
        return self.unflushed()

    def restore(self, checkpoints: list[Checkpoint]) -> None:
        """Start from the checkpoints of earlier sessions."""
        for cp in checkpoints:
            self.keep(cp.record, cp.output, cp.extra)

    def begin(self, path: str, name: str, kind: str) -> StepRecord:
        """The record of the step at ``path``, new or (when it runs again) the existing one."""
        record = self.records.get(path)
        if record is None:
            record = self.records[path] = StepRecord(path, name, kind, started_at=time.time())
        else:
            record.status = StepStatus.RUNNING
        return record

    def keep(self, record: StepRecord, output: Any, extra: dict[str, Any] | None = None) -> None:
        """Checkpoint a finished step in memory only (enough for a run without a store)."""
        path = record.path
        self.records[path] = record
        self.outputs[path] = output
        if extra is not None:
            self.extras[path] = extra

    def checkpoint(self, path: str) -> Checkpoint | None:
        """The checkpoint of the finished step at ``path``, or ``None``."""
        if path not in self.outputs:
            return None
        return Checkpoint(path, self.outputs[path], self.records[path], self.extras.get(path))

    async def finish(self, record: StepRecord, output: Any, extra: dict[str, Any] | None = None) -> None:
        """Checkpoint a finished step: in the store first (a failure there leaves it unfinished)."""
        if self.store is not None:
            checkpoint = Checkpoint(record.path, output, record, extra)
            await self.store.save_checkpoint(self.run_id, checkpoint, self.due_events())
        self.keep(record, output, extra)

    def accept(self, agent: Agent, result: Any, window: str, kind: str) -> AgentResult:
        """An agent's return value as a checked result, its tokens counted in ``window`` (created
        with ``kind``). A call that breaks the window's budget fails; ``BudgetExceededError`` is
        raised when the run's total budget is spent."""
        if not isinstance(result, AgentResult):
            return AgentResult.failure(f"agent {agent.name!r} returned {type(result).__name__}, not an AgentResult")
        used = self.windows.add(window, kind, result.tokens)
        if self.budget is not None:
            self.budget.check_total(self.windows.prompt + self.windows.completion)
            over = self.budget.window_error(window, used)
            if over is not None and result.ok:
                return AgentResult.failure(over, tokens=result.tokens)
        return result


class Scope:
    """Where a flow executes: its run, its step path, its context data, its level, and what its
    steps used."""

    __slots__ = ("completion", "data", "ex", "level", "on_loss", "partial", "path", "prompt")

    def __init__(self, ex: Execution, path: str, data: dict[str, Any], level: Level | None = None) -> None:
        self.ex = ex
        self.path = path
        self.data = data
        self.level = level
        """The context level of the windows under this scope, over the run's (a ``Step(level=...)``
        around a nested flow); a step's own level is over this one."""
        self.partial = False
        self.prompt = 0
        self.completion = 0
        self.on_loss: Callable[[StepRecord], None] | None = None
        """Called with each child step that ends failed or skipped (a Parallel counts them)."""

    @property
    def tokens(self) -> TokenUsage:
        return TokenUsage(self.prompt, self.completion)

    def add_tokens(self, tokens: TokenUsage) -> None:
        self.prompt += tokens.prompt
        self.completion += tokens.completion
