"""Checks on everything a caller hands the queue. Bad input raises ``ValidationError`` saying how
to fix it, before anything is written."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from typing import Any

from jotty.errors import ValidationError
from jotty.queue.task import DEFAULT_AGENT_TYPE, LIST_COLUMNS, TASK_COLUMNS, Task, TaskStatus, parse_list
from jotty.unicode import utf8

MAX_TEXT_BYTES = 1024 * 1024
"""The largest text field (description, task_content, error) Jotty stores: 1 MiB."""
MAX_TITLE_CHARS = 1000

_TEXT_LIMITS = {"title": MAX_TITLE_CHARS * 4}
_PROTECTED = {"task_id"}
# Columns the unfenced update calls may set through **kwargs.
UPDATABLE_COLUMNS = frozenset(TASK_COLUMNS) - _PROTECTED


def priority(value: Any) -> int:
    """A priority 1-5 (``TaskPriority`` or an int)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValidationError(f"priority must be a whole number from 1 to 5, got {value!r}")
    try:
        number = float(value)
    except ValueError:
        raise ValidationError(f"priority must be a whole number from 1 to 5, got {value!r}") from None
    if not math.isfinite(number) or number != int(number) or not 1 <= number <= 5:
        raise ValidationError(f"priority must be a whole number from 1 (critical) to 5 (optional), got {value!r}")
    return int(number)


def status(value: Any) -> TaskStatus:
    """A known status."""
    try:
        return TaskStatus(value)
    except ValueError:
        names = ", ".join(s.value for s in TaskStatus)
        raise ValidationError(f"unknown task status {value!r}: use one of {names}") from None


def text(name: str, value: Any, *, required: bool = False, limit: int = MAX_TEXT_BYTES) -> str | None:
    """A UTF-8 encodable string under the size limit (None allowed unless ``required``)."""
    if value is None:
        if required:
            raise ValidationError(f"{name} is required")
        return None
    if type(value) is str and value.isascii() and len(value) <= limit and not required:
        return value  # the common case: nothing to encode or measure
    if isinstance(value, bytes | bytearray):
        raise ValidationError(f"{name} must be text (str), not bytes: decode it first, e.g. .decode('utf-8')")
    if not isinstance(value, str):
        raise ValidationError(f"{name} must be a string, got {type(value).__name__}")
    size = len(utf8(value, name))
    if size > limit:
        raise ValidationError(
            f"{name} is {size / 1_048_576:.1f} MiB; the limit is {limit / 1_048_576:.1f} MiB: store large "
            "content in a file and list it in context_files"
        )
    if required and not value.strip():
        raise ValidationError(f"{name} must not be empty")
    return value


def string_list(name: str, value: Any) -> list[str]:
    """A list of strings (a JSON array as text, as the supervisor stores it, or one item)."""
    if value is None:
        return []
    if isinstance(value, str):
        return parse_list(value) if value.lstrip().startswith("[") else [value]
    if not isinstance(value, Iterable) or isinstance(value, Mapping | bytes):
        raise ValidationError(f"{name} must be a list of strings, got {type(value).__name__}")
    items = list(value)
    for item in items:
        if not isinstance(item, str):
            raise ValidationError(f"{name} must hold strings only, got {item!r}")
        text(name, item)
    return items


def json_value(name: str, value: Any) -> Any:
    """A value that round-trips through JSON."""
    try:
        json.dumps(value)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"{name} must be JSON-serialisable ({exc})") from None
    return value


def non_negative_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationError(f"{name} must be a whole number >= 0, got {value!r}")
    return value


def task(t: Task) -> Task:
    """Check a whole task before it is stored (raises on the first problem)."""
    text("title", t.title, required=True, limit=_TEXT_LIMITS["title"])
    for name in (
        "description",
        "category",
        "task_content",
        "error_message",
        "created_by",
        "assigned_to",
        "agent_type",
        "filename",
        "reference_apps",
        "estimated_effort",
        "worktree_path",
        "git_branch",
        "log_file",
        "parent_id",
    ):
        text(name, getattr(t, name))
    t.priority = priority(t.priority)
    if type(t.status) is not TaskStatus:  # (assigning would mark a status left unset as set)
        t.status = status(t.status)
    t.retry_count = non_negative_int("retry_count", t.retry_count)
    t.max_retries = non_negative_int("max_retries", t.max_retries)
    for name in LIST_COLUMNS:
        value = getattr(t, name)
        if value is not None:  # None (the default) stays None, as in the supervisor's Task
            setattr(t, name, string_list(name, value))
    if not isinstance(t.metadata, dict):
        raise ValidationError(f"metadata must be a dict, got {type(t.metadata).__name__}")
    if t.metadata:
        json_value("metadata", t.metadata)
    if t.result is not None:
        json_value("result", t.result)
    if t.task_id:
        text("task_id", t.task_id, limit=200)
    if t.task_id and t.task_id in (t.depends_on or ()):
        raise ValidationError(f"task {t.task_id} cannot depend on itself")
    return t


def filters(given: Mapping[str, Any] | None) -> list[tuple[str, Any]]:
    """Filters as (column, value) pairs; keys must be task columns. Values are bound, never spliced."""
    if not given:
        return []
    if not isinstance(given, Mapping):
        raise ValidationError(f"filters must be a dict of column -> value, got {type(given).__name__}")
    out = []
    for key, value in given.items():
        if key not in TASK_COLUMNS:
            raise ValidationError(
                f"unknown filter key {key!r}: filters are task columns such as agent_type, category, "
                "priority, parent_id, assigned_to"
            )
        if key == "agent_type":
            if value is None:
                continue  # no agent type: any agent type, as the supervisor's get_next_pending_task(None)
            value = _agent_types(value)
        if key == "status":
            value = [status(v) for v in value] if isinstance(value, list | tuple | set) else status(value)
        if isinstance(value, set):
            value = sorted(value)
        if isinstance(value, list | tuple):
            if not value:
                raise ValidationError(f"filter {key!r} has an empty list: give at least one value")
            value = [str(v) if isinstance(v, TaskStatus) else v for v in value]
        elif isinstance(value, TaskStatus):
            value = str(value)
        if isinstance(value, dict):
            raise ValidationError(f"filter {key!r} takes a value or a list of values, not a dict")
        out.append((key, value))
    return out


def _agent_types(value: Any) -> Any:
    """An ``agent_type`` filter: a task stored without one (NULL, as the supervisor may leave it)
    counts as ``claude``, the supervisor's default."""
    values = list(value) if isinstance(value, list | tuple | set) else [value]
    if DEFAULT_AGENT_TYPE in values and None not in values:
        return [*values, None]
    return value


def updates(given: Mapping[str, Any]) -> dict[str, Any]:
    """Column updates passed as keyword arguments: known, settable columns only."""
    for key in given:
        if key not in UPDATABLE_COLUMNS:
            raise ValidationError(f"cannot set {key!r} on a task: use one of {', '.join(sorted(UPDATABLE_COLUMNS))}")
    return dict(given)


def matches(t: Task, conditions: list[tuple[str, Any]]) -> bool:
    """Whether a task satisfies validated filters (the in-memory twin of the SQL WHERE)."""
    row = t.to_row()
    for key, value in conditions:
        actual = row[key]
        if isinstance(value, list):
            if actual not in value:
                return False
        elif actual != value:
            return False
    return True
