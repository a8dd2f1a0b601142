from __future__ import annotations

import asyncio
import functools
import threading
import time
from typing import Any

import pytest

from jotty.agents import AgentResult, FunctionAgent, RunContext, TokenUsage
from jotty.errors import ValidationError


async def test_sync_function_runs_in_a_worker_thread() -> None:
    seen: dict[str, Any] = {}

    def shout(text: str) -> str:
        seen["thread"] = threading.current_thread()
        return text.upper()

    result = await FunctionAgent(shout).run("hi")
    assert result.ok and result.output == "HI" and result.error is None
    assert seen["thread"] is not threading.main_thread()
    assert result.duration > 0


async def test_sync_function_does_not_block_the_loop() -> None:
    gate = threading.Event()

    def wait_for_gate(_: object) -> str:
        return "opened" if gate.wait(timeout=5) else "timed out"

    task = asyncio.create_task(FunctionAgent(wait_for_gate).run(None))
    await asyncio.sleep(0)  # the loop is free while the function waits in its thread
    gate.set()
    assert (await task).output == "opened"


async def test_thread_false_runs_inline() -> None:
    result = await FunctionAgent(lambda x: threading.current_thread(), thread=False).run(1)
    assert result.output is threading.current_thread()


async def test_async_function_is_awaited_on_the_loop() -> None:
    async def double(x: int) -> int:
        await asyncio.sleep(0)
        return x * 2

    agent = FunctionAgent(double)
    assert agent.name == "double"
    assert (await agent.run(21)).output == 42


async def test_function_with_ctx_gets_the_context_and_can_emit(events: Any) -> None:
    async def greet(name: str, ctx: RunContext) -> str:
        await ctx.emit("text_chunk", content="hello")
        return f"{ctx.data['greeting']}, {name}"

    result = await FunctionAgent(greet).run("Ada", events.ctx(greeting="Hi"))
    assert result.output == "Hi, Ada"
    [event] = events.of("text_chunk")
    assert event.data == {"content": "hello"} and event.step_path == "step" and event.run_id == "run-1"


async def test_sync_function_with_ctx_and_without_a_context_gets_an_empty_one() -> None:
    def describe(x: int, ctx: RunContext | None) -> str:
        assert ctx is not None
        return f"{x} at {ctx.step_path!r}"

    assert (await FunctionAgent(describe).run(3)).output == "3 at ''"


async def test_keyword_only_ctx_and_optional_second_argument() -> None:
    def keyword(x: int, *, ctx: RunContext) -> str:
        return type(ctx).__name__

    def with_default(x: int, scale: int = 10) -> int:
        return x * scale

    assert (await FunctionAgent(keyword).run(1, RunContext())).output == "RunContext"
    # a second parameter with a default (not named ctx) keeps its default
    assert (await FunctionAgent(with_default).run(2, RunContext())).output == 20


async def test_raising_function_is_a_failure_with_type_and_message() -> None:
    def boom(_: object) -> None:
        raise KeyError("missing thing")

    async def aboom(_: object) -> None:
        raise ValueError("bad value")

    for fn, expected in ((boom, "KeyError: 'missing thing'"), (aboom, "ValueError: bad value")):
        result = await FunctionAgent(fn).run(None)
        assert not result.ok and result.output is None
        assert result.error == expected
        assert result.duration >= 0


async def test_cancellation_is_not_swallowed() -> None:
    started = asyncio.Event()

    async def forever(_: object) -> None:
        started.set()
        await asyncio.Event().wait()

    task = asyncio.create_task(FunctionAgent(forever).run(None))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_returning_an_agent_result_passes_through() -> None:
    async def custom(x: str) -> AgentResult:
        return AgentResult(output=x, tokens=TokenUsage(3, 4), artifacts={"k": 1})

    def failing(x: str) -> AgentResult:
        return AgentResult.failure("nope", duration=1.5)

    result = await FunctionAgent(custom).run("out")
    assert result.output == "out" and result.tokens.total == 7 and result.artifacts == {"k": 1}
    assert result.duration > 0
    failed = await FunctionAgent(failing).run("x")
    assert not failed.ok and failed.error == "nope" and failed.duration == 1.5


async def test_callable_objects_partials_and_lambdas_returning_coroutines() -> None:
    class Adder:
        async def __call__(self, x: int) -> int:
            return x + 1

    async def scale(x: int, factor: int) -> int:
        return x * factor

    assert (await FunctionAgent(Adder()).run(1)).output == 2
    assert (await FunctionAgent(functools.partial(scale, factor=3)).run(2)).output == 6
    assert (await FunctionAgent(lambda x: scale(x, 5)).run(2)).output == 10
    assert FunctionAgent(Adder()).name == "Adder"
    assert FunctionAgent(len, name="length").name == "length"


@pytest.mark.parametrize(
    ("fn", "message"),
    [
        (42, "needs a callable"),
        (lambda: 1, "takes no positional argument"),
        (lambda a, b, c: 1, "requires 3 arguments"),
        (lambda a, *, key: 1, "requires keyword arguments (key)"),
    ],
)
def test_bad_functions_are_rejected_up_front(fn: Any, message: str) -> None:
    with pytest.raises(ValidationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        FunctionAgent(fn)


async def test_overhead_per_async_call_is_small() -> None:
    async def identity(x: int) -> int:
        return x

    agent = FunctionAgent(identity)
    n = 20000
    start = time.perf_counter()
    for i in range(n):
        await agent.run(i)
    per_call = (time.perf_counter() - start) / n
    # generous bound for slow CI machines; on a laptop this is about 1-2 microseconds
    assert per_call < 50e-6, f"{per_call * 1e6:.1f} us per call"
