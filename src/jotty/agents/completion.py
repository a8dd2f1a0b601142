"""One chat-completions request, streamed or not, reduced to text, tool calls and token usage."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from jotty.agents.base import TokenUsage
from jotty.agents.sse import sse_events
from jotty.wording import cut


@dataclass
class ToolCall:
    """A function call the model asked for; ``arguments`` is the raw JSON text it sent."""

    id: str
    name: str
    arguments: str = ""

    def message(self) -> dict[str, Any]:
        """The entry of an assistant message's ``tool_calls``."""
        return {"id": self.id, "type": "function", "function": {"name": self.name, "arguments": self.arguments}}


@dataclass
class Completion:
    """What the model answered in one request."""

    content: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    usage: TokenUsage = field(default_factory=TokenUsage)
    finish_reason: str | None = None

    def message(self) -> dict[str, Any]:
        """The assistant message to append to the conversation."""
        message: dict[str, Any] = {"role": "assistant", "content": self.content or None}
        if self.tool_calls:
            message["tool_calls"] = [call.message() for call in self.tool_calls]
        return message


class IncompleteResponseError(Exception):
    """The endpoint answered without any choice, or its stream ended before the model finished."""


TextCallback = Callable[[str], Awaitable[None]]


async def complete(client: Any, request: dict[str, Any]) -> Completion:
    """Send ``request`` (``create`` keyword arguments) without streaming."""
    response = await client.chat.completions.create(**request)
    if not response.choices:
        raise IncompleteResponseError("the endpoint returned no choices")
    choice = response.choices[0]
    message = choice.message
    calls = [
        ToolCall(call.id, call.function.name, call.function.arguments or "")
        for call in (message.tool_calls or [])
        if getattr(call, "type", "function") == "function"
    ]
    return Completion(message.content or "", calls, _usage(response.usage), choice.finish_reason)


async def complete_streaming(client: Any, request: dict[str, Any], on_text: TextCallback) -> Completion:
    """Send ``request`` streaming; call ``on_text`` with each text delta as it arrives.

    The server-sent events are read here, not by the SDK, so that a broken stream raises
    ``IncompleteResponseError``: a dropped connection, a chunk that is not JSON, an ``error`` event,
    or an end without ``data: [DONE]`` or a finish reason (a truncated stream is never accepted).
    """
    result = Completion()
    text: list[str] = []
    calls: dict[int, ToolCall] = {}
    seen_choice = done = False
    streaming = client.chat.completions.with_streaming_response
    broken: tuple[type[BaseException], ...] = ()
    try:
        async with streaming.create(**request, stream=True, stream_options={"include_usage": True}) as response:
            broken = _transport_errors(response)
            async for event in sse_events(response.iter_lines()):
                if event.data.strip() == "[DONE]":
                    done = True
                    break
                chunk = _chunk(event.data)
                if event.event == "error" or "error" in chunk:
                    raise IncompleteResponseError(f"the stream reported an error: {_clip(chunk.get('error'))}")
                if chunk.get("usage"):
                    result.usage = _usage_dict(chunk["usage"])
                for choice in chunk.get("choices") or []:
                    if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                        continue
                    seen_choice = True
                    delta = choice.get("delta") or {}
                    content = delta.get("content")
                    if content:
                        text.append(content)
                        await on_text(content)
                    _add_tool_parts(calls, delta.get("tool_calls") or [])
                    if choice.get("finish_reason"):
                        result.finish_reason = choice["finish_reason"]
    except Exception as exc:
        if not isinstance(exc, broken):
            raise
        raise IncompleteResponseError(f"the connection broke mid-stream ({type(exc).__name__}: {exc})") from exc
    if not seen_choice:
        raise IncompleteResponseError("the endpoint streamed no choices")
    if result.finish_reason is None or not done:
        missing = "no finish_reason" if result.finish_reason is None else "no [DONE]"
        raise IncompleteResponseError(f"the stream ended before the model finished ({missing})")
    result.content = "".join(text)
    result.tool_calls = [calls[i] for i in sorted(calls)]
    for i, call in enumerate(result.tool_calls):
        call.id = call.id or f"call_{i}"
    return result


def _transport_errors(response: Any) -> tuple[type[BaseException], ...]:
    """The transport errors of the HTTP library under the SDK (``httpx``, or a fork of it)."""
    package = type(getattr(response, "http_response", None)).__module__.partition(".")[0]
    error = getattr(sys.modules.get(package), "TransportError", None)
    return (error,) if isinstance(error, type) and issubclass(error, BaseException) else ()


def _chunk(data: str) -> dict[str, Any]:
    """One streamed chunk's JSON object; a malformed chunk is an ``IncompleteResponseError``."""
    try:
        chunk = json.loads(data)
    except ValueError:
        raise IncompleteResponseError(f"the stream sent a malformed chunk: {_clip(data)}") from None
    if not isinstance(chunk, dict):
        raise IncompleteResponseError(f"the stream sent a chunk that is not a JSON object: {_clip(data)}")
    return chunk


def _add_tool_parts(calls: dict[int, ToolCall], parts: list[Any]) -> None:
    """Merge streamed tool-call fragments into ``calls`` (by their ``index``)."""
    for part in parts:
        if not isinstance(part, dict):
            continue
        call = calls.setdefault(int(part.get("index") or 0), ToolCall(id="", name=""))
        call.id = part.get("id") or call.id
        function = part.get("function") or {}
        call.name += function.get("name") or ""
        call.arguments += function.get("arguments") or ""


def _clip(value: Any, limit: int = 120) -> str:
    shown = value if isinstance(value, str) else json.dumps(value, default=repr)
    return cut(shown, limit)


def _usage_dict(usage: Any) -> TokenUsage:
    if not isinstance(usage, dict):
        return TokenUsage()
    return TokenUsage(prompt=int(usage.get("prompt_tokens") or 0), completion=int(usage.get("completion_tokens") or 0))


def _usage(usage: Any) -> TokenUsage:
    if usage is None:
        return TokenUsage()
    return TokenUsage(prompt=usage.prompt_tokens or 0, completion=usage.completion_tokens or 0)


def llm_call_data(
    model: str, began: float, attempt: int, completion: Completion | None = None, error: str | None = None
) -> dict[str, Any]:
    """The payload of an ``llm_call`` event: one request to ``model`` that began at ``began``
    (epoch seconds) as try ``attempt`` (from 0), and its tokens, or the ``error`` it ended with."""
    data: dict[str, Any] = {"model": model, "started": began, "duration": time.time() - began, "attempt": attempt + 1}
    if completion is not None:
        data["prompt_tokens"] = completion.usage.prompt
        data["completion_tokens"] = completion.usage.completion
        data["finish_reason"] = completion.finish_reason
        data["tool_calls"] = len(completion.tool_calls)
    if error is not None:
        data["error"] = error
    return data
