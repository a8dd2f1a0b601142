"""The example flow in examples/ runs, durably, and comes back from the store the second time."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from jotty.runs import RunStatus

EXAMPLE = Path(__file__).parents[2] / "examples" / "research_flow.py"


async def test_the_research_example_runs_and_reruns_from_the_store(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("research_flow", EXAMPLE)
    assert spec is not None and spec.loader is not None
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    store = str(tmp_path / "runs.db")
    first = await example.build().run("batteries", store=store, run_id="demo")
    assert first.status is RunStatus.PARTIAL and first.output.startswith("REPORT\n- market")
    assert first.handled == {"research/fetch": "retry", "research/analyze/branch-2": "abort"}
    again = await example.build().run("batteries", store=store, run_id="demo")
    assert again.resumed and again.output == first.output and example.attempts["fetch"] == 2
