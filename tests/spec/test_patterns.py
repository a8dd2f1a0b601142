"""Every pattern, with its options, defined in YAML (and JSON), loaded and run with real agents."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml

from jotty.agents import CommandAgent, FunctionAgent
from jotty.patterns import Chain, Parallel, Phased, Sequential, SubAgent, Supervisor, Team
from jotty.runs import RunStatus, StepStatus
from jotty.spec import load_definition, load_flow, load_flow_text
from tests.spec.conftest import WriteFlow, side_effects


def fn(function: str, **kwargs: object) -> dict[str, object]:
    """A function agent on tools.FUNCTION (with bound kwargs), as a definition writes it."""
    agent: dict[str, object] = {"kind": "function", "function": f"tools:{function}"}
    if kwargs:
        agent["kwargs"] = kwargs
    return agent


def counted(name: str) -> dict[str, object]:
    return fn("step", name=name)


def dump(document: dict[str, object]) -> str:
    return yaml.safe_dump(document, sort_keys=False)


async def test_chain_with_every_error_strategy(write_flow: WriteFlow, flow_dir: Path) -> None:
    path = write_flow(
        """
name: strategies
flow:
  pattern: chain
  steps:
    - name: fetch
      agent: {kind: function, function: "tools:flaky"}
      on_error: {strategy: retry, max_attempts: 3, backoff: 0}
    - name: optional
      agent: {kind: function, function: "tools:boom"}
      on_error: {strategy: skip}
    - name: constant
      agent: {kind: function, function: "tools:boom"}
      on_error: {strategy: skip, output: replaced}
    - name: write
      agent: {kind: function, function: "tools:boom"}
      on_error:
        strategy: fallback
        agent: {kind: function, function: "tools:upper"}
    - name: last
      agent: {kind: function, function: "tools:boom"}
      on_error: abort
"""
    )
    result = await load_flow(path).run("in")
    assert result.status is RunStatus.FAILED
    assert result.output == "REPLACED"  # the chain stopped at 'last' and returns the last good output
    assert result.handled == {
        "strategies/fetch": "retry",
        "strategies/optional": "skip",
        "strategies/constant": "skip",
        "strategies/write": "fallback",
        "strategies/last": "abort",
    }
    assert result.step("fetch").attempts == 3
    assert result.step("optional").status is StepStatus.SKIPPED
    assert result.step("write").agent == "upper"


async def test_retry_then_fallback_when_retries_are_spent(write_flow: WriteFlow) -> None:
    path = write_flow(
        """
flow:
  pattern: chain
  steps:
    - agent: {kind: function, function: "tools:boom"}
      on_error:
        strategy: retry
        max_attempts: 2
        then: {strategy: fallback, agent: {kind: function, function: "tools:upper"}, then: skip}
"""
    )
    result = await load_flow(path).run("x")
    assert result.status is RunStatus.COMPLETED and result.output == "X"
    assert result.step("boom").attempts == 3  # two calls, then the fallback


async def test_sequential_shares_one_window(write_flow: WriteFlow, flow_dir: Path) -> None:
    document = {
        "flow": {
            "pattern": "sequential",
            "name": "seq",
            "steps": [{"name": "a", "agent": counted("a")}, {"name": "b", "agent": counted("b")}],
        }
    }
    flow = load_flow(write_flow(dump(document)))
    assert isinstance(flow, Sequential)
    result = await flow.run("in")
    assert result.output == "in>a>b"
    assert [w.path for w in result.token_shape.windows] == ["seq"]
    assert side_effects(flow_dir) == ["a", "b"]


async def test_sub_agent_with_a_summarizer_and_a_fallback(write_flow: WriteFlow) -> None:
    document = {
        "flow": {
            "pattern": "chain",
            "steps": [
                {
                    "name": "research",
                    "agent": {
                        "pattern": "sub_agent",
                        "agent": fn("words"),
                        "summarize": fn("count"),
                        "max_tokens": 50,
                        "timeout": 5,
                    },
                },
                {
                    "name": "contained",
                    "agent": {
                        "pattern": "sub_agent",
                        "agent": fn("boom"),
                        "on_error": {"strategy": "fallback", "agent": fn("tag", label="fb")},
                    },
                },
            ],
        }
    }
    flow = load_flow(write_flow(dump(document)))
    assert isinstance(flow.steps[0].agent, SubAgent)
    result = await flow.run("one two three")
    assert result.status is RunStatus.COMPLETED
    assert result.output == "3:fb"


async def test_phased_with_phases_and_an_orchestrator(
    write_flow: WriteFlow, flow_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    document = {
        "flow": {
            "pattern": "phased",
            "name": "edit",
            "orchestrator": fn("orchestrate"),
            "phases": [
                {"name": "plan", "steps": [{"name": "p", "agent": counted("p")}]},
                {"name": "apply", "max_attempts": 2, "steps": [{"name": "flaky", "agent": fn("flaky")}]},
                {"name": "verify", "steps": [{"name": "v", "agent": counted("v")}]},
            ],
        }
    }
    flow = load_flow(write_flow(dump(document)))
    assert isinstance(flow, Phased) and [p.name for p in flow.phases] == ["plan", "apply", "verify"]
    result = await flow.run("in")
    # flaky fails twice: the first phase attempt fails, the orchestrator retries the phase once,
    # and the retried phase's step fails again; max_attempts=2 is spent, so the run aborts
    assert result.status is RunStatus.FAILED
    assert side_effects(flow_dir) == ["p"]
    document["flow"]["phases"][1]["max_attempts"] = 3  # type: ignore[index]
    path = write_flow(dump(document), "flow3.yaml")
    result = await load_flow(path).run("in")
    assert result.status is RunStatus.COMPLETED and result.output == "in>p!>v"


async def test_parallel_concurrency_timeout_and_min_success(write_flow: WriteFlow) -> None:
    path = write_flow(
        """
flow:
  pattern: parallel
  name: fan
  max_concurrency: 2
  timeout: 0.5
  min_success: 2
  branches:
    - {name: up, agent: {kind: function, function: "tools:upper"}}
    - {name: words, agent: {kind: function, function: "tools:words"}}
    - {name: stuck, agent: {kind: function, function: "tools:slow"}}
"""
    )
    flow = load_flow(path)
    assert isinstance(flow, Parallel) and flow.max_concurrency == 2 and flow.min_success == 2
    result = await flow.run("a b")
    assert result.status is RunStatus.PARTIAL
    assert result.output == ["A B", ["a", "b"], None]
    assert "timed out" in (result.step("stuck").error or "")


async def test_team_with_roles_and_a_plan(write_flow: WriteFlow) -> None:
    path = write_flow(
        """
flow:
  pattern: team
  plan: "tools:team_plan"
  max_attempts: 2
  members:
    - {name: ann, agent: {kind: function, function: "tools:upper"}, roles: [writer]}
    - {name: bob, agent: {kind: function, function: "tools:tag", kwargs: {label: ok}}, roles: [checker]}
"""
    )
    flow = load_flow(path)
    assert isinstance(flow, Team)
    result = await flow.run("doc")
    assert result.output == {"a": "DOC-A", "b": "doc-b:ok"}


async def test_supervisor_with_workers_plan_review_and_hiring(write_flow: WriteFlow) -> None:
    path = write_flow(
        """
agents:
  shout: {kind: function, function: "tools:upper"}
flow:
  pattern: supervisor
  workers: [shout]
  worker_factory: "tools:hire"
  max_workers: 3
  plan: {kind: function, function: "tools:split"}
  review: {kind: function, function: "tools:approve"}
  max_attempts: 2
  retire_after: 1
  summary_tokens: 20
"""
    )
    flow = load_flow(path)
    assert isinstance(flow, Supervisor) and flow.max_workers == 3
    result = await flow.run("a,b,c")
    assert result.status is RunStatus.COMPLETED
    assert result.output == ["A", "B", "C"]


async def test_command_agent_runs_a_real_process(write_flow: WriteFlow, flow_dir: Path) -> None:
    (flow_dir / "work").mkdir()
    script = (
        "import json, os, sys; "
        "print(json.dumps({{'in': sys.stdin.read(), 'cwd': os.getcwd(), 'env': os.environ['GREETING']}}))"
    )  # argv items are templates: literal braces are doubled
    document = {
        "flow": {
            "pattern": "chain",
            "steps": [
                {
                    "name": "py",
                    "agent": {
                        "kind": "command",
                        "argv": [sys.executable, "-c", script],
                        "cwd": "work",
                        "env": {"GREETING": "hello"},
                        "stdin": True,
                        "output": "json",
                        "timeout": 30,
                        "log_dir": "logs",
                    },
                }
            ],
        }
    }
    flow = load_flow(write_flow(dump(document)))
    agent = flow.steps[0].agent
    assert isinstance(agent, CommandAgent) and agent.name == Path(sys.executable).name
    result = await flow.run("text in")
    assert result.status is RunStatus.COMPLETED, result.error
    assert result.output == {"in": "text in", "cwd": str((flow_dir / "work").resolve()), "env": "hello"}
    assert list((flow_dir / "logs").iterdir())  # log_dir is beside the flow file too


async def test_a_program_beside_the_flow_file(write_flow: WriteFlow, flow_dir: Path) -> None:
    program = flow_dir / "bin" / "shout.sh"
    program.parent.mkdir()
    program.write_text('#!/bin/sh\necho "$1" | tr a-z A-Z\n')
    program.chmod(0o755)
    path = write_flow(
        """
flow:
  pattern: chain
  steps:
    - agent: {kind: command, argv: [./bin/shout.sh, "{input}"], name: shout}
"""
    )
    result = await load_flow(path).run("quiet")
    assert result.output == "QUIET", result.error


async def test_patterns_nest_in_each_other(write_flow: WriteFlow, flow_dir: Path) -> None:
    path = write_flow(
        """
name: nested
agents:
  a: {kind: function, function: "tools:step", kwargs: {name: a}}
  inner:
    pattern: chain
    steps:
      - {name: b, agent: {kind: function, function: "tools:step", kwargs: {name: b}}}
      - name: fan
        agent:
          pattern: parallel
          branches:
            - agent: {kind: function, function: "tools:step", kwargs: {name: c}}
            - agent:
                pattern: sub_agent
                agent:
                  pattern: sequential
                  steps:
                    - {name: d, agent: {kind: function, function: "tools:step", kwargs: {name: d}}}
flow:
  pattern: chain
  steps:
    - {agent: a}
    - {name: inner, agent: inner}
    - name: phases
      agent:
        pattern: phased
        phases:
          - name: only
            steps:
              - name: team
                agent:
                  pattern: team
                  members:
                    - {name: m, agent: a}
"""
    )
    flow = load_flow(path)
    assert isinstance(flow, Chain) and flow.name == "nested"
    assert flow.steps[0].name == "a"  # a named agent's default name is its key
    assert isinstance(flow.steps[1].agent, Chain)
    result = await flow.run("in")
    assert result.status is RunStatus.COMPLETED, result.error
    assert result.output == {"task-0": "in>a>b>c>a", "task-1": "in>a>b>d>a"}  # a team's task per list item
    assert sorted(side_effects(flow_dir)) == ["a", "a", "a", "b", "c", "d"]
    assert "nested/inner/fan/branch-1/work/d" in {s.path for s in result.steps}


async def test_yaml_and_json_define_the_same_flow(write_flow: WriteFlow) -> None:
    document = {
        "name": "same",
        "flow": {
            "pattern": "chain",
            "steps": [
                {"name": "up", "agent": fn("upper"), "on_error": "retry", "timeout": 5},
                {"name": "fan", "agent": {"pattern": "parallel", "branches": [{"agent": fn("words")}]}},
            ],
        },
    }
    from_yaml = load_flow(write_flow(dump(document), "same.yaml"))
    from_json = load_flow(write_flow(json.dumps(document, indent=2), "same.json"))
    assert from_yaml.describe() == from_json.describe()
    assert (await from_json.run("a b")).output == [["A", "B"]]


async def test_text_definitions_resolve_beside_base_dir(flow_dir: Path) -> None:
    text = '{"flow": {"pattern": "chain", "steps": [{"agent": {"kind": "function", "function": "tools:upper"}}]}}'
    flow = load_flow_text(text, "json", base_dir=flow_dir)
    assert (await flow.run("a")).output == "A"


async def test_kwargs_agent_objects_contracts_and_thread(write_flow: WriteFlow) -> None:
    path = write_flow(
        """
flow:
  pattern: chain
  steps:
    - agent: {kind: function, function: "tools:tag", kwargs: {label: ab, times: 2}, name: tagged, thread: false}
    - agent: {kind: function, function: "tools:shouting"}
    - name: notes
      agent: {kind: function, function: "tools:to_notes"}
      output: "tools:Notes"
    - name: short
      agent: {kind: function, function: "tools:count"}
      input: "tools:is_short"
      on_error: skip
"""
    )
    flow = load_flow(path)
    first, second = flow.steps[0].agent, flow.steps[1].agent
    assert isinstance(first, FunctionAgent) and first.name == "tagged" and first.thread is False
    assert second.name == "shouting"  # the module's agent object, used as it is
    result = await flow.run("q")
    assert result.step("notes").status is StepStatus.COMPLETED
    assert result.output.topic == "Q:ABAB"  # the output contract converted it to the model
    assert result.step("short").status is StepStatus.SKIPPED  # the input contract refused it


async def test_definition_keeps_the_spec_default_input_and_digest(write_flow: WriteFlow) -> None:
    path = write_flow(
        """
name: withinput
description: has a default input
input: [1, 2, 3]
flow:
  pattern: chain
  steps: [{agent: {kind: function, function: "tools:count"}}]
"""
    )
    definition = load_definition(path)
    assert definition.has_input and definition.input == [1, 2, 3]
    assert definition.path == path.resolve() and len(definition.digest) == 64
    assert definition.spec.description == "has a default input"
    assert (await definition.flow.run(definition.input)).output == 3


async def test_a_defined_flow_runs_durably_and_resumes(
    write_flow: WriteFlow, flow_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_flow(
        """
flow:
  pattern: chain
  steps:
    - {name: s1, agent: {kind: function, function: "tools:step", kwargs: {name: s1}}}
    - {name: s2, agent: {kind: function, function: "tools:step", kwargs: {name: s2}}}
"""
    )
    store = tmp_path / "runs.db"
    monkeypatch.setenv("FLOW_BROKEN", "s2")
    failed = await load_flow(path).run("in", store=store, run_id="r1")
    assert failed.status is RunStatus.FAILED
    monkeypatch.delenv("FLOW_BROKEN")
    done = await load_flow(path).run("in", store=store, run_id="r1")
    assert done.status is RunStatus.COMPLETED and done.resumed and done.output == "in>s1>s2"
    assert side_effects(flow_dir) == ["s1", "s2", "s2"]  # s1 ran once
