"""A research -> analyse -> write flow in every pattern, with a context pool to pick from."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from jotty.agents import Agent, FunctionAgent, RunContext
from jotty.context import ContextPolicy, Part, PartKind, PrefetchModel, Skill, SkillRegistry, Source
from jotty.orchestration import AgentConfig, Conductor
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

ROLES = ("research", "analyse", "write")


@dataclass
class Seen:
    """The window (``ctx.data``) each agent saw, by agent name."""

    windows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    loads: list[str] = field(default_factory=list)

    def agent(self, role: str) -> Agent:
        def work(value: Any, ctx: RunContext) -> str:
            self.windows.setdefault(role, []).append(dict(ctx.data))
            return f"{role} done"

        return FunctionAgent(work, name=role)

    def last(self, role: str) -> dict[str, Any]:
        return self.windows[role][-1]

    def loader(self, name: str) -> Callable[[str], str]:
        def load(query: str) -> str:
            self.loads.append(f"{name}:{query}")
            return f"{name} content for {query}"

        return load


def policy(seen: Seen, prefetch: PrefetchModel | None = None) -> ContextPolicy:
    skills = SkillRegistry(
        [
            Skill("web-search", "search the web for sources", "Use three sources at least.", category="research"),
            Skill("charts", "compute trends and charts", "Plot the trend by quarter.", category="analysis"),
            Skill("house-style", "write reports in house style", "Short sentences, no jargon.", category="writing"),
        ]
    )
    parts = [
        Part("source-list", "Sources to search: census, ledger, survey.", PartKind.MEMORY, category="research"),
        Part("metric-definitions", "Margin is profit over revenue.", PartKind.MEMORY, category="analysis"),
        Part("style-guide", "Reports open with the conclusion.", PartKind.MEMORY, category="writing"),
    ]
    sources = [
        Source("archive", seen.loader("archive"), PartKind.DATA, category="research"),
        Source("ledger", seen.loader("ledger"), PartKind.DATA, category="analysis"),
    ]
    return ContextPolicy(parts=parts, sources=sources, skills=skills, prefetch=prefetch or PrefetchModel())


def flows(seen: Seen) -> dict[str, Flow]:
    research, analyse, write = (seen.agent(r) for r in ROLES)
    return {
        "sequential": Sequential([research, analyse, write]),
        "chain": Chain([research, analyse, write]),
        "parallel": Parallel([research, analyse, write]),
        "subagent": SubAgent(write),
        "phased": Phased([Phase("gather", [research]), Phase("make", [analyse, write])]),
        "team": Team(
            [Member("r", research, {"research"}), Member("a", analyse, {"analyse"}), Member("w", write, {"write"})],
            plan=lambda goal: [TeamTask(goal, id=f"{r}-task", role=r) for r in ROLES],
        ),
        "supervisor": Supervisor([research, analyse, write], plan=FunctionAgent(lambda goal: [goal, goal, goal])),
    }


def conductor(seen: Seen, level: str, pol: ContextPolicy, store: str) -> Conductor:
    actors = [AgentConfig(r, seen.agent(r)) for r in ROLES]
    return Conductor(actors, mode="static", store=store, level=level, policy=pol, memory=False)


async def chat_run(
    store: str, model: str, limit: int, goal: str, history: list[dict[str, Any]], **params: Any
) -> tuple[Any, Any]:
    """A Conductor run of one LLMAgent on ``model`` (context ``limit`` tokens, registered) against
    the test server, with a chat ``history``; the result and the one request the server got."""
    from jotty.agents import LLMAgent
    from jotty.context import MODEL_LIMITS
    from tests.support.openai_server import OpenAIServer

    MODEL_LIMITS.register(model, limit)
    with OpenAIServer() as server:
        agent = LLMAgent(model, base_url=server.base_url, api_key="sk-test", max_retries=0, params=params)
        with Conductor([AgentConfig("chat", agent)], store=store, memory=False) as conductor:
            result = await conductor.run(goal, context={"history": history})
        return result, server.completions[-1] if server.completions else None
