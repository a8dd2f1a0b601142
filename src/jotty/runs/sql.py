"""The run store's SQL, kept in one place and portable: standard SQL with ``ON CONFLICT`` upserts.

Placeholders are ``?`` (sqlite3). A PostgreSQL store uses the same statements with ``%s``
(``statement.replace("?", "%s")``: no statement has a literal question mark). The row helpers at
the end turn records into parameters and rows back into records, for any SQL backend.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from jotty.agents.base import TokenUsage
from jotty.events import Event
from jotty.runs.codec import dumps, dumps_loose, loads
from jotty.runs.records import Checkpoint, RunRecord, RunStatus, RunSummary, StepRecord
from jotty.runs.store import RunFinish, StoredEvent

INSERT_RUN = (
    "INSERT INTO jotty_runs (run_id, flow, shape, status, input, metadata, owner, sessions, created_at, updated_at) "
    "VALUES (?, ?, ?, 'running', ?, ?, ?, 1, ?, ?)"
)
CLAIM_RUN = (
    "UPDATE jotty_runs SET status = 'running', owner = ?, sessions = sessions + 1, updated_at = ?, "
    "finished_at = NULL, error = NULL WHERE run_id = ?"
)
FINISH_RUN = (
    "UPDATE jotty_runs SET status = ?, output = ?, error = ?, summary = ?, prompt_tokens = ?, "
    "completion_tokens = ?, updated_at = ?, finished_at = ? WHERE run_id = ?"
)
SUMMARY_COLUMNS = (
    "run_id, flow, status, error, created_at, updated_at, finished_at, sessions, owner, "
    "prompt_tokens, completion_tokens"
)
SELECT_RUN = f"SELECT {SUMMARY_COLUMNS}, shape, input, output, summary, metadata FROM jotty_runs WHERE run_id = ?"
LIST_RUNS = f"SELECT {SUMMARY_COLUMNS} FROM jotty_runs ORDER BY created_at DESC, run_id LIMIT ?"
LIST_RUNS_BY_STATUS = (
    f"SELECT {SUMMARY_COLUMNS} FROM jotty_runs WHERE status = ? ORDER BY created_at DESC, run_id LIMIT ?"
)
UPSERT_STEP = (
    "INSERT INTO jotty_run_steps (run_id, step_path, status, output, record, extra, finished_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (run_id, step_path) DO UPDATE SET "
    "status = excluded.status, output = excluded.output, record = excluded.record, "
    "extra = excluded.extra, finished_at = excluded.finished_at"
)
SELECT_STEPS = (
    "SELECT step_path, output, record, extra FROM jotty_run_steps WHERE run_id = ? ORDER BY finished_at, step_path"
)
SELECT_STEP_RECORDS = "SELECT record FROM jotty_run_steps WHERE run_id = ? ORDER BY finished_at, step_path"
INSERT_EVENT = "INSERT INTO jotty_events (at, type, run_id, step_path, data) VALUES (?, ?, ?, ?, ?)"
SELECT_EVENTS = "SELECT id, at, type, step_path, data FROM jotty_events WHERE run_id = ? AND id > ? ORDER BY id LIMIT ?"


# Rows <-> records: the same for every SQL backend.


def run_params(
    run_id: str, flow: str, shape: str, input: Any, metadata: dict[str, Any] | None, owner: str, now: float
) -> tuple[Any, ...]:
    """Parameters of ``INSERT_RUN``."""
    text = dumps(input, f"the input of run {run_id!r}")
    extra = None if metadata is None else dumps(metadata, f"the metadata of run {run_id!r}")
    return (run_id, flow, shape, text, extra, owner, now, now)


def finish_params(run_id: str, finish: RunFinish, now: float) -> tuple[Any, ...]:
    """Parameters of ``FINISH_RUN``."""
    summary = dumps_loose({"steps": [r.to_dict() for r in finish.steps], "windows": finish.windows})
    output = dumps(finish.output, f"the output of run {run_id!r}")
    tokens = finish.tokens
    return (str(finish.status), output, finish.error, summary, tokens.prompt, tokens.completion, now, now, run_id)


def step_params(run_id: str, cp: Checkpoint, now: float) -> tuple[Any, ...]:
    """Parameters of ``UPSERT_STEP``; ``CheckpointError`` names the step when its output is not JSON."""
    output = dumps(cp.output, f"the output of step {cp.path!r}")
    extra = None if cp.extra is None else dumps(cp.extra, f"the state of step {cp.path!r}")
    record = dumps_loose(cp.record.to_dict())
    return (run_id, cp.path, str(cp.record.status), output, record, extra, now)


def event_params(run_id: str, events: Sequence[Event]) -> list[tuple[Any, ...]]:
    """Parameters of ``INSERT_EVENT``, one tuple per event."""
    return [(e.at, str(e.type), run_id, e.step_path, dumps_loose(e.data)) for e in events]


def checkpoint_from_row(path: str, output: str | None, record: str, extra: str | None) -> Checkpoint:
    """A checkpoint read back from ``SELECT_STEPS``."""
    return Checkpoint(path, loads(output), StepRecord.from_dict(loads(record), restored=True), loads(extra))


def summary_from_row(row: Sequence[Any]) -> RunSummary:
    """A ``RunSummary`` from the ``SUMMARY_COLUMNS`` of a row."""
    return RunSummary(
        run_id=row[0],
        flow=row[1],
        status=RunStatus(row[2]),
        error=row[3],
        created_at=row[4],
        updated_at=row[5],
        finished_at=row[6],
        sessions=row[7],
        owner=row[8],
        tokens=TokenUsage(row[9], row[10]),
    )


def record_from_row(row: Sequence[Any], step_records: Sequence[str]) -> RunRecord:
    """A ``RunRecord`` from a ``SELECT_RUN`` row and its checkpointed ``step_records``."""
    s = summary_from_row(row)
    summary = loads(row[14]) or {}
    steps = [StepRecord.from_dict(loads(text)) for text in step_records]
    steps += [StepRecord.from_dict(d) for d in summary.get("steps", [])]
    steps.sort(key=lambda r: r.started_at)
    return RunRecord(
        **vars(s),
        shape=row[11],
        input=loads(row[12]),
        output=loads(row[13]),
        steps=steps,
        windows=summary.get("windows", []),
        metadata=loads(row[15]) or {},
    )


def event_from_row(run_id: str, row: Sequence[Any]) -> StoredEvent:
    """A ``StoredEvent`` from a ``SELECT_EVENTS`` row."""
    return StoredEvent(row[0], Event(type=row[2], step_path=row[3], run_id=run_id, data=loads(row[4]), at=row[1]))
