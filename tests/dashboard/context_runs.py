"""Runs recorded with the context layer's event data, for the dashboard's tests: an L4 flow run
twice (the second has prefetch hits and a wasted prefetch), an ``LLMAgent`` step whose image message
the guard drops (``drop_non_text``) after a context-length refusal, and a skill that brings a tool."""

from __future__ import annotations

from typing import Any

from jotty.agents import FunctionAgent, LLMAgent
from jotty.context import ContextPolicy, PartKind, PrefetchModel, Skill, SkillRegistry, Source
from jotty.patterns import Chain, Step
from tests.support.openai_server import ErrorReply, FunctionCall, OpenAIServer, Reply

IMAGE = {"type": "image_url", "image_url": {"url": "data:image/png;base64," + "iVBORw0KGgo" * 12, "detail": "low"}}
REPORT = "The north region grew by twelve percent while the south held steady all year. "


def chart(quarter: str) -> str:
    """Chart the trend of a quarter."""
    return f"chart of {quarter}: north up"


def context_policy() -> ContextPolicy:
    skills = SkillRegistry(
        [Skill("charts", "compute trends and charts", "Chart by quarter.", (chart,), category="analysis")]
    )
    sources = [
        Source("archive", lambda q: f"archive for {q}", PartKind.DATA, category="research"),
        Source("ledger", lambda q: f"ledger for {q}", PartKind.DATA, category="analysis"),
    ]
    return ContextPolicy(sources=sources, skills=skills, prefetch=PrefetchModel())


def context_flow(server: OpenAIServer, review: bool) -> Chain:
    def research(value: Any) -> list[dict[str, Any]]:
        return [
            {"role": "user", "content": [{"type": "text", "text": REPORT * 3}, IMAGE]},
            {"role": "user", "content": "Which region grew?"},
        ]

    analyst = LLMAgent("test-model", base_url=server.base_url, api_key="sk-test", max_retries=0, name="analyst")
    steps = [
        Step(FunctionAgent(research, name="researcher"), name="research", category="research"),
        Step(analyst, name="analyse", category="analysis"),
        Step(FunctionAgent(lambda v: f"report: {v}", name="writer"), name="write", category="writing"),
    ]
    if review:  # the first run only: the second's prefetch for it is wasted
        steps.append(Step(FunctionAgent(lambda v: "ok", name="reviewer"), name="review", category="research"))
    return Chain(steps, name="context-flow")


async def record_context_runs(store: str, first: str = "ctx-1", second: str = "ctx-2") -> None:
    policy = context_policy()
    with OpenAIServer() as server:
        await context_flow(server, review=True).run("q3", store=store, run_id=first, level="L4", policy=policy)
        server.script(
            ErrorReply(
                400,
                "This model's maximum context length is 110 tokens. However, your messages resulted in 212 tokens.",
                code="context_length_exceeded",
            ),
            Reply(tool_calls=[FunctionCall("chart", {"quarter": "q3"})]),
            Reply("The north grew."),
        )
        await context_flow(server, review=False).run("q3", store=store, run_id=second, level="L4", policy=policy)
