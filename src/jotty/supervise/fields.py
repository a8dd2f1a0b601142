"""The values a template may name: task fields, and what the supervisor adds for a run."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from jotty.queue.task import Task

_HIDDEN = {"metadata", "result", "lease_id", "lease_owner", "lease_expires_at", "run_after", "host", "pid"}
TEMPLATE_FIELDS = frozenset(f.name for f in fields(Task)) - _HIDDEN
"""Task fields a branch or argv template may name."""
RUN_FIELDS = frozenset({"prompt", "prompt_file", "worktree", "branch", "log_file"})
"""What the supervisor adds for an agent's argv and env."""


def task_values(task: Task) -> dict[str, Any]:
    """A task's template values (lists and numbers render as JSON, None as empty)."""
    return {name: getattr(task, name) for name in TEMPLATE_FIELDS}


def prompt_text(task: Task) -> str:
    """The prompt an agent gets: title, description, task content and context files."""
    parts = [f"# {task.title}"]
    if task.description:
        parts.append(task.description)
    if task.task_content:
        parts.append(task.task_content)
    if task.context_files:
        parts.append("Context files:\n" + "\n".join(f"- {name}" for name in task.context_files))
    return "\n\n".join(parts) + "\n"
