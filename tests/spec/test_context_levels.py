"""Context levels in flow files: ``level:``, ``context:`` (facts, skills), a step's ``category:`` and
``skills:``; ``jotty run --level`` and a resume that keeps the level the run started at."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from jotty.runs import get_run
from jotty.spec import SpecError, load_definition

TOOLS = '''
import os
import re
from pathlib import Path


def parts(input, ctx):
    """The step's input and the names of the parts its window got."""
    return [input, sorted(ctx.data.get("parts", {}))]


def parts_once_ready(input, ctx):
    if not Path(os.environ["READY_FILE"]).exists():
        raise RuntimeError("not ready yet")
    return parts(input, ctx)
'''

FLOW = """
name: support
level: L3
context:
  facts:
    - {name: refund-policy, content: "Refunds within 30 days, to the original card.", category: billing}
    - {name: carrier-table, content: "Parcels ship with DHL; freight goes by sea.", category: shipping}
    - {name: tone, content: "Be brief and polite.", pinned: true}
  skills:
    - {name: refund, description: Issue a refund, instructions: Check the order then refund., category: billing}
    - {name: track, description: Track a parcel, instructions: Look up the tracking number., category: shipping}
flow:
  pattern: chain
  steps:
    - {name: bill, agent: {kind: function, function: "lvtools:parts"}, category: billing, skills: [refund]}
    - {name: ship, agent: {kind: function, function: "lvtools:SHIP"}, category: shipping}
"""


def write(tmp_path: Path, flow: str = FLOW, ship: str = "parts") -> Path:
    (tmp_path / "lvtools.py").write_text(TOOLS, encoding="utf-8")
    path = tmp_path / "support.yaml"
    path.write_text(flow.replace("SHIP", ship), encoding="utf-8")
    return path


def windows(output: Any) -> tuple[list[str], list[str]]:
    """The part names of the two steps' windows, from the chain's output."""
    (_, bill), ship = output
    return bill, ship


def test_a_flow_file_sets_the_level_and_the_pool_its_windows_pick_from(tmp_path: Path) -> None:
    definition = load_definition(write(tmp_path))
    assert definition.level == "L3"
    scoped = asyncio.run(definition.flow.run("refund my order", level=definition.level, policy=definition.policy()))
    bill, ship = windows(scoped.output)
    assert bill == ["refund-policy", "skill:refund", "tone"]  # its category's fact and skill, and the pinned fact
    assert ship == ["carrier-table", "skill:track", "tone"]
    everything = asyncio.run(definition.flow.run("refund my order", level="L1", policy=definition.policy()))
    bill, ship = windows(everything.output)
    assert {"refund-policy", "carrier-table", "tone", "skill:refund", "skill:track"} <= set(bill)
    on_demand = asyncio.run(definition.flow.run("refund my order", level="L2", policy=definition.policy()))
    bill, _ = windows(on_demand.output)
    assert "skill:refund" in bill and "skill:track" not in bill and "skills" in bill  # the rest as descriptions


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("skills: [refund]", "skills: [refnud]"), "unknown skill 'refnud': define it under context.skills"),
        (("level: L3", "level: L7"), "level"),
        (("category: shipping}\n", "category: shipping, level: 3}\n"), "level"),
        (("- {name: tone,", "- {name: refund-policy,"), "duplicate fact name 'refund-policy'"),
        (("tone, content:", "tone, text:"), "text"),
    ],
)
def test_bad_context_in_a_flow_file_is_located(tmp_path: Path, change: tuple[str, str], message: str) -> None:
    assert change[0] in FLOW
    path = write(tmp_path, FLOW.replace(*change, 1))
    with pytest.raises(SpecError) as caught:
        load_definition(path)
    assert message in str(caught.value) and str(path) in str(caught.value)


def jotty(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "jotty", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120, check=False)


def test_jotty_run_level_overrides_the_file_and_a_resume_keeps_it(tmp_path: Path) -> None:
    flow = write(tmp_path, ship="parts_once_ready")
    ready = tmp_path / "ready"
    env = {**os.environ, "JOTTY_HOME": str(tmp_path / "home"), "READY_FILE": str(ready), "COLUMNS": "80"}
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), env.get("PYTHONPATH", "")])
    first = jotty("run", str(flow), "-i", "refund my order", "--level", "L1", "--run-id", "r1", "--json", env=env)
    assert first.returncode == 1, first.stderr  # the ship step is not ready yet
    ready.touch()
    resumed = jotty("runs", "resume", "r1", "--json", env=env)
    assert resumed.returncode == 0, resumed.stderr
    bill, ship = windows(json.loads(resumed.stdout)["output"])
    assert "carrier-table" in bill and "refund-policy" in ship  # L1 as the run started, not the file's L3
    record = asyncio.run(get_run("r1", str(tmp_path / "home" / "jotty.db")))
    assert record.metadata["context_level"] == "L1"
    bad = jotty("run", str(flow), "-i", "x", "--level", "L9", env=env)
    assert bad.returncode == 1 and "unknown context level 'L9'" in bad.stderr and "Traceback" not in bad.stderr


SOURCES_FLOW = """
name: sourced
context:
  sources:
    - {name: refund-rules, file: notes/refunds.md, category: billing}
    - {name: carriers, load: "lvtools:carriers", category: shipping}
flow:
  pattern: chain
  steps:
    - {name: bill, agent: {kind: function, function: "lvtools:contents"}, category: billing}
    - {name: ship, agent: {kind: function, function: "lvtools:contents"}, category: shipping}
"""

SOURCE_TOOLS = '''
LOADS = []


def carriers(query):
    LOADS.append(query)
    return "Parcels ship with DHL; freight goes by sea."


def contents(input, ctx):
    """The step's input and what its window loaded from sources, by name."""
    parts = ctx.data.get("parts", {})
    return [input, {name: value for name, value in parts.items() if name.startswith("source:")}]
'''


def write_sourced(tmp_path: Path, flow: str = SOURCES_FLOW) -> Path:
    (tmp_path / "lvtools.py").write_text(SOURCE_TOOLS, encoding="utf-8")
    (tmp_path / "notes").mkdir(exist_ok=True)
    (tmp_path / "notes" / "refunds.md").write_text("Refunds within 30 days, to the original card.", encoding="utf-8")
    path = tmp_path / "sourced.yaml"
    path.write_text(flow, encoding="utf-8")
    return path


def test_a_flow_files_sources_load_for_their_steps_and_l4_loads_them_ahead(tmp_path: Path) -> None:
    from jotty.context import PrefetchModel

    definition = load_definition(write_sourced(tmp_path))
    scoped = asyncio.run(definition.flow.run("refund my order", level="L3", policy=definition.policy()))
    bill, ship = windows(scoped.output)
    assert bill == {"source:refund-rules": "Refunds within 30 days, to the original card."}  # beside the file
    assert ship == {"source:carriers": "Parcels ship with DHL; freight goes by sea."}

    model = PrefetchModel()
    runs = []
    for _ in range(2):
        policy = definition.policy()
        policy.prefetch = model
        runs.append(asyncio.run(definition.flow.run("refund my order", level="L4", policy=policy)))
    assert runs[0].output == runs[1].output == scoped.output
    [warm] = [e.data["run"] for e in runs[1].events if e.type == "context_prefetch" and "run" in e.data]
    assert warm["hit_rate"] == 1.0 and warm["hits"] == 2, warm


@pytest.mark.parametrize(
    ("source", "error"),
    [
        ("{name: x, file: notes/missing.md}", "no file 'notes/missing.md'"),
        ("{name: x, file: notes/refunds.md, load: 'lvtools:carriers'}", "exactly one of file: (a text file) and load:"),
        ("{name: x}", "exactly one of file:"),
        ("{name: x, load: 'lvtools:LOADS'}", "is a list, not a function query -> content"),
        ("{name: x, load: 'lvtools:nowhere'}", "nowhere"),
    ],
)
def test_a_bad_source_is_an_error_at_its_line(tmp_path: Path, source: str, error: str) -> None:
    flow = SOURCES_FLOW.replace('{name: carriers, load: "lvtools:carriers", category: shipping}', source)
    with pytest.raises(SpecError, match=re.escape(error)) as raised:
        load_definition(write_sourced(tmp_path, flow))
    assert "sourced.yaml:6:" in str(raised.value), raised.value


def test_a_file_source_that_is_not_utf8_fails_its_step_naming_the_source(tmp_path: Path) -> None:
    definition = load_definition(write_sourced(tmp_path))
    (tmp_path / "notes" / "refunds.md").write_bytes(b"caf\xe9")
    result = asyncio.run(definition.flow.run("refund my order", level="L3", policy=definition.policy()))
    assert not result.ok
    assert "context source 'refund-rules'" in str(result.error) and "not UTF-8" in str(result.error), result.error
