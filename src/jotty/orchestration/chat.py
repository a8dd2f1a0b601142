"""Chat's nuances: ``ChatMessage`` history for the agents, and a run's events as chat events.

A chat stream yields small dicts a chat UI can show directly:

====================  =======================================================================
``type``              keys
====================  =======================================================================
``route_chosen``      ``actor``, ``reason``, ``explanation`` (dynamic mode: who answers, and why)
``text_chunk``        ``content``, ``actor``, ``attempt`` (the model request's attempt, from 1)
``stream_restarted``  ``actor``, ``attempt``, ``error``: the stream broke; drop the actor's chunks
                      of earlier attempts, the answer streams again as attempt ``attempt``
``tool_call``         ``name``, ``arguments`` (a dict when the model sent JSON), ``id``, ``actor``
``tool_result``       ``name``, ``id``, ``result`` or ``error``, ``actor``
``attempt_failed``    ``actor``, ``error`` (the router will pick again)
``done``              ``content`` (the answer), ``status``, ``actor``, ``error``, ``learning``,
                      ``memory`` (what the turn recalled and remembered, or None)
====================  =======================================================================

An answer that was not streamed (a function actor, a non-streaming model) arrives as one
``text_chunk`` before ``done``.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from jotty.agents.template import as_text
from jotty.errors import ValidationError
from jotty.events import EventType
from jotty.orchestration.result import ConductorResult
from jotty.orchestration.stream import ConductorStream

ROLES = ("system", "user", "assistant", "tool")
SETTLE_SECONDS = 2.0
"""How long the ``done`` event waits for the turn's remembering (else its entries say pending)."""


@dataclass(frozen=True)
class ChatMessage:
    """One message of a conversation: ``role`` (system, user, assistant, tool) and ``content``."""

    role: str
    content: str

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValidationError(f"ChatMessage role must be one of {', '.join(ROLES)}, got {self.role!r}")
        if not isinstance(self.content, str):
            raise ValidationError(f"ChatMessage content must be a string, got {type(self.content).__name__}")

    def to_dict(self) -> dict[str, str]:
        """``{"role": ..., "content": ...}``, as chat-completion APIs (and ``LLMAgent``) take it."""
        return {"role": self.role, "content": self.content}


def format_history(history: Iterable[ChatMessage | Mapping[str, Any]] | None) -> list[dict[str, str]]:
    """``history`` as role/content dicts; dicts are checked as ``ChatMessage``s."""
    if history is None:
        return []
    if isinstance(history, str | bytes | Mapping) or not isinstance(history, Iterable):
        raise ValidationError("history must be a list of ChatMessage(role, content)")
    out = []
    for index, message in enumerate(history):
        if isinstance(message, Mapping):
            try:
                message = ChatMessage(message["role"], message["content"])
            except KeyError as exc:
                raise ValidationError(
                    f"history[{index}] has no {exc.args[0]!r}: give ChatMessage(role, content)"
                ) from None
        if not isinstance(message, ChatMessage):
            raise ValidationError(f"history[{index}] is a {type(message).__name__}: give ChatMessage(role, content)")
        out.append(message.to_dict())
    return out


def _actor(path: str) -> str | None:
    """The actor of a step path ``conductor/<n>-<actor>/...``."""
    parts = path.split("/")
    if len(parts) < 2:
        return None
    return parts[1].partition("-")[2] or None


def chat_event(event: Mapping[str, Any]) -> dict[str, Any] | None:
    """A raw event (``Event.to_dict()``) as a chat event, or None when chat does not show it."""
    kind, data, path = event["type"], event.get("data") or {}, event.get("step_path") or ""
    actor = _actor(path)
    if kind == EventType.TEXT_CHUNK:
        return {
            "type": "text_chunk",
            "content": data.get("content", ""),
            "actor": actor,
            "attempt": data.get("attempt", 1),
        }
    if kind == EventType.STREAM_RESTARTED:
        return {"type": "stream_restarted", "actor": actor, "attempt": data.get("attempt"), "error": data.get("error")}
    if kind == EventType.TOOL_CALL:
        arguments = data.get("arguments")
        if isinstance(arguments, str):
            with contextlib.suppress(ValueError):
                arguments = json.loads(arguments or "{}")
        return {
            "type": "tool_call",
            "name": data.get("name"),
            "arguments": arguments,
            "id": data.get("id"),
            "actor": actor,
        }
    if kind == EventType.TOOL_RESULT:
        out = {"type": "tool_result", "name": data.get("name"), "id": data.get("id"), "actor": actor}
        out.update({k: data[k] for k in ("result", "error") if k in data})
        return out
    if kind == EventType.ROUTE_CHOSEN:
        return {"type": "route_chosen", **{k: data.get(k) for k in ("actor", "reason", "explanation")}}
    if kind == EventType.STEP_FAILED and path.count("/") == 1:
        return {"type": "attempt_failed", "actor": actor, "error": data.get("error")}
    return None


class ChatStream:
    """A run's events as chat events (see the module docstring); ``.result`` afterwards."""

    def __init__(self, run: ConductorStream) -> None:
        self._run = run

    @property
    def result(self) -> ConductorResult:
        """The run's result, once the stream was read to its end."""
        return self._run.result

    def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        return self._events()

    async def aclose(self) -> None:
        """Stop the run if it is still going."""
        await self._run.aclose()

    async def _events(self) -> AsyncIterator[dict[str, Any]]:
        streamed: set[str] = set()
        async with self._run:
            async for raw in self._run:
                event = chat_event(raw)
                if event is None:
                    continue
                if event["type"] == "text_chunk":
                    streamed.add(raw.get("step_path") or "")
                yield event
        result = self._run.result
        final = result.final_step
        answer = None if result.output is None else as_text(result.output)
        if final is not None and answer and not any(p == final or p.startswith(final + "/") for p in streamed):
            yield {"type": "text_chunk", "content": answer, "actor": result.actor, "attempt": 1}
        if result.memory is not None:  # "done" says what the turn remembered (the write is hurried: milliseconds)
            with contextlib.suppress(TimeoutError):
                await result.memory.settled(timeout=SETTLE_SECONDS)
        yield {
            "type": "done",
            "content": answer,
            "status": str(result.status),
            "actor": result.actor,
            "error": result.error,
            "learning": result.learning,
            "memory": result.memory.to_dict() if result.memory is not None else None,
        }
