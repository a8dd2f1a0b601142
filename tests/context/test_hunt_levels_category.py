"""L3 route categories (a levels hunt).

A category named in two cases (``Billing`` on a fact, ``billing`` on the step, or a classifier
category ``Billing`` and a fact's ``billing``) matched nothing: the step's window at L3 silently
lost every part, source and skill of its own category. Categories now match whatever their case.
"""

from __future__ import annotations

from typing import Any

from jotty.agents import FunctionAgent
from jotty.context import ContextPolicy, Part, PartKind, RouteClassifier, Skill, SkillRegistry, Source
from jotty.patterns import Chain, Step


class Window:
    def __init__(self) -> None:
        self.data: dict[str, Any] = {}

    def agent(self, name: str) -> FunctionAgent:
        def work(value: Any, ctx: Any) -> str:
            self.data = dict(ctx.data)
            return "done"

        return FunctionAgent(work, name=name)


async def test_a_steps_category_matches_its_parts_sources_and_skills_whatever_their_case() -> None:
    seen = Window()
    policy = ContextPolicy(
        parts=[Part("refunds", "Refunds within 30 days.", PartKind.DATA, category="Billing")],
        sources=[Source("orders", lambda query: "order 7: paid", category="BILLING")],
        skills=SkillRegistry([Skill("refund", "issue a refund", "Check the order first.", category="Billing")]),
    )
    result = await Chain([Step(seen.agent("bill"), name="bill", category="billing")]).run(
        "go", level="L3", policy=policy
    )
    assert result.ok
    assert seen.data["parts"] == {
        "refunds": "Refunds within 30 days.",
        "source:orders": "order 7: paid",
        "skill:refund": "Check the order first.",
    }


async def test_a_classifier_category_in_capitals_scopes_the_parts_of_that_category() -> None:
    seen = Window()
    classifier = RouteClassifier(extra={"Billing": ["refund", "invoice"]})
    policy = ContextPolicy(
        parts=[Part("refunds", "Refunds within 30 days.", category="billing")], classifier=classifier
    )
    result = await Chain([seen.agent("refund-it")]).run("go", level="L3", policy=policy)
    assert result.ok
    assert seen.data["parts"] == {"refunds": "Refunds within 30 days."}
    [window] = [e.data for e in result.events if e.type == "context_window"]
    assert window["category"] == "billing"


async def test_a_step_of_no_known_category_gets_only_what_has_no_category() -> None:
    seen = Window()
    policy = ContextPolicy(
        parts=[Part("style", "Short sentences.", category="writing"), Part("team", "Ana and Bo.", PartKind.DATA)]
    )
    result = await Chain([seen.agent("zzz")]).run("go", level="L3", policy=policy)
    assert result.ok and seen.data["parts"] == {"team": "Ana and Bo."}
