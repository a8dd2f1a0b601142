"""Probe: a chat turn run with ChatMode.execute (no history given) never shows the recall to an LLMAgent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from jotty.agents import LLMAgent
from jotty.orchestration import AgentConfig, ChatMode, Conductor
from tests.support.openai_server import OpenAIServer, Reply


def llm(server: OpenAIServer) -> LLMAgent:
    return LLMAgent("test-model", base_url=server.base_url, stream=True, max_retries=0, system="Be brief.")


@pytest.mark.parametrize("how", ["execute", "execute_stream", "stream"])
async def test_a_new_chat_session_sees_what_the_user_said_however_it_is_called(
    openai_server: OpenAIServer, store: Path, how: str
) -> None:
    def knowing(request: Any) -> Reply:
        system = " ".join(m["content"] for m in request.messages if m["role"] == "system")
        return Reply("You live in Lisbon." if "Lisbon" in system else "I do not know where you live.")

    openai_server.rule = knowing
    with Conductor([AgentConfig("assistant", llm(openai_server))], store=store, memory_sleep=None) as conductor:
        first = await ChatMode(conductor).execute("My name is Ada and I moved to Lisbon last spring")
        assert first.memory is not None
        await first.memory.settled()

    with Conductor([AgentConfig("assistant", llm(openai_server))], store=store, memory_sleep=None) as conductor:
        chat = ChatMode(conductor)
        question = "Where did Ada move to last spring?"
        if how == "execute":
            result = await chat.execute(question)
        else:
            stream = chat.execute_stream(question) if how == "execute_stream" else chat.stream(question)
            _ = [e async for e in stream]
            result = stream.result
    assert result.memory is not None and result.memory.recalled, "nothing recalled"
    assert "Lisbon" in result.memory.recalled[0]["text"]
    assert result.output == "You live in Lisbon.", openai_server.completions[-1].messages
