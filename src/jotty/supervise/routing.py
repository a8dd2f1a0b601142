"""Choosing an agent type for tasks that name none, and learning from every finished attempt.

The learning router (``jotty.learning.Router``) scores the configured agent types for a task's
category and words from past outcomes (success, time, retries); the pick and its reason are
written on the task (``agent_type``, ``metadata["routing"]``) while it is still pending, so the
normal per-type claims and limits then apply to it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from jotty.learning import Router
from jotty.learning.store import StoreSpec
from jotty.queue.base import TaskQueue
from jotty.queue.task import Task

log = logging.getLogger(__name__)


class AgentRouter:
    """Routes ``auto`` tasks among ``agent_types`` and records outcomes, on the learning store."""

    def __init__(self, agent_types: Sequence[str], store: StoreSpec, auto: str) -> None:
        self.router = Router(list(agent_types), store)
        self.auto = auto

    async def route_pending(self, queue: TaskQueue, limit: int, filters: dict[str, Any]) -> int:
        """Give up to ``limit`` pending ``auto`` tasks an agent type; how many were routed."""
        tasks = await queue.list_tasks({**filters, "status": "pending", "agent_type": self.auto}, limit)
        for task in tasks:
            decision = await asyncio.to_thread(self._choose, task)
            why = {"agent_type": decision.actor, "reason": str(decision.reason), "why": decision.explanation}
            await queue.update_task_metadata(task.task_id, agent_type=decision.actor, metadata={"routing": why})
            log.info("task %s routed to %s: %s", task.task_id, decision.actor, decision.explanation)
        return len(tasks)

    def _choose(self, task: Task) -> Any:
        run = self.router.start(_goal(task), {"category": task.category or "general", "task_id": task.task_id})
        return self.router.choose(run)

    async def learn(self, task: Task, agent_type: str, *, success: bool, seconds: float) -> None:
        """Record one finished attempt of ``agent_type`` on ``task`` (retries count as failures)."""
        if agent_type not in self.router.actors:
            return
        await asyncio.to_thread(self._learn, task, agent_type, success, seconds)

    def _learn(self, task: Task, agent_type: str, success: bool, seconds: float) -> None:
        run = self.router.start(_goal(task), {"category": task.category or "general", "task_id": task.task_id})
        self.router.record(run, agent_type, success=success, failed=not success, seconds=seconds)
        self.router.finish(run)

    def close(self) -> None:
        self.router.close()


def store_of(queue: TaskQueue) -> StoreSpec | None:
    """The learning store that lives with ``queue`` (its SQLite file or PostgreSQL schema)."""
    path = getattr(queue, "db_path", None)
    if path is not None:
        return str(path)
    url = getattr(queue, "url", None)
    if isinstance(url, str) and url.startswith(("postgresql://", "postgres://")):
        from jotty.learning.postgres_store import PostgresLearningStore

        return PostgresLearningStore(url, schema=getattr(queue, "schema", None))
    return None


def _goal(task: Task) -> str:
    return f"{task.title}\n{task.description or ''}".strip()
