"""Real agents for flow definitions in the tests. Each test copies this file next to its flow file
as ``tools.py``, so flows name these functions ``tools:NAME`` (resolved beside the flow file).

Functions that must be counted append a line to the file named by ``$FLOW_SIDE_EFFECTS`` (when set).
A function named in ``$FLOW_BLOCK`` waits forever once it has logged (for kill -9 tests), and one
named in ``$FLOW_BROKEN`` raises (fix it by unsetting the variable, then resume).
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

import pydantic

from jotty.agents import AgentResult, FunctionAgent, TokenUsage
from jotty.patterns import TeamTask


def log(name: str) -> None:
    path = os.environ.get("FLOW_SIDE_EFFECTS")
    if path:
        with open(path, "a", encoding="utf-8") as out:
            out.write(name + "\n")


async def step(value: Any, *, name: str = "step") -> str:
    """Append ``>name`` to the input; counted, blockable, breakable by name."""
    log(name)
    if name in os.environ.get("FLOW_BROKEN", "").split(","):
        raise RuntimeError(f"{name} is broken")
    if name in os.environ.get("FLOW_BLOCK", "").split(","):
        await asyncio.Event().wait()
    return f"{value}>{name}"


def upper(value: Any) -> str:
    return str(value).upper()


def words(value: str) -> list[str]:
    return str(value).split()


def count(values: list[Any]) -> int:
    return len(values)


def boom(value: Any) -> Any:
    raise RuntimeError("boom")


def tokens(value: Any) -> AgentResult:
    return AgentResult(output=f"t({value})", tokens=TokenUsage(prompt=10, completion=5))


class Flaky:
    """Fails its first ``fail`` calls (per process)."""

    def __init__(self, fail: int) -> None:
        self.fail = fail
        self.calls = 0
        self.__name__ = "flaky"

    def __call__(self, value: Any) -> str:
        self.calls += 1
        if self.calls <= self.fail:
            raise ConnectionError(f"flaky call {self.calls}")
        return f"{value}!"


flaky = Flaky(fail=2)


async def slow(value: Any) -> Any:
    await asyncio.Event().wait()


def tag(value: Any, label: str = "x", times: int = 1) -> str:
    """A function with keyword arguments, bound from a definition's ``kwargs``."""
    return f"{value}:{label * times}"


def summary(output: Any) -> str:
    return f"summary of {output}"


def orchestrate(message: dict[str, Any]) -> Any:
    """A Phased orchestrator: keeps phase names in the summary; retries a failed phase."""
    if message["event"] == "phase_failed":
        return "retry"
    return {**message["summary"], message["phase"]: "done"}


def team_plan(value: str) -> list[TeamTask]:
    return [TeamTask(f"{value}-a", id="a", role="writer"), TeamTask(f"{value}-b", id="b", role="checker")]


def split(value: str) -> list[str]:
    return str(value).split(",")


def approve(message: dict[str, Any]) -> bool:
    return True


def hire(n: int) -> FunctionAgent:
    return FunctionAgent(upper, name=f"hired-{n}")


shouting = FunctionAgent(upper, name="shouting")
"""An agent object: a definition may name it instead of a function."""

not_callable = 42


class Notes(pydantic.BaseModel):
    topic: str
    count: int


def to_notes(value: str) -> dict[str, Any]:
    return {"topic": value, "count": len(value)}


def is_short(value: Any) -> bool:
    return len(str(value)) < 5


def add(a: int, b: int) -> int:
    """Add two numbers (a tool for an LLM agent).

    Args:
        a: the first number
        b: the second number
    """
    return a + b
