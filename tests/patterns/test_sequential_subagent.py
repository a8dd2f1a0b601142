"""Sequential (one shared, growing window) and SubAgent (a clean window that hands back a summary)."""

from __future__ import annotations

import pytest

from jotty.errors import ValidationError
from jotty.patterns import Chain, Retry, Sequential, Skip, Step, SubAgent
from jotty.runs import RunStatus
from tests.patterns.helpers import agent, always_failing, tokens_agent


async def test_sequential_shares_one_window_that_grows() -> None:
    first, _ = agent("first", lambda x: x + 1)
    second, second_fn = agent("second", lambda x: x * 10)
    third = tokens_agent("third", 30, 5, output="end")
    result = await Sequential([first, second, third]).run(1)
    assert result.output == "end"
    assert second_fn.contexts[0].data["history"] == [{"step": "first", "output": 2}]
    [window] = result.token_shape.windows
    assert (window.path, window.kind, window.calls, window.total) == ("sequential", "main", 3, 35)


async def test_sequential_failure_is_the_end() -> None:
    bad, _ = always_failing("bad")
    never, never_fn = agent("never")
    result = await Sequential([bad, never]).run("x")
    assert result.status is RunStatus.FAILED and never_fn.calls == 0
    assert "sequential 'sequential' failed at step 'sequential/bad'" in (result.error or "")


def test_sequential_has_no_error_strategies() -> None:
    bad, _ = always_failing("bad")
    with pytest.raises(ValidationError, match="use a Chain"):
        Sequential([Step(bad, on_error=Skip())])


async def test_subagent_gets_a_clean_window_and_returns_a_summary() -> None:
    research, research_fn = agent("research", lambda q: f"flights for {q}: " + "option " * 50)
    sub = SubAgent(research, summarize=lambda text: text[:20])
    main, main_fn = agent("main", lambda summary: f"plan using [{summary}]")
    flow = Chain([Step(sub, name="flights"), main])
    result = await flow.run("PHX", ctx=None)
    assert research_fn.contexts[0].data == {}  # clean: none of the caller's context
    assert research_fn.contexts[0].step_path == "chain/flights/work"
    assert main_fn.inputs == ["flights for PHX: opt"]
    assert result.output == "plan using [flights for PHX: opt]"


async def test_subagent_truncates_by_default_and_can_summarize_with_an_agent() -> None:
    long, _ = agent("long", "word " * 400)
    result = await SubAgent(long, max_tokens=10).run("x")
    assert result.output.startswith("word word") and "[truncated" in result.output and len(result.output) < 80

    summarizer = tokens_agent("summarizer", 100, 7, output="short")
    result = await SubAgent(long, summarize=summarizer).run("x")
    assert result.output == "short"
    kinds = {w.path: w.kind for w in result.token_shape.windows}
    assert kinds == {"subagent/work": "sub", "subagent/summary": "summary"}
    assert result.tokens.total == 107


async def test_subagent_failure_is_contained_by_its_strategy() -> None:
    flaky, flaky_fn = agent("flaky", "found it", fail=1)
    result = await SubAgent(flaky, on_error=Retry(2)).run("x")
    assert result.output == "found it" and flaky_fn.calls == 2

    bad, _ = always_failing("bad")
    proceed, _ = agent("proceed", lambda x: f"without research: {x}")
    result = await Chain([Step(SubAgent(bad, on_error=Skip()), name="research"), proceed]).run("q")
    assert result.output == "without research: q" and result.status is RunStatus.PARTIAL

    result = await Chain([Step(SubAgent(bad), name="research"), proceed]).run("q")
    assert result.status is RunStatus.FAILED
    assert "sub-agent 'chain/research/work' failed" in (result.error or "")
