"""Bad input to the context API: clear errors that say what to fix."""

from __future__ import annotations

import pytest

from jotty.context import ContextPolicy, Part, RouteClassifier, Skill, SkillRegistry, Source
from jotty.errors import NotFoundError, ValidationError
from jotty.patterns import Chain, Retry, Step
from tests.context.flows import Seen, policy


def test_sources_skills_classifiers_and_policies_check_their_arguments() -> None:
    with pytest.raises(ValidationError, match="load must be a function"):
        Source("archive", "not callable")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="instructions must be a non-empty string"):
        Skill("charts", "plots", "  ")
    registry = SkillRegistry([Skill("charts", "plots", "Plot it.")])
    with pytest.raises(ValidationError, match="a skill named 'charts' is registered already"):
        registry.register("charts", "again", "Again.")
    with pytest.raises(NotFoundError, match="no skill named 'maps'; skills: charts"):
        registry.get("maps")
    assert registry.tool()("charts") == "Plot it."
    with pytest.raises(ValidationError, match="needs a name and a list of keywords"):
        RouteClassifier({"research": "search"})
    with pytest.raises(ValidationError, match="ContextPolicy parts must be Part objects"):
        ContextPolicy(parts=["just text"])  # type: ignore[list-item]
    classifier = RouteClassifier(extra={"legal": ["contract", "clause"]})
    assert classifier.classify("review the clause of the contract") == "legal"
    assert classifier.classify("", "nothing to see") is None


async def test_a_run_given_a_bad_policy_or_an_unknown_skill_says_so() -> None:
    seen = Seen()
    with pytest.raises(ValidationError, match=r"policy must be a jotty\.context\.ContextPolicy"):
        await Chain([seen.agent("write")]).run("go", level="L2", policy={"parts": []})  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="level: unknown context level 'L0'"):
        await Chain([seen.agent("write")]).run("go", level="L0")
    flow = Chain([Step(seen.agent("write"), name="draft", skills=("maps",))])
    with pytest.raises(NotFoundError, match="no skill named 'maps'"):
        await flow.run("go", level="L2", policy=policy(seen))
    assert Part("x", "y").kind == "data"


async def test_a_source_that_fails_to_load_fails_its_step_and_the_strategy_decides() -> None:
    calls: list[str] = []

    def flaky(query: str) -> str:
        calls.append(query)
        if len(calls) == 1:
            raise OSError("the archive is offline")
        return "archive rows"

    seen = Seen()
    pol = ContextPolicy(sources=[Source("archive", flaky, category="research")])
    flow = Chain([Step(seen.agent("research"), name="research", on_error=Retry(2))])
    result = await flow.run("go", level="L3", policy=pol)
    assert result.ok and result.step("research").attempts == 2
    assert seen.last("research")["parts"]["source:archive"] == "archive rows"
    [handled] = [e for e in result.events if e.type == "chain_error_handled"]
    assert "context source 'archive' could not be loaded for step 'chain/research': OSError" in handled.data["error"]
    failing = ContextPolicy(sources=[Source("archive", lambda q: 1 / 0, category="research")])
    lost = await Chain([seen.agent("research")]).run("go", level="L1", policy=failing)
    assert not lost.ok and "ZeroDivisionError" in (lost.error or "")
