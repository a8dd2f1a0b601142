"""``flow_schema()`` / ``jotty schema``: a valid JSON Schema that accepts good definitions and refuses bad ones."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from typer.testing import CliRunner

from jotty.cli.main import app
from jotty.spec import flow_schema
from jotty.spec.agents import AGENT_KINDS
from jotty.spec.models import PATTERNS

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "research_chain.yaml"


def refs(node: Any) -> set[str]:
    """Every ``$ref`` in ``node``."""
    if isinstance(node, dict):
        found = {node["$ref"]} if "$ref" in node else set()
        for value in node.values():
            found |= refs(value)
        return found
    if isinstance(node, list):
        return set().union(*(refs(item) for item in node)) if node else set()
    return set()


def test_the_schema_describes_every_pattern_and_agent_kind() -> None:
    schema = flow_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["required"] == ["flow"] and schema["additionalProperties"] is False
    definitions = schema["$defs"]
    for ref in refs(schema):  # every reference resolves
        assert ref.startswith("#/$defs/") and ref.removeprefix("#/$defs/") in definitions, ref
    consts = {
        prop["const"]
        for model in definitions.values()
        for key, prop in model.get("properties", {}).items()
        if key in ("pattern", "kind", "strategy") and "const" in prop
    }
    assert consts >= set(PATTERNS) | set(AGENT_KINDS) | {"retry", "skip", "abort", "fallback"}
    for model in definitions.values():
        assert model.get("additionalProperties") is False, model["title"]
    step = definitions["StepSpec"]
    assert "description" in step["properties"]["name"]  # field docs reach editors


def test_jotty_schema_prints_the_schema_and_writes_it(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["schema"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == flow_schema()
    target = tmp_path / "flow.schema.json"
    result = runner.invoke(app, ["schema", "--output", str(target)])
    assert result.exit_code == 0 and json.loads(target.read_text()) == flow_schema()


def test_the_schema_is_valid_and_matches_what_the_loader_accepts() -> None:

    schema = flow_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    good = yaml.safe_load(EXAMPLE.read_text())
    assert list(validator.iter_errors(good)) == []
    shorthand = {"flow": {"pattern": "chain", "steps": [{"agent": "a", "on_error": "skip"}]}}
    assert list(validator.iter_errors(shorthand)) == []
    for bad in (
        {"flow": {"pattern": "chain", "steps": [{"agent": "a", "retries": 3}]}},
        {"flow": {"pattern": "pipeline", "steps": []}},
        {"flow": {"pattern": "parallel", "branches": [{"agent": {"kind": "function"}}]}},
        {"flow": {"pattern": "chain", "steps": [{"agent": {"kind": "function", "function": "no-colon"}}]}},
    ):
        assert list(validator.iter_errors(bad)), bad
