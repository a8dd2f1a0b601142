"""``jotty chat`` against the real OpenAI-compatible server, and ``jotty learning show``."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jotty.cli.main import app
from jotty.orchestration import AgentConfig, Conductor
from tests.support.openai_server import FunctionCall, OpenAIServer, Reply

from .helpers import Calls

LLM_VARS = ("JOTTY_LLM_BASE_URL", "OPENAI_BASE_URL", "JOTTY_LLM_API_KEY", "OPENAI_API_KEY", "JOTTY_LLM_MODEL")


@pytest.fixture
def no_llm_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in (*LLM_VARS, "JOTTY_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_chat_streams_answers_and_keeps_the_conversation(
    openai_server: OpenAIServer, store: Path, no_llm_env: pytest.MonkeyPatch
) -> None:
    no_llm_env.setenv("JOTTY_LLM_BASE_URL", openai_server.base_url)
    no_llm_env.setenv("JOTTY_LLM_MODEL", "test-model")
    result = CliRunner().invoke(app, ["chat", "--db", str(store)], input="hello\n\nand then?\n/exit\nignored\n")

    assert result.exit_code == 0, (result.output, result.exception)
    assert "echo: hello" in result.stdout and "echo: and then?" in result.stdout
    assert "test-model" in result.stderr
    first, second = openai_server.completions
    assert first.stream and first.model == "test-model"
    assert second.messages == [
        {"role": "user", "content": "hello"},
        {"role": "assistant", "content": "echo: hello"},
        {"role": "user", "content": "and then?"},
    ]
    shown = CliRunner().invoke(app, ["learning", "show", "--db", str(store)])
    assert shown.exit_code == 0 and "assistant" in shown.stdout and "chat" in shown.stdout


def test_chat_shows_tool_calls(openai_server: OpenAIServer, store: Path, no_llm_env: pytest.MonkeyPatch) -> None:
    # The CLI gives the model no tools; a model that calls one anyway is told so, and the chat shows it.
    openai_server.script(Reply(tool_calls=[FunctionCall("search", {"q": "x"}, id="c1")]), Reply("no tools here"))
    args = ["chat", "--base-url", openai_server.base_url, "--model", "test-model", "--db", str(store)]
    result = CliRunner().invoke(app, args, input="look it up\n")

    assert result.exit_code == 0, (result.output, result.exception)
    assert '-> search({"q": "x"})' in result.stdout
    assert "<- search: unknown tool 'search'" in result.stdout
    assert "no tools here" in result.stdout


def test_chat_without_an_llm_endpoint_says_what_to_set(store: Path, no_llm_env: pytest.MonkeyPatch) -> None:
    result = CliRunner().invoke(app, ["chat", "--db", str(store)], input="hello\n")
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert result.stderr.startswith("error: jotty chat needs an LLM endpoint and a model")
    assert "JOTTY_LLM_BASE_URL" in result.stderr and "JOTTY_LLM_MODEL" in result.stderr


def _learn(store: Path) -> None:
    calls = Calls()
    actors = [AgentConfig("coder", calls.appender("coder")), AgentConfig("broken", calls.failing("broken"))]
    with Conductor(actors, mode="dynamic", store=store) as conductor:
        for i in range(3):
            asyncio.run(conductor.run(f"fix parser bug {i}", {"category": "code"}))


def test_learning_show_prints_the_learning_table(store: Path, no_llm_env: pytest.MonkeyPatch) -> None:
    _learn(store)
    result = CliRunner().invoke(app, ["learning", "show", "--db", str(store)])
    assert result.exit_code == 0, (result.output, result.exception)
    out = result.stdout
    assert "Actors by category" in out and "Keywords" in out
    assert "coder" in out and "broken" in out and "code" in out and "parser" in out

    as_json = CliRunner().invoke(app, ["learning", "show", "--json", "--actor", "coder", "--db", str(store)])
    data = json.loads(as_json.stdout)
    rows = {(r["actor"], r["category"]): r for r in data["rows"]}
    assert set(rows) == {("coder", "(all)"), ("coder", "code")}
    assert rows[("coder", "code")]["attempts"] == rows[("coder", "code")]["successes"] >= 2
    assert {k["actor"] for k in data["keywords"]} == {"coder"}


def test_learning_show_on_an_empty_or_missing_store(tmp_path: Path, no_llm_env: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "nowhere.db"
    result = CliRunner().invoke(app, ["learning", "show", "--db", str(missing)])
    assert result.exit_code == 1 and f"error: no store at {missing}: check --db" in result.stderr
    assert not missing.exists()
    no_llm_env.setenv("JOTTY_HOME", str(tmp_path / "home"))  # the default store, not made yet: not an error
    result = CliRunner().invoke(app, ["learning", "show"])
    assert result.exit_code == 0 and "nothing learned yet: there is no store at" in result.stdout
    assert not (tmp_path / "home").exists()
    with Conductor([AgentConfig("a", str)], store=tmp_path / "empty.db"):
        pass
    result = CliRunner().invoke(app, ["learning", "show", "--db", str(tmp_path / "empty.db")])
    assert result.exit_code == 0 and "nothing learned yet in" in result.stdout


def test_chat_shows_a_models_control_characters_as_escapes(
    openai_server: OpenAIServer, store: Path, no_llm_env: pytest.MonkeyPatch
) -> None:
    # A model's text, a tool call's name and arguments, and its result reach the terminal as escapes:
    # "\x1b[2J" would clear the user's screen, "\x9b" is the one-byte CSI of C1.
    openai_server.script(
        Reply(tool_calls=[FunctionCall("se\x1b[2Jarch", {"q": "\x9b31m"}, id="c1")]),
        Reply("done \x1b]0;owned\x07 here\nnext line", chunks=["done \x1b]0;", "owned\x07 here\n", "next line"]),
    )
    args = ["chat", "--base-url", openai_server.base_url, "--model", "test-model", "--db", str(store)]
    result = CliRunner().invoke(app, args, input="look it up\n")

    assert result.exit_code == 0, (result.output, result.exception)
    assert not any(c in result.stdout for c in "\x1b\x07\x9b"), repr(result.stdout)
    assert "done \\x1b]0;owned\\x07 here\nnext line" in result.stdout  # newlines stay newlines
    assert '-> se\\x1b[2Jarch({"q": "\\u009b31m"})' in result.stdout
    assert "<- se\\x1b[2Jarch: unknown tool" in result.stdout
