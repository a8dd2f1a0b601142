"""Orchestration: the ``Conductor`` (static or learned routing over actors, now or queued) and
``ExecutionMode`` (chat or workflow, sync or async) on top of it."""

from jotty.orchestration.actors import AgentConfig, Validator, Verdict
from jotty.orchestration.chat import ChatMessage, ChatStream
from jotty.orchestration.conductor import Conductor
from jotty.orchestration.modes import ChatMode, ExecutionMode, WorkflowMode
from jotty.orchestration.plan import Plan
from jotty.orchestration.result import ConductorResult, ConductorRunFailed, StopReason
from jotty.orchestration.stream import ConductorStream

__all__ = [
    "AgentConfig",
    "ChatMessage",
    "ChatMode",
    "ChatStream",
    "Conductor",
    "ConductorResult",
    "ConductorRunFailed",
    "ConductorStream",
    "ExecutionMode",
    "Plan",
    "StopReason",
    "Validator",
    "Verdict",
    "WorkflowMode",
]
