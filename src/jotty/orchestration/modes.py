"""``ExecutionMode``: one interface for chat and workflow, run now (sync) or through a queue (async).

==========  ===========================================  ===============================================
style       execution="sync"                             execution="async" (needs a queue)
==========  ===========================================  ===============================================
chat        ``stream(goal, history)``, ``execute``,       not allowed: chat answers now
            ``execute_stream``: chat events
workflow    ``execute`` -> result, ``execute_stream`` /   ``enqueue_task``, ``process_queue``,
            ``stream``: raw event dicts                   ``stop_processing``
==========  ===========================================  ===============================================

Every run goes through the Conductor, so each one learns, whatever the style (chat runs under the
category ``chat`` unless their context names another). A call that does not
fit the mode raises ``ValidationError`` (a ``ValueError``) naming the call that does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from jotty.errors import ValidationError
from jotty.orchestration.chat import ChatMessage, ChatStream, format_history
from jotty.orchestration.conductor import Conductor
from jotty.orchestration.result import ConductorResult
from jotty.orchestration.stream import ConductorStream
from jotty.queue import TaskQueue, WorkerStats

STYLES = ("chat", "workflow")
EXECUTIONS = ("sync", "async")

History = Iterable[ChatMessage | Mapping[str, Any]]


class ExecutionMode:
    """Run goals on ``conductor`` in a ``style`` (``chat`` or ``workflow``) and an ``execution``
    (``sync``: now; ``async``: queued on ``queue``, or on the conductor's ``task_queue``).

    Chat is sync only. A queue given here becomes the conductor's ``task_queue`` if it has none.
    """

    def __init__(
        self,
        conductor: Conductor,
        style: str = "workflow",
        execution: str = "sync",
        queue: TaskQueue | None = None,
    ) -> None:
        if not isinstance(conductor, Conductor):
            raise ValidationError(f"ExecutionMode needs a Conductor, got {type(conductor).__name__}")
        if style not in STYLES:
            raise ValidationError(f"style must be 'chat' or 'workflow', got {style!r}")
        if execution not in EXECUTIONS:
            raise ValidationError(f"execution must be 'sync' (run now) or 'async' (queued), got {execution!r}")
        if style == "chat" and execution == "async":
            raise ValidationError(
                "chat is sync only: use ChatMode(conductor) or ExecutionMode(conductor, style='chat', "
                "execution='sync'); to queue work use ExecutionMode(conductor, style='workflow', "
                "execution='async', queue=...)"
            )
        if queue is not None:
            if not isinstance(queue, TaskQueue):
                raise ValidationError(f"queue must be a jotty.queue.TaskQueue, got {type(queue).__name__}")
            if execution == "sync":
                raise ValidationError(
                    "a queue is only used with execution='async': drop queue= to run now, or use "
                    "ExecutionMode(conductor, style='workflow', execution='async', queue=queue)"
                )
            if conductor.task_queue is None:
                conductor.task_queue = queue
            elif conductor.task_queue is not queue:
                raise ValidationError(
                    "the conductor already has another task_queue: pass that same queue, or none (it is used)"
                )
        if execution == "async" and conductor.task_queue is None:
            raise ValidationError(
                "execution='async' needs a queue: ExecutionMode(conductor, style='workflow', execution='async', "
                "queue=SQLiteTaskQueue('tasks.db')), or Conductor(..., task_queue=...); to run now use execution='sync'"
            )
        self.conductor = conductor
        self.style = style
        self.execution = execution

    def __repr__(self) -> str:
        return f"{type(self).__name__}(style={self.style!r}, execution={self.execution!r})"

    @property
    def queue(self) -> TaskQueue | None:
        """The queue async work goes to (the conductor's ``task_queue``)."""
        return self.conductor.task_queue

    # ------------------------------------------------------------------ now

    async def execute(
        self,
        goal: str,
        context: Mapping[str, Any] | None = None,
        max_iterations: int = 100,
        *,
        run_id: str | None = None,
    ) -> ConductorResult:
        """Run ``goal`` now and return its result (with its ``learning`` report); the ``run_id`` of a
        recorded run resumes it (``Conductor.run``)."""
        self._need_sync("execute(goal)")
        return await self.conductor.run(goal, self._context(context), max_iterations, run_id=run_id)

    def execute_stream(
        self,
        goal: str,
        context: Mapping[str, Any] | None = None,
        max_iterations: int = 100,
        *,
        run_id: str | None = None,
    ) -> ConductorStream | ChatStream:
        """Run ``goal`` now, yielding its events (chat events in chat style, raw event dicts in
        workflow style); the stream's ``.result`` is then the run's result. ``run_id`` as in ``execute``."""
        self._need_sync("execute_stream(goal)")
        stream = self.conductor.run_stream(goal, self._context(context), max_iterations, run_id=run_id)
        return ChatStream(stream) if self.style == "chat" else stream

    def stream(self, goal: str, history: History | None = None) -> ConductorStream | ChatStream:
        """``execute_stream`` with a conversation: ``history`` (``ChatMessage``s) reaches the agents
        as ``ctx.data["history"]`` (role/content dicts, as ``LLMAgent`` reads them)."""
        self._need_sync("stream(goal, history)")
        return self.execute_stream(goal, {"history": format_history(history)})

    # ------------------------------------------------------------------ queued

    async def enqueue_task(
        self, goal: str, priority: int = 3, *, context: Mapping[str, Any] | None = None, **fields: Any
    ) -> str:
        """Queue ``goal`` for ``process_queue`` (here or in any worker on the same queue); its id."""
        self._need_async("enqueue_task(goal)")
        return await self.conductor.enqueue_goal(goal, priority, context=context, **fields)

    async def process_queue(
        self,
        max_tasks: int | None = None,
        max_concurrent: int = 3,
        *,
        until_empty: bool = False,
        poll_interval: float = 1.0,
    ) -> WorkerStats:
        """Run queued goals until ``stop_processing()``, ``max_tasks`` or (``until_empty``) an empty
        queue; an idle worker looks for work at least every ``poll_interval`` seconds (a goal queued
        through the same store wakes it at once)."""
        self._need_async("process_queue()")
        return await self.conductor.process_queue(
            max_tasks, max_concurrent, until_empty=until_empty, poll_interval=poll_interval
        )

    async def stop_processing(self) -> None:
        """Stop ``process_queue`` gracefully: running goals finish, no new ones start."""
        self._need_async("stop_processing()")
        await self.conductor.stop_processing()

    # ------------------------------------------------------------------ checks

    def _context(self, context: Mapping[str, Any] | None) -> dict[str, Any]:
        """The run's context; chat formats its history and learns under the category ``chat``."""
        data = dict(context or {})
        if self.style == "chat":
            data.setdefault("category", "chat")
            data.setdefault("style", "chat")
            if "history" in data:
                data["history"] = format_history(data["history"])
        return data

    def _need_sync(self, call: str) -> None:
        if self.execution != "sync":
            raise ValidationError(
                f"{call} runs now, which needs execution='sync'; in async mode queue the goal with "
                "enqueue_task(goal) and run the queue with process_queue()"
            )

    def _need_async(self, call: str) -> None:
        if self.execution != "async":
            fix = "stream(goal, history)" if self.style == "chat" else "execute(goal)"
            raise ValidationError(
                f"{call} works on a queue, which needs ExecutionMode(conductor, style='workflow', "
                f"execution='async', queue=...); in {self.style} sync mode call {fix} instead"
            )


class ChatMode(ExecutionMode):
    """Chat on ``conductor``: ``ExecutionMode(conductor, style="chat", execution="sync")``."""

    def __init__(self, conductor: Conductor) -> None:
        super().__init__(conductor, style="chat", execution="sync")


class WorkflowMode(ExecutionMode):
    """Workflows on ``conductor``, now (``execution="sync"``) or queued (``"async"`` with ``queue``).

    ``mode`` and ``agent_order`` override the conductor's routing for this mode's runs (the actors,
    queue and learning are shared); None keeps the conductor's.
    """

    def __init__(
        self,
        conductor: Conductor,
        execution: str = "sync",
        queue: TaskQueue | None = None,
        mode: str | None = None,
        agent_order: Sequence[str] | None = None,
    ) -> None:
        if not isinstance(conductor, Conductor):
            raise ValidationError(f"WorkflowMode needs a Conductor, got {type(conductor).__name__}")
        if mode is not None or agent_order is not None:
            conductor = conductor.with_routing(mode, agent_order)
        super().__init__(conductor, style="workflow", execution=execution, queue=queue)
