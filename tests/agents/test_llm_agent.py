from __future__ import annotations

import asyncio
import itertools
import json
import socket
import sys
from typing import Any

import pytest
from tests.support.openai_server import (
    ErrorReply,
    FunctionCall,
    OpenAIServer,
    RecordedRequest,
    Reply,
    Response,
)

from jotty.agents import LLMAgent, RunContext
from jotty.errors import AgentError, ValidationError

LLM_VARS = (
    "JOTTY_LLM_MODEL",
    "JOTTY_LLM_BASE_URL",
    "OPENAI_BASE_URL",
    "JOTTY_LLM_API_KEY",
    "OPENAI_API_KEY",
)


@pytest.fixture(autouse=True)
def clean_llm_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in LLM_VARS:
        monkeypatch.delenv(name, raising=False)


def agent_for(server: OpenAIServer, **kwargs: Any) -> LLMAgent:
    kwargs.setdefault("backoff", 0.01)
    return LLMAgent("test-model", base_url=server.base_url, api_key="sk-test", **kwargs)


async def test_plain_completion(openai_server: OpenAIServer, events: Any) -> None:
    openai_server.script(Reply("Paris.", usage=(11, 7)))
    agent = agent_for(openai_server, system="Answer in one word.")
    result = await agent.run("Capital of France?", events.ctx())
    assert result.ok, result.error
    assert result.output == "Paris."
    assert (result.tokens.prompt, result.tokens.completion, result.tokens.total) == (11, 7, 18)
    assert result.duration > 0
    assert result.artifacts["requests"] == 1 and result.artifacts["finish_reason"] == "stop"
    [request] = openai_server.completions
    assert request.model == "test-model" and not request.stream
    assert request.messages == [
        {"role": "system", "content": "Answer in one word."},
        {"role": "user", "content": "Capital of France?"},
    ]
    assert request.headers["authorization"] == "Bearer sk-test"
    assert "tools" not in request.body
    assert events.of("text_chunk") == []  # only streaming emits text chunks


async def test_history_from_context_and_message_list_input(openai_server: OpenAIServer) -> None:
    history = [{"role": "user", "content": "My name is Ada."}, {"role": "assistant", "content": "Hi Ada."}]
    agent = agent_for(openai_server)
    result = await agent.run([{"role": "user", "content": "What is my name?"}], RunContext(data={"history": history}))
    assert result.output == "echo: What is my name?"
    assert openai_server.completions[0].messages == [*history, {"role": "user", "content": "What is my name?"}]
    conversation = result.artifacts["messages"]
    assert conversation[-1] == {"role": "assistant", "content": "echo: What is my name?"}


async def test_non_string_input_is_sent_as_json(openai_server: OpenAIServer) -> None:
    result = await agent_for(openai_server).run({"task": "sum", "values": [1, 2]})
    assert openai_server.completions[0].last_message == {
        "role": "user",
        "content": json.dumps({"task": "sum", "values": [1, 2]}),
    }
    assert result.ok


async def test_streaming_emits_text_chunks_in_order(openai_server: OpenAIServer, events: Any) -> None:
    openai_server.script(Reply("Hello there, world", chunks=["Hel", "lo there", ", world"], usage=(5, 3)))
    result = await agent_for(openai_server, stream=True).run("hi", events.ctx())
    assert result.ok, result.error
    assert result.output == "Hello there, world"
    assert [e.data["content"] for e in events.of("text_chunk")] == ["Hel", "lo there", ", world"]
    assert all(e.step_path == "step" and e.run_id == "run-1" for e in events.of("text_chunk"))
    assert (result.tokens.prompt, result.tokens.completion) == (5, 3)
    [request] = openai_server.completions
    assert request.stream and request.body["stream_options"] == {"include_usage": True}


async def test_streamed_text_arrives_before_the_response_ends(openai_server: OpenAIServer) -> None:
    openai_server.script(Reply("a b c d", chunk_delay=0.05))
    arrivals: list[float] = []

    async def sink(event: Any) -> None:
        if event.type == "text_chunk":
            arrivals.append(asyncio.get_running_loop().time())

    await agent_for(openai_server, stream=True).run("go", RunContext(sink=sink))
    assert len(arrivals) == 4
    assert arrivals[-1] - arrivals[0] >= 0.1  # chunks were delivered as they were sent, not at the end


def add(a: int, b: int) -> int:
    """Add two integers.

    Args:
        a: the first number
        b: the second number
    """
    return a + b


async def shout(text: str, times: int = 1) -> str:
    """Upper-case a text."""
    await asyncio.sleep(0)
    return "!".join([text.upper()] * times)


def tool_then_answer(*calls: FunctionCall) -> Any:
    """A rule: ask for ``calls`` first; once tool results come back, answer with them."""

    def rule(request: RecordedRequest) -> Response:
        results = [m["content"] for m in request.messages if m.get("role") == "tool"]
        if results:
            return Reply("results: " + " | ".join(results))
        return Reply(tool_calls=list(calls))

    return rule


@pytest.mark.parametrize("stream", [False, True])
async def test_tool_calls_round_trip(openai_server: OpenAIServer, events: Any, stream: bool) -> None:
    openai_server.rule = tool_then_answer(
        FunctionCall("add", {"a": 2, "b": 40}, id="call_add"),
        FunctionCall("shout", {"text": "hey", "times": 2}, id="call_shout"),
    )
    agent = agent_for(openai_server, tools=[add, shout], stream=stream)
    result = await agent.run("use the tools", events.ctx())
    assert result.ok, result.error
    assert result.output == "results: 42 | HEY!HEY"
    first, second = openai_server.completions
    schemas = {t["function"]["name"]: t["function"] for t in first.tools}
    assert schemas["add"]["description"] == "Add two integers."
    assert schemas["add"]["parameters"]["properties"]["a"] == {"type": "integer", "description": "the first number"}
    assert schemas["shout"]["parameters"]["required"] == ["text"]
    assistant, tool_add, tool_shout = second.messages[-3:]
    assert assistant["role"] == "assistant"
    assert [c["id"] for c in assistant["tool_calls"]] == ["call_add", "call_shout"]
    assert json.loads(assistant["tool_calls"][0]["function"]["arguments"]) == {"a": 2, "b": 40}
    assert tool_add == {"role": "tool", "tool_call_id": "call_add", "content": "42"}
    assert tool_shout == {"role": "tool", "tool_call_id": "call_shout", "content": "HEY!HEY"}
    calls = {e.data["id"]: e.data for e in events.of("tool_call")}
    assert calls["call_add"]["name"] == "add" and json.loads(calls["call_add"]["arguments"]) == {"a": 2, "b": 40}
    results = {e.data["id"]: e.data for e in events.of("tool_result")}
    assert results["call_add"] == {"name": "add", "id": "call_add", "result": "42"}
    assert result.artifacts["requests"] == 2
    assert result.tokens.completion > 0


async def test_tool_problems_go_back_to_the_model(openai_server: OpenAIServer, events: Any) -> None:
    def explode(reason: str) -> str:
        raise RuntimeError(f"tool broke: {reason}")

    openai_server.rule = tool_then_answer(
        FunctionCall("add", "{not json", id="bad_json"),
        FunctionCall("explode", {"reason": "disk full"}, id="raises"),
        FunctionCall("missing_tool", {}, id="unknown"),
        FunctionCall("add", {"a": 1}, id="missing_arg"),
    )
    agent = agent_for(openai_server, tools=[add, explode])
    result = await agent.run("try", events.ctx())
    assert result.ok, result.error
    tool_messages = {m["tool_call_id"]: json.loads(m["content"]) for m in openai_server.completions[1].messages[-4:]}
    assert "not a valid JSON object" in tool_messages["bad_json"]["error"]
    assert tool_messages["raises"] == {"error": "RuntimeError: tool broke: disk full"}
    assert tool_messages["unknown"]["error"] == "unknown tool 'missing_tool'; available tools: add, explode"
    assert tool_messages["missing_arg"]["error"] == (
        "ValidationError: tool 'add' needs 'b' (its required parameters: ['a', 'b'])"
    )
    errors = {e.data["id"]: e.data["error"] for e in events.of("tool_result")}
    assert set(errors) == {"bad_json", "raises", "unknown", "missing_arg"}


async def test_tool_rounds_are_bounded(openai_server: OpenAIServer) -> None:
    openai_server.rule = lambda request: Reply(tool_calls=[FunctionCall("add", {"a": 1, "b": 1})])
    result = await agent_for(openai_server, tools=[add], max_tool_rounds=2).run("loop forever")
    assert not result.ok and "after 2 tool rounds" in (result.error or "")
    assert len(openai_server.completions) == 3
    assert result.tokens.total > 0


async def test_rate_limit_is_retried_honouring_retry_after(openai_server: OpenAIServer, events: Any) -> None:
    openai_server.script(ErrorReply(429, "slow down", retry_after=0.2), ErrorReply(429, retry_after=0.2), Reply("ok"))
    result = await agent_for(openai_server, max_retries=3, backoff=5.0).run("hi", events.ctx())
    assert result.ok and result.output == "ok"
    times = [r.at for r in openai_server.completions]
    assert len(times) == 3 and result.artifacts["requests"] == 3
    assert all(later - earlier >= 0.19 for earlier, later in itertools.pairwise(times))
    retries = events.of("llm_retry")
    assert [e.data["attempt"] for e in retries] == [1, 2]
    assert retries[0].data["delay"] == 0.2 and "HTTP 429: slow down" in retries[0].data["error"]


async def test_server_errors_exhaust_retries_into_a_failure(openai_server: OpenAIServer) -> None:
    openai_server.script(*[ErrorReply(500, "upstream exploded")] * 3, Reply("never reached"))
    result = await agent_for(openai_server, max_retries=2).run("hi")
    assert not result.ok and result.output is None
    assert "failed after 3 attempts: HTTP 500: upstream exploded" in (result.error or "")
    assert "test-model" in (result.error or "") and openai_server.base_url in (result.error or "")
    assert len(openai_server.completions) == 3 and openai_server.pending == 1
    assert result.artifacts["requests"] == 3


async def test_client_errors_are_not_retried(openai_server: OpenAIServer) -> None:
    openai_server.script(ErrorReply(401, "invalid key"), ErrorReply(400, "bad request"))
    unauthorized = await agent_for(openai_server).run("hi")
    assert not unauthorized.ok and "HTTP 401: invalid key" in (unauthorized.error or "")
    assert "JOTTY_LLM_API_KEY" in (unauthorized.error or "")
    bad = await agent_for(openai_server).run("hi")
    assert "HTTP 400: bad request" in (bad.error or "")
    assert len(openai_server.completions) == 2


async def test_a_slow_response_times_out_and_is_retried(openai_server: OpenAIServer, events: Any) -> None:
    openai_server.script(Reply("too late", delay=3), Reply("fast"))
    result = await agent_for(openai_server, timeout=0.3, max_retries=1).run("hi", events.ctx())
    assert result.ok and result.output == "fast"
    assert len(openai_server.completions) == 2
    assert "no response within 0.3s" in events.of("llm_retry")[0].data["error"]


async def test_unreachable_endpoint_is_a_failure_after_retries(events: Any) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    agent = LLMAgent("m", base_url=f"http://127.0.0.1:{port}/v1", max_retries=1, backoff=0.01)
    result = await agent.run("hi", events.ctx())
    assert not result.ok and "cannot connect" in (result.error or "") and "after 2 attempts" in (result.error or "")
    assert len(events.of("llm_retry")) == 1


async def test_a_cut_stream_is_restarted_and_its_chunks_are_marked_void(
    openai_server: OpenAIServer, events: Any
) -> None:
    openai_server.script(Reply("one two three four", disconnect_after=3), Reply("one two three four"))
    result = await agent_for(openai_server, stream=True).run("hi", events.ctx())
    assert result.ok and result.output == "one two three four"
    assert len(openai_server.completions) == 2
    chunks = [(e.data["attempt"], e.data["content"]) for e in events.of("text_chunk")]
    assert chunks == [(1, "one "), (1, "two "), (2, "one "), (2, "two "), (2, "three "), (2, "four")]
    [restart] = events.of("stream_restarted")
    assert restart.data["attempt"] == 2 and restart.data["discarded_chunks"] == 2
    assert "stream" in restart.data["error"]
    kinds = [e.type for e in events.events]
    assert kinds.index("stream_restarted") < kinds.index("text_chunk", 2)  # before the new attempt's chunks


async def test_a_stream_broken_every_time_fails_after_max_retries(openai_server: OpenAIServer, events: Any) -> None:
    openai_server.script(*[Reply("one two three", disconnect_after=2)] * 3)
    result = await agent_for(openai_server, stream=True, max_retries=2).run("hi", events.ctx())
    assert not result.ok and "failed after 3 attempts" in (result.error or "")
    assert result.output is None  # no half answer
    assert len(events.of("stream_restarted")) == 2


async def test_a_cut_stream_before_any_text_is_retried(openai_server: OpenAIServer) -> None:
    openai_server.script(Reply("one two", disconnect_after=1), Reply("whole answer"))
    result = await agent_for(openai_server, stream=True).run("hi")
    assert result.ok and result.output == "whole answer"
    assert len(openai_server.completions) == 2


async def test_a_failing_sink_propagates(openai_server: OpenAIServer) -> None:
    async def sink(event: Any) -> None:
        raise OSError("sink down")

    with pytest.raises(OSError, match="sink down"):
        await agent_for(openai_server, stream=True).run("hi", RunContext(sink=sink))
    assert len(openai_server.completions) == 1


async def test_config_from_the_environment(openai_server: OpenAIServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JOTTY_LLM_MODEL", "env-model")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://wrong.invalid/v1")
    monkeypatch.setenv("JOTTY_LLM_BASE_URL", openai_server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
    agent = LLMAgent()
    assert agent.config.model == "env-model" and agent.config.base_url == openai_server.base_url
    assert "sk-env" not in repr(agent.config)
    result = await agent.run("hi")
    assert result.ok and openai_server.completions[0].model == "env-model"
    assert openai_server.completions[0].headers["authorization"] == "Bearer sk-env"


async def test_a_local_endpoint_needs_no_key(openai_server: OpenAIServer) -> None:
    result = await LLMAgent("m", base_url=openai_server.base_url).run("hi")
    assert result.ok and result.output == "echo: hi"


def test_missing_config_names_the_variables() -> None:
    with pytest.raises(AgentError, match="JOTTY_LLM_MODEL") as missing:
        LLMAgent()
    message = str(missing.value)
    assert "JOTTY_LLM_API_KEY / OPENAI_API_KEY" in message and "JOTTY_LLM_BASE_URL / OPENAI_BASE_URL" in message
    with pytest.raises(AgentError, match="an API key") as no_key:
        LLMAgent("gpt-x")
    assert "model" not in str(no_key.value).split("set", 1)[1].split("an API key")[0]


def test_missing_openai_package_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "openai", None)  # makes `import openai` raise ImportError
    with pytest.raises(AgentError, match=r"pip install 'jotty\[llm\]'"):
        LLMAgent("m", api_key="k")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_retries": -1}, "max_retries must be an integer >= 0"),
        ({"max_tool_rounds": 1.5}, "max_tool_rounds must be an integer >= 0"),
        ({"timeout": 0}, "timeout must be > 0"),
        ({"backoff": -1}, "backoff times must be >= 0"),
        ({"tools": [lambda x: x]}, "tool name '<lambda>' is not allowed"),
        ({"tools": [add, add]}, "two tools are named 'add'"),
    ],
)
def test_bad_arguments_are_rejected(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        LLMAgent("m", api_key="k", **kwargs)


@pytest.mark.parametrize(
    ("input", "ctx_data", "message"),
    [
        (None, {}, "got no input"),
        ([{"content": "no role"}], {}, r"input\[0\] is not a chat message"),
        ([{"role": "wizard", "content": "x"}], {}, "role one of"),
        ("hi", {"history": "not a list"}, r"ctx.data\['history'\] must be a list"),
    ],
)
async def test_bad_input_is_a_clear_error(
    openai_server: OpenAIServer, input: Any, ctx_data: dict[str, Any], message: str
) -> None:
    with pytest.raises(AgentError, match=message):
        await agent_for(openai_server).run(input, RunContext(data=ctx_data))
    assert openai_server.completions == []


async def test_one_agent_serves_several_event_loops(openai_server: OpenAIServer) -> None:
    agent = agent_for(openai_server)
    assert (await agent.run("first")).ok

    def in_another_loop() -> bool:
        return asyncio.run(agent.run("second")).ok

    assert await asyncio.to_thread(in_another_loop)


async def test_a_tool_result_that_is_not_unicode_reaches_the_model_replaced(
    openai_server: OpenAIServer, events: Any
) -> None:
    # os.listdir keeps a file name's undecodable byte as a lone surrogate; JSON's "\udce9" makes one too.
    def listing() -> list[str]:
        return [b"caf\xe9.csv".decode("utf-8", "surrogateescape"), "notes.txt"]

    def broken() -> str:
        raise OSError(json.loads('"no such file: caf\\udce9"'))

    openai_server.rule = tool_then_answer(
        FunctionCall("listing", {}, id="files"), FunctionCall("broken", {}, id="fails")
    )
    result = await agent_for(openai_server, tools=[listing, broken]).run("list", events.ctx())
    assert result.ok, result.error
    sent = {m["tool_call_id"]: m["content"] for m in openai_server.completions[1].messages[-2:]}
    assert json.loads(sent["files"]) == ["caf\ufffd.csv", "notes.txt"]
    assert json.loads(sent["fails"]) == {"error": "OSError: no such file: caf\ufffd"}
