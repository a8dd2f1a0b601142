"""``jotty runs list/show/resume``, including a ``jotty run`` killed with SIGKILL and resumed."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from jotty.runs import RunStatus, get_run
from jotty.spec import load_flow
from tests.cli.checks import error, ok
from tests.cli.conftest import Jotty
from tests.spec.conftest import make_flow_dir, side_effects
from tests.support.kill import kill_when

KILLABLE = """
name: kill
flow:
  pattern: chain
  steps:
    - {name: s1, agent: {kind: function, function: "tools:step", kwargs: {name: s1}}}
    - {name: s2, agent: {kind: function, function: "tools:step", kwargs: {name: s2}}}
    - name: fan
      agent:
        pattern: parallel
        branches:
          - {name: p0, agent: {kind: function, function: "tools:step", kwargs: {name: p0}}}
          - {name: p1, agent: {kind: function, function: "tools:step", kwargs: {name: p1}}}
    - {name: s3, agent: {kind: function, function: "tools:step", kwargs: {name: s3}}}
    - {name: s4, agent: {kind: function, function: "tools:step", kwargs: {name: s4}}}
"""


@pytest.fixture
def flow_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return make_flow_dir(tmp_path, monkeypatch)


@pytest.fixture
def flow_file(flow_dir: Path) -> Path:
    path = flow_dir / "kill.yaml"
    path.write_text(KILLABLE, encoding="utf-8")
    return path


def checkpointed(store: Path, run_id: str) -> set[str]:
    if not store.exists():
        return set()
    with sqlite3.connect(store, timeout=5) as conn:
        try:
            rows = conn.execute("SELECT step_path FROM jotty_run_steps WHERE run_id = ?", (run_id,))
            return {row[0] for row in rows}
        except sqlite3.OperationalError:  # not migrated yet
            return set()


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_resume_a_run_killed_with_sigkill(jotty: Jotty, flow_file: Path, flow_dir: Path, db: Path) -> None:
    env = {**os.environ, "FLOW_BLOCK": "s3"}
    argv = [sys.executable, "-m", "jotty", "run", str(flow_file), "--input", "in", "--store", str(db)]
    first = subprocess.Popen([*argv, "--run-id", "k1", "-q"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wanted = {"kill/s1", "kill/s2", "kill/fan/p0", "kill/fan/p1", "kill/fan"}
    kill_when(
        first,
        lambda: wanted <= checkpointed(db, "k1") and "s3" in side_effects(flow_dir),
        lambda: checkpointed(db, "k1"),
        timeout=60,
    )
    first.communicate()
    assert checkpointed(db, "k1") == wanted  # s3 was running, s4 never started
    assert asyncio.run(get_run("k1", db)).status is RunStatus.RUNNING  # died without a word

    shown = ok(jotty("runs", "show", "k1"))
    assert "running" in shown and "checkpoints" in shown
    assert json.loads(ok(jotty("runs", "show", "k1", "--json")))["metadata"]["flow_file"] == str(flow_file.resolve())

    out = ok(jotty("runs", "resume", "k1"))  # the flow file comes from the run's metadata
    assert out.startswith("completed  run k1") and "(resumed)" in out
    assert "in>s1>s2" in out and ">s3>s4" in out
    assert Counter(side_effects(flow_dir)) == {"s1": 1, "s2": 1, "p0": 1, "p1": 1, "s3": 2, "s4": 1}
    done = asyncio.run(get_run("k1", db))
    assert done.status is RunStatus.COMPLETED and done.sessions == 2


def test_runs_list(jotty: Jotty, flow_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ok(jotty("run", str(flow_file), "--input", "a", "--run-id", "good", "-q"))
    monkeypatch.setenv("FLOW_BROKEN", "s4")
    assert jotty("run", str(flow_file), "--input", "b", "--run-id", "bad", "-q").exit_code == 1
    out = ok(jotty("runs", "list"))
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["run", "flow", "status"]
    bad_row = next(line for line in lines if line.startswith(" bad "))
    good_row = next(line for line in lines if line.startswith(" good "))
    assert lines.index(bad_row) < lines.index(good_row)  # newest first
    assert "failed" in bad_row and "completed" in good_row
    only_failed = ok(jotty("runs", "list", "--status", "failed"))
    assert " bad " in only_failed and " good " not in only_failed
    data = json.loads(ok(jotty("runs", "list", "--json", "--limit", "1")))
    assert [r["run_id"] for r in data] == ["bad"] and data[0]["status"] == "failed"
    assert "s4 is broken" in data[0]["error"]
    assert "unknown run status 'done'" in error(jotty("runs", "list", "--status", "done"))


def test_runs_show(jotty: Jotty, flow_file: Path, flow_dir: Path) -> None:
    ok(jotty("run", str(flow_file), "--input", "in", "--run-id", "s-1", "-q"))
    out = ok(jotty("runs", "show", "s-1", "--events", "5"))
    for part in ("run", "s-1", "completed", "flow file", "input", "steps", "checkpoints", "events", "token shape"):
        assert part in out, part
    assert "in>s1>s2" in out
    assert out.count("run_completed") == 1
    events_part = out.split("\nevents")[1].split("\ntoken shape")[0]
    assert len([line for line in events_part.splitlines() if line.strip()[:1].isdigit()]) == 5
    data = json.loads(ok(jotty("runs", "show", "s-1", "--json")))
    assert data["status"] == "completed" and data["input"] == "in"
    assert data["metadata"]["flow_file"] == str(flow_file.resolve())
    assert {c["path"] for c in data["checkpoints"]} >= {"kill/s1", "kill/fan/p0", "kill/s4"}
    assert data["events"][0]["type"] == "run_started" and data["events"][-1]["type"] == "run_completed"
    message = error(jotty("runs", "show", "nope"))
    assert "no run 'nope'" in message and "jotty runs list" in message


def test_runs_show_says_the_context_level_a_run_ran_at(jotty: Jotty, flow_file: Path, db: Path) -> None:
    ok(jotty("run", str(flow_file), "--input", "in", "--run-id", "at-l3", "--level", "L3", "-q"))
    ok(jotty("run", str(flow_file), "--input", "in", "--run-id", "plain", "-q"))
    env = {**os.environ, "COLUMNS": "80"}
    env.pop("JOTTY_DATABASE_URL", None)

    def show(run_id: str, *more: str) -> str:
        args = [sys.executable, "-m", "jotty", "runs", "show", run_id, "--store", str(db), *more]
        done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert "\x1b[" not in done.stdout
        assert more or all(len(line) <= 80 for line in done.stdout.splitlines()), done.stdout  # JSON: not fitted
        return done.stdout

    header = show("at-l3").split("\n\n")[0]
    assert [line.split() for line in header.splitlines() if "level" in line] == [["context", "level", "L3"]]
    assert "level" not in show("plain").split("\n\n")[0]  # a run at no level: no row
    assert json.loads(show("at-l3", "--json"))["metadata"]["context_level"] == "L3"


def test_resume_after_fixing_a_failure_and_of_a_finished_run(
    jotty: Jotty, flow_file: Path, flow_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLOW_BROKEN", "s3")
    assert jotty("run", str(flow_file), "--input", "in", "--run-id", "f1", "-q").exit_code == 1
    monkeypatch.delenv("FLOW_BROKEN")
    data = json.loads(ok(jotty("runs", "resume", "f1", "--json", "-q")))
    assert data["status"] == "completed" and data["resumed"]
    assert Counter(side_effects(flow_dir)) == {"s1": 1, "s2": 1, "p0": 1, "p1": 1, "s3": 2, "s4": 1}
    again = jotty("runs", "resume", "f1", "-q")
    assert ok(again).startswith("completed  run f1") and "has finished already" in again.stderr
    assert Counter(side_effects(flow_dir))["s4"] == 1


def test_resume_needs_the_flow_file_when_the_run_does_not_name_it(
    jotty: Jotty, flow_file: Path, flow_dir: Path, db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLOW_BROKEN", "s2")
    asyncio.run(load_flow(flow_file).run("in", store=db, run_id="api-1"))  # started from Python
    monkeypatch.delenv("FLOW_BROKEN")
    message = error(jotty("runs", "resume", "api-1"))
    assert "does not say which flow file it runs" in message and "--flow FLOW.yaml" in message
    out = ok(jotty("runs", "resume", "api-1", "--flow", str(flow_file), "-q"))
    assert out.startswith("completed  run api-1")
    assert "no run 'ghost'" in error(jotty("runs", "resume", "ghost"))


def test_resume_with_a_different_flow_is_refused(
    jotty: Jotty, flow_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLOW_BROKEN", "s2")
    assert jotty("run", str(flow_file), "--input", "in", "--run-id", "x1", "-q").exit_code == 1
    monkeypatch.delenv("FLOW_BROKEN")
    other = flow_file.with_name("other.yaml")
    other.write_text(KILLABLE.replace("name: s4", "name: s5").replace("kwargs: {name: s4}", "kwargs: {name: s5}"))
    message = error(jotty("runs", "resume", "x1", "--flow", str(other)))
    assert "different flow shape" in message
    flow_file.write_text(KILLABLE + "description: edited\n")  # same shape, edited text
    result = jotty("runs", "resume", "x1", "-q")
    assert ok(result).startswith("completed  run x1") and "changed since run x1 started" in result.stderr


@pytest.mark.skipif(not hasattr(signal, "SIGINT"), reason="needs SIGINT")
def test_ctrl_c_stops_a_run_that_resumes_later(jotty: Jotty, flow_file: Path, flow_dir: Path, db: Path) -> None:
    env = {**os.environ, "FLOW_BLOCK": "s2"}
    argv = [sys.executable, "-m", "jotty", "run", str(flow_file), "--input", "in", "--store", str(db), "--run-id", "c1"]
    process = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while "s2" not in side_effects(flow_dir):
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.02)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130
    assert err.splitlines()[-1] == f"error: interrupted: resume the run with `jotty runs resume c1 --store {db}`"
    assert "Traceback" not in err and "● s2  running" in err
    assert asyncio.run(get_run("c1", db)).status is RunStatus.FAILED
    assert ok(jotty("runs", "resume", "c1", "-q")).startswith("completed  run c1")
    assert Counter(side_effects(flow_dir)) == {"s1": 1, "s2": 2, "p0": 1, "p1": 1, "s3": 1, "s4": 1}
