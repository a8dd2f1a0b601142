"""``jotty compare``: a real process, a real chat-completions server, the same flow at two levels."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.support.openai_server import OpenAIServer

FLOW = """
name: report
flow:
  pattern: chain
  steps:
    - name: research
      agent: {kind: llm, model: test-model, base_url: BASE, system: Find sources and facts., max_retries: 0}
    - name: analyse
      agent: {kind: llm, model: test-model, base_url: BASE, system: Compute the trend., max_retries: 0}
    - name: write
      agent: {kind: llm, model: test-model, base_url: BASE, system: Write the report., max_retries: 0}
"""


def jotty(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "jotty", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120, check=False)


def test_compare_prints_shapes_side_by_side_in_80_columns(tmp_path: Path) -> None:
    env = {**os.environ, "COLUMNS": "80", "JOTTY_LLM_API_KEY": "sk-test", "JOTTY_HOME": str(tmp_path)}
    with OpenAIServer() as server:
        flow = tmp_path / "report.yaml"
        flow.write_text(FLOW.replace("BASE", server.base_url))
        shown = jotty("compare", str(flow), "--levels", "L1,L3", "--input", "solar panels in 2025", env=env)
        assert shown.returncode == 0, shown.stderr
        as_json = jotty("compare", str(flow), "--levels", "L1,L3", "-i", "solar panels in 2025", "--json", env=env)
        assert as_json.returncode == 0, as_json.stderr
    out = shown.stdout
    assert "\x1b[" not in out and max(len(line) for line in out.splitlines()) <= 80
    assert "report/write" in out and "L1" in out and "L3" in out
    assert "L3: completed, output agrees with L1, window tokens -" in out
    data = json.loads(as_json.stdout)
    l1, l3 = data["levels"]
    assert data["outputs_agree"] and l1["output"] == l3["output"] == "echo: echo: echo: solar panels in 2025"
    assert l3["prompt_tokens"] < l1["prompt_tokens"]  # as the server counted them
    assert l3["windows"]["report/write"]["window"] < l1["windows"]["report/write"]["window"]


def test_compare_bad_levels_are_clear_errors(tmp_path: Path) -> None:
    flow = tmp_path / "f.yaml"
    flow.write_text("flow: {pattern: chain, steps: [{name: a, agent: {kind: function, function: 'json:dumps'}}]}\n")
    env = {**os.environ, "COLUMNS": "80", "JOTTY_HOME": str(tmp_path)}
    bad = jotty("compare", str(flow), "--levels", "L1,L7", "--input", "x", env=env)
    assert bad.returncode == 1 and "unknown context level 'L7'" in bad.stderr and "Traceback" not in bad.stderr


def test_levels_that_all_fail_do_not_agree(tmp_path: Path) -> None:
    """Two failed levels have no output: they read as "output agrees with L1" and outputs_agree true."""
    flow = tmp_path / "f.yaml"
    flow.write_text("flow: {pattern: chain, steps: [{name: a, agent: {kind: command, argv: [sh, -c, 'exit 3']}}]}\n")
    env = {**os.environ, "COLUMNS": "80", "JOTTY_HOME": str(tmp_path)}
    shown = jotty("compare", str(flow), "--levels", "L1,L3", "--input", "x", env=env)
    assert shown.returncode == 1 and "L3: failed, error:" in shown.stdout, shown.stdout
    assert "agrees" not in shown.stdout and "DIFFERS" not in shown.stdout, shown.stdout
    as_json = jotty("compare", str(flow), "--levels", "L1,L3", "--input", "x", "--json", env=env)
    data = json.loads(as_json.stdout)
    assert as_json.returncode == 1 and data["outputs_agree"] is False
    assert [level["agrees"] for level in data["levels"]] == [False, False]
