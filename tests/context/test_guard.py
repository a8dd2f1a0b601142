"""SmartContextGuard: budgets hold for any input, pinned parts stay, compression says what it did."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jotty.agents import LLMAgent
from jotty.context import (
    MODEL_LIMITS,
    ContextBudgetError,
    EstimateCounter,
    ModelLimits,
    Part,
    PartKind,
    SmartContextGuard,
    agent_summarizer,
    default_counter,
)
from jotty.errors import ValidationError
from tests.support.openai_server import OpenAIServer, Reply

PROSE = (
    "Revenue in the north grew by twelve percent. Costs in the south fell sharply after the new contract. "
    "The east region stayed flat. Analysts expect the margin to rise next quarter. "
)


def window_parts() -> list[Part]:
    return [
        Part("instructions", "Answer in one paragraph.", PartKind.INSTRUCTIONS),
        Part("goal", "Write the quarterly sales report.", PartKind.GOAL),
        Part("facts", "Fiscal year starts in April.", PartKind.PINNED),
        Part("history", [{"step": f"s{i}", "output": f"found {i * 3} rows"} for i in range(8)], PartKind.HISTORY),
        Part("memory", PROSE * 3, PartKind.MEMORY),
        Part("search-1", "row 1: north 120; row 2: south 80; row 3: east 95 " * 6, PartKind.TOOL),
        Part("search-2", "row 1: north 120; row 2: south 80; row 3: east 95 " * 6, PartKind.TOOL),
        Part("report.csv", PROSE * 10, PartKind.DATA),
    ]


def test_a_window_within_budget_is_untouched() -> None:
    guard = SmartContextGuard(10_000)
    window = guard.assemble(window_parts())
    assert not window.compressed
    assert window.tokens == window.before
    assert [p.name for p in window.parts] == [p.name for p in window_parts()]


def test_over_budget_compresses_lowest_priority_first_and_keeps_pinned() -> None:
    guard = SmartContextGuard(150)
    parts = window_parts()
    window = guard.assemble(parts)
    assert window.tokens <= 150 < window.before
    kept = {p.name: p for p in window.parts}
    assert kept["facts"].content == "Fiscal year starts in April."
    assert kept["goal"].content == "Write the quarterly sales report."
    acted = [a.part for a in window.actions]
    # repeated tool output first: the older copy points at the newer, which is compressed after it
    assert acted[0] == "search-1" and window.actions[0].action == "dedupe"
    assert "report.csv" in acted and acted.index("report.csv") < acted.index("memory")
    for action in window.actions:
        assert action.after < action.before
    assert window.event()["before"] == window.before and window.event()["after"] == window.tokens


def test_history_loses_its_oldest_items_first() -> None:
    guard = SmartContextGuard(70)
    parts = [
        Part("goal", "Summarize.", PartKind.GOAL),
        Part("history", [{"step": f"s{i}", "output": f"result number {i}"} for i in range(10)], PartKind.HISTORY),
    ]
    window = guard.assemble(parts)
    history = window.data()["history"]
    assert history and history[-1]["step"] == "s9" and history[0]["step"] != "s0"
    assert [a.action for a in window.actions] == ["drop_oldest"]


def test_text_is_summarized_extractively_or_trimmed_in_the_middle() -> None:
    guard = SmartContextGuard(60)
    window = guard.assemble([Part("goal", "go", PartKind.GOAL), Part("notes", PROSE * 4, PartKind.MEMORY)])
    notes = window.data()["notes"]
    assert window.tokens <= 60
    assert window.actions[0].action == "summarize"
    assert all(sentence.strip() in PROSE for sentence in notes.split(". ") if sentence.strip())
    trimmed = SmartContextGuard(40).assemble([Part("goal", "x" * 2000, PartKind.GOAL)])
    assert trimmed.actions[0].action == "trim" and "tokens cut" in trimmed.data()["goal"]
    assert trimmed.tokens <= 40


def test_a_budget_below_the_pinned_parts_is_an_error_saying_so() -> None:
    guard = SmartContextGuard(5)
    with pytest.raises(ContextBudgetError, match=r"pinned context parts \(facts\) need .* over the window budget of 5"):
        guard.assemble([Part("facts", PROSE, PartKind.PINNED), Part("data", PROSE)])


def test_bad_arguments_are_clear_errors() -> None:
    with pytest.raises(ValidationError, match="positive number of tokens"):
        SmartContextGuard(0)
    with pytest.raises(ValidationError, match="unknown kind 'junk'"):
        Part("x", "y", "junk")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="non-empty name"):
        Part("", "y")
    with pytest.raises(ValidationError, match="positive number of tokens"):
        ModelLimits().register("m", -1)


def test_model_limits_table_is_extendable() -> None:
    limits = ModelLimits({"acme": 1000})
    limits.register("acme-large", 5000)
    assert limits.limit("acme-large-2025") == 5000 and limits.limit("acme-small") == 1000
    assert limits.limit("other") is None
    assert MODEL_LIMITS.limit("gpt-4o-2024-08-06") == 128_000
    guard = SmartContextGuard(model="acme-large", limits=limits, reserve=500)
    assert guard.budget_for() == 4500
    assert SmartContextGuard().budget_for("unknown-model") is None


def test_provider_reported_tokens_are_used_as_given() -> None:
    guard = SmartContextGuard(100)
    window = guard.assemble([Part("goal", "short", PartKind.GOAL, tokens=90), Part("data", "tiny", tokens=30)])
    assert window.before == 120 and window.tokens <= 100
    assert window.actions[0].part == "data"


def test_the_estimate_is_labelled() -> None:
    guard = SmartContextGuard(10, counter=EstimateCounter())
    window = guard.assemble([Part("data", "a" * 400)])
    assert window.counter == "estimate" and window.event()["counter"] == "estimate"


def test_an_llm_summarizer_is_used_and_checked() -> None:
    calls: list[int] = []

    async def summarize(text: str, max_tokens: int) -> str:
        calls.append(max_tokens)
        return "Revenue grew in the north."

    async def too_long(text: str, max_tokens: int) -> str:
        return text * 3  # a summarizer that ignores the limit is not trusted

    parts = [Part("goal", "go", PartKind.GOAL), Part("notes", PROSE * 4, PartKind.MEMORY)]
    window = asyncio.run(SmartContextGuard(60, summarizer=summarize).assemble_async(parts))
    assert calls and window.actions[0].action == "llm_summarize"
    assert window.data()["notes"] == "Revenue grew in the north."
    fallback = asyncio.run(SmartContextGuard(60, summarizer=too_long).assemble_async(parts))
    assert fallback.actions[0].action == "summarize" and fallback.tokens <= 60


texts = st.text(alphabet=st.characters(codec="utf-8"), max_size=600) | st.builds(
    lambda w, n: " ".join([w] * n), st.sampled_from(["tool", "row 1 ok.", "é😀", "\n"]), st.integers(0, 300)
)
contents = texts | st.lists(texts, max_size=12) | st.dictionaries(st.text(max_size=5), texts, max_size=4)
parts_strategy = st.lists(
    st.builds(
        Part,
        name=st.text(min_size=1, max_size=8),
        content=contents,
        kind=st.sampled_from(list(PartKind)),
        pinned=st.booleans(),
        tokens=st.none() | st.integers(0, 400),
    ),
    max_size=12,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(parts=parts_strategy, budget=st.integers(1, 600))
def test_never_more_than_the_budget_whatever_the_input(parts: list[Part], budget: int) -> None:
    guard = SmartContextGuard(budget)
    pinned = [(p.name, p.content) for p in parts if p.pinned]
    pinned_tokens = sum(guard.count(p) for p in parts if p.pinned)
    if pinned_tokens > budget:
        with pytest.raises(ContextBudgetError):
            guard.assemble(parts)
        return
    window = guard.assemble(parts)
    assert window.tokens <= window.bound <= budget
    assert sum(guard.count(p) for p in window.parts) == window.tokens
    assert [(p.name, p.content) for p in window.parts if p.pinned] == pinned


def test_an_llm_agent_summarizes_when_configured() -> None:
    parts = [Part("goal", "go", PartKind.GOAL), Part("notes", PROSE * 6, PartKind.MEMORY)]
    with OpenAIServer(lambda request: Reply("North grew twelve percent; south costs fell.")) as server:
        agent = LLMAgent("test-model", base_url=server.base_url, api_key="sk-test", max_retries=0)
        guard = SmartContextGuard(60, summarizer=agent_summarizer(agent))
        window = asyncio.run(guard.assemble_async(parts))
        [request] = server.completions
    assert "Summarize the text below in at most" in request.messages[-1]["content"]
    assert window.data()["notes"] == "North grew twelve percent; south costs fell."
    assert window.actions[0].action == "llm_summarize" and window.tokens <= 60
    with OpenAIServer(lambda request: Reply("")) as server:  # an empty answer: summarized extractively
        agent = LLMAgent("test-model", base_url=server.base_url, api_key="sk-test", max_retries=0)
        fallback = asyncio.run(SmartContextGuard(60, summarizer=agent_summarizer(agent)).assemble_async(parts))
    assert fallback.tokens <= 60 and fallback.actions[0].action == "summarize"
    with pytest.raises(ValidationError, match="needs an agent with run"):
        agent_summarizer(object())


class CallCounter:
    """The real offline tokenizer, recording which texts it tokenized (its cache and bound as they are)."""

    def __init__(self) -> None:
        self.real = default_counter()
        self.source = self.real.source
        self.tokenized: list[str] = []

    def count(self, text: str) -> int:
        self.tokenized.append(text)
        return self.real.count(text)

    def cached(self, text: str) -> int | None:
        return None  # every text is new to this counter

    def bound(self, text: str) -> int:
        return self.real.bound(text)  # type: ignore[attr-defined]


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=400) | st.binary(max_size=300).map(lambda b: b.decode("latin-1")))
def test_the_tokenizer_bound_is_never_below_the_count(text: str) -> None:
    counter = default_counter()
    assert counter.bound(text) >= counter.count(text)  # type: ignore[attr-defined]


def test_a_window_that_fits_by_its_bounds_is_not_tokenized_until_read() -> None:
    counter = CallCounter()
    parts = window_parts()
    window = SmartContextGuard(100_000, counter=counter).assemble(parts)
    assert counter.tokenized == [] and not window.compressed
    exact = sum(counter.real.count(p.text()) for p in parts)
    assert window.bound >= exact
    assert window.tokens == exact == window.before  # counted on first read, once
    assert len(counter.tokenized) == len(parts)
    assert window.tokens == exact and len(counter.tokenized) == len(parts)


def test_a_tight_window_is_counted_largest_part_first_until_it_fits() -> None:
    counter = CallCounter()
    parts = window_parts()
    exact = sum(counter.real.count(p.text()) for p in parts)
    window = SmartContextGuard(exact + 5, counter=counter).assemble(parts)
    assert not window.compressed and window.tokens == exact
    largest = max(parts, key=lambda p: counter.bound(p.text()))
    assert counter.tokenized[0] == largest.text()
    assert window.bound <= exact + 5


def test_an_over_budget_window_is_counted_exactly_before_compressing() -> None:
    counter = CallCounter()
    parts = window_parts()
    exact = sum(counter.real.count(p.text()) for p in parts)
    window = SmartContextGuard(exact // 2, counter=counter).assemble(parts)
    assert window.compressed and window.before == exact
    assert window.tokens == window.bound <= exact // 2
    assert window.event()["before"] == exact


def test_a_counter_without_a_bound_counts_every_part() -> None:
    calls: list[str] = []

    class Plain:
        source = "words"

        def count(self, text: str) -> int:
            calls.append(text)
            return len(text.split())

    window = SmartContextGuard(10_000, counter=Plain()).assemble(window_parts())
    assert len(calls) == len(window_parts()) and window.counter == "words"
    assert window.tokens == window.bound == sum(len(p.text().split()) for p in window_parts())
