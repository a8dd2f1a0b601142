"""Real runs for the dashboard's tests, screenshots and benchmark: nested flows run through Jotty with
``store=``, so the dashboard reads what a user's runs write."""

from __future__ import annotations

import asyncio
from typing import Any

from jotty.agents import FunctionAgent
from jotty.agents.base import AgentResult, TokenUsage
from jotty.patterns import Chain, Fallback, Parallel, Retry, Skip, Step

XSS = "<script>alert(1)</script>"
BIG = "x" * 12_000


def _llm_like(name: str, prompt: int, completion: int, output: Any = None) -> FunctionAgent:
    def call(value: Any) -> AgentResult:
        return AgentResult(
            output=output if output is not None else f"{name}({str(value)[:40]})", tokens=TokenUsage(prompt, completion)
        )

    return FunctionAgent(call, name=name)


def nested_flow(fail_first: bool = True, tokens: int = 1) -> Chain:
    """A chain holding a parallel whose branch is a chain with a retried step, a step that falls back
    (its fallback returns an XSS string), a skipped step and one big output."""
    calls = {"flaky": 0}

    def flaky(value: Any) -> AgentResult:
        calls["flaky"] += 1
        if fail_first and calls["flaky"] == 1:
            raise RuntimeError("flaky upstream: 503")
        return AgentResult(output=f"checked {value}", tokens=TokenUsage(120 * tokens, 30 * tokens))

    def broken(value: Any) -> Any:
        raise ValueError("the analyzer crashed")

    def refuse(value: Any) -> Any:
        raise PermissionError("no access")

    return Chain(
        [
            Step(_llm_like("fetch", 400 * tokens, 80 * tokens), name="fetch"),
            Step(
                Parallel(
                    [
                        Step(_llm_like("summarize", 900 * tokens, 200 * tokens), name="summarize"),
                        Step(
                            Chain([Step(FunctionAgent(flaky, name="verify"), name="verify", on_error=Retry(3))]),
                            name="review",
                        ),
                    ]
                ),
                name="research",
            ),
            Step(
                FunctionAgent(broken, name="analyze"),
                name="analyze",
                on_error=Fallback(_llm_like("simple", 200 * tokens, 50 * tokens, output=XSS)),
            ),
            Step(FunctionAgent(refuse, name="publish"), name="publish", on_error=Skip()),
            Step(_llm_like("report", 300 * tokens, 600 * tokens, output=BIG), name="report"),
        ],
        name="research-flow",
    )


async def record_nested(store: str, run_id: str, **kw: Any) -> Any:
    """Run ``nested_flow`` once as ``run_id`` in ``store``."""
    return await nested_flow(**kw).run("the quarterly numbers", store=store, run_id=run_id)


def record_nested_blocking(store: str, run_id: str, **kw: Any) -> Any:
    return asyncio.run(record_nested(store, run_id, **kw))


def wide_flow(steps: int) -> Chain:
    """A chain of ``steps`` quick agent steps (the 1,000-step run of the benchmark)."""
    return Chain([Step(_llm_like(f"s{i}", 10, 5), name=f"s{i}") for i in range(steps)], name="wide")
