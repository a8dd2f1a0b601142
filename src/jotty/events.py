"""Event types shared by agents, patterns, runs and the faces (CLI, dashboard).

An ``Event`` is a plain record: what happened (``type``), where in the run (``step_path``), when
(``at``, seconds since the epoch) and a JSON-serialisable ``data`` payload.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class EventType(StrEnum):
    """The event types Jotty emits. Values are the strings stored and streamed."""

    RUN_STARTED = "run_started"
    RUN_RESUMED = "run_resumed"
    RUN_COMPLETED = "run_completed"
    RUN_FAILED = "run_failed"
    STEP_STARTED = "step_started"
    STEP_COMPLETED = "step_completed"
    STEP_FAILED = "step_failed"
    STEP_SKIPPED = "step_skipped"
    STEP_RESTORED = "step_restored"
    CHAIN_STEP_STARTED = "chain_step_started"
    CHAIN_STEP_COMPLETED = "chain_step_completed"
    CHAIN_ERROR_HANDLED = "chain_error_handled"
    TEXT_CHUNK = "text_chunk"
    TOOL_CALL = "tool_call"
    TOOL_RESULT = "tool_result"
    PROCESS_STARTED = "process_started"
    PROCESS_OUTPUT = "process_output"
    LLM_RETRY = "llm_retry"
    LLM_CALL = "llm_call"
    STREAM_RESTARTED = "stream_restarted"
    MESSAGE_SENT = "message_sent"
    WORK_REASSIGNED = "work_reassigned"
    WORKER_ADDED = "worker_added"
    WORKER_RETIRED = "worker_retired"
    ORCHESTRATOR_DECISION = "orchestrator_decision"
    ROUTE_CHOSEN = "route_chosen"
    TASK_ENQUEUED = "task_enqueued"
    TASK_CLAIMED = "task_claimed"
    TASK_COMPLETED = "task_completed"
    TASK_FAILED = "task_failed"
    CONTEXT_COMPRESSED = "context_compressed"
    CONTEXT_PREFETCH = "context_prefetch"
    CONTEXT_WINDOW = "context_window"


@dataclass
class Event:
    """One thing that happened during a run."""

    type: str
    step_path: str = ""
    run_id: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    at: float = field(default_factory=time.time)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict (``type`` as its string value)."""
        out = asdict(self)
        out["type"] = str(self.type)
        return out


EventSink = Callable[[Event], Awaitable[None]]
"""Where events go: an async callable that receives each event."""
