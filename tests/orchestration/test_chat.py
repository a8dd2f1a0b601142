"""Chat against a real OpenAI-compatible HTTP server: streamed text, history, tool calls shown."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jotty.agents import LLMAgent
from jotty.orchestration import AgentConfig, ChatMessage, ChatMode, Conductor
from tests.support.openai_server import ErrorReply, FunctionCall, OpenAIServer, Reply

from .helpers import Calls


def llm(server: OpenAIServer, **kw: Any) -> LLMAgent:
    return LLMAgent("test-model", base_url=server.base_url, stream=True, max_retries=0, **kw)


async def test_chat_streams_the_answer_with_the_history(openai_server: OpenAIServer, store: Path) -> None:
    with Conductor([AgentConfig("assistant", llm(openai_server, system="Be brief."))], store=store) as conductor:
        chat = ChatMode(conductor)
        history = [ChatMessage("user", "What are transformers?"), ChatMessage("assistant", "A model family.")]
        stream = chat.stream("Explain attention", history)
        events = [event async for event in stream]

    chunks = [e for e in events if e["type"] == "text_chunk"]
    assert len(chunks) > 1 and all(c["actor"] == "assistant" for c in chunks)
    assert "".join(c["content"] for c in chunks) == "echo: Explain attention"
    done = events[-1]
    assert done["type"] == "done" and done["content"] == "echo: Explain attention"
    assert done["status"] == "completed" and done["error"] is None
    assert done["learning"]["choice"] == "assistant" and done["learning"]["steps"][0]["tokens"] > 0
    assert stream.result.tokens.total > 0

    (request,) = openai_server.completions
    assert request.stream
    assert request.messages == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "What are transformers?"},
        {"role": "assistant", "content": "A model family."},
        {"role": "user", "content": "Explain attention"},
    ]


async def test_chat_shows_tool_calls_and_their_results(openai_server: OpenAIServer, store: Path) -> None:
    def add(a: int, b: int) -> int:
        """Add two numbers."""
        return a + b

    openai_server.script(
        Reply(tool_calls=[FunctionCall("add", {"a": 2, "b": 40}, id="call_1")]),
        Reply("The sum is 42."),
    )
    with Conductor([AgentConfig("assistant", llm(openai_server, tools=[add]))], store=store) as conductor:
        events = [event async for event in ChatMode(conductor).stream("what is 2 + 40?")]

    kinds = [e["type"] for e in events]
    assert kinds.index("tool_call") < kinds.index("tool_result") < kinds.index("text_chunk") < kinds.index("done")
    call = next(e for e in events if e["type"] == "tool_call")
    assert call == {"type": "tool_call", "name": "add", "arguments": {"a": 2, "b": 40}, "id": "call_1",
                    "actor": "assistant"}  # fmt: skip
    result = next(e for e in events if e["type"] == "tool_result")
    assert result == {"type": "tool_result", "name": "add", "id": "call_1", "result": "42", "actor": "assistant"}
    assert events[-1]["content"] == "The sum is 42."
    assert openai_server.completions[1].messages[-1] == {"role": "tool", "tool_call_id": "call_1", "content": "42"}


async def test_chat_routes_around_a_failing_model(openai_server: OpenAIServer, store: Path) -> None:
    openai_server.script(ErrorReply(503, "overloaded"))  # the first request (to "down") fails
    actors = [AgentConfig("down", llm(openai_server)), AgentConfig("up", llm(openai_server))]
    with Conductor(actors, mode="dynamic", store=store) as conductor:
        events = [event async for event in ChatMode(conductor).stream("hello")]

    kinds = [e["type"] for e in events]
    assert kinds[:3] == ["route_chosen", "attempt_failed", "route_chosen"]
    assert events[0]["actor"] == "down" and events[2]["actor"] == "up"
    assert "HTTP 503: overloaded" in events[1]["error"]
    assert "".join(e["content"] for e in events if e["type"] == "text_chunk") == "echo: hello"
    assert events[-1]["actor"] == "up"


async def test_an_answer_that_was_not_streamed_arrives_as_one_chunk(store: Path) -> None:
    calls = Calls()
    actors = [AgentConfig("rejected", calls.answering("rejected", "no"), validator=lambda out: False)]
    actors.append(AgentConfig("data", calls.answering("data", {"rows": 3})))
    with Conductor(actors, mode="dynamic", store=store) as conductor:
        events = [event async for event in ChatMode(conductor).stream("count rows")]

    assert [e["type"] for e in events] == ["route_chosen", "attempt_failed", "route_chosen", "text_chunk", "done"]
    assert events[1]["error"] == "rejected's validator rejected the output"
    assert events[3] == {"type": "text_chunk", "content": '{"rows": 3}', "actor": "data", "attempt": 1}


async def test_a_new_chat_session_recalls_what_the_user_said_before(openai_server: OpenAIServer, store: Path) -> None:
    def knowing(request: Any) -> Reply:
        system = " ".join(m["content"] for m in request.messages if m["role"] == "system")
        return Reply("You live in Lisbon." if "Lisbon" in system else "I do not know where you live.")

    openai_server.rule = knowing
    with Conductor([AgentConfig("assistant", llm(openai_server, system="Be brief."))], store=store) as conductor:
        first = ChatMode(conductor).stream("My name is Ada and I moved to Lisbon last spring", [])
        assert [e async for e in first][-1]["content"] == "I do not know where you live."

    # another session: a new Conductor and ChatMode on the same store, with no history
    with Conductor([AgentConfig("assistant", llm(openai_server, system="Be brief."))], store=store) as conductor:
        second = ChatMode(conductor).stream("Where did I move to?", [])
        events = [e async for e in second]
    assert events[-1]["content"] == "You live in Lisbon."
    assert "Lisbon" in events[-1]["memory"]["recalled"][0]["text"]
    messages = openai_server.completions[-1].messages
    assert messages[0] == {"role": "system", "content": "Be brief."}
    assert messages[1]["role"] == "system" and "My name is Ada and I moved to Lisbon" in messages[1]["content"]
    assert messages[-1] == {"role": "user", "content": "Where did I move to?"}
    memory = second.result.memory
    assert memory is not None and memory.recalled and "Lisbon" in memory.recalled[0]["text"]


async def test_a_broken_stream_shows_as_a_restart_and_the_answer_is_whole(
    openai_server: OpenAIServer, store: Path
) -> None:
    openai_server.script(Reply("one two three four", disconnect_after=3), Reply("one two three four"))
    agent = LLMAgent("test-model", base_url=openai_server.base_url, stream=True, max_retries=2, backoff=0.01)
    with Conductor([AgentConfig("assistant", agent)], store=store) as conductor:
        events = [event async for event in ChatMode(conductor).stream("count")]

    kinds = [e["type"] for e in events]
    restart = events[kinds.index("stream_restarted")]
    assert restart["attempt"] == 2 and restart["actor"] == "assistant" and restart["error"]
    chunks = [(e["attempt"], e["content"]) for e in events if e["type"] == "text_chunk"]
    assert chunks[:2] == [(1, "one "), (1, "two ")]
    assert "".join(text for attempt, text in chunks if attempt == 2) == "one two three four"
    assert events[-1]["content"] == "one two three four"
