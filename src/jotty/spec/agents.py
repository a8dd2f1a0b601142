"""Agent definitions, told apart by ``kind``: ``function``, ``command`` and ``llm``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from jotty.spec.base import ImportPath, Name, Seconds, SpecModel


class FunctionAgentSpec(SpecModel):
    """A Python function as an agent (``FunctionAgent``): it is called as ``fn(input)`` or
    ``fn(input, ctx)``; what it returns is the output, what it raises a failure. An import path
    that names an ``Agent`` (or a flow) object uses that object as it is."""

    kind: Literal["function"]
    function: ImportPath
    """The function, as 'module:name'; the module is looked up beside the flow file first."""
    name: Name | None = None
    """The agent's name (default: the function's name, or the key under ``agents:``)."""
    kwargs: dict[str, Any] = Field(default_factory=dict)
    """Keyword arguments bound to the function (``functools.partial``)."""
    thread: bool = True
    """Run a synchronous function in a worker thread (false: on the event loop, for cheap functions)."""


class CommandAgentSpec(SpecModel):
    """A program as an agent (``CommandAgent``), run without a shell once per input.

    ``argv`` items are templates: ``{input}`` is the input, ``{key}`` a key of the context data.
    Relative paths (``cwd``, ``log_file``, ``log_dir``, and ``argv[0]`` when it contains a ``/``)
    are relative to the flow file's directory."""

    kind: Literal["command"]
    argv: list[str] = Field(min_length=1)
    """The program and its arguments, e.g. ``[wc, -w]`` or ``[claude, -p, "{input}"]``."""
    name: Name | None = None
    """The agent's name (default: the program's name)."""
    cwd: str | None = None
    """Working directory (default: the directory ``jotty`` runs in)."""
    env: dict[str, str] = Field(default_factory=dict)
    """Environment variables set over the current environment."""
    stdin: bool = False
    """Write the input to the program's stdin."""
    timeout: Seconds | None = None
    """Stop the program (and everything it started) after this many seconds."""
    output: Literal["text", "json"] = "text"
    """``text``: stdout, stripped; ``json``: stdout parsed as JSON."""
    log_file: str | None = None
    """Append the program's output to this file (default: a new file in ``log_dir``)."""
    log_dir: str | None = None
    """Where log files go (default: ``$JOTTY_HOME/logs``)."""
    grace_period: Annotated[float, Field(ge=0)] = 5.0
    """Seconds between SIGTERM and SIGKILL when the program is stopped."""


class LLMAgentSpec(SpecModel):
    """A model behind an OpenAI-compatible chat-completions API (``LLMAgent``; needs ``jotty[llm]``).

    The model, base URL and key may come from the environment (``JOTTY_LLM_MODEL``,
    ``JOTTY_LLM_BASE_URL``, ``JOTTY_LLM_API_KEY``); a key never belongs in a flow file."""

    kind: Literal["llm"]
    model: str | None = None
    """The model name (default: ``$JOTTY_LLM_MODEL``)."""
    system: str | None = None
    """The system prompt."""
    base_url: str | None = None
    """The API's base URL (default: ``$JOTTY_LLM_BASE_URL``, ``$OPENAI_BASE_URL``, else OpenAI)."""
    api_key_env: str | None = None
    """The environment variable that holds the API key (default: ``JOTTY_LLM_API_KEY``, ``OPENAI_API_KEY``)."""
    tools: list[ImportPath] = Field(default_factory=list)
    """Python functions the model may call, as 'module:name'."""
    stream: bool = False
    """Stream the answer as ``text_chunk`` events."""
    max_tool_rounds: Annotated[int, Field(ge=0)] = 8
    max_retries: Annotated[int, Field(ge=0)] = 3
    backoff: Annotated[float, Field(ge=0)] = 0.5
    max_backoff: Seconds = 30.0
    timeout: Seconds = 120.0
    """Seconds to wait for one response."""
    params: dict[str, Any] = Field(default_factory=dict)
    """More request parameters (``temperature``, ``max_tokens``, ...)."""
    history_key: str = "history"
    name: Name | None = None
    """The agent's name (default: ``llm:<model>``)."""


AgentSpec = FunctionAgentSpec | CommandAgentSpec | LLMAgentSpec
AGENT_KINDS: dict[str, type[SpecModel]] = {
    "function": FunctionAgentSpec,
    "command": CommandAgentSpec,
    "llm": LLMAgentSpec,
}
