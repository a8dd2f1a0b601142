"""``jotty compare`` with one level and with wide numbers (a levels hunt; each failed before).

- ``--levels L1`` (or ``L1,l1``) compared nothing: it ran one level, printed a one-column table
  and exited 0. It is now a usage error naming what to give.
- Four levels of six- and seven-digit token counts at 80 columns cut the numbers ("1,234,567/7,…").
  A cell no longer fits on one line is shown as two lines (window tokens over prompt tokens).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from rich.console import Console

from jotty.agents.base import TokenUsage
from jotty.cli.compare import render
from jotty.context import Level
from jotty.patterns.compare import Comparison, LevelRun
from jotty.patterns.result import RunResult
from tests.context.test_compare_cli import jotty

FLOW = "flow: {pattern: chain, steps: [{name: a, agent: {kind: function, function: 'json:dumps'}}]}\n"


@pytest.mark.parametrize("levels", ["L1", "L1,l1", "L3, L3"])
def test_compare_with_one_level_is_a_clear_usage_error(levels: str, tmp_path: Path) -> None:
    flow = tmp_path / "f.yaml"
    flow.write_text(FLOW)
    env = {**os.environ, "COLUMNS": "80", "JOTTY_HOME": str(tmp_path)}
    shown = jotty("compare", str(flow), "--levels", levels, "--input", "x", env=env)
    assert shown.returncode == 1 and shown.stdout == ""
    assert "--levels: give two levels or more to compare, e.g. --levels L1,L3" in shown.stderr
    assert "Traceback" not in shown.stderr


def comparison(window: int, prompt: int) -> Comparison:
    runs = []
    for level in Level:
        run = LevelRun(level, RunResult(output="same", ok=True, tokens=TokenUsage(prompt * 3 + 3, 10)))
        for index, step in enumerate(("research", "analyse", "write")):
            path = f"quarterly-report/{step}"
            run.window[path], run.prompt[path] = window + index, prompt + index
        runs.append(run)
    return Comparison(runs)


@pytest.mark.parametrize(("window", "prompt"), [(123_456, 120_001), (1_234_567, 7_654_321), (12, 9)])
def test_compare_never_cuts_a_number_at_80_columns(window: int, prompt: int) -> None:
    console = Console(width=80, color_system=None, force_terminal=False)
    with console.capture() as captured:
        console.print(render(comparison(window, prompt)))
    out = captured.get()
    assert "…" not in out and max(len(line) for line in out.splitlines()) <= 80
    numbers = set(re.findall(r"\d[\d,]*\d|\d", out))
    for index in range(3):
        assert f"{window + index:,}" in numbers and f"{prompt + index:,}" in numbers
    assert f"{3 * window + 3:,}" in numbers and f"{3 * prompt + 3:,}" in numbers  # the totals
