"""``jotty chat``: talk to an LLM through the Conductor, streaming, with tool calls shown.

The model is an ``LLMAgent`` configured from the environment (``JOTTY_LLM_BASE_URL`` or
``OPENAI_BASE_URL``, ``JOTTY_LLM_API_KEY`` or ``OPENAI_API_KEY``, ``JOTTY_LLM_MODEL``) or the
options. Every turn is a Conductor run, so it is learned from like any other.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Annotated

import typer
from rich.text import Text

from jotty.cli.console import SqlDbOption, console, err_console, escaped, fail, friendly_errors, json_text
from jotty.errors import AgentError

if TYPE_CHECKING:  # imported when the command runs: `jotty --help` stays quick
    from jotty.agents import LLMAgent
    from jotty.orchestration import ChatMessage, ChatMode

EXIT_WORDS = frozenset({"/exit", "/quit", "exit", "quit"})


def _model(model: str | None, base_url: str | None, system: str | None) -> LLMAgent:
    from jotty.agents import LLMAgent
    from jotty.agents.llm_config import BASE_URL_VARS, MODEL_VARS

    try:
        return LLMAgent(model, base_url=base_url, system=system, stream=True, name="assistant")
    except AgentError as exc:
        fail(
            f"jotty chat needs an LLM endpoint and a model: set {' or '.join(BASE_URL_VARS)} (an OpenAI-compatible "
            f"server) or OPENAI_API_KEY (the OpenAI API), and {' or '.join(MODEL_VARS)}; or pass --base-url and "
            f"--model. ({exc})",
            code=2,
        )


async def _turn(chat: ChatMode, line: str, history: list[ChatMessage]) -> str:
    """Stream one answer to the console; return its text."""
    answer = ""
    async for event in chat.stream(line, history):
        kind = event["type"]
        if kind == "text_chunk":
            console.out(escaped(event["content"]), end="", highlight=False)
        elif kind == "stream_restarted":
            note = f"\n  (the stream broke: {escaped(event['error'])}; answering again, attempt {event['attempt']})"
            console.print(Text(note, style="dim"))
        elif kind == "tool_call":
            arguments = json_text(event["arguments"], indent=None)
            console.print(Text(f"\n  -> {escaped(event['name'])}({arguments})", style="dim"))
        elif kind == "tool_result":
            shown = event.get("result", event.get("error"))
            style = "dim red" if "error" in event else "dim"
            console.print(Text(f"  <- {escaped(event['name'])}: {escaped(shown)}", style=style))
        elif kind == "done":
            console.out("")
            if event["error"]:
                err_console.print(Text.assemble(("error: ", "bold red"), escaped(event["error"])))
            answer = event["content"] or ""
    return answer


def chat(
    model: Annotated[str | None, typer.Option("--model", "-m", help="Model name [default: $JOTTY_LLM_MODEL]")] = None,
    base_url: Annotated[
        str | None, typer.Option("--base-url", help="OpenAI-compatible endpoint [default: $JOTTY_LLM_BASE_URL]")
    ] = None,
    system: Annotated[str | None, typer.Option("--system", "-s", help="A system prompt.")] = None,
    db: SqlDbOption = None,
) -> None:
    """Chat with an LLM, streaming its answers; /exit or Ctrl-D leaves."""
    from jotty.orchestration import AgentConfig, ChatMessage, ChatMode, Conductor

    agent = _model(model, base_url, system)
    with friendly_errors():
        conductor = Conductor([AgentConfig("assistant", agent, "answers in chat")], store=db)
    session = ChatMode(conductor)
    history: list[ChatMessage] = []
    where = agent.config.base_url or "the OpenAI API"
    err_console.print(Text(f"jotty chat: {agent.config.model} at {where}; /exit or Ctrl-D to leave", style="dim"))
    try:
        while True:
            try:
                line = console.input("[bold]you>[/] ")
            except EOFError:
                console.out("")
                break
            if line.strip() in EXIT_WORDS:
                break
            if not line.strip():
                continue
            with friendly_errors():
                answer = asyncio.run(_turn(session, line, history))
            history += [ChatMessage("user", line), ChatMessage("assistant", answer)]
    except KeyboardInterrupt:
        console.out("")
    finally:
        conductor.close()
