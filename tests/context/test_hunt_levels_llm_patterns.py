"""Every pattern at every level with LLM agents against a real chat-completions server, and what
each request held (a levels hunt; Sequential and Team failed at every level before).

- A Sequential gives each step the steps before it in ``ctx.data["history"]`` as
  ``{"step", "output"}``, and a Team or Supervisor worker its own earlier work as ``{"task",
  "output"}``: an ``LLMAgent`` refused both as "not a chat message", so its second step (or a
  worker's second task) always failed. They are now the assistant's earlier turns.
- A Team reads peer messages from a member's ``artifacts["messages"]``, where an ``LLMAgent`` keeps
  its whole conversation: every LLM member's work was rejected as "bad team artifacts".
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from jotty.agents import FunctionAgent, LLMAgent
from jotty.context import ContextPolicy, Part, PartKind
from jotty.patterns import (
    Chain,
    Flow,
    Member,
    Parallel,
    Phase,
    Phased,
    Sequential,
    SubAgent,
    Supervisor,
    Team,
    TeamTask,
)
from tests.support.openai_server import OpenAIServer, RecordedRequest

ROLES = {"research": "research", "analyse": "analysis", "write": "writing"}
FACTS = {"research": "FACT-SOURCES", "analysis": "FACT-METRICS", "writing": "FACT-STYLE"}


def pool() -> ContextPolicy:
    return ContextPolicy(parts=[Part(f"{c}-notes", text, PartKind.MEMORY, category=c) for c, text in FACTS.items()])


def patterns(llm: Callable[[str], LLMAgent]) -> dict[str, Callable[[], Flow]]:
    def agents() -> list[LLMAgent]:
        return [llm(role) for role in ROLES]

    def tasks(goal: str) -> list[TeamTask]:
        return [TeamTask(goal, id=f"{role}-task", role=role) for role in ROLES]

    return {
        "sequential": lambda: Sequential(agents()),
        "chain": lambda: Chain(agents()),
        "parallel": lambda: Parallel(agents()),
        "subagent": lambda: SubAgent(llm("write")),
        "phased": lambda: Phased([Phase("gather", [llm("research")]), Phase("make", [llm("analyse"), llm("write")])]),
        "team": lambda: Team([Member(r, a, {r}) for r, a in zip(ROLES, agents(), strict=True)], plan=tasks),
        "supervisor": lambda: Supervisor(agents(), plan=FunctionAgent(lambda goal: [goal, goal, goal])),
    }


def role_of(request: RecordedRequest) -> str:
    return str(request.messages[0]["content"]).removeprefix("You do ").removesuffix(".")


def facts_in(request: RecordedRequest) -> set[str]:
    text = " ".join(str(m["content"]) for m in request.messages if m["role"] == "system")
    return {category for category, fact in FACTS.items() if fact in text}


@pytest.mark.parametrize("level", ["L1", "L2", "L3", "L4"])
@pytest.mark.parametrize("pattern", ["sequential", "chain", "parallel", "subagent", "phased", "team", "supervisor"])
async def test_every_pattern_with_llm_agents_at_every_level_gets_the_windows_promised(pattern: str, level: str) -> None:
    with OpenAIServer() as server:

        def llm(role: str) -> LLMAgent:
            system = f"You do {role}."
            return LLMAgent(
                "test-model", base_url=server.base_url, api_key="k", system=system, max_retries=0, name=role
            )

        result = await patterns(llm)[pattern]().run("the quarterly report", level=level, policy=pool())
        assert result.ok, result.error
        requests = server.completions
    assert len(requests) == (1 if pattern == "subagent" else 3)
    for request in requests:
        role = role_of(request)
        expected = set(FACTS) if level in ("L1", "L2") else {ROLES[role]}
        assert facts_in(request) == expected, role


async def test_a_sequential_of_llm_steps_shares_one_growing_conversation() -> None:
    with OpenAIServer() as server:
        llm = [LLMAgent("test-model", base_url=server.base_url, api_key="k", max_retries=0, name=n) for n in "abc"]
        result = await Sequential(llm).run("go")
        assert result.ok, result.error
        third = server.completions[-1]
    assert result.output == "echo: echo: echo: go"
    assert [(m["role"], m["content"]) for m in third.messages] == [
        ("assistant", "echo: go"),
        ("assistant", "echo: echo: go"),
        ("user", "echo: echo: go"),
    ]


async def test_an_llm_worker_takes_a_second_task_with_its_first_in_its_history() -> None:
    with OpenAIServer() as server:
        worker = LLMAgent("test-model", base_url=server.base_url, api_key="k", max_retries=0, name="w")
        result = await Supervisor([worker]).run(["one", "two"])
        assert result.ok, result.error
        second = server.completions[-1]
    assert result.output == ["echo: one", "echo: two"]
    assert second.messages == [{"role": "assistant", "content": "echo: one"}, {"role": "user", "content": "two"}]


async def test_an_llm_team_member_still_sends_no_team_mail_and_fails_nothing() -> None:
    with OpenAIServer() as server:
        member = LLMAgent("test-model", base_url=server.base_url, api_key="k", max_retries=0, name="m")
        result = await Team([Member("m", member)]).run(["one", "two"])
        assert result.ok, result.error
    assert result.output == {"task-0": "echo: one", "task-1": "echo: two"}
    assert not [e for e in result.events if e.type == "message_sent"]
