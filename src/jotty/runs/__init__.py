"""Durable runs: runs, step checkpoints and events in the store, and the API to list, show and resume.

A flow run with ``store=`` checkpoints each finished step's output under its stable step path;
running the same ``run_id`` again resumes it and never repeats a finished step.
"""

from jotty.runs.api import Resumable, get_events, get_run, list_runs, resume
from jotty.runs.codec import CheckpointError
from jotty.runs.owner import current_owner
from jotty.runs.records import (
    DONE_STATUSES,
    Checkpoint,
    RunRecord,
    RunStatus,
    RunSummary,
    StepRecord,
    StepStatus,
)
from jotty.runs.sqlite import SQLiteRunStore
from jotty.runs.store import (
    RunFinish,
    RunStore,
    StoreArg,
    StoredEvent,
    open_run_store,
    register_backend,
    using_store,
)

__all__ = [
    "DONE_STATUSES",
    "Checkpoint",
    "CheckpointError",
    "Resumable",
    "RunFinish",
    "RunRecord",
    "RunStatus",
    "RunStore",
    "RunSummary",
    "SQLiteRunStore",
    "StepRecord",
    "StepStatus",
    "StoreArg",
    "StoredEvent",
    "current_owner",
    "get_events",
    "get_run",
    "list_runs",
    "open_run_store",
    "register_backend",
    "resume",
    "using_store",
]
