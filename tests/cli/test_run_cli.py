"""``jotty run FLOW``: a flow definition run end to end, durably, with a live step tree and a summary."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from rich.console import Console

from jotty.cli.live import StepTree
from jotty.runs import RunStatus, get_run
from jotty.spec import load_flow
from tests.cli.checks import error, ok
from tests.cli.conftest import Jotty
from tests.spec.conftest import make_flow_dir, side_effects

FLOW = """
name: research
flow:
  pattern: chain
  steps:
    - name: fetch
      agent: {kind: function, function: "tools:flaky"}
      on_error: {strategy: retry, max_attempts: 3}
    - name: fan
      agent:
        pattern: parallel
        min_success: 2
        branches:
          - {name: up, agent: {kind: function, function: "tools:tokens"}}
          - {name: py, agent: {kind: command, argv: [PYTHON, -c, "import sys; print(len(sys.argv[1]))", "{input}"]}}
          - {name: legal, agent: {kind: function, function: "tools:boom"}}
    - name: optional
      agent: {kind: function, function: "tools:boom"}
      on_error: skip
    - name: write
      agent: {kind: function, function: "tools:boom"}
      on_error: {strategy: fallback, agent: {kind: function, function: "tools:count"}}
"""


@pytest.fixture
def flow_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return make_flow_dir(tmp_path, monkeypatch)


def write(flow_dir: Path, text: str, name: str = "flow.yaml") -> Path:
    path = flow_dir / name
    path.write_text(textwrap.dedent(text).replace("PYTHON", json.dumps(sys.executable)), encoding="utf-8")
    return path


CHAIN = """
name: two
flow:
  pattern: chain
  steps:
    - {name: s1, agent: {kind: function, function: "tools:step", kwargs: {name: s1}}}
    - {name: s2, agent: {kind: function, function: "tools:step", kwargs: {name: s2}}}
"""


def test_run_end_to_end_with_a_durable_store(jotty: Jotty, flow_dir: Path, db: Path) -> None:
    path = write(flow_dir, FLOW)
    result = jotty("run", str(path), "--input", "topic", "--run-id", "e2e")
    out = ok(result)
    assert out.startswith("partial  run e2e")
    assert "output\n3\n" in out  # the fallback counted the three branch outputs
    for row in ("fetch", "fan/up", "fan/py", "fan/legal", "optional", "write"):
        assert f"\n {row} " in out, row
    assert "retry" in out and "fallback" in out and "skip" in out
    assert "fan/legal: RuntimeError: boom" in out
    assert "token shape" in out and "research/fan/up" in out
    tree = result.stderr  # the live view's final state
    assert "◐ research  partial" in tree
    assert "✓ fetch  completed" in tree and "after 2 retries" in tree
    assert "✗ legal  failed" in tree and "↷ optional  skipped" in tree and "via fallback" in tree
    stored = asyncio.run(get_run("e2e", db))
    assert stored.status is RunStatus.PARTIAL and stored.output == 3
    assert stored.metadata["flow_file"] == str(path.resolve())
    assert {s.path for s in stored.steps} >= {"research/fetch", "research/fan/py", "research/write"}


def test_a_failed_run_exits_1_and_says_how_to_resume(
    jotty: Jotty, flow_dir: Path, db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(flow_dir, CHAIN)
    monkeypatch.setenv("FLOW_BROKEN", "s2")
    result = jotty("run", str(path), "--input", "in", "--run-id", "r1")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.stdout.startswith("failed  run r1")
    assert "error: chain 'two' stopped at step 'two/s2': RuntimeError: s2 is broken" in result.stdout
    assert f"jotty runs resume r1 --store {db}" in result.stderr
    monkeypatch.delenv("FLOW_BROKEN")
    again = jotty("run", str(path), "--input", "in", "--run-id", "r1")  # the same id resumes
    assert ok(again).startswith("completed  run r1") and "(resumed)" in again.stdout
    assert side_effects(flow_dir) == ["s1", "s2", "s2"]
    assert asyncio.run(get_run("r1", db)).sessions == 2


def test_a_bad_definition_is_one_line_and_nothing_runs(jotty: Jotty, flow_dir: Path) -> None:
    path = write(flow_dir, CHAIN.replace("kwargs: {name: s2}", "kwargs: {name: s2}, retries: 2"))
    message = error(jotty("run", str(path), "--input", "x"))
    assert message.startswith(f"error: {path}:7:86: flow.steps[1].agent.retries: unknown key 'retries'"), message
    assert side_effects(flow_dir) == []
    message = error(jotty("run", str(flow_dir / "nope.yaml"), "--input", "x"))
    assert "nope.yaml: no such flow file" in message


def test_input_from_a_file_stdin_or_the_definition(jotty: Jotty, flow_dir: Path) -> None:
    path = write(flow_dir, CHAIN)
    (flow_dir / "in.txt").write_text("from-file")
    assert "from-file>s1>s2" in ok(jotty("run", str(path), "--input-file", str(flow_dir / "in.txt"), "-q"))
    message = error(jotty("run", str(path)))
    assert "the flow needs an input: give --input TEXT or --input-file FILE, or add 'input:'" in message
    assert "not both" in error(jotty("run", str(path), "--input", "a", "--input-file", str(flow_dir / "in.txt")))
    assert "cannot read --input-file" in error(jotty("run", str(path), "--input-file", str(flow_dir / "missing")))
    with_default = write(flow_dir, CHAIN + "input: default-in\n", "default.yaml")
    assert "default-in>s1>s2" in ok(jotty("run", str(with_default), "-q"))


def test_input_from_stdin(jotty: Jotty, flow_dir: Path, db: Path) -> None:
    from typer.testing import CliRunner

    from jotty.cli.main import app

    path = write(flow_dir, CHAIN)
    result = CliRunner().invoke(app, ["run", str(path), "--input-file", "-", "--db", str(db), "-q"], input="piped")
    assert "piped>s1>s2" in ok(result)


def test_json_output(jotty: Jotty, flow_dir: Path) -> None:
    path = write(flow_dir, FLOW)
    data = json.loads(ok(jotty("run", str(path), "--input", "abc", "--json", "--run-id", "j1")))
    assert data["run_id"] == "j1" and data["status"] == "partial" and data["output"] == 3
    assert data["handled"] == {
        "research/fetch": "retry",
        "research/fan/legal": "abort",
        "research/optional": "skip",
        "research/write": "fallback",
    }
    assert data["tokens"] == {"prompt": 10, "completion": 5}
    assert [w["path"] for w in data["token_shape"]["windows"]][:2] == ["research/fetch", "research/fan/up"]


async def test_the_live_tree_follows_the_events(flow_dir: Path, tmp_path: Path) -> None:
    flow = load_flow(write(flow_dir, FLOW))
    tree = StepTree()
    await flow.run("topic", sink=tree.sink)
    console = Console(record=True, width=120, color_system=None)
    console.print(tree)
    text = console.export_text()
    lines = text.splitlines()
    assert lines[0].startswith("◐ research  partial")
    assert any(line.startswith("├── ✓ fetch  completed") and "after 2 retries" in line for line in lines)
    assert any("✓ up  completed" in line and "15 tok" in line for line in lines)
    assert any(
        "✓ py  completed" in line and "\u203a 6" in line for line in lines
    )  # the program's output: len("topic!")
    assert any("✗ legal  failed" in line and "RuntimeError: boom" in line for line in lines)
    assert any("↷ optional  skipped" in line for line in lines)
    assert any("✓ write  completed" in line and "via fallback" in line for line in lines)
    assert any("✓ fallback  completed" in line for line in lines)

    # resumed, finished steps show as restored from their checkpoints
    store = tmp_path / "runs.db"
    await flow.run("topic", store=store, run_id="t")
    resumed = StepTree()
    await flow.run("topic", store=store, run_id="t", sink=resumed.sink)  # a finished run: no events
    assert not resumed.nodes


def test_without_store_the_run_is_kept_in_the_default_store(
    jotty: Jotty, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JOTTY_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "double.py").write_text("def twice(text):\n    return text * 2\n")
    (tmp_path / "flow.yaml").write_text(
        "name: d\nflow:\n  pattern: chain\n  steps:\n"
        "    - {name: twice, agent: {kind: function, function: 'double:twice'}}\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    result = jotty("run", "flow.yaml", "--input", "ab", "--run-id", "kept", "--quiet", db_path=None)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "home" / "jotty.db").exists()
    listed = jotty("runs", "list", "--json", db_path=None)
    assert listed.exit_code == 0 and "kept" in listed.output


def test_the_readme_flow_file_with_levels_runs_as_written(tmp_path: Path) -> None:
    """The README's "Levels in flow files" example: its skill's instructions held an unquoted comma,
    which YAML's flow mapping read as a key ('then refund.'), so the file was refused."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    start = readme.index("```yaml\nname: support\n") + len("```yaml\n")
    (tmp_path / "support.yaml").write_text(readme[start : readme.index("```", start)])
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "refunds.md").write_text("Refunds within 30 days with a receipt.\n")
    (tmp_path / "tools.py").write_text(
        "def answer(text):\n    return f'answered: {text}'\n\n\ndef recent_orders(query):\n    return 'order 1: pen'\n"
    )
    jotty_bin = str(Path(sys.executable).with_name("jotty"))
    env = {**os.environ, "COLUMNS": "80", "JOTTY_HOME": str(tmp_path / "home")}
    env.pop("JOTTY_DATABASE_URL", None)
    args = [str(tmp_path / "support.yaml"), "--levels", "L1,L3,L4", "--input", "refund my pen", "--json"]
    done = subprocess.run([jotty_bin, "compare", *args], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    levels = json.loads(done.stdout)["levels"]
    assert [(run["level"], run["status"], run["output"]) for run in levels] == [
        (level, "completed", "answered: refund my pen") for level in ("L1", "L3", "L4")
    ]
