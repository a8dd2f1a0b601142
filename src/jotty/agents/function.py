"""``FunctionAgent``: a Python callable as an agent.

The signature is read once, in ``__init__``; a run of an async function is a direct ``await``
plus a timer, so a step costs a few microseconds.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from time import perf_counter
from typing import Any

from jotty.agents.base import Agent, AgentResult, RunContext
from jotty.errors import ValidationError

_CTX_NAMES = frozenset({"ctx", "context"})


class FunctionAgent(Agent):
    """Run ``fn(input)`` or ``fn(input, ctx)``: its return value is the output, what it raises a failure.

    Async functions are awaited on the loop; sync ones run in a worker thread
    (``asyncio.to_thread``) unless ``thread=False``, for cheap functions that never block.
    A function may return an ``AgentResult`` to set tokens, artifacts or failure itself.
    """

    def __init__(self, fn: Callable[..., Any], name: str | None = None, *, thread: bool = True) -> None:
        if not callable(fn):
            raise ValidationError(f"FunctionAgent needs a callable, got {type(fn).__name__}: {fn!r}")
        self.fn = fn
        self.name = name or getattr(fn, "__name__", None) or type(fn).__name__
        self.thread = thread
        self._is_async = _is_async_callable(fn)
        self._ctx_mode = _ctx_mode(fn, self.name)

    def __repr__(self) -> str:
        return f"FunctionAgent({self.name!r})"

    async def run(self, input: Any, ctx: RunContext | None = None) -> AgentResult:
        """Call the function once on ``input``."""
        start = perf_counter()
        if self._is_async and self._ctx_mode is None:  # the common case, kept short: patterns pay it per step
            try:
                output = await self.fn(input)
            except Exception as exc:
                return AgentResult.failure(f"{type(exc).__name__}: {exc}", duration=perf_counter() - start)
            return self._result(output, start)
        try:
            if self._ctx_mode is None:
                args: tuple[Any, ...] = (input,)
                kwargs: dict[str, Any] = {}
            else:
                ctx = ctx if ctx is not None else RunContext()
                if self._ctx_mode == "":
                    args, kwargs = (input, ctx), {}
                else:
                    args, kwargs = (input,), {self._ctx_mode: ctx}
            if self._is_async:
                output = await self.fn(*args, **kwargs)
            else:
                if self.thread:
                    output = await asyncio.to_thread(self.fn, *args, **kwargs)
                else:
                    output = self.fn(*args, **kwargs)
                if inspect.isawaitable(output):  # a plain function that returned a coroutine
                    output = await output
        except Exception as exc:
            return AgentResult.failure(f"{type(exc).__name__}: {exc}", duration=perf_counter() - start)
        return self._result(output, start)

    @staticmethod
    def _result(output: Any, start: float) -> AgentResult:
        if isinstance(output, AgentResult):
            if not output.duration:
                output.duration = perf_counter() - start
            return output
        return AgentResult(output=output, duration=perf_counter() - start)


def _is_async_callable(fn: Callable[..., Any]) -> bool:
    call = getattr(fn, "__call__", None)  # noqa: B004 - the bound __call__ of a callable object
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(call)


def _ctx_mode(fn: Callable[..., Any], name: str) -> str | None:
    """How ``fn`` takes the context: ``None`` not at all, ``""`` second positional, else a keyword name."""
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return None  # some builtins have no signature: call them with the input only
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    takes_var = any(p.kind is p.VAR_POSITIONAL for p in params)
    if not positional and not takes_var:
        raise ValidationError(
            f"FunctionAgent {name!r}: the function takes no positional argument; "
            "define it as fn(input) or fn(input, ctx)"
        )
    required = [p for p in positional if p.default is p.empty]
    if len(required) > 2:
        raise ValidationError(
            f"FunctionAgent {name!r}: the function requires {len(required)} arguments "
            f"({', '.join(p.name for p in required)}); it gets input and optionally ctx, "
            "so give the others defaults or bind them with functools.partial"
        )
    keyword_only = [p for p in params if p.kind is p.KEYWORD_ONLY and p.default is p.empty]
    if any(p.name not in _CTX_NAMES for p in keyword_only):
        names = ", ".join(p.name for p in keyword_only if p.name not in _CTX_NAMES)
        raise ValidationError(
            f"FunctionAgent {name!r}: the function requires keyword arguments ({names}); "
            "give them defaults or bind them with functools.partial"
        )
    if len(positional) >= 2 and (positional[1].default is positional[1].empty or positional[1].name in _CTX_NAMES):
        return ""
    for p in params:
        if p.kind is p.KEYWORD_ONLY and p.name in _CTX_NAMES:
            return p.name
    return None
