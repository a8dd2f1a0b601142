"""Probe: `jotty memory search|show` piped print a memory's terminal control sequences raw."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from jotty.orchestration import AgentConfig, ChatMode, Conductor
from tests.cli.test_memory_cli import real_cli


def test_piped_search_and_show_print_no_escape_codes_from_what_a_user_said(store: Path) -> None:
    said = "my locker is 31 \x1b]0;pwned\x07\x1b[2J\x1b[31mat the Faro office\x1b[0m"

    def echo(value: Any) -> str:
        return "noted"

    async def chat() -> None:
        with Conductor([AgentConfig("clerk", echo)], store=store, memory_sleep=None) as conductor:
            await ChatMode(conductor).execute(said)

    asyncio.run(chat())
    found = real_cli("memory", "search", "Faro office locker", "--db", str(store))
    assert found.returncode == 0, found.stderr
    hits = json.loads(real_cli("memory", "search", "Faro office locker", "--db", str(store), "--json").stdout)
    shown = real_cli("memory", "show", hits[0]["id"], "--db", str(store))
    assert shown.returncode == 0, shown.stderr
    assert "\x1b" not in found.stdout, found.stdout
    assert "\x1b" not in shown.stdout, shown.stdout
