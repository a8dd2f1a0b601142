"""``LLMAgent``: a model behind any OpenAI-compatible chat-completions endpoint.

Streams text as ``text_chunk`` events (each with its ``attempt`` number), runs the Python
functions it is given as tools (``tool_call``/``tool_result`` events), retries transient failures
itself with exponential backoff and jitter (honouring ``Retry-After``; each retry emits
``llm_retry``) and reports token usage (each request emits ``llm_call`` with its model, time
and tokens). A stream that breaks (cut short, dropped, a malformed
chunk) is a transient failure too: if it had streamed text, ``stream_restarted`` tells consumers
that this attempt's chunks are void, and the next attempt streams the answer anew (half an answer
is never kept). The ``openai`` package (``jotty[llm]``) is imported only when an ``LLMAgent`` is
made.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from time import perf_counter
from typing import Any

from jotty.agents.base import Agent, AgentResult, RunContext, TokenUsage
from jotty.agents.completion import (
    Completion,
    IncompleteResponseError,
    ToolCall,
    complete,
    complete_streaming,
    llm_call_data,
)
from jotty.agents.llm_config import API_KEY_VARS, LOCAL_API_KEY, MODEL_VARS, LLMConfig
from jotty.agents.retry import Backoff, retry_after, retryable_status
from jotty.agents.template import as_text
from jotty.agents.tools import Tool, as_tools
from jotty.errors import AgentError, ValidationError
from jotty.events import EventType
from jotty.unicode import sendable

logger = logging.getLogger(__name__)

_ROLES = frozenset({"system", "developer", "user", "assistant", "tool"})


class LLMAgent(Agent):
    """Chat completions with an optional system prompt, tools, streaming and retries.

    ``input`` is a user message (a string), one message dict or a list of message dicts
    (``{"role": ..., "content": ...}``); messages in ``ctx.data[history_key]`` (default
    ``"history"``; a pattern's records of earlier work, ``{"step" or "task", "output"}``, are the
    assistant's turns) come before it, and a text in ``ctx.data[context_key]`` (default
    ``"context"``: the window a context level assembled) follows the system prompt. The tools in
    ``ctx.data[tools_key]`` (default ``"skill_tools"``: the tools of the window's skills, read
    again before each request) are offered beside the agent's own, which win a name they share.
    The output is the model's final text; ``artifacts`` hold the model, the number of requests
    and the whole conversation (``messages``).

    A request the provider refuses because the context is too long (its error code
    ``context_length_exceeded`` or a message saying so; not any 400) is compressed by the context
    guard and sent again, up to ``context_retries`` times: ``context_compressed`` and ``llm_retry``
    (``reason: context_length``) events say so.
    """

    def __init__(
        self,
        model: str | None = None,
        *,
        system: str | None = None,
        base_url: str | None = None,
        api_key: str | None = None,
        tools: Sequence[Callable[..., Any] | Tool] = (),
        stream: bool = False,
        max_tool_rounds: int = 8,
        max_retries: int = 3,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        timeout: float = 120.0,
        params: Mapping[str, Any] | None = None,
        history_key: str = "history",
        name: str | None = None,
        client: Any = None,
        context_retries: int = 2,
        context_key: str = "context",
        tools_key: str = "skill_tools",
    ) -> None:
        for label, value in (
            ("max_tool_rounds", max_tool_rounds),
            ("max_retries", max_retries),
            ("context_retries", context_retries),
        ):
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValidationError(f"LLMAgent {label} must be an integer >= 0, got {value!r}")
        if not timeout > 0:
            raise ValidationError(f"LLMAgent timeout must be > 0 seconds, got {timeout!r}")
        # A client given by the caller carries its own endpoint and key; only the model is needed.
        self.config = LLMConfig.resolve(model, base_url, api_key or (LOCAL_API_KEY if client else None))
        self._openai = _import_openai()
        self.system = system
        self.tools = as_tools(tools)
        self.stream = stream
        self.max_tool_rounds = max_tool_rounds
        self.max_retries = max_retries
        self.backoff = Backoff(backoff, max_backoff)
        self.timeout = timeout
        self.params = dict(params or {})
        self.history_key = history_key
        self.context_retries = context_retries
        self.context_key = context_key
        self.tools_key = tools_key
        self.name = name or f"llm:{self.config.model}"
        self._client = client
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = weakref.WeakKeyDictionary()

    def __repr__(self) -> str:
        return f"LLMAgent({self.config.model!r}, base_url={self.config.base_url!r})"

    async def run(self, input: Any, ctx: RunContext | None = None) -> AgentResult:
        """Ask the model, running tool calls until it answers in text or ``max_tool_rounds`` is spent."""
        start = perf_counter()
        ctx = ctx if ctx is not None else RunContext()
        messages = self._messages(input, ctx)
        usage = TokenUsage()
        requests = 0

        def artifacts(completion: Completion | None = None) -> dict[str, Any]:
            return {
                "model": self.config.model,
                "requests": requests,
                "finish_reason": completion.finish_reason if completion else None,
                "messages": messages,
            }

        for round_number in range(self.max_tool_rounds + 1):
            tools = self._tools_for(ctx)
            try:
                completion, attempts = await self._fitted_request(messages, ctx, tools)
            except _RequestFailedError as exc:
                requests += exc.attempts
                return AgentResult.failure(
                    str(exc), tokens=usage, duration=perf_counter() - start, artifacts=artifacts()
                )
            requests += attempts
            usage += completion.usage
            messages.append(completion.message())
            if not completion.tool_calls:
                return AgentResult(
                    output=completion.content,
                    tokens=usage,
                    duration=perf_counter() - start,
                    artifacts=artifacts(completion),
                )
            if round_number == self.max_tool_rounds:
                break
            messages.extend(await asyncio.gather(*(self._call_tool(c, ctx, tools) for c in completion.tool_calls)))
        error = (
            f"the model still asked for tools after {self.max_tool_rounds} tool rounds: raise "
            "max_tool_rounds or tell it in the system prompt when to answer"
        )
        return AgentResult.failure(error, tokens=usage, duration=perf_counter() - start, artifacts=artifacts())

    def _messages(self, input: Any, ctx: RunContext) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        if self.system:
            messages.append({"role": "system", "content": self.system})
        context = ctx.data.get(self.context_key)
        if isinstance(context, str) and context:
            messages.append({"role": "system", "content": context})
        history = ctx.data.get(self.history_key)
        if history is not None:
            messages.extend(_checked_messages(_turns(history), f"ctx.data[{self.history_key!r}]"))
        if isinstance(input, str):
            messages.append({"role": "user", "content": input})
        elif isinstance(input, Mapping) and "role" in input:
            messages.extend(_checked_messages([input], "input"))
        elif isinstance(input, list | tuple) and input and all(isinstance(m, Mapping) for m in input):
            messages.extend(_checked_messages(input, "input"))
        elif input is None:
            raise AgentError("LLMAgent got no input: give a prompt string or a list of messages")
        else:
            messages.append({"role": "user", "content": as_text(input)})
        return messages

    def _tools_for(self, ctx: RunContext) -> dict[str, Tool]:
        """The agent's tools and the window's (``ctx.data[tools_key]``), by name."""
        extra = ctx.data.get(self.tools_key)
        if not extra:
            return self.tools
        if not isinstance(extra, list | tuple):
            raise AgentError(f"ctx.data[{self.tools_key!r}] must be a list of functions, got {type(extra).__name__}")
        return {**as_tools(extra), **self.tools}

    def _client_for_loop(self) -> Any:
        if self._client is not None:
            return self._client
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            client = self._openai.AsyncOpenAI(
                api_key=self.config.api_key,
                base_url=self.config.base_url,
                timeout=self.timeout,
                max_retries=0,  # retries are ours: observable, with Retry-After and jitter
            )
            self._clients[loop] = client
        return client

    async def _fitted_request(
        self, messages: list[dict[str, Any]], ctx: RunContext, tools: dict[str, Tool]
    ) -> tuple[Completion, int]:
        """``_request``, compressing ``messages`` (in place) and trying again when the provider says
        the context is too long."""
        from jotty.context.guard import ContextBudgetError  # the guard lives a layer up
        from jotty.context.messages import fit_messages, tokens_of

        attempts = 0
        for compression in range(self.context_retries + 1):
            try:
                completion, used = await self._request(messages, ctx, tools)
                return completion, attempts + used
            except _ContextTooLongError as exc:
                attempts += exc.attempts
                if compression == self.context_retries:
                    raise _RequestFailedError(
                        f"{exc} (still too long after {compression} compressions: shorten the input or "
                        "history, or raise context_retries)",
                        attempts,
                    ) from None
                before = tokens_of(messages)
                budget = before * 7 // 10
                if exc.limit is not None:  # in our counts: the provider may count differently
                    answer = answer_tokens(self.params)
                    if answer >= exc.limit:
                        raise _RequestFailedError(
                            f"{exc}; max_tokens ({answer}) is at least the model's context limit ({exc.limit}), "
                            "leaving nothing for the prompt: lower max_tokens",
                            attempts,
                        ) from None
                    scale = before / exc.used if exc.used else 1.0
                    budget = min(budget, max(1, int((exc.limit - answer) * min(scale, 1.0))))
                try:
                    fitted, window = fit_messages(messages, max(1, budget))
                except ContextBudgetError as cut:
                    raise _RequestFailedError(f"{exc}; {cut}", attempts) from None
                messages[:] = fitted
                await ctx.emit(EventType.CONTEXT_COMPRESSED, reason="context_length_exceeded", **window.event())
                await ctx.emit(
                    EventType.LLM_RETRY, attempt=compression + 1, delay=0.0, error=exc.reason, reason="context_length"
                )
        raise AssertionError("unreachable")  # pragma: no cover

    async def _request(
        self, messages: list[dict[str, Any]], ctx: RunContext, tools: dict[str, Tool]
    ) -> tuple[Completion, int]:
        """One completion, retried on transient failures; raise ``_RequestFailedError`` when it gives up."""
        client = self._client_for_loop()
        request: dict[str, Any] = {**self.params, "model": self.config.model, "messages": messages}
        if tools:
            request["tools"] = [tool.schema() for tool in tools.values()]
        openai = self._openai
        for attempt in range(self.max_retries + 1):
            emitted = 0

            async def on_text(text: str, number: int = attempt + 1) -> None:
                nonlocal emitted
                emitted += 1
                try:
                    await ctx.emit(EventType.TEXT_CHUNK, content=text, attempt=number)
                except Exception as exc:
                    raise _SinkError from exc

            headers: Mapping[str, str] | None = None
            began = time.time()
            try:
                if self.stream:
                    completion = await complete_streaming(client, request, on_text)
                else:
                    completion = await complete(client, request)
            except openai.APIStatusError as exc:
                retryable, headers = retryable_status(exc.status_code), exc.response.headers
                reason = f"HTTP {exc.status_code}: {_status_message(exc)}{_hint(exc.status_code)}"
                if context_too_long(exc.status_code, _status_code(exc), _status_message(exc)):
                    where = self.config.base_url or "the OpenAI API"
                    raise _ContextTooLongError(
                        f"LLM request to {where} (model {self.config.model!r}) failed: {reason}",
                        reason,
                        context_limit(_status_message(exc)),
                        context_used(_status_message(exc)),
                        attempt + 1,
                    ) from None
            except openai.APITimeoutError:
                retryable, reason = True, f"no response within {self.timeout}s"
            except openai.APIConnectionError as exc:
                retryable, reason = True, f"cannot connect: {exc.__cause__ or exc}"
            except IncompleteResponseError as exc:
                retryable, reason = True, str(exc)
            except _SinkError as exc:
                raise exc.__cause__ or exc from None  # the caller's event sink failed: not ours to hide
            except Exception as exc:
                logger.debug("LLM request failed unexpectedly", exc_info=True)
                retryable, reason = False, f"{type(exc).__name__}: {exc}"
            else:
                await ctx.emit(EventType.LLM_CALL, **llm_call_data(self.config.model, began, attempt, completion))
                return completion, attempt + 1
            await ctx.emit(EventType.LLM_CALL, **llm_call_data(self.config.model, began, attempt, error=reason))
            where = self.config.base_url or "the OpenAI API"
            if not retryable or attempt == self.max_retries:
                tries = f" after {attempt + 1} attempts" if attempt else ""
                raise _RequestFailedError(
                    f"LLM request to {where} (model {self.config.model!r}) failed{tries}: {reason}", attempt + 1
                )
            delay = self.backoff.delay(attempt, retry_after(headers))
            logger.warning("LLM request to %s failed (%s); retry %d in %.2fs", where, reason, attempt + 1, delay)
            await ctx.emit(EventType.LLM_RETRY, attempt=attempt + 1, delay=delay, error=reason)
            if emitted:
                # The text chunks of this attempt are void: the next attempt streams the answer anew.
                await ctx.emit(EventType.STREAM_RESTARTED, attempt=attempt + 2, discarded_chunks=emitted, error=reason)
            await asyncio.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _call_tool(self, call: ToolCall, ctx: RunContext, tools: dict[str, Tool]) -> dict[str, Any]:
        """Run one tool call; any problem becomes error content for the model, never an exception."""
        await ctx.emit(EventType.TOOL_CALL, name=call.name, arguments=call.arguments, id=call.id)
        error: str | None = None
        result: Any = None
        tool = tools.get(call.name)
        if tool is None:
            error = f"unknown tool {call.name!r}; available tools: {', '.join(tools) or 'none'}"
        else:
            try:
                arguments = json.loads(call.arguments or "{}")
                if not isinstance(arguments, dict):
                    raise ValueError(f"expected a JSON object, got {type(arguments).__name__}")
            except ValueError as exc:
                error = f"the arguments are not a valid JSON object ({exc}): {call.arguments[:200]!r}"
            else:
                try:
                    result = await tool.call(arguments, ctx)
                except Exception as exc:
                    logger.info("tool %s raised %s: %s", call.name, type(exc).__name__, exc)
                    error = f"{type(exc).__name__}: {exc}"
        if error is not None:
            error = sendable(error)  # a lone surrogate: the request could not be encoded
            await ctx.emit(EventType.TOOL_RESULT, name=call.name, id=call.id, error=error)
            content = json.dumps({"error": error}, ensure_ascii=False)
        else:
            content = sendable(as_text(result))
            await ctx.emit(EventType.TOOL_RESULT, name=call.name, id=call.id, result=content)
        return {"role": "tool", "tool_call_id": call.id, "content": content}


class _SinkError(Exception):
    """The event sink raised while text was streaming (the cause is the sink's exception)."""


class _RequestFailedError(Exception):
    def __init__(self, message: str, attempts: int) -> None:
        super().__init__(message)
        self.attempts = attempts


class _ContextTooLongError(_RequestFailedError):
    def __init__(self, message: str, reason: str, limit: int | None, used: int | None, attempts: int) -> None:
        super().__init__(message, attempts)
        self.reason = reason
        self.limit = limit
        self.used = used


CONTEXT_CODES = frozenset({"context_length_exceeded", "model_max_prompt_tokens_exceeded", "string_above_max_length"})
"""Error codes providers use for a request whose context is too long."""
_CONTEXT_WORDS = re.compile(
    "|".join(
        (
            r"max(?:imum)? context length",
            r"context_length_exceeded",
            r"exceed(?:s|ed)? (?:the |your |its )?(?:available |max(?:imum)? |model's )?"
            r"context(?: length| size| window| limit)",
            r"context window (?:is |was )?exceeded",
            r"too long for (?:the |this )?(?:model's )?context",
            r"(?:loaded with|larger|greater than the) context (?:length|size)",
            r"prompt (?:is )?too long",
            r"too many (?:input )?tokens",
            r"input token count",
        )
    ),
    re.IGNORECASE,
)
"""How providers word a context refusal (not the bare words: "Invalid value for 'context_length'" is
a parameter error)."""
_LIMIT = re.compile(r"maximum context length is ([\d,]+)", re.IGNORECASE)
_USED = re.compile(r"(?:resulted in|requested|you requested) ([\d,]+) tokens", re.IGNORECASE)


def context_too_long(status: int, code: str | None, message: str) -> bool:
    """Whether a refused request was refused for its context length: a 400/413/422 whose error
    code or message says so (a 429 rate limit on tokens per minute is not)."""
    if status not in (400, 413, 422):
        return False
    return code in CONTEXT_CODES or bool(_CONTEXT_WORDS.search(message))


def context_limit(message: str) -> int | None:
    """The context size a refusal names ("maximum context length is 8192 tokens"), if any."""
    found = _LIMIT.search(message)
    return int(found.group(1).replace(",", "")) if found else None


def context_used(message: str) -> int | None:
    """The prompt size a refusal reports ("your messages resulted in 9000 tokens"), if any: with
    the limit it tells how the provider counts against our counter."""
    found = _USED.search(message)
    return int(found.group(1).replace(",", "")) if found else None


def answer_tokens(params: object) -> int:
    """The tokens a request keeps for its answer (``max_completion_tokens`` or ``max_tokens``), 0 if unset."""
    if not isinstance(params, Mapping):  # an agent of another kind, whose params mean something else
        return 0
    value = params.get("max_completion_tokens") or params.get("max_tokens") or 0
    return value if isinstance(value, int) else 0


def _status_code(exc: Any) -> str | None:
    body = exc.body
    if isinstance(body, Mapping):
        code = body.get("code")
        if code is None and isinstance(body.get("error"), Mapping):
            code = body["error"].get("code")
        return code if isinstance(code, str) else None
    return getattr(exc, "code", None)


def _import_openai() -> Any:
    try:
        import openai
    except ImportError as exc:
        raise AgentError("LLMAgent needs the openai package: pip install 'jotty[llm]'") from exc
    return openai


def _turns(history: Any) -> Any:
    """A history with the patterns' records of earlier work (a Sequential's ``{"step", "output"}``,
    a Team or Supervisor worker's ``{"task", "output"}``) as the assistant's earlier turns."""
    if not isinstance(history, list | tuple):
        return history
    return [
        {"role": "assistant", "content": as_text(item["output"])}
        if isinstance(item, Mapping) and "role" not in item and "output" in item and ("step" in item or "task" in item)
        else item
        for item in history
    ]


def _checked_messages(messages: Any, where: str) -> list[dict[str, Any]]:
    if not isinstance(messages, list | tuple):
        raise AgentError(f"{where} must be a list of message dicts, got {type(messages).__name__}")
    out = []
    for i, message in enumerate(messages):
        if not isinstance(message, Mapping) or message.get("role") not in _ROLES:
            raise AgentError(
                f"{where}[{i}] is not a chat message: give a dict like {{'role': 'user', 'content': '...'}} "
                f"with role one of {', '.join(sorted(_ROLES))}; got {message!r:.200}"
            )
        out.append(dict(message))
    return out


def _status_message(exc: Any) -> str:
    body = exc.body
    if isinstance(body, Mapping) and isinstance(body.get("message"), str):
        return str(body["message"])
    return str(exc.message)


def _hint(status: int) -> str:
    if status in (401, 403):
        return f" (check the API key: api_key=... or {' / '.join(API_KEY_VARS)})"
    if status == 404:
        return f" (check the model name and base URL: model=... or {' / '.join(MODEL_VARS)})"
    return ""
