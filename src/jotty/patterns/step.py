"""Steps and how one runs: an agent or nested flow at a stable path, its contracts, timeout and
error strategy, and its checkpoint.

``run_step`` is the one way every pattern runs a child: it restores a finished step instead of
running it again, runs the agent (``invoke``), applies the error strategy, and checkpoints.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field, replace
from time import perf_counter
from typing import Any

from jotty.agents.base import Agent, AgentResult, RunContext
from jotty.agents.llm import LLMAgent
from jotty.context.levels import Level, check_level
from jotty.context.policy import ContextPolicy, ContextSession, ContextSourceError, StepCall
from jotty.errors import ValidationError
from jotty.events import EventType
from jotty.patterns.contracts import Checker, Contract, compile_contract
from jotty.patterns.execution import Execution, Scope
from jotty.patterns.flow import Flow
from jotty.patterns.names import check_name, check_timeout, check_unique
from jotty.patterns.strategies import PASS_THROUGH, Abort, Fallback, Retry, Skip, Strategy, check_strategy
from jotty.runs import StepRecord, StepStatus

_ABORT = Abort()
_STARTED, _COMPLETED, _FAILED = EventType.STEP_STARTED, EventType.STEP_COMPLETED, EventType.STEP_FAILED


@dataclass(eq=False)
class Step:
    """An agent (or nested flow) in a pattern, with its name, error strategy and contracts.

    ``on_error`` defaults to ``Abort()``. ``input``/``output`` are contracts (a class, a pydantic
    model, a typing form or a predicate); a broken one is a failure handled by ``on_error``.
    ``timeout`` bounds each call (the loading of its window's sources included), in seconds. A
    pattern names an unnamed step (a Chain by its agent's name, a Parallel ``branch-<i>``).
    ``level`` sets this step's context level (over the run's; around a nested flow, of every
    window in it that sets none), ``category`` its route category (else the classifier's guess),
    ``skills`` the skills it loads at L2-L4.
    """

    agent: Agent
    name: str | None = None
    on_error: Strategy | None = None
    input: Contract | None = None
    output: Contract | None = None
    timeout: float | None = None
    level: str | Level | None = None
    category: str | None = None
    skills: tuple[str, ...] = ()
    _check_in: Checker | None = field(default=None, init=False, repr=False)
    _check_out: Checker | None = field(default=None, init=False, repr=False)
    kind: str = field(default="agent", init=False, repr=False)
    """``agent``, or the kind of the nested flow."""

    def __post_init__(self) -> None:
        label = f"Step {self.name!r}" if self.name is not None else "Step"
        if not isinstance(self.agent, Agent):
            raise ValidationError(
                f"{label} needs an Agent or a flow, got {type(self.agent).__name__}: wrap a function "
                "in FunctionAgent(fn)"
            )
        if self.name is not None:
            check_name(self.name, label)
        if self.on_error is not None:
            check_strategy(self.on_error, f"{label}: on_error")
        self.timeout = check_timeout(self.timeout, label)
        self.level = check_level(self.level, label)
        if isinstance(self.skills, str) or not all(isinstance(n, str) for n in self.skills):
            raise ValidationError(f"{label}: skills must be a list of skill names, got {self.skills!r}")
        self.skills = tuple(self.skills)
        if self.category is not None and (not isinstance(self.category, str) or not self.category):
            raise ValidationError(f"{label}: category must be a non-empty string, got {self.category!r}")
        if self.input is not None:
            self._check_in = compile_contract(self.input, f"{label}: input")
        if self.output is not None:
            self._check_out = compile_contract(self.output, f"{label}: output")
        self.kind = self.agent.kind if isinstance(self.agent, Flow) else "agent"

    def describe(self) -> dict[str, Any]:
        """The step's part of its flow's structure: its name, and nested flows (its own, fallbacks')."""
        out: dict[str, Any] = {"name": self.name}
        if isinstance(self.agent, Flow):
            out["flow"] = self.agent.describe()
        strategy: Strategy | None = self.on_error
        while isinstance(strategy, Retry | Fallback):
            if isinstance(strategy, Fallback) and isinstance(strategy.agent, Flow):
                out["fallback"] = strategy.agent.describe()
            strategy = strategy.then
        return out


def named_steps(items: Iterable[Step | Agent], where: str, default: Callable[[int, Step], str]) -> list[Step]:
    """``items`` as named ``Step``s (agents wrapped, unnamed steps named by ``default``), checked:
    at least one, and no name twice. The caller's ``Step`` objects are not changed."""
    if isinstance(items, str | bytes) or not isinstance(items, Iterable):
        raise ValidationError(f"{where}: give a list of steps (Step or Agent), got {type(items).__name__}")
    steps: list[Step] = []
    for index, item in enumerate(items):
        if isinstance(item, Step):
            step = item
        elif isinstance(item, Agent):
            step = Step(item)
        else:
            raise ValidationError(
                f"{where}: item {index} is a {type(item).__name__}, not a Step or an Agent; wrap a "
                "function in FunctionAgent(fn)"
            )
        steps.append(step if step.name is not None else replace(step, name=default(index, step)))
    if not steps:
        raise ValidationError(f"{where} is empty: give it at least one step")
    check_unique((s.name or "" for s in steps), where)
    return steps


def agent_name(_index: int, step: Step) -> str:
    """Default step name: the agent's name."""
    return step.agent.name


async def run_step(
    step: Step,
    value: Any,
    scope: Scope,
    *,
    role: str = "step",
    data: dict[str, Any] | None = None,
    path: str | None = None,
    window: str | None = None,
) -> tuple[StepRecord, Any]:
    """Run ``step`` on ``value`` as a child of ``scope`` and return its final record and output
    (the error of a failed step is in the record; its output then is whatever the failure carried).

    ``role`` is the kind of the step's context window (``step``, ``branch``, ``sub``, ...);
    ``data`` the window's explicit context (default: a copy of the parent's); ``path`` defaults to
    ``<scope.path>/<step.name>`` and ``window`` to the path. A finished step is restored, not run.
    """
    ex = scope.ex
    if path is None:
        path = f"{scope.path}/{step.name}"
    if path in ex.outputs:
        return await _restored(step, ex.outputs[path], ex.records[path], scope)
    record = ex.begin(path, step.name or path, step.kind)
    prompt, completion = record.prompt_tokens, record.completion_tokens  # a step run again has some
    call = _Call(step, value, scope, record, path, path if window is None else window, role, data)
    record.duration = 0.0
    result = await call.invoke(step.agent)
    if not result.ok:
        result = await call.handle(result)
    scope.prompt += record.prompt_tokens - prompt
    scope.completion += record.completion_tokens - completion
    status = record.status
    if status is not StepStatus.FAILED:
        if status is not StepStatus.COMPLETED:
            scope.partial = True
        if ex.store is None:  # in memory: no coroutine needed
            ex.keep(record, result.output)
        else:
            await ex.finish(record, result.output)
    if scope.on_loss is not None and (status is StepStatus.FAILED or status is StepStatus.SKIPPED):
        scope.on_loss(record)
    return record, result.output


async def attempt(
    step: Step,
    value: Any,
    scope: Scope,
    record: StepRecord,
    *,
    path: str,
    window: str,
    role: str,
    data: dict[str, Any],
    who: str | None = None,
) -> AgentResult:
    """One call of ``step.agent`` for ``record``, without error strategy or checkpoint: for patterns
    that decide themselves what a failure means (a Team reassigns the work)."""
    return await _Call(step, value, scope, record, path, window, role, data).invoke(step.agent, who=who)


async def _restored(step: Step, output: Any, record: StepRecord, scope: Scope) -> tuple[StepRecord, Any]:
    await scope.ex.emit(EventType.STEP_RESTORED, record.path, {"status": str(record.status)})
    session = scope.ex.context
    if session is not None and not isinstance(step.agent, Flow):  # a resumed run's pool has it too
        level = step.level or scope.level
        call = StepCall(record.path, step.name or record.path, "step", step.agent, step.category, step.skills, level)  # type: ignore[arg-type]
        session.finished(call, None, output, [])
        session.restored(record.path)
    if record.status is StepStatus.COMPLETED:
        if step._check_out is not None:
            output = step._check_out(output)[0]  # a model checkpointed as JSON comes back as the model
    else:
        scope.partial = True
    return record, output


class _Call:
    """One step's calls: its attempts, its fallback, its strategy."""

    __slots__ = ("calls", "data", "partial", "path", "record", "role", "scope", "step", "value", "window")

    def __init__(
        self,
        step: Step,
        value: Any,
        scope: Scope,
        record: StepRecord,
        path: str,
        window: str,
        role: str,
        data: dict[str, Any] | None,
    ) -> None:
        self.step = step
        self.value = value
        self.scope = scope
        self.record = record
        self.path = path
        self.window = window
        self.role = role
        self.data = dict(scope.data) if data is None else data
        self.partial = False
        self.calls = 0
        """Calls in this run of the step (a Retry counts these; ``record.attempts`` counts all runs')."""

    async def invoke(self, agent: Agent, suffix: str = "", who: str | None = None) -> AgentResult:
        """One call of ``agent`` (``suffix`` ``/fallback`` places a fallback beside the step),
        recorded as made by ``who`` (default: the agent's name)."""
        record, ex, step = self.record, self.scope.ex, self.step
        path, window = self.path + suffix, self.window + suffix
        record.attempts += 1
        self.calls += 1
        record.agent = who = agent.name if who is None else who
        event = ex.note(_STARTED, path, {"attempt": record.attempts, "agent": who, "role": self.role})
        if event is not None:
            await ex.publish(event)
        start = perf_counter()
        deadline = None if step.timeout is None else asyncio.get_running_loop().time() + step.timeout
        value, reason, self.partial = self.value, None, False
        if step._check_in is not None:
            value, reason = step._check_in(value)
        data, session = self.data, ex.context
        level = step.level or self.scope.level
        if session is None and (level is not None or isinstance(agent, LLMAgent)) and not isinstance(agent, Flow):
            # a step with a level, or a model with a context limit, in a run without a policy
            session = ex.context = _session_for(path)
        unloaded = None
        if session is not None and reason is None and not isinstance(agent, Flow):
            call = StepCall(path, step.name or path, self.role, agent, step.category, step.skills, level)  # type: ignore[arg-type]
            try:
                async with asyncio.timeout_at(deadline):  # the step's timeout bounds its sources too
                    data, mark = await windowed(session, call, value, data, ex, path), len(ex.events)
            except ContextSourceError as exc:
                unloaded = str(exc)
            except TimeoutError:
                unloaded = f"step {path!r} timed out after {step.timeout:g} s while its context sources loaded"
        if reason is not None:
            result = AgentResult.failure(f"the input of step {path!r} {reason}")
        elif unloaded is not None:
            result = AgentResult.failure(unloaded)
        elif step.timeout is not None:
            try:
                async with asyncio.timeout_at(deadline):
                    result = await self._start(agent, value, path, window, data)
            except TimeoutError:
                result = AgentResult.failure(f"step {path!r} timed out after {step.timeout:g} s")
        elif isinstance(agent, Flow):
            result = await self._nested(agent, value, path)
        else:  # the common case, inlined: one coroutine less per step
            try:
                result = await agent.run(value, RunContext(ex.run_id, path, data, ex.receive))
            except Exception as exc:
                result = raised(exc)
            result = ex.accept(agent, result, window, self.role)
        if session is not None and data is not self.data and result.ok:
            session.finished(call, value, result.output, tool_results(ex.events[mark:]))
        if result.ok and step._check_out is not None:
            output, reason = step._check_out(result.output)
            if reason is None:
                result.output = output
            else:
                result = AgentResult.failure(f"the output of step {path!r} {reason}", tokens=result.tokens)
        duration = perf_counter() - start
        record.duration += duration
        tokens = result.tokens
        if tokens.prompt or tokens.completion:
            record.add_tokens(tokens)
        if result.ok:
            record.status = StepStatus.PARTIAL if self.partial else StepStatus.COMPLETED
            record.error = None
            data = {
                "attempt": record.attempts,
                "duration": duration,
                "window": window,
                "prompt_tokens": tokens.prompt,
                "completion_tokens": tokens.completion,
            }
            event = ex.note(_COMPLETED, path, data)
            if event is not None:
                await ex.publish(event)
        else:
            record.status = StepStatus.FAILED
            record.error = result.error or "failed without an error message"
            await ex.emit(_FAILED, path, {"attempt": record.attempts, "duration": duration, "error": record.error})
        return result

    def _start(self, agent: Agent, value: Any, path: str, window: str, data: dict[str, Any]) -> Awaitable[AgentResult]:
        """The call of a nested flow (in a child scope) or of an agent (in its window)."""
        ex = self.scope.ex
        if isinstance(agent, Flow):
            return self._nested(agent, value, path)
        return call_agent(agent, value, ex, RunContext(ex.run_id, path, data, ex.receive), window, self.role)

    async def _nested(self, flow: Flow, value: Any, path: str) -> AgentResult:
        child = Scope(self.scope.ex, path, self.data, self.step.level or self.scope.level)  # type: ignore[arg-type]
        result = await flow.execute(value, child)
        result.tokens = child.tokens
        self.partial = child.partial
        return result

    async def handle(self, result: AgentResult) -> AgentResult:
        """Apply the step's error strategy to a failed ``result``; return the final result."""
        record = self.record
        strategy: Strategy = self.step.on_error if self.step.on_error is not None else _ABORT
        while True:
            if isinstance(strategy, Retry):
                if self.calls >= strategy.max_attempts:
                    strategy = strategy.then
                    continue
                delay = strategy.delay(self.calls)
                await self._handled(strategy, delay=delay)
                if delay:
                    await asyncio.sleep(delay)
                result = await self.invoke(self.step.agent)
            elif isinstance(strategy, Fallback):
                await self._handled(strategy, fallback=strategy.agent.name)
                result = await self.invoke(strategy.agent, "/fallback")
                strategy = strategy.then
            elif isinstance(strategy, Skip):
                await self._handled(strategy)
                record.status = StepStatus.SKIPPED
                output = self.value if strategy.output is PASS_THROUGH else strategy.output
                return AgentResult(output=output, tokens=result.tokens)
            else:
                await self._handled(strategy)
                return result
            if result.ok:
                return result

    async def _handled(self, strategy: Strategy, **data: Any) -> None:
        record = self.record
        record.strategy = strategy.name
        await self.scope.ex.emit(
            EventType.CHAIN_ERROR_HANDLED,
            self.path,
            {"strategy": strategy.name, "attempt": record.attempts, "error": record.error, **data},
        )


async def call_agent(agent: Agent, value: Any, ex: Execution, ctx: RunContext, window: str, role: str) -> AgentResult:
    """Call an agent once; an exception becomes a failure, and its tokens count in ``window``."""
    try:
        result = await agent.run(value, ctx)
    except Exception as exc:
        result = raised(exc)
    return ex.accept(agent, result, window, role)


async def windowed(
    session: ContextSession, call: StepCall, value: Any, data: dict[str, Any], ex: Execution, path: str
) -> dict[str, Any]:
    """The call's window built by the run's context session (level, pool, guard), its events emitted."""
    out, events = await session.window(call, value, data)
    for type, payload in events:
        await ex.emit(type, path, payload)
    return out


async def call_in_window(
    agent: Agent, value: Any, scope: Scope, path: str, window: str, role: str, data: dict[str, Any]
) -> AgentResult:
    """``call_agent`` for windows a pattern builds itself (an orchestrator's decision, a review),
    through the run's context session when it has one (at the scope's level)."""
    ex = scope.ex
    if ex.context is None and scope.level is not None:
        ex.context = _session_for(path)
    if ex.context is not None:
        call = StepCall(path, role, role, agent, level=scope.level)
        data = await windowed(ex.context, call, value, data, ex, path)
    return await call_agent(agent, value, ex, RunContext(ex.run_id, path, data, ex.receive), window, role)


def _session_for(path: str) -> ContextSession:
    """A context session for a run that has none (no level, policy or per-window budget) when a
    window under it needs one: a step with a level, a model with a context limit."""
    return ContextPolicy().session(path.split("/", 1)[0], None, None)


def tool_results(events: Iterable[Any]) -> list[str]:
    """The results of the tools called in ``events`` (what an ``LLMAgent`` reported)."""
    return [e.data["result"] for e in events if e.type == EventType.TOOL_RESULT and "result" in e.data]


def raised(exc: Exception) -> AgentResult:
    """The failure of an agent that raised ``exc``."""
    return AgentResult.failure(f"{type(exc).__name__}: {exc}")
