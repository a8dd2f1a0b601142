"""``Task``, its status and priority, and its mapping to the supervisor's ``tasks`` row format."""

from __future__ import annotations

import json
import operator
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from enum import IntEnum, StrEnum
from typing import Any

from jotty.errors import ValidationError

DEFAULT_AGENT_TYPE = "claude"
"""The supervisor's agent type: what a task names when it names none (``None`` becomes this)."""


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


_second: tuple[int, str] = (0, "")  # the last whole second utc_stamp formatted, and its text


def utc_stamp() -> str:
    """The current time as the store keeps times (``format_time(utcnow())``, faster: the text of
    the current second is formatted once per second)."""
    global _second
    now = time.time()
    whole = int(now)
    second, text = _second
    if whole != second:
        text = time.strftime("%Y-%m-%d %H:%M:%S.", time.gmtime(whole))
        _second = (whole, text)
    return f"{text}{int((now - whole) * 1_000_000):06d}"


def format_time(value: datetime | None) -> str | None:
    """A time as the store keeps it: UTC text in the supervisor's form, with microseconds
    (``2026-11-21 19:10:29.123456``). A naive time is local time, as ``datetime.now()`` gives."""
    if value is None:
        return None
    if value.tzinfo is None and _local_is_utc():
        return value.isoformat(" ", "microseconds")
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _local_is_utc() -> bool:
    """Whether local time is UTC (as on most servers): then a naive time needs no conversion."""
    return time.timezone == 0 and not time.daylight


def parse_time(value: Any) -> datetime | None:
    """Parse a stored time (``CURRENT_TIMESTAMP`` text, ISO text, epoch seconds) as aware UTC;
    text without an offset is UTC, as the supervisor's ``CURRENT_TIMESTAMP`` writes it."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def stored_local_time(value: Any) -> datetime | None:
    """A stored time as a ``Task`` holds it: naive local time, comparable with ``datetime.now()``."""
    if type(value) is str and value and _local_is_utc():
        read = datetime.fromisoformat(value)
        return read if read.tzinfo is None else read.astimezone(UTC).replace(tzinfo=None)
    parsed = parse_time(value)
    return None if parsed is None else parsed.astimezone().replace(tzinfo=None)


def local_time(value: datetime | None) -> datetime | None:
    """A time as the store gives it back: an aware time in naive local time; a naive one as it is."""
    return value if value is None or value.tzinfo is None else value.astimezone().replace(tzinfo=None)


def parse_iso_time(value: Any) -> datetime | None:
    """A time given to ``Task.from_dict``: ISO 8601 text (a trailing ``Z`` too) or a datetime.
    A naive time stays naive and an aware one stays aware: nothing is shifted."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(
            f"{value!r} is not an ISO 8601 time: give text such as 2025-06-15T12:00:00 (a trailing Z "
            "or an offset is kept) or a datetime"
        ) from None


def time_key(value: datetime | None) -> float:
    """Seconds since the epoch, for ordering times whether naive (local) or aware; None sorts last."""
    return value.timestamp() if value is not None else float("inf")


def parse_optional_list(value: Any) -> list[str] | None:
    """A list field as given or stored: None (NULL) stays None, anything else as ``parse_list``."""
    return None if value is None else parse_list(value)


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


_STATUSES = frozenset(s.value for s in TaskStatus)
_STATUS_UNSET = "_status_unset"


class _StatusField:
    """``Task.status``: None (the default) reads as ``backlog`` and is remembered as "not set";
    a known status given as text becomes a ``TaskStatus`` (an unknown one is kept, for
    ``enqueue`` to refuse with a ``ValidationError``)."""

    def __get__(self, task: Task | None, owner: type[Task] | None = None) -> Any:
        if task is None:
            return None  # the dataclass default
        return task.__dict__["_status"]

    def __set__(self, task: Task, value: TaskStatus | str | None) -> None:
        state = task.__dict__
        if value is None:
            state["_status"] = TaskStatus.BACKLOG
            state[_STATUS_UNSET] = True
            return
        if type(value) is str and value in _STATUSES:
            value = TaskStatus(value)
        state["_status"] = value
        state.pop(_STATUS_UNSET, None)


@dataclass
class Task:
    """A unit of queued work: the supervisor's fields, plus ``metadata`` and Jotty's queue fields.

    Built bare (``Task(task_id, title)``) it behaves as the original supervisor ``Task``: status
    ``backlog``, agent type ``claude`` (``None`` becomes ``claude`` too), ``tags``, ``depends_on``,
    ``blocks`` and ``context_files`` None, and ``created_at`` the local time of construction
    (naive, like ``datetime.now()``). ``TaskQueue.enqueue`` stores a task whose status was never
    set as ``pending``, so that it runs; a status you set is kept.
    """

    task_id: str = ""
    title: str = ""
    description: str = ""
    category: str = ""
    priority: int = TaskPriority.MEDIUM
    tags: list[str] | None = None
    status: _StatusField = _StatusField()
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
    depends_on: list[str] | None = None
    blocks: list[str] | None = None
    created_by: str = "system"
    assigned_to: str | None = None
    agent_type: str | None = DEFAULT_AGENT_TYPE
    context_files: list[str] | None = None
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

    def __post_init__(self) -> None:
        if self.agent_type is None:
            self.agent_type = DEFAULT_AGENT_TYPE
        if self.created_at is None:
            self.created_at = datetime.now()
        for name in LIST_COLUMNS:  # the supervisor's JSON (or comma-separated) text becomes a list
            value = self.__dict__[name]
            if value is not None and type(value) is not list:
                self.__dict__[name] = parse_optional_list(value) if isinstance(value, str | tuple) else value

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict of every field; times as ISO 8601 text (``isoformat()``)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in TIME_COLUMNS:
                value = value.isoformat() if value is not None else None
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
        """Build a Task from ``to_dict()`` output (or any dict of its fields); unknown keys are ignored.

        ISO 8601 times are parsed (a trailing ``Z`` too); a naive time stays naive.
        """
        return cls._build(data, _FROM_DICT)

    @classmethod
    def from_row(cls, row: Any) -> Task:
        """Build a Task from a ``tasks`` row (stored values: UTC text times, JSON text in lists,
        metadata and result); times become naive local time."""
        data = dict(row)
        result = data.get("result")
        if isinstance(result, str):
            data["result"] = _parse_json(result, None)
        return cls._build(data, _FROM_STORED)

    @classmethod
    def _build(cls, data: dict[str, Any], convert: dict[str, Callable[[Any], Any]]) -> Task:
        return cls(
            **{
                key: (convert[key](value) if key in convert else value)
                for key, value in data.items()
                if key in _FIELD_NAMES
            }
        )

    @classmethod
    def from_values(cls, values: Iterable[Any]) -> Task:
        """Build a Task from stored values in ``TASK_COLUMNS`` order (the fast path of the SQL backends)."""
        row = list(values)
        if len(row) != len(TASK_COLUMNS):
            raise ValueError(f"expected {len(TASK_COLUMNS)} stored values (TASK_COLUMNS), got {len(row)}")
        for i, convert in _ROW_CONVERT_AT:
            row[i] = convert(row[i])
        task = cls(*row)
        if isinstance(task.result, str):
            task.result = _parse_json(task.result, None)
        return task

    def to_row(self) -> dict[str, Any]:
        """The task as column values for the ``tasks`` table (lists and dicts as JSON text)."""
        return dict(zip(TASK_COLUMNS, self.to_values(), strict=True))

    def to_values(self) -> tuple[Any, ...]:
        """Stored values in ``TASK_COLUMNS`` order, for ``INSERT`` statements."""
        row = list(_field_values(self))
        for i, convert in _STORE_AT:
            if row[i] is not None:
                row[i] = convert(row[i])
        return tuple(row)


def status_was_set(task: Task) -> bool:
    """False when ``task`` was built without a status (or with None) and none was assigned since."""
    return _STATUS_UNSET not in task.__dict__


def queued_status(task: Task) -> TaskStatus:
    """The status ``enqueue`` stores: ``pending`` when none was set (queued to run), else the task's."""
    return task.status if status_was_set(task) else TaskStatus.PENDING


TASK_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(Task))
"""Every column of the ``tasks`` table that Jotty reads and writes."""
_FIELD_NAMES = frozenset(TASK_COLUMNS)
_field_values = operator.attrgetter(*TASK_COLUMNS)


def _default_if_none(default: Any) -> Callable[[Any], Any]:
    return lambda value: default if value is None else value


def _int_or(default: int) -> Callable[[Any], Any]:
    return lambda value: default if value is None else int(value)


def _metadata(value: Any) -> dict[str, Any]:
    loaded = _parse_json(value, {}) or {}
    return loaded if isinstance(loaded, dict) else {"value": loaded}


# How each stored value becomes a Task attribute; other fields are taken as they are.
_FROM_STORED: dict[str, Callable[[Any], Any]] = {
    **dict.fromkeys(TIME_COLUMNS, stored_local_time),
    **dict.fromkeys(LIST_COLUMNS, parse_optional_list),
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


# How each to_dict value becomes a Task attribute: as stored values, but times keep their form.
_FROM_DICT: dict[str, Callable[[Any], Any]] = {**_FROM_STORED, **dict.fromkeys(TIME_COLUMNS, parse_iso_time)}


def _same(value: Any) -> Any:
    return value


def _json_list(value: list[str]) -> str:
    return json.dumps(value)


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
_ROW_CONVERT_AT = tuple((i, c) for i, c in enumerate(_ROW_CONVERTERS) if c is not _same)
_STORE_AT = tuple((i, c) for i, c in enumerate(_TO_STORED) if c is not None)
SELECT_COLUMNS = ", ".join(TASK_COLUMNS)
"""The task columns in ``Task`` field order, for ``SELECT``/``RETURNING`` lists read by ``from_values``."""


_TO_STORED_BY_NAME = dict(zip(TASK_COLUMNS, _TO_STORED, strict=True))


def stored_updates(updates: dict[str, Any]) -> dict[str, Any]:
    """Column updates (Task attribute values) as stored values: lists and dicts as JSON, times as text."""
    out: dict[str, Any] = {}
    for key, value in updates.items():
        if key == "result":
            out[key] = json.dumps(value) if value is not None else None
            continue
        if value is not None and key in _FROM_DICT:
            value = _FROM_DICT[key](value)
        convert = _TO_STORED_BY_NAME[key]
        out[key] = convert(value) if convert is not None and value is not None else value
    return out
