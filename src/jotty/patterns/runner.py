"""How a flow run starts, resumes and finishes: in memory, or durably in a run store."""

from __future__ import annotations

import functools
import json
import logging
import uuid
from time import perf_counter
from typing import TYPE_CHECKING, Any

from jotty.agents.base import AgentResult, RunContext
from jotty.context import BudgetExceededError, ContextWindow, TokenBudget, TokenShape
from jotty.context.levels import check_level
from jotty.context.policy import ContextPolicy, ContextSession
from jotty.context.prefetch import learn_from_store
from jotty.errors import RunError, ValidationError
from jotty.events import EventSink, EventType
from jotty.patterns.execution import Execution, Scope
from jotty.patterns.result import RunResult
from jotty.runs import RunFinish, RunRecord, RunStatus, RunStore, StoreArg, current_owner
from jotty.runs.codec import dumps
from jotty.runs.owner import live_other_owner
from jotty.runs.shared import shared_store
from jotty.tracing import TracingSink, active_tracer, traced

if TYPE_CHECKING:
    from jotty.patterns.flow import Flow

logger = logging.getLogger(__name__)


def new_run_id() -> str:
    """A fresh run id."""
    return f"run-{uuid.uuid4().hex[:16]}"


async def run_flow(
    flow: Flow,
    input: Any,
    *,
    ctx: RunContext | None,
    store: StoreArg,
    run_id: str | None,
    sink: EventSink | None,
    budget: TokenBudget | None,
    metadata: dict[str, Any] | None = None,
    level: Any = None,
    policy: ContextPolicy | None = None,
) -> RunResult:
    """Run ``flow``: in memory when there is no ``store``, else durably (starting or resuming).
    A top-level run reports spans when tracing is on (``jotty.tracing``)."""
    if ctx is None and active_tracer() is not None and not isinstance(sink, TracingSink):
        return await traced(
            lambda spans: run_flow(
                flow,
                input,
                ctx=None,
                store=store,
                run_id=run_id,
                sink=spans,
                budget=budget,
                metadata=metadata,
                level=level,
                policy=policy,
            ),
            sink,
        )
    if run_id is not None and (not isinstance(run_id, str) or not run_id):
        raise RunError(f"run_id must be a non-empty string, got {run_id!r}")
    context = context_session(flow.name, level, policy, budget)
    if store is None:
        root = flow.name
        if ctx is not None:
            run_id = run_id or ctx.run_id
            root = ctx.step_path or root
            sink = sink if sink is not None else ctx.sink
        ex = Execution(run_id or new_run_id(), sink=sink, budget=budget, context=context)
        return await _session(flow, input, ex, root, resumed=False)
    opened = await shared_store(store)  # a path or URL: the store this event loop keeps open
    if context is not None and context.level is not None and LEVEL_KEY not in (metadata or {}):
        metadata = {**(metadata or {}), LEVEL_KEY: str(context.level)}
    return await _durable(flow, input, opened, run_id or new_run_id(), sink, budget, metadata, context)


def context_session(
    flow: str, level: Any, policy: ContextPolicy | None, budget: TokenBudget | None
) -> ContextSession | None:
    """The run's context session: with a level, a policy or a per-window budget; else ``None``
    (each pattern's windows as it builds them, unguarded)."""
    checked = check_level(level, f"flow {flow!r}: level")
    per_window = budget.per_window if budget is not None else None
    if checked is None and policy is None and per_window is None:
        return None
    if policy is not None and not isinstance(policy, ContextPolicy):
        raise ValidationError(f"policy must be a jotty.context.ContextPolicy, got {type(policy).__name__}")
    return (policy or ContextPolicy()).session(flow, checked, per_window)


def shape_of(flow: Flow) -> str:
    """The flow's structure as canonical JSON: a resumed run must have the same."""
    return json.dumps(flow.describe(), sort_keys=True, separators=(",", ":"))


LEVEL_KEY = "context_level"
"""Where a durable run keeps the context level it was given (in its metadata): a resume by
``jotty runs resume`` keeps it, and the dashboard's cost by version tells levels apart."""

_ACTIVE: set[tuple[str, str]] = set()
"""(store, run id) of the durable runs this process is running now."""


async def _durable(
    flow: Flow,
    input: Any,
    store: RunStore,
    run_id: str,
    sink: EventSink | None,
    budget: TokenBudget | None,
    metadata: dict[str, Any] | None,
    context: ContextSession | None,
) -> RunResult:
    key = (store.location, run_id)
    if key in _ACTIVE:
        raise RunError(f"run {run_id!r} is already running in this process: await it instead of starting it twice")
    _ACTIVE.add(key)
    try:
        shape = shape_of(flow)
        stored = await store.get_run(run_id)
        ex = Execution(run_id, sink=sink, store=store, budget=budget, context=context)
        if context is not None:
            context.run_id = run_id
            # before its first L4 window (the run's, or a step's), L4 learns from this flow's earlier runs
            context.learn = functools.partial(learn_from_store, store, flow.name, context.policy.prefetch)
        if stored is None:
            await store.create_run(run_id, flow.name, shape, input, current_owner(), metadata)
            return await _session(flow, input, ex, flow.name, resumed=False)
        _check_resumable(stored, shape, input)
        if stored.finished:
            events = [e.event for e in await store.get_events(run_id)]
            return _stored_result(flow, stored, events)
        await store.claim_run(run_id, current_owner())
        checkpoints = await store.load_checkpoints(run_id)
        ex.restore(checkpoints)
        ex.windows.restore([ContextWindow.from_dict(w) for w in stored.windows])
        logger.info("resuming run %s from %d checkpointed steps", run_id, len(checkpoints))
        return await _session(flow, input, ex, flow.name, resumed=True)
    finally:
        _ACTIVE.discard(key)


def _check_resumable(stored: RunRecord, shape: str, input: Any) -> None:
    run_id = stored.run_id
    if stored.shape != shape:
        raise RunError(
            f"run {run_id!r} was started with a different flow shape; stored: {_clip(stored.shape)}; "
            f"this flow: {_clip(shape)}. Resume it with the flow it started with, or use a new run_id."
        )
    if dumps(input, f"the input of run {run_id!r}") != dumps(stored.input, "the stored input"):
        raise RunError(
            f"run {run_id!r} was started with a different input: run it again with the same input "
            "(jotty.runs.resume(run_id, flow) reads it from the store), or use a new run_id"
        )
    if stored.status is RunStatus.RUNNING and live_other_owner(stored.owner):
        raise RunError(
            f"run {run_id!r} is still running in process {stored.owner}: wait for it to finish, or "
            "stop that process, before resuming it"
        )


def _clip(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else f"{text[:limit]}..."


async def _session(flow: Flow, input: Any, ex: Execution, root: str, *, resumed: bool) -> RunResult:
    """Execute ``flow`` once within ``ex`` and finish the run (in the store too, for a durable run)."""
    start = perf_counter()
    info = {"flow": flow.name, "kind": flow.kind, "restored_steps": len(ex.outputs)}
    await ex.emit(EventType.RUN_RESUMED if resumed else EventType.RUN_STARTED, root, info)
    scope = Scope(ex, root, {})
    try:
        try:
            if ex.context is not None:  # at L4 it learns from the store first: a cancel there ends the run too
                await ex.context.start()
            result = await flow.execute(input, scope)
        except BudgetExceededError as exc:
            result = AgentResult.failure(str(exc))
    except BaseException as exc:
        await _record_crash(ex, root, exc)
        raise
    finally:
        if ex.context is not None:
            ex.context.close()
    if ex.context is not None and ex.context.prefetching:  # at L4, or a step of it
        await ex.emit(EventType.CONTEXT_PREFETCH, root, {"run": ex.context.stats()})
    status = RunStatus.FAILED if not result.ok else RunStatus.PARTIAL if scope.partial else RunStatus.COMPLETED
    shape = ex.windows.shape(flow.kind)
    tokens = shape.total
    duration = perf_counter() - start
    done = {
        "status": str(status),
        "duration": duration,
        "prompt_tokens": tokens.prompt,
        "completion_tokens": tokens.completion,
        "windows": len(shape.windows),
    }
    if result.error:
        done["error"] = result.error
    await ex.emit(EventType.RUN_FAILED if status is RunStatus.FAILED else EventType.RUN_COMPLETED, root, done)
    steps = list(ex.records.values())
    if ex.store is not None:
        unsaved = [r for r in steps if r.path not in ex.outputs]
        finish = RunFinish(status, result.output, result.error, unsaved, shape.to_dict()["windows"], tokens)
        await ex.store.finish_run(ex.run_id, finish, ex.unflushed())
    return RunResult(
        output=result.output,
        ok=result.ok,
        error=result.error,
        tokens=tokens,
        duration=duration,
        artifacts=result.artifacts,
        run_id=ex.run_id,
        status=status,
        steps=steps,
        events=ex.events,
        token_shape=shape,
        resumed=resumed,
    )


async def _record_crash(ex: Execution, root: str, exc: BaseException) -> None:
    """Mark a durable run failed when its session ends by an exception (it stays resumable)."""
    if ex.store is None:
        return
    error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    await ex.emit(EventType.RUN_FAILED, root, {"status": "failed", "error": error})
    shape = ex.windows.shape("")
    unsaved = [r for r in ex.records.values() if r.path not in ex.outputs]
    finish = RunFinish(RunStatus.FAILED, None, error, unsaved, shape.to_dict()["windows"])
    try:
        await ex.store.finish_run(ex.run_id, finish, ex.unflushed())
    except Exception:
        logger.exception("could not record the end of run %s in %s", ex.run_id, ex.store.location)


def _stored_result(flow: Flow, stored: RunRecord, events: list[Any]) -> RunResult:
    return RunResult(
        output=stored.output,
        ok=True,
        error=stored.error,
        tokens=stored.tokens,
        run_id=stored.run_id,
        status=stored.status,
        steps=stored.steps,
        events=events,
        token_shape=TokenShape.from_dict({"pattern": flow.kind, "windows": stored.windows}),
        resumed=True,
    )
