"""Each request to the model emits ``llm_call``: its model, when it began, how long it took, and
its tokens or the error it ended with (tracing turns these into ``chat`` spans)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from tests.support.openai_server import ErrorReply, OpenAIServer, Reply

from jotty.agents import LLMAgent


@pytest.mark.parametrize("stream", [False, True])
async def test_a_request_emits_llm_call_with_model_time_and_tokens(
    openai_server: OpenAIServer, events: Any, stream: bool
) -> None:
    openai_server.script(Reply("Paris.", usage=(11, 7)))
    agent = LLMAgent("test-model", base_url=openai_server.base_url, api_key="sk-test", stream=stream)
    before = time.time()
    result = await agent.run("Capital of France?", events.ctx())
    assert result.ok, result.error
    [call] = events.of("llm_call")
    data = call.data
    assert (data["model"], data["prompt_tokens"], data["completion_tokens"]) == ("test-model", 11, 7)
    assert data["finish_reason"] == "stop" and data["tool_calls"] == 0 and data["attempt"] == 1
    assert before <= data["started"] <= call.at and 0 < data["duration"] <= call.at - before + 1e-6
    assert "error" not in data


async def test_a_failed_request_emits_llm_call_with_its_error(openai_server: OpenAIServer, events: Any) -> None:
    openai_server.script(ErrorReply(429, "slow down", retry_after=0), Reply("ok", usage=(3, 1)))
    agent = LLMAgent("test-model", base_url=openai_server.base_url, api_key="sk-test", backoff=0.01)
    result = await agent.run("hi", events.ctx())
    assert result.ok
    failed, answered = events.of("llm_call")
    assert failed.data["attempt"] == 1 and "HTTP 429: slow down" in failed.data["error"]
    assert "prompt_tokens" not in failed.data
    assert answered.data["attempt"] == 2 and answered.data["prompt_tokens"] == 3
