"""An ``llm`` agent in a definition, run against a real OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

import pytest

from jotty.spec import SpecError, load_flow
from tests.spec.conftest import WriteFlow
from tests.support.openai_server import FunctionCall, OpenAIServer, Reply, openai_server

__all__ = ["openai_server"]

LLM_VARS = ("JOTTY_LLM_MODEL", "JOTTY_LLM_BASE_URL", "OPENAI_BASE_URL", "JOTTY_LLM_API_KEY", "OPENAI_API_KEY")

FLOW = """
flow:
  pattern: chain
  steps:
    - name: ask
      agent:
        kind: llm
        base_url: BASE_URL
        api_key_env: MY_LLM_KEY
        system: Use the tools.
        tools: ["tools:add"]
        max_retries: 0
        params: {temperature: 0}
"""


@pytest.fixture(autouse=True)
def clean_llm_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in LLM_VARS:
        monkeypatch.delenv(name, raising=False)


async def test_llm_agent_with_tools_from_import_paths(
    openai_server: OpenAIServer, write_flow: WriteFlow, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JOTTY_LLM_MODEL", "test-model")
    monkeypatch.setenv("MY_LLM_KEY", "sk-from-env")
    openai_server.script(
        Reply(None, tool_calls=[FunctionCall("add", {"a": 2, "b": 3})], usage=(20, 5)), Reply("5", usage=(30, 1))
    )
    flow = load_flow(write_flow(FLOW.replace("BASE_URL", openai_server.base_url)))
    assert flow.steps[0].agent.name == "llm:test-model"
    result = await flow.run("What is 2 + 3?")
    assert result.ok and result.output == "5"
    assert (result.tokens.prompt, result.tokens.completion) == (50, 6)
    first, second = openai_server.completions
    assert first.headers.get("Authorization", first.headers.get("authorization")) == "Bearer sk-from-env"
    assert first.messages[0] == {"role": "system", "content": "Use the tools."}
    assert first.body["temperature"] == 0
    assert [t["function"]["name"] for t in first.tools] == ["add"]
    assert first.tools[0]["function"]["parameters"]["required"] == ["a", "b"]
    assert second.last_message["role"] == "tool" and "5" in second.last_message["content"]


def test_llm_configuration_problems_are_located(
    openai_server: OpenAIServer, write_flow: WriteFlow, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_flow(FLOW.replace("BASE_URL", openai_server.base_url))
    with pytest.raises(SpecError) as caught:
        load_flow(path)
    assert str(caught.value).startswith(
        f"{path}:9:9: flow.steps[0].agent.api_key_env: the environment variable MY_LLM_KEY"
    )
    monkeypatch.setenv("MY_LLM_KEY", "sk")
    with pytest.raises(SpecError) as caught:
        load_flow(path)  # no model anywhere
    assert str(caught.value).startswith(f"{path}:6:7: flow.steps[0].agent: LLMAgent is not configured: set the model")
    bad_tool = write_flow(FLOW.replace("tools:add", "tools:nope").replace("BASE_URL", "http://127.0.0.1:9"), "t.yaml")
    monkeypatch.setenv("JOTTY_LLM_MODEL", "m")
    with pytest.raises(SpecError) as caught:
        load_flow(bad_tool)
    assert str(caught.value).startswith(f"{bad_tool}:11:17: flow.steps[0].agent.tools[0]: cannot resolve 'tools:nope'")
