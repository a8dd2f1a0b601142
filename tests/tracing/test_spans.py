"""Runs as OpenTelemetry spans in the GenAI conventions, nested as the steps are: patterns inside
patterns, a Conductor's attempts, real LLM calls (against the test server) and their tool calls."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from opentelemetry.trace import StatusCode

from jotty.agents import FunctionAgent, LLMAgent
from jotty.orchestration import AgentConfig, Conductor
from jotty.patterns import Chain, Fallback, Parallel, Step
from jotty.runs import CheckpointError
from tests.support.openai_server import FunctionCall, OpenAIServer, RecordedRequest, Reply, Response

from .conftest import Spans


def fn(name: str, fail: bool = False) -> FunctionAgent:
    def run(value: Any) -> str:
        if fail:
            raise RuntimeError(f"{name} broke")
        return f"{value}>{name}"

    return FunctionAgent(run, name=name)


async def test_a_nested_flow_reports_spans_nested_as_its_steps(spans: Spans) -> None:
    fan = Parallel([fn("b"), fn("c")], name="fan")
    flow = Chain([fn("a"), Step(fan, name="fan"), Step(fn("bad", fail=True), name="bad", on_error=Fallback(fn("d")))])
    result = await flow.run("x")
    assert result.ok

    assert sorted(spans.tree()) == sorted(
        [
            ("invoke_workflow chain", None),
            ("invoke_agent a", "invoke_workflow chain"),
            ("invoke_agent fan", "invoke_workflow chain"),
            ("invoke_agent b", "invoke_agent fan"),
            ("invoke_agent c", "invoke_agent fan"),
            ("invoke_agent bad", "invoke_workflow chain"),
            ("invoke_agent d", "invoke_workflow chain"),  # the fallback sits beside its step
        ]
    )
    run = spans.one("invoke_workflow chain")
    assert run.attributes is not None
    assert run.attributes["gen_ai.operation.name"] == "invoke_workflow"
    assert run.attributes["jotty.run.id"] == result.run_id
    bad = spans.one("invoke_agent bad")
    assert bad.status.status_code is StatusCode.ERROR and "bad broke" in (bad.status.description or "")
    assert bad.attributes is not None and bad.attributes["gen_ai.agent.name"] == "bad"
    assert [e.name for e in run.events] == ["chain_error_handled"]  # the fallback, on the nearest open span
    assert spans.one("invoke_agent d").status.status_code is StatusCode.UNSET
    assert len({s.context.trace_id for s in spans.all if s.context is not None}) == 1
    for span in spans.all:  # every span lies within its parent
        parent = spans.parent_of(span)
        if parent is not None:
            assert parent.start_time is not None and span.start_time is not None
            assert parent.start_time <= span.start_time and span.end_time <= parent.end_time  # type: ignore[operator]


def tool_then_answer(request: RecordedRequest) -> Response:
    results = [m["content"] for m in request.messages if m.get("role") == "tool"]
    if results:
        return Reply("the sum is " + results[0], usage=(30, 5))
    return Reply(tool_calls=[FunctionCall("add", {"a": 2, "b": 40}, id="call_add")], usage=(20, 3))


def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


async def test_a_conductor_run_with_a_real_llm_call_and_a_tool(
    spans: Spans, openai_server: OpenAIServer, tmp_path: Path
) -> None:
    openai_server.rule = tool_then_answer
    llm = LLMAgent("test-model", base_url=openai_server.base_url, api_key="sk-test", tools=[add], name="mathematician")
    actors = [AgentConfig("guesser", fn("guesser", fail=True)), AgentConfig("mathematician", llm)]
    with Conductor(actors, mode="dynamic", store=tmp_path / "jotty.db") as conductor:
        result = await conductor.run("what is 2 + 40?")
    assert result.ok and result.output == "the sum is 42"

    assert spans.tree() == [
        ("invoke_workflow conductor", None),
        ("invoke_agent guesser", "invoke_workflow conductor"),
        ("invoke_agent mathematician", "invoke_workflow conductor"),
        ("chat test-model", "invoke_agent mathematician"),
        ("execute_tool add", "invoke_agent mathematician"),
        ("chat test-model", "invoke_agent mathematician"),
    ]
    first, second = sorted(spans.named("chat test-model"), key=lambda s: s.start_time or 0)
    for span, (prompt, completion) in ((first, (20, 3)), (second, (30, 5))):
        attributes = span.attributes or {}
        assert attributes["gen_ai.operation.name"] == "chat"
        assert attributes["gen_ai.request.model"] == "test-model"
        assert (attributes["gen_ai.usage.input_tokens"], attributes["gen_ai.usage.output_tokens"]) == (
            prompt,
            completion,
        )
    tool = spans.one("execute_tool add").attributes or {}
    assert (tool["gen_ai.tool.name"], tool["gen_ai.tool.call.id"]) == ("add", "call_add")
    agent = spans.one("invoke_agent mathematician").attributes or {}
    assert (agent["gen_ai.usage.input_tokens"], agent["gen_ai.usage.output_tokens"]) == (50, 8)
    run = spans.one("invoke_workflow conductor")
    assert (run.attributes or {})["gen_ai.usage.input_tokens"] == 50
    assert [e.name for e in run.events].count("route_chosen") == 2
    assert spans.one("invoke_agent guesser").status.status_code is StatusCode.ERROR


async def test_a_rejected_output_and_a_run_that_raises_end_their_spans_with_the_error(
    spans: Spans, tmp_path: Path
) -> None:
    actors = [AgentConfig("odd", lambda value: object())]
    with Conductor(actors, store=tmp_path / "jotty.db") as conductor, pytest.raises(CheckpointError):
        await conductor.run("goal")
    run = spans.one("invoke_workflow conductor")
    assert run.status.status_code is StatusCode.ERROR
    assert all(s.end_time is not None for s in spans.all)

    spans.exporter.clear()
    actors = [AgentConfig("terse", lambda value: "ok", validator=lambda out: (False, "too short"))]
    with Conductor(actors, store=tmp_path / "jotty.db") as conductor:
        result = await conductor.run("goal")
    assert not result.ok
    run = spans.one("invoke_workflow conductor")
    rejected = [e for e in run.events if e.name == "step_failed"]
    assert rejected and (rejected[0].attributes or {})["jotty.rejected"] is True
    assert run.status.status_code is StatusCode.ERROR


async def test_no_spans_once_disabled(spans: Spans) -> None:
    from jotty import tracing

    tracing.disable()
    assert not tracing.enabled()
    assert (await Chain([fn("a")]).run("x")).ok
    assert spans.all == ()


def test_configure_refuses_what_is_not_a_tracer_provider() -> None:
    from jotty import tracing
    from jotty.errors import ValidationError

    with pytest.raises(ValidationError, match=r"tracer_provider must be an OpenTelemetry TracerProvider, got str"):
        tracing.configure("jaeger")


async def test_a_pattern_run_by_a_conductor_nests_under_its_attempt(spans: Spans, tmp_path: Path) -> None:
    inner = Chain([fn("a"), Step(Parallel([fn("b"), fn("c")], name="fan"), name="fan")], name="inner")
    with Conductor(flow=inner, store=tmp_path / "jotty.db") as conductor:
        result = await conductor.run("goal")
    assert result.ok and result.actor == "flow:inner"
    assert sorted(spans.tree()) == sorted(
        [
            ("invoke_workflow conductor", None),
            ("invoke_agent inner", "invoke_workflow conductor"),  # the actor flow:inner, by its agent's name
            ("invoke_agent a", "invoke_agent inner"),
            ("invoke_agent fan", "invoke_agent inner"),
            ("invoke_agent b", "invoke_agent fan"),
            ("invoke_agent c", "invoke_agent fan"),
        ]
    )
    fan = spans.one("invoke_agent fan").attributes or {}
    assert fan["jotty.step.path"] == "conductor/1-flow:inner/fan"
