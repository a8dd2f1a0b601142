"""A model calling the registry's tools badly, through ``LLMAgent`` against the OpenAI-compatible
test server: every bad call comes back to the model as an error it can read, and the run goes on."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from jotty.agents import LLMAgent, RunContext
from jotty.errors import ValidationError
from jotty.registry import DataRegistry
from tests.support.openai_server import FunctionCall, OpenAIServer, Reply, openai_server

__all__ = ["openai_server"]


async def test_a_models_bad_tool_calls_come_back_as_errors_and_the_run_goes_on(
    registry: DataRegistry, tmp_path: Path, openai_server: OpenAIServer
) -> None:
    folder = tmp_path / "d"
    folder.mkdir()
    (folder / "a.csv").write_text("x\n1\n")
    (folder / os.fsdecode(b"caf\xe9.csv")).write_text("x\n2\n")  # a name that is not UTF-8, in a listing
    await registry.add_folder(folder, "d")
    await registry.add_file(folder / "a.csv", "a")
    calls = [
        ("read_data", {"name": "a", "limit": -5}),  # clamped to 1
        ("read_data", {"name": "a", "limit": 10**30}),  # clamped to 100
        ("read_data", {"name": "d"}),  # the listing, with caf\xe9.csv
        ("read_data", {"name": "a", "limit": "all"}),
        ("read_data", {"limit": 3}),
        ("read_data", {"name": ["a"]}),
        ("read_data", {"name": "d", "path": {"file": "a.csv"}}),
        ("read_data", {"name": "d", "table": "x"}),
        ("search_data", {"query": "x", "k": -3}),
        ("search_data", {"query": None}),
        ("search_data", {"query": "x" * 10_000}),
        ("search_data", {"query": "x", "kind": "table"}),
        ("describe_data", {"name": "nope"}),
        ("describe_data", {}),
    ]
    openai_server.script(
        *(Reply(tool_calls=[FunctionCall(name, arguments)]) for name, arguments in calls),
        Reply(tool_calls=[FunctionCall("read_data", "{not json")]),
        Reply("done"),
    )
    agent = LLMAgent(
        "test-model", base_url=openai_server.base_url, api_key="sk-test", max_retries=0, tools=registry.tools()
    )
    agent.max_tool_rounds = 20
    result = await agent.run("Read the data.", RunContext())
    assert result.ok and result.output == "done", result.error
    answers = [json.loads(m["content"]) for m in openai_server.completions[-1].messages if m["role"] == "tool"]
    assert [a["rows"] for a in answers[:2]] == [[{"x": "1"}], [{"x": "1"}]]
    assert [r["path"] for r in answers[2]["rows"]] == ["a.csv", "caf\\xe9.csv"]
    expected = [
        "'limit' must be a whole number",
        "needs 'name'",
        "'name' must be a string",
        "'path' must be a string or null",
        "table= for the folder d needs path=",
        None,  # search_data with k=-3: one hit (k is clamped to 1-20)
        "'query' must be a string",
        "at most 2000 are kept",
        "kind must be one of",
        "no data source is registered as 'nope'",
        "needs 'name'",
        "not a valid JSON object",
    ]
    assert len(answers) == 3 + len(expected)
    for answer, said in zip(answers[3:], expected, strict=True):
        if said is None:
            assert isinstance(answer, list) and len(answer) == 1
        else:
            assert said in answer["error"], (said, answer)


async def test_a_path_from_a_model_that_is_not_unicode_is_refused_before_it_reaches_a_message(
    registry: DataRegistry, tmp_path: Path
) -> None:
    folder = tmp_path / "d"
    folder.mkdir()
    (folder / os.fsdecode(b"caf\xe9.bin")).write_bytes(b"\x00\x01")
    (folder / os.fsdecode(b"caf\xe9.csv")).write_text("x\n1\n")
    await registry.add_folder(folder, "d")
    read_data = {t.name: t for t in registry.tools()}["read_data"]
    for path in ("caf\udce9.bin", "caf\udce9.csv"):  # JSON's "caf\\udce9", as a model may send it
        with pytest.raises(ValidationError, match=r"path 'caf\\udce9\..*' is not Unicode text") as refused:
            await read_data.call({"name": "d", "path": path})  # the .bin's error held the raw surrogate
        json.dumps({"error": str(refused.value)}, ensure_ascii=False).encode("utf-8")  # what LLMAgent sends back
