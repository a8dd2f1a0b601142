"""Review: a run reported as spans keeps the level and policy it was given."""

from __future__ import annotations

from pathlib import Path

from jotty.patterns import Sequential
from jotty.patterns.runner import LEVEL_KEY
from jotty.runs import get_run
from tests.context.flows import Seen, flows, policy

from .conftest import Spans


async def test_a_traced_run_keeps_its_level_and_policy(spans: Spans, tmp_path: Path) -> None:
    seen = Seen()
    flow = flows(seen)["sequential"]
    assert isinstance(flow, Sequential)
    store = str(tmp_path / "runs.db")
    result = await flow.run("go", store=store, run_id="traced", level="L2", policy=policy(seen))
    assert result.ok and spans.named("invoke_workflow sequential")
    assert "metric-definitions" in seen.last("write")["parts"]  # the policy's parts reached the window
    assert (await get_run("traced", store)).metadata[LEVEL_KEY] == "L2"
