"""Insights over stored runs of one flow; adding one is one generator function."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from jotty.context import PrefetchModel
from jotty.dashboard.insights import INSIGHTS, FlowRuns, insight
from jotty.dashboard.insights.builtin import percentile
from jotty.runs import open_run_store
from tests.context.flows import Seen, flows, policy
from tests.dashboard.conftest import client_for
from tests.dashboard.flows import nested_flow


def _by_name(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {i["name"]: i for i in data["insights"]}


async def test_insights_across_runs_of_a_flow(store: str) -> None:
    # Three runs of version 1 (the verify step fails once in two of them), two of version 2 with 3x tokens.
    for i in range(3):
        await nested_flow(fail_first=i < 2).run("q", store=store, run_id=f"v1-{i}", metadata={"version": 1})
    for i in range(2):
        await nested_flow(tokens=3).run("q", store=store, run_id=f"v2-{i}", metadata={"version": 2})
    with client_for(store) as client:
        data = client.get("/api/insights?flow=research-flow").json()
    assert data["runs"] == 5
    found = _by_name(data)
    slow = found["slowest_steps"]["rows"]
    assert {r["step"] for r in slow} == {
        "fetch",
        "research/summarize",
        "research/review/verify",
        "analyze",
        "publish",
        "report",
    }
    assert all(r["runs"] == 5 and r["p50_s"] <= r["p95_s"] <= r["max_s"] for r in slow)
    trouble = {r["step"]: r for r in found["troubled_steps"]["rows"]}
    assert trouble["analyze"]["fallbacks"] == 5 and trouble["publish"]["skipped"] == 5
    assert (
        trouble["research/review/verify"]["retried"] == 4 and trouble["research/review/verify"]["trouble_rate"] == 0.8
    )
    fired = {(r["strategy"], r["step"]): r["times"] for r in found["strategies_fired"]["rows"]}
    assert fired == {("fallback", "analyze"): 5, ("skip", "publish"): 5, ("retry", "research/review/verify"): 4}
    tokens = found["token_spend"]["rows"]
    assert tokens[0]["step"] == "research/summarize" and abs(sum(r["share"] for r in tokens) - 1) < 0.01
    versions = found["cost_by_version"]["rows"]
    assert [v["version"] for v in versions] == ["version 1", "version 2"]
    assert versions[1]["tokens_per_run"] == 3 * versions[0]["tokens_per_run"] and versions[1]["tokens_change"] == 2.0


async def test_cost_by_version_tells_the_levels_a_flow_ran_at_apart(store: str) -> None:
    for level in ("L1", "L3", "L1", "L3"):
        seen = Seen()
        await flows(seen)["chain"].run("go", store=store, level=level, policy=policy(seen))
    await flows(Seen())["chain"].run(
        "go", store=store, level="L3", metadata={"version": "v2"}
    )  # the caller's word wins
    runs = open_run_store(store)
    try:
        levels = []
        for summary in await runs.list_runs(limit=10):
            record = await runs.get_run(summary.run_id)
            assert record is not None
            levels.append(str(record.metadata.get("context_level")))
        assert sorted(levels) == ["L1", "L1", "L3", "L3", "L3"]
    finally:
        await runs.close()
    with client_for(store) as client:
        rows = _by_name(client.get("/api/insights?flow=chain").json())["cost_by_version"]["rows"]
    assert [(r["version"], r["runs"]) for r in rows] == [("level L1", 2), ("level L3", 2), ("version v2", 1)]


async def test_prefetch_across_runs_shows_l4_learning_the_flow(store: str) -> None:
    model = PrefetchModel()  # the first run learns (the store has no run of the flow yet), the later ones prefetch
    for n in range(3):
        seen = Seen()
        await flows(seen)["chain"].run("go", store=store, run_id=f"l4-{n}", level="L4", policy=policy(seen, model))
    await flows(Seen())["chain"].run("go", store=store, run_id="plain", level="L3", policy=policy(Seen()))
    with client_for(store) as client:
        rows = _by_name(client.get("/api/insights?flow=chain").json())["prefetch_across_runs"]["rows"]
    assert [r["run"] for r in rows] == ["l4-0", "l4-1", "l4-2"]  # oldest first; the run at L3 has no row
    assert [r["hit_rate"] for r in rows] == [0.0, 1.0, 1.0]
    assert [(r["hits"], r["misses"], r["wasted"]) for r in rows] == [(0, 2, 0), (2, 0, 0), (2, 0, 0)]


async def test_a_new_insight_is_one_function(store: str) -> None:
    @insight("Runs per status", ("status", "runs"))
    def runs_per_status(runs: FlowRuns) -> Iterator[dict[str, Any]]:
        """How many of the flow's runs ended in each status."""
        counts: dict[str, int] = {}
        for run in runs.runs:
            counts[run.status] = counts.get(run.status, 0) + 1
        for status, n in sorted(counts.items()):
            yield {"status": status, "runs": n}

    try:
        await nested_flow().run("q", store=store, run_id="a")
        with client_for(store) as client:
            found = _by_name(client.get("/api/insights").json())["runs_per_status"]
        assert found["rows"] == [{"status": "partial", "runs": 1}]
        assert found["description"] == "How many of the flow's runs ended in each status."
    finally:
        del INSIGHTS["runs_per_status"]


async def test_insights_on_an_empty_store_and_bad_input(store: str) -> None:
    await open_run_store(store).close()  # an empty, migrated store
    with client_for(store) as client:
        assert client.get("/api/insights").json() == {"flow": None, "flows": [], "runs": 0, "insights": []}
        assert "from 1 to 5000" in client.get("/api/insights?flow=x&runs=0").json()["error"]


def test_percentile() -> None:
    assert percentile([], 0.5) == 0.0
    assert percentile([3.0, 1.0, 2.0], 0.5) == 2.0
    assert percentile([1.0, 2.0], 0.95) == 1.95
