"""Small real agents for the pattern tests: functions that count their calls, fail on cue, report tokens."""

from __future__ import annotations

import asyncio
from typing import Any

from jotty.agents import AgentResult, FunctionAgent, RunContext, TokenUsage


class Calls:
    """An async function that records every input and fails its first ``fail`` calls."""

    def __init__(self, name: str, result: Any = None, *, fail: int = 0, error: str = "boom") -> None:
        self.__name__ = name
        self.result = result
        self.fail = fail
        self.error = error
        self.inputs: list[Any] = []
        self.contexts: list[RunContext] = []

    @property
    def calls(self) -> int:
        return len(self.inputs)

    async def __call__(self, input: Any, ctx: RunContext) -> Any:
        self.inputs.append(input)
        self.contexts.append(ctx)
        if len(self.inputs) <= self.fail:
            raise RuntimeError(f"{self.error} {len(self.inputs)}")
        return self.result(input) if callable(self.result) else self.result


def agent(name: str, result: Any = None, *, fail: int = 0, error: str = "boom") -> tuple[FunctionAgent, Calls]:
    """A FunctionAgent over a ``Calls`` function, and the function (to read its calls)."""
    fn = Calls(name, result, fail=fail, error=error)
    return FunctionAgent(fn, name=name), fn


def always_failing(name: str, error: str = "boom") -> tuple[FunctionAgent, Calls]:
    return agent(name, fail=10**9, error=error)


def tokens_agent(name: str, prompt: int, completion: int, output: Any = "ok") -> FunctionAgent:
    """An agent that reports ``prompt``/``completion`` tokens for its window."""

    async def run(input: Any) -> AgentResult:
        return AgentResult(output=output, tokens=TokenUsage(prompt, completion))

    return FunctionAgent(run, name=name)


def blocked(name: str, started: asyncio.Event | None = None) -> FunctionAgent:
    """An agent that never finishes on its own (it waits on an event nobody sets)."""

    async def wait(input: Any) -> Any:
        if started is not None:
            started.set()
        await asyncio.Event().wait()

    return FunctionAgent(wait, name=name)


def types(result: Any) -> list[str]:
    """The event types of a run, as strings."""
    return [str(e.type) for e in result.events]
