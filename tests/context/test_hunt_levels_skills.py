"""Skills bring their tools (a levels hunt; each failed before, against a real chat-completions server).

A ``Skill`` has a name, a description, instructions and tools, but only the instructions ever
reached a window: a chosen skill's tools were never offered to the model, at any level. Now a
window holds the tools of its chosen skills (every skill's at L1) in ``ctx.data["skill_tools"]``,
which an ``LLMAgent`` offers beside its own; at L2 a window with skills still unchosen also gets
``load_skill(name)``, which adds the skill's instructions and, from the next round on, its tools.
"""

from __future__ import annotations

import json

from jotty.agents import LLMAgent
from jotty.context import ContextPolicy, Skill, SkillRegistry
from jotty.patterns import Chain, Step
from tests.support.openai_server import FunctionCall, OpenAIServer, RecordedRequest, Reply


def chart(quarter: str) -> str:
    """Chart the trend of a quarter."""
    return f"chart of {quarter}"


def forecast(quarter: str) -> str:
    """Forecast the next quarter."""
    raise RuntimeError("the forecast service is down")


def policy() -> ContextPolicy:
    skills = SkillRegistry(
        [
            Skill("charts", "compute trends and charts", "Chart by quarter.", (chart,), category="analysis"),
            Skill("forecasts", "forecast quarters", "Forecast ahead.", (forecast,), category="planning"),
            Skill("house-style", "write in house style", "Short sentences.", category="writing"),
        ]
    )
    return ContextPolicy(skills=skills)


def tool_names(request: RecordedRequest) -> set[str]:
    return {t["function"]["name"] for t in request.tools}


def flow(server: OpenAIServer, name: str = "analyse") -> Chain:
    agent = LLMAgent("test-model", base_url=server.base_url, api_key="sk-test", max_retries=0, name=name)
    return Chain([Step(agent, name=name)], name="report")


async def test_a_chosen_skill_offers_its_tools_and_the_model_can_call_them() -> None:
    with OpenAIServer() as server:
        server.script(Reply(tool_calls=[FunctionCall("chart", {"quarter": "Q3"})]), Reply("up in Q3"))
        result = await flow(server).run("the trend", level="L3", policy=policy())
        assert result.ok, result.error
        first, second = server.completions
    assert tool_names(first) == {"chart"}  # analysis: its skill's tool only
    assert second.messages[-1] == {"role": "tool", "tool_call_id": second.messages[-2]["tool_calls"][0]["id"],
                                   "content": "chart of Q3"}  # fmt: skip
    assert result.output == "up in Q3"


async def test_l1_offers_every_skills_tools_and_a_tool_that_raises_is_an_error_the_model_sees() -> None:
    with OpenAIServer() as server:
        server.script(Reply(tool_calls=[FunctionCall("forecast", {"quarter": "Q4"})]), Reply("no forecast today"))
        result = await flow(server).run("the trend", level="L1", policy=policy())
        assert result.ok, result.error
        first, second = server.completions
    assert tool_names(first) == {"chart", "forecast"}
    error = json.loads(second.messages[-1]["content"])["error"]
    assert error == "RuntimeError: the forecast service is down"
    [event] = [e for e in result.events if e.type == "tool_result"]
    assert event.data["error"] == error


async def test_l2_loads_a_skill_on_demand_and_its_tools_come_with_it() -> None:
    with OpenAIServer() as server:
        server.script(
            Reply(tool_calls=[FunctionCall("load_skill", {"name": "forecasts"})]),
            Reply(tool_calls=[FunctionCall("forecast", {"quarter": "Q4"})]),
            Reply("the forecast is down"),
        )
        result = await flow(server).run("the trend", level="L2", policy=policy())
        assert result.ok, result.error
        first, second, third = server.completions
    assert tool_names(first) == {"chart", "load_skill"}  # charts chosen by category; the rest on demand
    assert second.messages[-1]["content"] == "Forecast ahead."
    assert tool_names(second) == tool_names(third) == {"chart", "load_skill", "forecast"}
    assert "service is down" in third.messages[-1]["content"]


async def test_a_window_without_skill_tools_offers_none() -> None:
    with OpenAIServer() as server:
        result = await flow(server, "write").run("the report", level="L3", policy=policy())
        assert result.ok, result.error
        [request] = server.completions
    assert request.tools == [] and "Short sentences." in json.dumps(request.messages)


async def test_a_window_whose_skills_bring_two_tools_of_one_name_fails_its_step_clearly() -> None:
    def chart_again(quarter: str) -> str:
        return quarter

    chart_again.__name__ = "chart"
    skills = SkillRegistry(
        [Skill("charts", "charts", "Chart.", (chart,)), Skill("plots", "plot", "Plot.", (chart_again,))]
    )
    with OpenAIServer() as server:
        result = await flow(server).run("the trend", level="L1", policy=ContextPolicy(skills=skills))
        assert not server.completions
    assert not result.ok
    assert "two tools are named 'chart'" in (result.error or "")


def lookup(account: str, period: str = "Q3") -> str:
    """Look up an account's ledger for a period. LONG"""
    return "ledger"


async def test_a_windows_budget_leaves_room_for_the_tools_a_request_sends() -> None:
    """A model of 2,000 tokens, keeping 200 for its answer: the window plus the tools' schemas the
    request sends fit the 1,800 left (the window alone was fitted to 1,800, the tools on top)."""
    from jotty.context import ModelLimits, Part, PartKind, SmartContextGuard, default_counter

    lookup.__doc__ = "Look up an account's ledger for a period. " + "Rows are grouped by cost centre. " * 120
    skills = SkillRegistry([Skill("ledger", "read ledgers", "Use the ledger.", (lookup,), category="analysis")])
    guard = SmartContextGuard(limits=ModelLimits({"tiny-model": 2_000}))
    notes = Part("notes", "The quarter closed with revenue up and costs flat in every region. " * 200, PartKind.DATA)
    pol = ContextPolicy(parts=[notes], skills=skills, guard=guard)
    with OpenAIServer() as server:
        server.script(Reply("fine"))
        agent = LLMAgent(
            "tiny-model", base_url=server.base_url, api_key="sk", max_retries=0, params={"max_tokens": 200}
        )
        result = await Chain([Step(agent, name="analyse")], name="report").run("the trend", level="L1", policy=pol)
        assert result.ok, result.error
        [request] = server.completions
    count = default_counter().count
    tools = count(json.dumps(request.tools))
    assert tools > 500 and tool_names(request) == {"lookup"}
    sent = sum(count(json.dumps(m["content"])) for m in request.messages)
    assert sent + tools <= 1_800 + 20 * len(request.messages), (sent, tools)  # markers and roles aside
