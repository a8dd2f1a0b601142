"""The registry with agents: an LLM describes scanned files, an LLMAgent finds and reads data through
the registry's tools (against the real OpenAI-compatible test server), and flows register their
outputs as artifacts with the run and step that made them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jotty.agents import FunctionAgent, LLMAgent, RunContext
from jotty.patterns import Chain, Step
from jotty.registry import Artifact, DataRegistry
from tests.support.openai_server import ErrorReply, FunctionCall, OpenAIServer, Reply


def llm(server: OpenAIServer, **kwargs: Any) -> LLMAgent:
    return LLMAgent("test-model", base_url=server.base_url, api_key="sk-test", backoff=0.01, max_retries=0, **kwargs)


async def test_an_llm_describes_scanned_files(store: str, data: Path, openai_server: OpenAIServer) -> None:
    openai_server.rule = lambda request: Reply(
        "Daily temperatures per city." if "daily_temperatures" in request.last_message["content"] else "Other data."
    )
    async with DataRegistry(store, describer=llm(openai_server)) as registry:
        await registry.scan(data / "weather")
        source = await registry.get("weather/daily_temperatures.jsonl")
        assert source.description == "Daily temperatures per city." and source.described_by == "llm"
        prompt = openai_server.completions[0].last_message["content"]
        assert "temp_c" in prompt and "Boston" in prompt  # the schema and a sample went to the model
        openai_server.rule = lambda request: ErrorReply(500)
        fallback = await registry.add_file(data / "sales_2023.csv", "sales")
        assert fallback.described_by == "heuristic" and "3 rows" in fallback.description


async def test_an_llm_agent_finds_and_reads_data_through_the_tools(
    registry: DataRegistry, data: Path, openai_server: OpenAIServer
) -> None:
    await registry.scan(data)
    openai_server.script(
        Reply(tool_calls=[FunctionCall("search_data", {"query": "temperature per city", "k": 2})]),
        Reply(tool_calls=[FunctionCall("describe_data", {"name": "data/weather/daily_temperatures.jsonl"})]),
        Reply(tool_calls=[FunctionCall("read_data", {"name": "data/weather/daily_temperatures.jsonl", "limit": 1})]),
        Reply(tool_calls=[FunctionCall("read_data", {"name": "data", "path": "../../etc/passwd"})]),
        Reply(tool_calls=[FunctionCall("read_data", {"name": "data/shop.db", "table": "sqlite_master; --"})]),
        Reply("Boston was 3.5 C."),
    )
    agent = llm(openai_server, tools=registry.tools())
    assert [t["function"]["name"] for t in [tool.schema() for tool in agent.tools.values()]] == [
        "search_data",
        "describe_data",
        "read_data",
    ]
    result = await agent.run("How cold was Boston?", RunContext())
    assert result.ok and result.output == "Boston was 3.5 C."
    tool_messages = [m for m in openai_server.completions[-1].messages if m["role"] == "tool"]
    found = json.loads(tool_messages[0]["content"])
    assert found[0]["name"] == "data/weather/daily_temperatures.jsonl" and "temp_c" in found[0]["columns"]
    described = json.loads(tool_messages[1]["content"])
    assert described["format"] == "jsonl" and described["stats"]["rows"] == 2
    read = json.loads(tool_messages[2]["content"])
    assert read["rows"] == [{"city": "Boston", "temp_c": 3.5, "day": "2024-01-01"}] and read["truncated"]
    assert "leaves the registered folder" in json.loads(tool_messages[3]["content"])["error"]
    assert "plain identifier" in json.loads(tool_messages[4]["content"])["error"]
    assert "root:" not in json.dumps(tool_messages)


async def test_flows_register_their_outputs_as_artifacts(registry: DataRegistry, tmp_path: Path, store: str) -> None:
    def fetch(topic: str) -> list[dict[str, Any]]:
        return [{"topic": topic, "n": i} for i in range(3)]

    def write(rows: list[dict[str, Any]]) -> str:
        path = tmp_path / "report.csv"
        path.write_text("topic,n\n" + "".join(f"{r['topic']},{r['n']}\n" for r in rows))
        return str(path)

    async def note(text: str, ctx: RunContext) -> str:
        await registry.add_artifact(f"notes/{ctx.run_id}", {"seen": text}, ctx=ctx, tags=["notes"])
        return text

    flow = Chain(
        [
            Step(Artifact(FunctionAgent(fetch), registry, "rows/{run_id}", tags=["raw"]), name="fetch"),
            Step(Artifact(FunctionAgent(write), registry, "reports/{run_id}", as_path=True), name="write"),
            Step(FunctionAgent(note), name="note"),
        ]
    )
    result = await flow.run("rain", store=store, run_id="run-42")
    assert result.status.value == "completed", result.steps
    rows = await registry.get("rows/run-42")
    assert rows.kind == "run_output" and rows.run_id == "run-42" and rows.step.endswith("fetch")
    assert rows.tags == ["raw"] and rows.value == [{"topic": "rain", "n": i} for i in range(3)]
    report = await registry.get("reports/run-42")
    assert report.kind == "file" and report.format == "csv" and report.step.endswith("write")
    assert report.run_id == "run-42" and report.stats["rows"] == 3
    note = await registry.get("notes/run-42")
    assert note.step.endswith("note") and note.value == {"seen": str(tmp_path / "report.csv")}
    found = await registry.discover("", run_id="run-42", k=10)
    assert sorted(h.source.name for h in found) == ["notes/run-42", "reports/run-42", "rows/run-42"]
    assert any(e.type == "artifact_registered" for e in result.events)
