"""LLMAgent: a request refused for its context length is compressed and sent again."""

from __future__ import annotations

from typing import Any

from tests.support.openai_server import ErrorReply, OpenAIServer, Reply, prompt_words

from jotty.agents import LLMAgent
from jotty.agents.llm import context_limit, context_too_long, context_used

SENTENCES = " ".join(f"Finding number {i} says the north region sold {i * 7} units in week {i}." for i in range(60))


def agent_for(server: OpenAIServer, **kwargs: Any) -> LLMAgent:
    return LLMAgent("test-model", base_url=server.base_url, api_key="sk-test", backoff=0.01, **kwargs)


async def test_a_refused_long_context_is_compressed_and_retried(events: Any) -> None:
    history = [{"role": "user", "content": SENTENCES}, {"role": "assistant", "content": "Noted. " + SENTENCES}]
    with OpenAIServer(context_limit=300) as server:
        agent = agent_for(server, system="You write short reports.")
        result = await agent.run("Write the report on the north region.", events.ctx(history=history))
        assert result.ok, result.error
        first, second = server.completions
        assert prompt_words(first) > 300 >= prompt_words(second)
    assert second.messages[0] == {"role": "system", "content": "You write short reports."}
    assert second.messages[-1] == {"role": "user", "content": "Write the report on the north region."}
    assert result.output == "echo: Write the report on the north region."
    assert result.artifacts["requests"] == 2
    [retry] = events.of("llm_retry")
    assert retry.data["reason"] == "context_length" and "context_length_exceeded" not in retry.data["error"]
    assert "maximum context length is 300" in retry.data["error"]
    [compressed] = events.of("context_compressed")
    assert compressed.data["budget"] <= 300 and compressed.data["after"] < compressed.data["before"]
    assert {a["kind"] for a in compressed.data["actions"]} <= {"history", "goal", "instructions"}


async def test_other_400s_and_429s_are_not_context_retries(events: Any) -> None:
    with OpenAIServer() as server:
        server.script(ErrorReply(400, "unsupported parameter: foo"))
        bad = await agent_for(server).run("hi", events.ctx())
        assert not bad.ok and len(server.completions) == 1
        server.script(ErrorReply(429, "Rate limit reached for tokens per min", retry_after=0), Reply("ok"))
        limited = await agent_for(server).run("hi", events.ctx())
        assert limited.ok
    assert [e.data.get("reason") for e in events.of("llm_retry")] == [None]  # the 429's ordinary retry
    assert events.of("context_compressed") == []


async def test_a_context_that_cannot_fit_fails_with_a_clear_error(events: Any) -> None:
    with OpenAIServer(context_limit=3) as server:
        tiny = await agent_for(server).run("tell me everything about the north region", events.ctx())
        assert not tiny.ok and len(server.completions) == 1
        assert "the last user message does not fit a context of 3 tokens" in (tiny.error or "")
    with OpenAIServer(context_limit=40) as server:  # the goal itself is trimmed in the middle to fit
        long_question = "tell me everything " + SENTENCES
        fitted = await agent_for(server, system=SENTENCES).run(long_question, events.ctx())
        assert fitted.ok and "tokens cut" in fitted.output and prompt_words(server.completions[-1]) <= 40
    events.events.clear()
    with OpenAIServer() as server:  # a provider that keeps refusing, without naming its limit
        refusal = ErrorReply(400, "Input is too long for the context window", code="context_length_exceeded")
        server.script(refusal, refusal)
        result = await agent_for(server, context_retries=1).run(SENTENCES, events.ctx())
        assert not result.ok
        assert len(server.completions) == 2
        assert prompt_words(server.completions[1]) < prompt_words(server.completions[0])
    assert "still too long after 1 compressions" in (result.error or "")
    assert len(events.of("llm_retry")) == 1


def test_recognising_a_context_length_refusal() -> None:
    assert context_too_long(400, "context_length_exceeded", "")
    assert context_too_long(400, None, "This model's maximum context length is 8192 tokens.")
    assert context_too_long(400, None, "prompt is too long: 210000 tokens > 200000 maximum")
    assert not context_too_long(400, "invalid_value", "temperature must be <= 2")
    for refusal in (  # the wordings of OpenAI, vLLM, llama.cpp, Ollama, Gemini and others, without a code
        "Input is too long for the context window",
        "the request exceeds the available context size, try increasing it",
        "the input length exceeds the context length",
        "The input token count (1048577) exceeds the maximum number of tokens allowed (1048576).",
        "Error: context window exceeded",
    ):
        assert context_too_long(400, None, refusal), refusal
    for other in ("Invalid value for 'context_length': expected an integer", "context_window must be positive"):
        assert not context_too_long(400, None, other), other  # a parameter error, not a refusal (found by a hunt)
    assert not context_too_long(429, "rate_limit_exceeded", "Request too large: too many tokens per min")
    assert context_limit("This model's maximum context length is 128,000 tokens") == 128_000
    assert context_limit("prompt is too long") is None
    assert context_used("However, your messages resulted in 9,120 tokens.") == 9120
    assert context_used("prompt is too long") is None
