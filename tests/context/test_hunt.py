"""An adversarial hunt of the context layer: each test failed before its fix. Deduplicated tool
output never points at a copy that was cut; a part's tokens and priority are checked, and so is
what ``assemble`` is given; a long list is fitted in about log2(n) counts; a pool part named like
the pattern's own data does not replace it; a model is not given a shorter name's limit; a context
retry keeps an image message a list and a chat history stays a list of messages whose tool
results keep their calls; a max_tokens at the context limit, and a 400 about a context_length
parameter, say what they are."""

from __future__ import annotations

import time
from typing import Any

import pytest

from jotty.agents import LLMAgent, RunContext
from jotty.context import MODEL_LIMITS, ContextPolicy, Part, PartKind, PrefetchModel, SmartContextGuard
from jotty.context.messages import fit_messages, tokens_of
from jotty.errors import ValidationError
from jotty.patterns import Sequential
from tests.context.flows import Seen, chat_run
from tests.support.openai_server import OpenAIServer, prompt_words

OUTPUT = "north 120; south 80; east 95; west 60 -- the only copy of the query result. " * 3


# 1 ---------------------------------------------------------------- dedupe points at a part that is then cut


def test_a_deduplicated_tool_output_never_points_at_a_part_that_was_cut() -> None:
    """The later copy becomes "(same output as first)", then the *first* copy (oldest, same rank)
    is compressed or dropped first: the window no longer holds the output at all."""
    guard = SmartContextGuard()
    parts = [
        Part("goal", "Report the totals.", PartKind.GOAL),
        Part("first", OUTPUT, PartKind.TOOL),
        Part("second", OUTPUT, PartKind.TOOL),
    ]
    window = guard.assemble(parts, 40)
    kept = {p.name: p.content for p in window.parts}
    assert window.tokens <= 40
    if kept.get("second") == "(same output as first)":
        assert kept.get("first") == OUTPUT, (kept, [a.to_dict() for a in window.actions])


def test_fit_messages_keeps_one_copy_of_a_repeated_tool_result() -> None:
    """The same through a context-length retry: the first tool message is cut to a marker while the
    second says it is the same as '2:tool' (a name the model never sees)."""
    call = lambda i: {"id": f"c{i}", "type": "function", "function": {"name": "q", "arguments": "{}"}}  # noqa: E731
    messages = [
        {"role": "system", "content": "Answer briefly."},
        {"role": "user", "content": "totals?"},
        {"role": "assistant", "content": None, "tool_calls": [call(1)]},
        {"role": "tool", "tool_call_id": "c1", "content": OUTPUT},
        {"role": "assistant", "content": None, "tool_calls": [call(2)]},
        {"role": "tool", "tool_call_id": "c2", "content": OUTPUT},
        {"role": "user", "content": "and the sum?"},
    ]
    fitted, _ = fit_messages(messages, 150)  # room for one copy (81 tokens) and a marker, not two copies
    assert tokens_of(fitted) <= 150
    tool_contents = [m["content"] for m in fitted if m["role"] == "tool"]
    # found: [' [... 73 tokens cut ...] ', '(same output as 3:tool)']: the output is gone
    assert any("north 120" in c for c in tool_contents), tool_contents


# 2 ---------------------------------------------------------------- bad Part fields


@pytest.mark.parametrize("tokens", [float("nan"), float("inf"), "12", 2.5])
def test_a_part_with_tokens_that_are_not_a_count_is_a_clear_error(tokens: Any) -> None:
    with pytest.raises(ValidationError, match="tokens must be a count"):
        Part("search", "rows", PartKind.TOOL, tokens=tokens)


def test_a_priority_that_is_not_a_number_is_a_clear_error() -> None:
    try:
        part = Part("notes", "text " * 100, priority="high")  # type: ignore[arg-type]
    except ValidationError:
        return
    with pytest.raises(ValidationError, match="priority"):
        SmartContextGuard(20).assemble([Part("goal", "do it", PartKind.GOAL), part])


@pytest.mark.parametrize("bad", [None, "text", {"name": "x", "content": "y"}, b"bytes"])
def test_assemble_given_something_that_is_not_a_part_says_so(bad: Any) -> None:
    with pytest.raises(ValidationError, match="Part"):
        SmartContextGuard(100).assemble([Part("goal", "do it", PartKind.GOAL), bad])


# 3 ---------------------------------------------------------------- quadratic drop_oldest


def test_a_long_history_list_is_fitted_to_a_large_model_budget_quickly() -> None:
    """drop_oldest re-serialises and re-tokenizes the whole kept list for every item it adds:
    quadratic in the budget. At a 128k model's window a 200k-item history takes ~7 s (120k
    budget and 1M items: 27 s and 1.1 GB, the count cache holding 4096 copies of the list)."""
    guard = SmartContextGuard()
    history = [f"i{k}" for k in range(200_000)]
    start = time.perf_counter()
    window = guard.assemble([Part("goal", "go", PartKind.GOAL), Part("history", history, PartKind.HISTORY)], 60_000)
    elapsed = time.perf_counter() - start
    assert window.tokens <= 60_000
    assert elapsed < 2.0, f"{elapsed:.1f}s"


# 4 ---------------------------------------------------------------- pool part named like a ctx.data key


async def test_a_pool_part_named_like_the_patterns_own_data_does_not_replace_it() -> None:
    """README: "The pattern's own context (..., a Sequential's history) always stays in the
    window; the level adds to it". A fact named 'history' (or 'goal', 'memory', 'task') replaces it."""
    seen = Seen()
    pol = ContextPolicy(parts=[Part("history", "Refunds within 30 days.", PartKind.MEMORY)], prefetch=PrefetchModel())
    result = await Sequential([seen.agent("research"), seen.agent("write")]).run("the goal", level="L1", policy=pol)
    assert result.ok, result.error
    assert seen.last("write")["history"] == [{"step": "research", "output": "research done"}]


# 5 ---------------------------------------------------------------- model limits by prefix


@pytest.mark.parametrize(
    ("model", "at_least"),
    [("gpt-4-0125-preview", 128_000), ("gpt-4-1106-preview", 128_000), ("gpt-4-32k", 32_768), ("llama3.2", 128_000)],
)
def test_a_model_is_not_given_a_smaller_prefixs_limit(model: str, at_least: int) -> None:
    """'gpt-4' (8,192) and 'llama3' (8,192) match any name that starts with them, so a 128k model
    gets its windows compressed to 8k (an LLMAgent step is fitted to this limit by default)."""
    limit = MODEL_LIMITS.limit(model)
    assert limit is None or limit >= at_least, (model, limit)


# 6 ---------------------------------------------------------------- a context retry rewrites list contents


async def test_a_context_retry_keeps_a_multimodal_message_as_a_list() -> None:
    """fit_messages turns list content into JSON text for the guard, then compares the kept text
    with the original list: never equal, so an untouched image message is resent as JSON text."""
    image = [
        {"type": "text", "text": "What is in this chart?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64," + "A" * 400, "detail": "low"}},  # 85
    ]
    history = [
        {"role": "user", "content": "Describe the sales data."},
        {"role": "assistant", "content": "It shows sales by region and quarter. " * 40},
    ]
    with OpenAIServer(context_limit=150) as server:
        agent = LLMAgent("test-model", base_url=server.base_url, api_key="sk-test", backoff=0.01)
        question = {"role": "user", "content": image}  # the last user message: the goal, kept whole
        result = await agent.run(question, RunContext(data={"history": history}))
        assert result.ok, result.error
        first, second = server.completions
        assert prompt_words(first) > 150 >= prompt_words(second)
    assert first.messages[-1]["content"] == image
    assert second.messages[-1]["content"] == image, second.messages[-1]["content"][:120]


# 7 ---------------------------------------------------------------- the default model-limit guard breaks chat histories


async def test_a_chat_history_with_one_long_message_stays_a_list_of_messages(tmp_path: Any) -> None:
    """An LLMAgent step's chat history is fitted to its model's limit by default. When no suffix of
    the list fits, the guard summarizes/trims the list's JSON: ctx.data['history'] becomes a str
    and LLMAgent refuses it ("must be a list of message dicts, got str")."""
    history = [{"role": "user", "content": "the north grew. " * 200}]
    result, _ = await chat_run(str(tmp_path / "l.db"), "tiny-context-model-2", 300, "what grew?", history)
    assert result.ok, result.error


async def test_the_default_model_limit_guard_keeps_tool_results_with_their_calls(tmp_path: Any) -> None:
    """drop_oldest cuts a chat history between an assistant message with tool_calls and its tool
    result: the provider then refuses the orphan tool message (OpenAI: 400 "messages with role
    'tool' must be a response to a preceding message with 'tool_calls'")."""
    call = {"id": "c1", "type": "function", "function": {"name": "q", "arguments": "{}"}}
    history = [
        {"role": "user", "content": "What sold?"},
        {"role": "assistant", "content": "Let me look that up. " * 60, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "c1", "content": "north 120"},
        {"role": "assistant", "content": "North sold 120."},
    ]
    result, request = await chat_run(str(tmp_path / "l.db"), "tiny-context-model-3", 300, "and south?", history)
    assert result.ok, result.error
    roles = [m["role"] for m in request.messages]
    for i, message in enumerate(request.messages):
        if message["role"] == "tool":
            assert i > 0 and request.messages[i - 1].get("tool_calls"), roles


# 8 ---------------------------------------------------------------- context-length retry: recognition and errors


async def test_max_tokens_at_or_over_the_context_limit_is_named_in_the_error() -> None:
    """With max_tokens >= the named limit the budget collapses to 1 token and the error tells the
    user to shorten a three-word question."""
    history = [{"role": "user", "content": "the north grew. " * 200}]
    with OpenAIServer(context_limit=300) as server:
        agent = LLMAgent(
            "test-model", base_url=server.base_url, api_key="sk-test", backoff=0.01, params={"max_tokens": 400}
        )
        result = await agent.run("Write the report.", RunContext(data={"history": history}))
    assert not result.ok
    assert "max_tokens" in (result.error or ""), result.error


async def test_a_400_about_a_context_length_parameter_is_not_a_context_refusal() -> None:
    """`context[ _]length` anywhere in a 400's message counts as a refusal: a parameter error is
    'compressed' and reported as "the last user message does not fit a context of 5 tokens"."""
    from tests.support.openai_server import ErrorReply

    with OpenAIServer() as server:
        server.script(ErrorReply(400, "Invalid value for 'context_length': expected an integer"))
        agent = LLMAgent("test-model", base_url=server.base_url, api_key="sk-test", backoff=0.01)
        result = await agent.run("hi", RunContext())
    assert not result.ok
    assert "does not fit" not in (result.error or ""), result.error
