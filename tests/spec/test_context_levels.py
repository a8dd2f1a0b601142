"""Context levels in flow files: ``level:``, ``context:`` (facts, skills), a step's ``category:`` and
``skills:``; ``jotty run --level`` and a resume that keeps the level the run started at."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from jotty.runs import get_run
from jotty.spec import SpecError, load_definition

TOOLS = '''
import os
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
