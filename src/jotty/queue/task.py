"""``Task``, its status and priority, and its mapping to the supervisor's ``tasks`` row format."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from enum import IntEnum, StrEnum
from typing import Any


class TaskStatus(StrEnum):
    """A task's lifecycle state. Only ``PENDING`` tasks are claimed."""

    SUGGESTED = "suggested"
    BACKLOG = "backlog"
    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    FAILED = "failed"
    BLOCKED = "blocked"
    CANCELLED = "cancelled"


class TaskPriority(IntEnum):
    """Priority 1 (first) to 5 (last)."""

    CRITICAL = 1
    HIGH = 2
    MEDIUM = 3
    LOW = 4
    OPTIONAL = 5


# Columns whose supervisor representation is a JSON list in a TEXT column.
LIST_COLUMNS = ("tags", "depends_on", "blocks", "context_files")
# Columns Jotty stores as JSON text.
JSON_COLUMNS = ("metadata", "result")
TIME_COLUMNS = ("created_at", "started_at", "completed_at", "last_heartbeat")


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def format_time(value: datetime | None) -> str | None:
    """A UTC time in the supervisor's text form, with microseconds (``2026-11-21 19:10:29.123456``)."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%d %H:%M:%S.%f")


def parse_time(value: Any) -> datetime | None:
    """Parse a stored time (``CURRENT_TIMESTAMP`` text, ISO text, epoch seconds) as aware UTC."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_list(value: Any) -> list[str]:
    """A stored list: a JSON array, or the legacy comma-separated text."""
    if value is None or value == "":
        return []
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    text = str(value).strip()
    if text.startswith("["):
        try:
            loaded = json.loads(text)
        except json.JSONDecodeError:
            loaded = None
        if isinstance(loaded, list):
            return [str(v) for v in loaded]
    return [part.strip() for part in text.split(",") if part.strip()]


def _parse_json(value: Any, default: Any) -> Any:
    if value is None or value == "":
        return default
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        return value


def new_lease_id() -> str:
    """A fresh fencing token for one claim."""
    return uuid.uuid4().hex


@dataclass
class Task:
    """A unit of queued work: the supervisor's fields, plus ``metadata`` and Jotty's queue fields."""

    task_id: str = ""
    title: str = ""
    description: str = ""
    category: str = ""
    priority: int = TaskPriority.MEDIUM
    tags: list[str] = field(default_factory=list)
    status: TaskStatus = TaskStatus.PENDING
    progress_percent: int = 0
    pid: int | None = None
    worktree_path: str | None = None
    git_branch: str | None = None
    log_file: str | None = None
    created_at: datetime | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    last_heartbeat: datetime | None = None
    estimated_hours: float | None = None
    actual_hours: float | None = None
    error_message: str | None = None
    retry_count: int = 0
    max_retries: int = 3
    depends_on: list[str] = field(default_factory=list)
    blocks: list[str] = field(default_factory=list)
    created_by: str = "system"
    assigned_to: str | None = None
    agent_type: str | None = None
    context_files: list[str] = field(default_factory=list)
    task_content: str | None = None
    filename: str | None = None
    reference_apps: str | None = None
    estimated_effort: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    # Jotty's queue fields (added columns).
    parent_id: str | None = None
    result: Any = None
    run_after: float | None = None
    lease_owner: str | None = None
    lease_id: str | None = None
    lease_expires_at: float | None = None
    host: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict of every field (times as supervisor text)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in TIME_COLUMNS:
                value = format_time(value)
            elif f.name == "status":
                value = str(value)
            elif f.name == "priority":
                value = int(value)
            elif isinstance(value, list):
                value = list(value)
            elif isinstance(value, dict):
                value = dict(value)
            out[f.name] = value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Task:
        """Build a Task from ``to_dict()`` output or a stored row; unknown keys are ignored."""
        known = {f.name for f in fields(cls)}
        kwargs: dict[str, Any] = {}
        for key, value in data.items():
            if key not in known:
                continue
            if key in TIME_COLUMNS:
                value = parse_time(value)
            elif key in LIST_COLUMNS:
                value = parse_list(value)
            elif key == "metadata":
                value = _parse_json(value, {}) or {}
                if not isinstance(value, dict):
                    value = {"value": value}
            elif key == "status":
                value = TaskStatus(value)
            elif key in ("priority", "progress_percent", "retry_count", "max_retries"):
                value = int(value) if value is not None else getattr(cls, key, 0)
            elif (key == "description" and value is None) or (key == "category" and value is None):
                value = ""
            elif key == "created_by" and value is None:
                value = "system"
            kwargs[key] = value
        return cls(**kwargs)

    @classmethod
    def from_row(cls, row: Any) -> Task:
        """Build a Task from a ``tasks`` row (a mapping with JSON text in metadata and result)."""
        data = dict(row)
        for key in JSON_COLUMNS:
            if isinstance(data.get(key), str):
                data[key] = _parse_json(data[key], None)
        return cls.from_dict(data)

    def to_row(self) -> dict[str, Any]:
        """The task as column values for the ``tasks`` table (lists and dicts as JSON text)."""
        row: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in TIME_COLUMNS:
                value = format_time(value)
            elif f.name in LIST_COLUMNS:
                value = json.dumps(list(value)) if value else None
            elif f.name == "metadata":
                value = json.dumps(value) if value else None
            elif f.name == "result":
                value = json.dumps(value) if value is not None else None
            elif f.name == "status":
                value = str(value)
            elif f.name == "priority":
                value = int(value)
            row[f.name] = value
        return row


TASK_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(Task))
"""Every column of the ``tasks`` table that Jotty reads and writes."""
