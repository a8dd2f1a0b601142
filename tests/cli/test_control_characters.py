"""Every ``--json`` output (and ``jotty memory export``) of the real command, piped at 80 columns:
control characters in stored text (C0, DEL, C1 such as U+009B, the one-byte CSI) come out as
``\\uXXXX`` escapes, never raw, so a memory's text cannot drive the terminal; the JSON reads back
to the same data and other scripts stay readable (memory and runs printed DEL and C1 raw; data
escaped every non-ASCII character). A run's
output, input and errors in tables are escaped as memory text is (they were printed raw)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jotty.cli.console import json_text
from jotty.memory import Memory
from tests.cli.test_memory_cli import real_cli
from tests.spec.conftest import make_flow_dir

HOSTILE = "Ada moved to Lisbon \x1b[2J\x9b31m\x85\x7f\x07 in May, café 東京"
CONTROLS = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f]")
"""Every control character but the newline."""


def read(*args: str) -> Any:
    """The parsed stdout of ``jotty ARGS`` (which must succeed), after checking it holds no raw control."""
    done = real_cli(*args)
    assert done.returncode == 0, done.stderr
    assert not CONTROLS.search(done.stdout), sorted(set(CONTROLS.findall(done.stdout)))
    assert "café 東京" in done.stdout  # escaped are the controls only
    return json.loads(done.stdout) if "--json" in args else [json.loads(line) for line in done.stdout.splitlines()]


values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)


@given(values, st.sampled_from([2, None]))
def test_json_text_reads_back_the_same_data_and_holds_no_control(value: Any, indent: int | None) -> None:
    shown = json_text(value, indent=indent)
    assert json.loads(shown) == value
    assert not CONTROLS.search(shown)


async def remember(db: Path) -> str:
    async with Memory(db, scope="conductor") as memory:
        return str(await memory.remember(HOSTILE, metadata={"note": HOSTILE}))


def test_memory_json_escapes_control_characters(tmp_path: Path) -> None:
    import asyncio

    db = tmp_path / "jotty.db"
    mid = asyncio.run(remember(db))
    hits = read("memory", "search", "Ada Lisbon", "--json", "--db", str(db))
    assert hits[0]["text"] == HOSTILE and hits[0]["metadata"] == {"note": HOSTILE}
    shown = read("memory", "show", mid, "--json", "--db", str(db))
    assert shown["text"] == HOSTILE and shown["sources"][0]["metadata"] == {"note": HOSTILE}
    exported = read("memory", "export", "--db", str(db))
    assert [row["text"] for row in exported] == [HOSTILE]


FLOW = """
name: echo
flow: {pattern: chain, steps: [{name: s1, agent: {kind: function, function: "tools:step", kwargs: {name: s1}}}]}
"""


def echo_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The arguments of ``jotty run`` for a one-step flow whose output is its input (HOSTILE) + ``>s1``."""
    flows = make_flow_dir(tmp_path, monkeypatch)
    (flows / "echo.yaml").write_text(FLOW, encoding="utf-8")
    (tmp_path / "input.txt").write_text(HOSTILE, encoding="utf-8")
    return ["run", str(flows / "echo.yaml"), "-f", str(tmp_path / "input.txt"), "--store", str(tmp_path / "runs.db")]


def test_run_json_escapes_control_characters(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = str(tmp_path / "runs.db")
    result = read(*echo_run(tmp_path, monkeypatch), "--json")
    assert result["output"] == f"{HOSTILE}>s1"
    shown = read("runs", "show", result["run_id"], "--store", store, "--json")
    assert shown["input"] == HOSTILE and shown["output"] == f"{HOSTILE}>s1"


def test_run_tables_escape_control_characters(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without --json too: a run's output, input and error are shown as ``text()`` shows memory."""
    done = real_cli(*echo_run(tmp_path, monkeypatch), "--run-id", "r1")
    shown = real_cli("runs", "show", "r1", "--store", str(tmp_path / "runs.db"))
    for out in (done, shown):
        assert out.returncode == 0, out.stderr
        assert not CONTROLS.search(out.stdout), sorted(set(CONTROLS.findall(out.stdout)))
        assert "Ada moved to Lisbon \\x1b[2J\\x9b31m" in out.stdout


def test_data_json_escapes_control_characters(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text(HOSTILE, encoding="utf-8")
    db = str(tmp_path / "jotty.db")
    added = read("data", "add", str(notes), "--name", "notes", "-d", HOSTILE, "--json", "--db", db)
    assert added["description"] == HOSTILE
    shown = read("data", "show", "notes", "--json", "--db", db)
    assert shown["description"] == HOSTILE and shown["read"]["text"] == HOSTILE
