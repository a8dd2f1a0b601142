"""Goals as queued tasks: what ``enqueue_goal`` stores and what ``handle_task`` reads back.

A goal's task has ``title`` = the goal (cut at ``MAX_TITLE`` characters) and
``metadata = {"goal": goal, "context": context}``. A task made elsewhere (the supervisor's, or
``jotty queue add``) runs too: its goal is its title and description. The task's id, category and
tags join the context, so the router keys stuck detection on the task and learns per category.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jotty.errors import ValidationError
from jotty.queue import Task
from jotty.wording import cut

MAX_TITLE = 1000


def goal_task_fields(goal: str, context: Mapping[str, Any] | None, fields: Mapping[str, Any]) -> dict[str, Any]:
    """Keyword arguments for ``TaskQueue.create_task`` that carry ``goal`` and ``context``."""
    if not isinstance(goal, str) or not goal.strip():
        raise ValidationError("the goal must be a non-empty string describing what to do")
    if context is not None and not isinstance(context, Mapping):
        raise ValidationError(f"context must be a dict or None, got {type(context).__name__}")
    extra = dict(fields)
    metadata = extra.pop("metadata", None) or {}
    if not isinstance(metadata, Mapping):
        raise ValidationError("metadata must be a dict (goal and context are added to it)")
    title = cut(goal, MAX_TITLE)
    extra.setdefault("status", "pending")
    return {"title": title, "metadata": {**metadata, "goal": goal, "context": dict(context or {})}, **extra}


def goal_of(task: Task) -> tuple[str, dict[str, Any]]:
    """The goal and context a task asks for."""
    goal = task.metadata.get("goal")
    if not isinstance(goal, str) or not goal.strip():
        goal = f"{task.title}\n\n{task.description}" if task.description else task.title
    stored = task.metadata.get("context")
    context = dict(stored) if isinstance(stored, Mapping) else {}
    context.setdefault("task_id", task.task_id)
    if task.category:
        context.setdefault("category", task.category)
    if task.tags:
        context.setdefault("tags", list(task.tags))
    return goal, context
