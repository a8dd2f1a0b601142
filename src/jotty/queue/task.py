"""``Task``, its status and priority, and its mapping to the supervisor's ``tasks`` row format."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable
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
TIME_COLUMNS = ("created_at", "started_at", "completed_at", "last_heartbeat")


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def format_time(value: datetime | None) -> str | None:
    """A UTC time in the supervisor's text form, with microseconds (``2026-11-21 19:10:29.123456``)."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(" ", "microseconds")


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
        convert = _FROM_STORED
        return cls(
            **{
                key: (convert[key](value) if key in convert else value)
                for key, value in data.items()
                if key in _FIELD_NAMES
            }
        )

    @classmethod
    def from_row(cls, row: Any) -> Task:
        """Build a Task from a ``tasks`` row (a mapping with JSON text in metadata and result)."""
        data = dict(row)
        result = data.get("result")
        if isinstance(result, str):
            data["result"] = _parse_json(result, None)
        return cls.from_dict(data)

    @classmethod
    def from_values(cls, values: Iterable[Any]) -> Task:
        """Build a Task from stored values in ``TASK_COLUMNS`` order (the fast path of the SQL backends)."""
        task = cls(*[convert(value) for convert, value in zip(_ROW_CONVERTERS, values, strict=True)])
        if isinstance(task.result, str):
            task.result = _parse_json(task.result, None)
        return task

    def to_row(self) -> dict[str, Any]:
        """The task as column values for the ``tasks`` table (lists and dicts as JSON text)."""
        return dict(zip(TASK_COLUMNS, self.to_values(), strict=True))

    def to_values(self) -> tuple[Any, ...]:
        """Stored values in ``TASK_COLUMNS`` order, for ``INSERT`` statements."""
        return tuple(
            convert(value) if convert is not None and value is not None else value
            for convert, value in zip(_TO_STORED, self.__dict__.values(), strict=True)
        )


TASK_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(Task))
"""Every column of the ``tasks`` table that Jotty reads and writes."""
_FIELD_NAMES = frozenset(TASK_COLUMNS)


def _default_if_none(default: Any) -> Callable[[Any], Any]:
    return lambda value: default if value is None else value


def _int_or(default: int) -> Callable[[Any], Any]:
    return lambda value: default if value is None else int(value)


def _metadata(value: Any) -> dict[str, Any]:
    loaded = _parse_json(value, {}) or {}
    return loaded if isinstance(loaded, dict) else {"value": loaded}


# How each stored (or to_dict) value becomes a Task attribute; other fields are taken as they are.
_FROM_STORED: dict[str, Callable[[Any], Any]] = {
    **dict.fromkeys(TIME_COLUMNS, parse_time),
    **dict.fromkeys(LIST_COLUMNS, parse_list),
    "metadata": _metadata,
    "status": TaskStatus,
    "priority": _int_or(TaskPriority.MEDIUM),
    "progress_percent": _int_or(0),
    "retry_count": _int_or(0),
    "max_retries": _int_or(3),
    "description": _default_if_none(""),
    "category": _default_if_none(""),
    "created_by": _default_if_none("system"),
}


def _same(value: Any) -> Any:
    return value


def _json_list(value: list[str]) -> str | None:
    return json.dumps(value) if value else None


def _json_dict(value: dict[str, Any]) -> str | None:
    return json.dumps(value) if value else None


# How each Task attribute is stored (None: as it is). NULL stays NULL.
_TO_STORED: tuple[Callable[[Any], Any] | None, ...] = tuple(
    format_time if name in TIME_COLUMNS
    else _json_list if name in LIST_COLUMNS
    else _json_dict if name == "metadata"
    else json.dumps if name == "result"
    else str if name == "status"
    else int if name == "priority"
    else None
    for name in TASK_COLUMNS
)  # fmt: skip
_ROW_CONVERTERS = tuple(_FROM_STORED.get(name, _same) for name in TASK_COLUMNS)
SELECT_COLUMNS = ", ".join(TASK_COLUMNS)
"""The task columns in ``Task`` field order, for ``SELECT``/``RETURNING`` lists read by ``from_values``."""


def stored_updates(updates: dict[str, Any]) -> dict[str, Any]:
    """Column updates (Task attribute values) as stored values: lists and dicts as JSON, times as text."""
    row = Task.from_dict({k: v for k, v in updates.items() if k != "result"}).to_row()
    out = {key: row[key] for key in updates if key != "result"}
    if "result" in updates:
        out["result"] = json.dumps(updates["result"]) if updates["result"] is not None else None
    return out
