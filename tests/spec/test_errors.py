"""A bad definition fails before anything runs, with file, line, column and key in one line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from jotty.errors import DefinitionError, JottyError
from jotty.spec import SpecError, load_definition, load_flow, load_flow_text
from tests.spec.conftest import WriteFlow, side_effects


def located(write_flow: WriteFlow, text: str, name: str = "flow.yaml") -> tuple[Path, SpecError]:
    path = write_flow(textwrap.dedent(text).lstrip("\n"), name)
    with pytest.raises(SpecError) as caught:
        load_definition(path)
    error = caught.value
    assert isinstance(error, DefinitionError) and isinstance(error, JottyError)
    assert "\n" not in str(error)
    return path, error


def check(error: SpecError, path: Path, line: int, column: int, key: str, *words: str) -> None:
    """The message starts with ``file:line:column: key:`` and says ``words``."""
    assert str(error).startswith(f"{path}:{line}:{column}: {key}: "), str(error)
    assert (error.line, error.column, error.key, error.source) == (line, column, key, str(path))
    for word in words:
        assert word in str(error), (word, str(error))


STEP = '{kind: function, function: "tools:upper"}'


def test_unknown_key_names_it_and_suggests_the_right_one(write_flow: WriteFlow) -> None:
    path, error = located(
        write_flow,
        f"""
        flow:
          pattern: chain
          steps:
            - agent: {STEP}
              on_error:
                strategy: retry
                max_atempts: 3
        """,
    )
    check(error, path, 7, 9, "flow.steps[0].on_error.max_atempts", "unknown key 'max_atempts'", "'max_attempts'")


def test_unknown_key_in_an_agent_and_at_the_top(write_flow: WriteFlow) -> None:
    path, error = located(
        write_flow, "flow:\n  pattern: chain\n  steps:\n    - agent: {kind: command, argv: [ls], shell: true}\n"
    )
    check(error, path, 4, 42, "flow.steps[0].agent.shell", "unknown key 'shell' in a command agent", "allowed:")
    path, error = located(
        write_flow, f"flows:\n  pattern: chain\nflow:\n  pattern: chain\n  steps: [{{agent: {STEP}}}]\n"
    )
    check(error, path, 1, 1, "flows", "unknown key 'flows' in the document", "did you mean 'flow'")


def test_wrong_type(write_flow: WriteFlow) -> None:
    path, error = located(
        write_flow,
        f"""
        flow:
          pattern: parallel
          max_concurrency: two
          branches: [{{agent: {STEP}}}]
        """,
    )
    check(error, path, 3, 3, "flow.max_concurrency", "valid integer", "'two'")


def test_a_quoted_number_is_not_a_number(write_flow: WriteFlow) -> None:
    path, error = located(
        write_flow,
        f"""
        flow:
          pattern: chain
          steps:
            - agent: {STEP}
              timeout: "5"
        """,
    )
    check(error, path, 5, 7, "flow.steps[0].timeout", "valid number", "'5'")


def test_unknown_pattern(write_flow: WriteFlow) -> None:
    path, error = located(write_flow, "flow:\n  pattern: pipeline\n  steps: []\n")
    check(error, path, 2, 3, "flow.pattern", "unknown pattern 'pipeline'", "chain, sequential, sub_agent")


def test_unknown_agent_kind_suggests_the_right_one(write_flow: WriteFlow) -> None:
    path, error = located(
        write_flow,
        """
        flow:
          pattern: chain
          steps:
            - name: a
              agent:
                kind: comand
                argv: [ls]
        """,
    )
    check(error, path, 6, 9, "flow.steps[0].agent.kind", "unknown agent kind 'comand'", "did you mean 'command'")


def test_nested_unknown_pattern_and_missing_kind(write_flow: WriteFlow) -> None:
    path, error = located(
        write_flow,
        """
        flow:
          pattern: chain
          steps:
            - agent:
                pattern: parallel
                branches:
                  - agent: {pattern: paralel, branches: []}
        """,
    )
    check(error, path, 7, 21, "flow.steps[0].agent.branches[0].agent.pattern", "did you mean 'parallel'")
    path, error = located(write_flow, 'flow:\n  pattern: chain\n  steps:\n    - agent: {function: "tools:upper"}\n')
    check(error, path, 4, 7, "flow.steps[0].agent", "missing required key 'kind'")


def test_missing_required_key(write_flow: WriteFlow) -> None:
    path, error = located(
        write_flow,
        """
        flow:
          pattern: chain
          steps:
            - name: first
              timeout: 3
        """,
    )
    check(error, path, 4, 7, "flow.steps[0]", "missing required key 'agent' in a step", "agent or flow this step runs")
    path, error = located(write_flow, "flow:\n  pattern: chain\n  steps:\n    - agent: {kind: function}\n")
    check(error, path, 4, 7, "flow.steps[0].agent", "missing required key 'function' in a function agent")
    path, error = located(write_flow, "name: nothing\n")
    assert str(error).startswith(f"{path}:1:1: missing required key 'flow' in the document"), str(error)


def test_import_path_that_does_not_resolve_points_at_the_key(write_flow: WriteFlow) -> None:
    path, error = located(
        write_flow,
        """
        flow:
          pattern: chain
          steps:
            - agent:
                kind: function
                function: "tools:uper"
        """,
    )
    check(
        error,
        path,
        6,
        9,
        "flow.steps[0].agent.function",
        "'tools:uper'",
        "has no attribute 'uper'",
        "did you mean 'upper'",
    )
    path, error = located(
        write_flow, 'flow:\n  pattern: chain\n  steps:\n    - agent: {kind: function, function: "toolz:upper"}\n'
    )
    check(error, path, 4, 31, "flow.steps[0].agent.function", "no module 'toolz'", "beside the flow file")
    path, error = located(
        write_flow, 'flow:\n  pattern: chain\n  steps:\n    - agent: {kind: function, function: "tools:not_callable"}\n'
    )
    check(error, path, 4, 31, "flow.steps[0].agent.function", "is a int, not a function")
    path, error = located(
        write_flow, 'flow:\n  pattern: chain\n  steps:\n    - agent: {kind: function, function: "tools"}\n'
    )
    check(error, path, 4, 31, "flow.steps[0].agent.function", "not an import path", "'package.module:name'")


def test_import_paths_of_plans_tools_and_contracts_are_checked_too(write_flow: WriteFlow) -> None:
    path, error = located(
        write_flow,
        f"""
        flow:
          pattern: team
          plan: "tools:no_plan"
          members: [{{name: a, agent: {STEP}}}]
        """,
    )
    check(error, path, 3, 3, "flow.plan", "has no attribute 'no_plan'")
    path, error = located(
        write_flow,
        f"""
        flow:
          pattern: chain
          steps:
            - agent: {STEP}
              output: "tools:Nope"
        """,
    )
    check(error, path, 5, 7, "flow.steps[0].output", "has no attribute 'Nope'")


def test_a_module_that_fails_to_import_is_reported_at_the_key(write_flow: WriteFlow, flow_dir: Path) -> None:
    (flow_dir / "broken.py").write_text("raise RuntimeError('half-written module')\n")
    path, error = located(
        write_flow, 'flow:\n  pattern: chain\n  steps:\n    - agent: {kind: function, function: "broken:x"}\n'
    )
    check(error, path, 4, 31, "flow.steps[0].agent.function", "RuntimeError: half-written module")


def test_duplicate_step_names(write_flow: WriteFlow) -> None:
    path, error = located(
        write_flow,
        f"""
        flow:
          pattern: chain
          steps:
            - name: fetch
              agent: {STEP}
            - name: fetch
              agent: {STEP}
        """,
    )
    check(error, path, 6, 7, "flow.steps[1].name", "duplicate step name 'fetch'", "line 4", "unique name")


def test_duplicate_default_names_branches_phases_and_members(write_flow: WriteFlow) -> None:
    path, error = located(write_flow, f"flow:\n  pattern: chain\n  steps:\n    - agent: {STEP}\n    - agent: {STEP}\n")
    check(error, path, 5, 7, "flow.steps[1]", "duplicate step name 'upper'", "give it a name")
    path, error = located(
        write_flow,
        f"flow:\n  pattern: parallel\n  branches:\n"
        f"    - {{name: x, agent: {STEP}}}\n    - {{name: x, agent: {STEP}}}\n",
    )
    check(error, path, 5, 8, "flow.branches[1].name", "duplicate step name 'x'")
    path, error = located(
        write_flow,
        f"""
        flow:
          pattern: phased
          phases:
            - {{name: p, steps: [{{agent: {STEP}}}]}}
            - {{name: p, steps: [{{agent: {STEP}}}]}}
        """,
    )
    check(error, path, 5, 7, "flow.phases[1]", "duplicate phase name 'p'")
    path, error = located(
        write_flow,
        f"flow:\n  pattern: team\n  members:\n    - {{name: m, agent: {STEP}}}\n    - {{name: m, agent: {STEP}}}\n",
    )
    check(error, path, 5, 7, "flow.members[1]", "duplicate member name 'm'")


def test_yaml_syntax_error_has_line_and_column(write_flow: WriteFlow) -> None:
    path, error = located(write_flow, "flow:\n  pattern: chain\n   steps: [\n")
    assert str(error).startswith(f"{path}:3:9: YAML syntax error: mapping values are not allowed here"), str(error)
    path, error = located(write_flow, "flow:\n  pattern: chain\n  steps: [a, b\n")
    assert f"{path}:4:1: YAML syntax error" in str(error)


def test_duplicate_keys_are_errors_in_yaml_and_json(write_flow: WriteFlow) -> None:
    path, error = located(write_flow, "flow:\n  pattern: chain\n  pattern: parallel\n")
    check(error, path, 3, 3, "flow.pattern", "duplicate key 'pattern'", "first at line 2")
    path, error = located(write_flow, '{"flow": {"pattern": "chain",\n "pattern": "team"}}', "flow.json")
    check(error, path, 2, 2, "flow.pattern", "duplicate key 'pattern'", "first at line 1")


def test_json_errors_are_located_too(write_flow: WriteFlow) -> None:
    path, error = located(
        write_flow, '{\n  "flow": {\n    "pattern": "chain",\n    "steps": [,]\n  }\n}\n', "flow.json"
    )
    assert str(error).startswith(f"{path}:4:15: JSON syntax error: Expecting value"), str(error)
    text = (
        '{\n  "flow": {\n    "pattern": "chain",\n    "steps": [\n'
        '      {"agent": {"kind": "function", "function": "tools:upper", "thraed": false}}\n    ]\n  }\n}\n'
    )
    path, error = located(write_flow, text, "flow.json")
    check(error, path, 5, 65, "flow.steps[0].agent.thraed", "unknown key 'thraed'", "did you mean 'thread'")
    text = (
        '{"flow": {"pattern": "chain", "steps": [{"name": "a", "agent": '
        '{"kind": "function", "function": "tools:nope"}}]}}'
    )
    path, error = located(write_flow, text, "flow.json")
    check(error, path, 1, 85, "flow.steps[0].agent.function", "has no attribute 'nope'")


def test_the_root_flow_must_be_a_pattern(write_flow: WriteFlow) -> None:
    path, error = located(write_flow, f"flow: {STEP}\n")
    check(error, path, 1, 1, "flow", "must be a pattern, not an agent")
    path, error = located(write_flow, "- flow\n")
    assert str(error) == f"{path}:1:1: a flow definition is a mapping with a 'flow:' key, got list"
    path, error = located(write_flow, "# nothing here\n")
    assert str(error).startswith(f"{path}:1:1: the file is empty")


def test_unknown_and_cyclic_agent_references(write_flow: WriteFlow) -> None:
    path, error = located(write_flow, f"agents:\n  up: {STEP}\nflow:\n  pattern: chain\n  steps: [{{agent: uper}}]\n")
    check(error, path, 5, 12, "flow.steps[0].agent", "unknown agent 'uper'", "defined agents: up")
    path, error = located(
        write_flow,
        """
        agents:
          a: {pattern: chain, steps: [{agent: b}]}
          b: {pattern: chain, steps: [{agent: a}]}
        flow: {pattern: chain, steps: [{agent: a}]}
        """,
    )
    check(error, path, 3, 32, "agents.b.steps[0].agent", "agent 'a' contains itself (a -> b -> a)")


def test_what_a_pattern_refuses_is_located_at_its_key(write_flow: WriteFlow) -> None:
    path, error = located(
        write_flow, f"flow:\n  pattern: parallel\n  min_success: 3\n  branches: [{{agent: {STEP}}}]\n"
    )
    check(error, path, 3, 3, "flow.min_success", "min_success=3 but it has only 1 branches")
    path, error = located(
        write_flow, f"flow:\n  pattern: sequential\n  steps:\n    - agent: {STEP}\n      on_error: skip\n"
    )
    check(error, path, 5, 7, "flow.steps[0].on_error", "a sequential step has no error strategy", "pattern: chain")
    path, error = located(
        write_flow, "flow:\n  pattern: chain\n  steps:\n    - agent: {kind: command, argv: ['{bad key}']}\n"
    )
    check(error, path, 4, 7, "flow.steps[0].agent", "bad placeholder")


def test_bad_names_and_strategies(write_flow: WriteFlow) -> None:
    path, error = located(write_flow, f"flow:\n  pattern: chain\n  steps:\n    - name: a/b\n      agent: {STEP}\n")
    check(error, path, 4, 7, "flow.steps[0].name", "contains '/'")
    path, error = located(
        write_flow, f"flow:\n  pattern: chain\n  steps:\n    - agent: {STEP}\n      on_error: retyr\n"
    )
    check(error, path, 5, 7, "flow.steps[0].on_error", "unknown error strategy 'retyr'", "did you mean 'retry'")
    path, error = located(
        write_flow, f"flow:\n  pattern: chain\n  steps:\n    - agent: {STEP}\n      on_error: fallback\n"
    )
    check(error, path, 5, 7, "flow.steps[0].on_error", "missing required key 'agent' in a fallback strategy")


def test_every_problem_is_kept_the_first_in_the_file_is_the_message(write_flow: WriteFlow) -> None:
    path, error = located(
        write_flow,
        f"""
        flow:
          pattern: chain
          steps:
            - agent: {STEP}
              timeout: -1
            - agent: {STEP}
              bogus: 1
        """,
    )
    check(error, path, 5, 7, "flow.steps[0].timeout", "greater than 0", "(and 1 more problem)")
    assert len(error.problems) == 2 and "unknown key 'bogus'" in error.problems[1]


def test_nothing_runs_when_a_later_part_is_bad(write_flow: WriteFlow, flow_dir: Path) -> None:
    text = """
    flow:
      pattern: chain
      steps:
        - {name: s1, agent: {kind: function, function: "tools:step", kwargs: {name: s1}}}
        - {name: s2, agent: {kind: function, function: "tools:step", kwargs: {name: s2}}, timeout: soon}
    """
    located(write_flow, text)
    assert side_effects(flow_dir) == []


def test_files_that_cannot_be_read(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"missing\.yaml: no such flow file"):
        load_flow(tmp_path / "missing.yaml")
    (tmp_path / "flow.txt").write_text("flow: {}")
    with pytest.raises(SpecError, match=r"flow\.txt: a flow definition is a \.yaml, \.yml or \.json file"):
        load_flow(tmp_path / "flow.txt")
    with pytest.raises(SpecError, match="unknown format 'toml'"):
        load_flow_text("x = 1", "toml")  # type: ignore[arg-type]


def test_text_definitions_are_named_in_messages() -> None:
    with pytest.raises(SpecError) as caught:
        load_flow_text("flow:\n  pattern: chain\n  steps: 3\n", source="inline")
    assert str(caught.value).startswith("inline:3:3: flow.steps: Input should be a valid list")
