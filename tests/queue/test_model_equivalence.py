"""A hypothesis state machine: MemoryTaskQueue and SQLiteTaskQueue agree on random operation
sequences (return values, raised errors, every task's state and every task's history)."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from jotty.errors import JottyError
from jotty.queue import MemoryTaskQueue, SQLiteTaskQueue, Task, TaskQueue

STATUSES = ["pending", "pending", "pending", "backlog", "suggested"]
AGENTS = [None, "claude", "cursor"]
OPTIONS = {"retry_backoff": 0.0, "lease_seconds": 3600, "worker_id": "model-worker"}


def snapshot(task: Task) -> tuple[Any, ...]:
    return (
        task.task_id,
        str(task.status),
        task.priority,
        task.retry_count,
        task.max_retries,
        task.depends_on,
        task.parent_id,
        task.progress_percent,
        task.error_message,
        task.result,
        task.agent_type,
        task.lease_owner,
        task.pid is None,
        task.title,
        task.metadata,
    )


class QueuesAgree(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.directory = Path(tempfile.mkdtemp(prefix="jotty-model-"))
        self.memory: TaskQueue = MemoryTaskQueue(**OPTIONS)
        self.sqlite: TaskQueue = SQLiteTaskQueue(self.directory / "q.db", **OPTIONS)
        self.ids: list[str] = []
        self.leases: dict[str, tuple[str, str]] = {}  # task id -> (memory lease, sqlite lease)

    def both(self, call: str, *args: Any, **kwargs: Any) -> Any:
        """Run the same call on both queues; they must return the same or raise the same error type."""
        outcomes = []
        for queue in (self.memory, self.sqlite):
            try:
                outcomes.append(("ok", self.loop.run_until_complete(getattr(queue, call)(*args, **kwargs))))
            except JottyError as exc:
                outcomes.append(("error", type(exc).__name__))
        (kind_m, value_m), (kind_s, value_s) = outcomes
        assert kind_m == kind_s, (call, args, kwargs, outcomes)
        if kind_m == "error":
            assert value_m == value_s, (call, outcomes)
            return None
        return value_m, value_s

    @rule(
        title=st.text(min_size=0, max_size=8),
        priority=st.one_of(st.integers(1, 5), st.integers(1, 5), st.sampled_from([0, 6, "2", "x"])),
        status=st.sampled_from(STATUSES),
        agent=st.sampled_from(AGENTS),
        max_retries=st.integers(0, 2),
        deps=st.lists(st.integers(0, 30), max_size=2),
        parent=st.one_of(st.none(), st.integers(0, 30)),
    )
    def create(
        self,
        title: str,
        priority: Any,
        status: str,
        agent: str | None,
        max_retries: int,
        deps: list[int],
        parent: int | None,
    ) -> None:
        depends_on = [self.ids[i % len(self.ids)] for i in deps] if self.ids else []
        parent_id = self.ids[parent % len(self.ids)] if self.ids and parent is not None else None
        result = self.both(
            "create_task",
            title,
            priority=priority,
            status=status,
            agent_type=agent,
            max_retries=max_retries,
            depends_on=depends_on,
            parent_id=parent_id,
        )
        if result is not None:
            assert result[0] == result[1]
            self.ids.append(result[0])

    @precondition(lambda self: self.ids)
    @rule(n=st.integers(1, 3), agent=st.sampled_from(["any", "any", *AGENTS]))
    def claim(self, n: int, agent: str | None) -> None:
        filters = None if agent == "any" else {"agent_type": agent}
        result = self.both("claim_many", n, filters)
        assert result is not None
        mem, sql = result
        assert [t.task_id for t in mem] == [t.task_id for t in sql]
        for a, b in zip(mem, sql, strict=True):
            self.leases[a.task_id] = (a.lease_id, b.lease_id)

    @precondition(lambda self: self.leases)
    @rule(pick=st.integers(0, 100), how=st.sampled_from(["complete", "fail", "fail_final", "release", "stale"]))
    def finish(self, pick: int, how: str) -> None:
        task_id = sorted(self.leases)[pick % len(self.leases)]
        lease_m, lease_s = self.leases[task_id]
        results = []
        for queue, lease in ((self.memory, lease_m), (self.sqlite, lease_s)):
            if how == "complete":
                call = queue.complete(task_id, lease, {"n": pick})
            elif how == "fail":
                call = queue.fail(task_id, lease, f"error {pick}")
            elif how == "fail_final":
                call = queue.fail(task_id, lease, "fatal", retry=False)
            elif how == "release":
                call = queue.release(task_id, lease)
            else:
                call = queue.complete(task_id, "stale-lease")
            results.append(self.loop.run_until_complete(call))
        assert results[0] == results[1], (how, results)
        if how != "stale":
            del self.leases[task_id]

    @precondition(lambda self: self.ids)
    @rule(
        pick=st.integers(0, 100),
        op=st.sampled_from(
            ["cancel", "retry", "reset", "delete", "priority", "to_pending", "to_failed", "to_completed", "heartbeat"]
        ),
        value=st.integers(0, 6),
    )
    def manage(self, pick: int, op: str, value: int) -> None:
        task_id = self.ids[pick % len(self.ids)]
        calls = {
            "cancel": ("cancel_task", (task_id,), {}),
            "retry": ("retry_task", (task_id,), {}),
            "reset": ("reset_task_to_backlog", (task_id,), {}),
            "delete": ("delete_task", (task_id,), {}),
            "priority": ("update_task_priority", (task_id, value), {}),
            "to_pending": ("update_status", (task_id, "pending"), {}),
            "to_failed": ("update_status", (task_id, "failed"), {"error": "manual"}),
            "to_completed": ("update_status", (task_id, "completed"), {}),
            "heartbeat": ("heartbeat", (task_id,), {"progress": value * 10}),
        }
        name, args, kwargs = calls[op]
        result = self.both(name, *args, **kwargs)
        if result is not None:
            assert result[0] == result[1], (op, result)
        if op in ("cancel", "retry", "reset", "delete", "to_pending", "to_failed", "to_completed"):
            self.leases.pop(task_id, None)

    @invariant()
    def same_state(self) -> None:
        mem = self.loop.run_until_complete(self.memory.list_tasks())
        sql = self.loop.run_until_complete(self.sqlite.list_tasks())
        assert [snapshot(t) for t in mem] == [snapshot(t) for t in sql]
        for task in mem:
            hm = self.loop.run_until_complete(self.memory.get_history(task.task_id))
            hs = self.loop.run_until_complete(self.sqlite.get_history(task.task_id))
            assert [(h.from_status, h.to_status, h.actor, h.reason) for h in hm] == [
                (h.from_status, h.to_status, h.actor, h.reason) for h in hs
            ]
        assert self.loop.run_until_complete(self.memory.get_stats()) == self.loop.run_until_complete(
            self.sqlite.get_stats()
        )

    def teardown(self) -> None:
        self.loop.run_until_complete(self.sqlite.close())
        self.loop.close()
        shutil.rmtree(self.directory, ignore_errors=True)


# No shrinking: a failure prints its whole step sequence, and the suite stays bounded in time.
QueuesAgree.TestCase.settings = settings(
    max_examples=60,
    stateful_step_count=30,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow],
)
TestQueuesAgree = QueuesAgree.TestCase
