"""examples/research_chain.yaml runs as the README says: a retry, a partial fan-out with a program, a fallback."""

from __future__ import annotations

from pathlib import Path

from jotty.runs import RunStatus, StepStatus
from jotty.spec import load_definition

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "research_chain.yaml"


async def test_the_example_flow_runs_with_its_default_input(tmp_path: Path) -> None:
    definition = load_definition(EXAMPLE)
    result = await definition.flow.run(definition.input, store=tmp_path / "runs.db")
    assert result.status is RunStatus.PARTIAL  # the legal branch is down; 3 of 4 are enough
    assert result.handled == {
        "research/fetch": "retry",
        "research/analyze/legal": "abort",
        "research/write": "fallback",
    }
    assert result.step("fetch").attempts == 2
    assert result.step("research/analyze/legal").status is StepStatus.FAILED
    assert result.output == (
        "REPORT\n- market: 5 findings, two with buyers\n- technical: 5 findings hold up\n- source notes: 20 words"
    )
    assert result.tokens.prompt == 1030 and result.tokens.completion == 310
