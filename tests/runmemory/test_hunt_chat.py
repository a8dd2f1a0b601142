"""Probe: the chat stream's ``done`` event reports what the turn remembered."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jotty.agents import FunctionAgent, RunContext
from jotty.orchestration import AgentConfig, ChatMode, Conductor


def echo(value: Any, ctx: RunContext) -> str:
    return f"noted: {value}"


async def test_the_done_event_says_what_the_turn_remembered(store: Path) -> None:
    with Conductor([AgentConfig("echo", FunctionAgent(echo))], store=store, memory_sleep=None) as conductor:
        chat = ChatMode(conductor)
        events = [event async for event in chat.stream("my name is Ada and I moved to Lisbon")]
    done = events[-1]
    assert done["type"] == "done"
    statuses = [entry["status"] for entry in done["memory"]["remembered"]]
    assert "pending" not in statuses, done["memory"]["remembered"]
