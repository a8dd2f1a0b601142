"""One chat-completions request, streamed or not, reduced to text, tool calls and token usage."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from jotty.agents.base import TokenUsage


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
    """Send ``request`` streaming; call ``on_text`` with each text delta as it arrives."""
    stream = await client.chat.completions.create(**request, stream=True, stream_options={"include_usage": True})
    result = Completion()
    text: list[str] = []
    calls: dict[int, ToolCall] = {}
    seen_choice = False
    async with stream:
        async for chunk in stream:
            if chunk.usage is not None:
                result.usage = _usage(chunk.usage)
            for choice in chunk.choices:
                if choice.index != 0:
                    continue
                seen_choice = True
                delta = choice.delta
                if delta.content:
                    text.append(delta.content)
                    await on_text(delta.content)
                for part in delta.tool_calls or []:
                    call = calls.setdefault(part.index, ToolCall(id="", name=""))
                    call.id = part.id or call.id
                    if part.function is not None:
                        call.name += part.function.name or ""
                        call.arguments += part.function.arguments or ""
                if choice.finish_reason:
                    result.finish_reason = choice.finish_reason
    if not seen_choice:
        raise IncompleteResponseError("the endpoint streamed no choices")
    if result.finish_reason is None:
        raise IncompleteResponseError("the stream ended before the model finished (no finish_reason)")
    result.content = "".join(text)
    result.tool_calls = [calls[i] for i in sorted(calls)]
    for i, call in enumerate(result.tool_calls):
        call.id = call.id or f"call_{i}"
    return result


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
