"""The ``Conductor``: runs goals over actors, statically or by learned routing, now or from a queue.

``mode="static"`` chains the actors in ``agent_order``; ``mode="dynamic"`` lets the
``jotty.learning.Router`` pick one actor per step until an output is accepted. ``flow=`` runs any
pattern as the actor ``flow:<name>`` (alone in static mode, as one more candidate in dynamic
mode); the router learns from the flow's outcome as a whole. What is learned lives in the store
(``store=``: a path or ``postgresql://`` URL; default ``JOTTY_DATABASE_URL``, else
``$JOTTY_HOME/jotty.db``), shared by every run, process and queue worker.
"""

from __future__ import annotations

import asyncio
import copy
import logging
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any

from jotty.context.levels import check_level
from jotty.context.policy import ContextPolicy
from jotty.errors import ValidationError
from jotty.events import EventSink
from jotty.learning import Router, Trajectory
from jotty.learning.store import StoreSpec
from jotty.orchestration.actors import AgentConfig, check_actors
from jotty.orchestration.conducted import ConductedRun
from jotty.orchestration.plan import Plan, make_plan
from jotty.orchestration.recording import (
    RunsArg,
    finished_attempt,
    recording_for,
    run_metadata,
    stored_run,
    task_run_id,
)
from jotty.orchestration.result import ConductorResult, ConductorRunFailed, StopReason
from jotty.orchestration.stream import ConductorStream
from jotty.orchestration.tasks import goal_of, goal_task_fields
from jotty.patterns import Flow
from jotty.patterns.runner import new_run_id
from jotty.queue import PermanentFailure, Task, TaskQueue, TaskQueueManager, WorkerStats
from jotty.runmemory.use import Recall, RunMemory, run_memory
from jotty.runs import RunStatus
from jotty.unicode import utf8

logger = logging.getLogger(__name__)


class Conductor:
    """Run goals over ``actors`` and learn which actor to use.

    ``actors``: ``AgentConfig``s. ``task_queue``: where ``enqueue_goal`` puts goals and
    ``process_queue`` takes them from. ``mode``: ``static`` or ``dynamic``. ``agent_order``: the
    static chain, or the dynamic candidates (default: every actor, in order). ``flow``: a pattern
    to run as an actor. ``store``: the learning store (a path, URL or ``LearningStore``).
    ``router_options`` go to ``Router`` (``explore``, ``stuck_after``, ``alpha``, ...).
    ``runs``: where runs are recorded (``jotty runs list``): True (default) in ``store`` (or the
    default store when ``store`` is an object), a path/URL/``RunStore``, or False (memory only).
    ``memory``: True (the store's ``conductor`` scope; the default when ``store`` is a path, URL or
    None), False, or a ``jotty.memory.Memory``; each
    run recalls up to ``memory_tokens`` into ``ctx.data["memory"]`` and remembers its outcome
    (``result.memory``); queue workers consolidate after ``memory_sleep`` idle seconds
    (``jotty.runmemory.use``).
    ``level`` (``"L1"``...``"L4"``) and ``policy`` (a ``jotty.context.ContextPolicy``) set what
    every step's window holds (see ``Flow.run``).

    Static mode feeds each actor's output to the next; a failure, or an output its validator
    rejects, stops the chain (the result keeps the last accepted output). Dynamic mode gives every
    actor the goal (and, in ``ctx.data["attempts"]``, the errors of the attempts before it).
    Either way every step is recorded with the router, and the result's ``learning`` says what
    was chosen and why.
    """

    def __init__(
        self,
        actors: Sequence[AgentConfig] = (),
        task_queue: TaskQueue | None = None,
        mode: str = "static",
        agent_order: Sequence[str] | None = None,
        flow: Flow | None = None,
        store: StoreSpec = None,
        *,
        router_options: Mapping[str, Any] | None = None,
        runs: RunsArg = True,
        memory: Any = None,
        memory_tokens: int = 600,
        memory_sleep: float | None = 30.0,
        level: str | None = None,
        policy: ContextPolicy | None = None,
    ) -> None:
        checked = check_actors(actors)
        self._recording = recording_for(runs, store)
        self.level = check_level(level, "Conductor(level=...)")
        self.policy = policy
        flow_actor = None
        if flow is not None:
            if not isinstance(flow, Flow):
                raise ValidationError(
                    f"flow must be a pattern from jotty.patterns (Chain, Parallel, ...), got {type(flow).__name__}; "
                    "pass agents as actors=[AgentConfig(name, agent)]"
                )
            flow_actor = AgentConfig(f"flow:{flow.name}", flow, f"the {flow.kind} flow {flow.name!r}")
        if task_queue is not None and not isinstance(task_queue, TaskQueue):
            raise ValidationError(f"task_queue must be a jotty.queue.TaskQueue, got {type(task_queue).__name__}")
        self.actors = checked
        self.flow = flow
        self.task_queue = task_queue
        self._flow_actor = flow_actor
        self._plan = make_plan(mode, checked, flow_actor, agent_order)
        self._router = Router(list(self._plan.actors), store, **dict(router_options or {}))
        self._owns_router = True
        self._managers: set[TaskQueueManager] = set()
        self.memory: RunMemory | None = run_memory(memory, store, memory_tokens, memory_sleep)

    def __repr__(self) -> str:
        return f"Conductor(mode={self.mode!r}, actors={list(self._plan.order)!r})"

    @property
    def mode(self) -> str:
        """``static`` or ``dynamic``."""
        return self._plan.mode

    @property
    def router(self) -> Router:
        """The router that learns from every run (its ``summary()`` is the learning table)."""
        return self._router

    @property
    def plan(self) -> Plan:
        """The mode, the actors by name, and the static order or dynamic candidates."""
        return self._plan

    def with_routing(self, mode: str | None = None, agent_order: Sequence[str] | None = None) -> Conductor:
        """A Conductor over the same actors, queue and learning, with another mode or order."""
        other = copy.copy(self)
        other._plan = make_plan(mode or self.mode, self.actors, self._flow_actor, agent_order)
        other._owns_router = False
        return other

    # ------------------------------------------------------------------ running now

    async def run(
        self,
        goal: str,
        context: Mapping[str, Any] | None = None,
        max_iterations: int = 100,
        *,
        run_id: str | None = None,
    ) -> ConductorResult:
        """Run ``goal`` and return its result. ``context`` reaches every agent as ``ctx.data`` (with
        ``goal``); its ``category``, ``keywords``/``tags`` and ``task_id`` inform the router.
        ``max_iterations`` bounds the steps of dynamic mode. Giving the ``run_id`` of a recorded
        run resumes it (see ``jotty.orchestration.recording``)."""
        return await self._run(goal, context, max_iterations, None, run_id)

    def run_stream(
        self,
        goal: str,
        context: Mapping[str, Any] | None = None,
        max_iterations: int = 100,
        *,
        run_id: str | None = None,
    ) -> ConductorStream:
        """Run ``goal`` and yield its events as dicts as they happen; ``.result`` afterwards."""
        data = _check_run(goal, context, max_iterations)
        return ConductorStream(lambda sink: self._run(goal, data, max_iterations, sink, run_id))

    def _start_and_recall(
        self, memory: RunMemory, goal: str, data: dict[str, Any], run_id: str
    ) -> tuple[Trajectory, Recall]:
        """The router's start and the run's recall, on one worker thread (two threads would only
        take turns holding the GIL, and each hand-off back to the loop costs a wake-up)."""
        return self._router.start(goal, data, run_id), memory.recall_now(goal, data)

    async def _run(
        self,
        goal: str,
        context: Mapping[str, Any] | None,
        max_iterations: int,
        sink: EventSink | None,
        run_id: str | None = None,
        *,
        recover_memory: bool = False,
    ) -> ConductorResult:
        """A run; ``recover_memory``: a queued task that another worker had run (see ``handle_task``)."""
        data = _check_run(goal, context, max_iterations)
        recording = self._recording
        stored = None
        if recording is not None and run_id is not None:
            stored = await stored_run(recording.store, run_id)
        status = None if stored is None else stored.status
        retry = status is RunStatus.FAILED
        run_id = run_id or new_run_id()
        metadata = run_metadata(self.mode, data)  # the caller's context, before memory is added
        if self.memory is None:
            trajectory, recall = await asyncio.to_thread(self._router.start, goal, data, run_id), None
        elif status is RunStatus.COMPLETED:  # the store gives the result: nothing runs, nothing to recall
            trajectory = await asyncio.to_thread(self._router.start, goal, data, run_id)
            recall = self.memory.not_recalled("the run had completed: its stored result")
        else:  # the router's start, then the recall, in one trip to a worker thread
            trajectory, recalled = await asyncio.to_thread(self._start_and_recall, self.memory, goal, data, run_id)
            RunMemory.apply(data, recalled)
            recall = recalled
        conducted = ConductedRun(
            self._plan, self._router, trajectory, {"goal": goal, **data}, max_iterations, retry=retry
        )
        if self.memory is not None and recall is not None and stored is not None and retry and recover_memory:
            # the failure this retry follows may have died in its worker's writer (kill -9): remembered if missing
            await self.memory.remember_lost(
                recall.report, goal, data, run_id=run_id, ok=False, output=stored.output, error=stored.error,
                actor=finished_attempt(stored.steps, conducted.name)[0],
            )  # fmt: skip
        if recording is None:
            result = await conducted.run(goal, run_id=run_id, sink=sink, level=self.level, policy=self.policy)
        else:
            result = await conducted.run(
                goal,
                store=recording.store,
                run_id=run_id,
                sink=sink,
                metadata=metadata,
                level=self.level,
                policy=self.policy,
            )
        if not conducted.executed:  # the run had completed: the store gave its result
            conducted.stop_reason = StopReason.ACCEPTED
            conducted.actor, conducted.final_step = finished_attempt(result.steps, conducted.name)
        logger.info("run %s (%s) %s: %s", run_id, self.mode, result.status, conducted.stop_reason)
        if self.memory is not None and recall is not None and conducted.executed:  # remembered once, when it ran
            self.memory.remember(
                recall.report, goal, data, run_id=run_id, ok=result.ok, output=result.output,
                error=result.error, actor=conducted.actor,
            )  # fmt: skip
        elif self.memory is not None and recall is not None and status is RunStatus.COMPLETED and recover_memory:
            await self.memory.remember_lost(
                recall.report, goal, data, run_id=run_id, ok=result.ok, output=result.output,
                error=result.error, actor=conducted.actor,
            )  # fmt: skip
        return ConductorResult(
            output=result.output,
            status=result.status,
            steps=list(result.steps),
            events=[event.to_dict() for event in result.events],
            learning=conducted.learning,
            run_id=run_id,
            stop_reason=conducted.stop_reason,
            error=result.error,
            actor=conducted.actor,
            final_step=conducted.final_step,
            tokens=result.tokens,
            duration=result.duration,
            memory=recall.report if recall is not None else None,
        )

    # ------------------------------------------------------------------ the queue

    async def enqueue_goal(
        self, goal: str, priority: int = 3, *, context: Mapping[str, Any] | None = None, **fields: Any
    ) -> str:
        """Queue ``goal`` (with ``context``) as a pending task and return its id. ``fields`` are other
        task fields (``category``, ``tags``, ``max_retries``, ``depends_on``, ``metadata``, ...)."""
        queue = self._queue("enqueue_goal")
        return await queue.create_task(priority=priority, **goal_task_fields(goal, context, fields))

    async def handle_task(self, task: Task) -> dict[str, Any]:
        """Run a queued task's goal (``TaskQueueManager`` calls this) and return the result summary.

        A failed run raises, so the queue retries the task per its rules; when every actor is stuck
        on the task, retrying cannot help and the task fails for good (``PermanentFailure``). The
        failed run's summary is kept in the task's ``metadata["last_result"]``.
        """
        goal, context = goal_of(task)
        run_id = None if self._recording is None else task_run_id(task.task_id)
        # A task whose run the store holds complete was run by a worker that died before the task
        # completed, so perhaps before its outcome reached memory: the run remembers it if missing
        # (a retry of a failed run does so for that failure before it runs again).
        result = await self._run(goal, context, 100, None, run_id, recover_memory=True)
        if result.memory is not None:  # the task completes once its outcome is in memory
            await result.memory.settled()
        summary = result.to_dict()
        if result.ok:
            return summary
        if self.task_queue is not None:
            try:
                await self.task_queue.update_task_metadata(task.task_id, metadata={"last_result": summary})
            except Exception:  # keeping the summary is a courtesy: the run's error is what the task needs
                logger.warning("could not keep the failed run's summary on task %s", task.task_id, exc_info=True)
        message = f"run {result.run_id} ended {result.stop_reason}: {result.error}"
        if result.stop_reason is StopReason.ACTORS_EXHAUSTED:
            raise PermanentFailure(message)
        raise ConductorRunFailed(message)

    async def process_queue(
        self,
        max_tasks: int | None = None,
        max_concurrent: int = 3,
        *,
        until_empty: bool = False,
        poll_interval: float = 1.0,
    ) -> WorkerStats:
        """Run queued goals, ``max_concurrent`` at a time, until ``stop_processing()``, until
        ``max_tasks`` were taken, or (``until_empty``) until nothing is left to run now.

        Each task's result (or error) is stored on the task. Returns what the worker did.
        """
        queue = self._queue("process_queue")
        manager = TaskQueueManager(self, queue, max_concurrent, poll_interval)
        self._managers.add(manager)
        try:
            if self.memory is None:
                return await manager.run(max_tasks, burst=until_empty)
            async with self.memory.sleeping(manager):
                return await manager.run(max_tasks, burst=until_empty)
        finally:
            self._managers.discard(manager)

    async def stop_processing(self) -> None:
        """Stop every ``process_queue`` loop of this Conductor gracefully: no new tasks are taken,
        running ones finish (or return to ``pending`` after the grace period)."""
        for manager in list(self._managers):
            await manager.stop()

    def _queue(self, call: str) -> TaskQueue:
        if self.task_queue is None:
            raise ValidationError(
                f"{call}() needs a task queue: Conductor(..., task_queue=SQLiteTaskQueue('tasks.db')), or "
                "ExecutionMode(conductor, style='workflow', execution='async', queue=...); to run a goal now, "
                "call run(goal)"
            )
        return self.task_queue

    # ------------------------------------------------------------------ closing

    def close(self) -> None:
        """Write pending memories; close the learning store and memory (if this Conductor opened them)."""
        if self._owns_router:
            if self.memory is not None:
                self.memory.close()
            self._router.close()

    def __enter__(self) -> Conductor:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


def _check_run(goal: object, context: Mapping[str, Any] | None, max_iterations: object) -> dict[str, Any]:
    """A copy of ``context``; raise ``ValidationError`` for a bad goal, context or max_iterations."""
    if not isinstance(goal, str) or not goal.strip():
        raise ValidationError(f"the goal must be a non-empty string describing what to do, got {goal!r:.80}")
    utf8(goal, "the goal")
    if context is not None and not isinstance(context, Mapping):
        raise ValidationError(f"context must be a dict or None, got {type(context).__name__}")
    if isinstance(max_iterations, bool) or not isinstance(max_iterations, int) or max_iterations < 1:
        raise ValidationError(f"max_iterations must be a whole number >= 1, got {max_iterations!r}")
    return dict(context or {})
