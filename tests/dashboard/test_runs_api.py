"""The runs list and the run page's JSON, from runs that Jotty really ran."""

from __future__ import annotations

import time

import pytest

from jotty.dashboard.values import PREVIEW_CHARS
from tests.dashboard.conftest import client_for
from tests.dashboard.flows import BIG, XSS, record_nested, wide_flow
from tests.runs.backends import Backend


def _node(tree: dict, path: str) -> dict:
    if tree["path"] == path:
        return tree
    for child in tree["children"]:
        found = _node(child, path) if path.startswith(child["path"]) else None
        if found:
            return found
    raise AssertionError(f"no {path} in the tree")


async def test_run_page_shows_nested_tree_attempts_fallback_and_inputs(store: str) -> None:
    result = await record_nested(store, "nested-1")
    with client_for(store) as client:
        data = client.get("/api/runs/nested-1").json()

    tree = data["tree"]
    assert tree["path"] == "research-flow" and tree["status"] == str(result.status) == "partial"
    assert [c["name"] for c in tree["children"]] == ["fetch", "research", "analyze", "publish", "report"]
    research = _node(tree, "research-flow/research")
    assert research["kind"] == "parallel"
    assert sorted(c["name"] for c in research["children"]) == ["review", "summarize"]
    verify = _node(tree, "research-flow/research/review/verify")  # a chain inside a parallel inside a chain
    assert verify["attempts"] == 2 and verify["strategy"] == "retry"
    assert [(c["attempt"], c["status"]) for c in verify["calls"]] == [(1, "failed"), (2, "completed")]
    assert "flaky upstream" in verify["calls"][0]["error"]
    analyze = _node(tree, "research-flow/analyze")
    assert analyze["strategy"] == "fallback" and analyze["agent"] == "simple"
    assert [(c["status"], c["fallback"]) for c in analyze["calls"]] == [("failed", False), ("completed", True)]
    assert analyze["output"]["text"] == f'"{XSS}"'  # the value as stored JSON text; the page shows it as text
    assert _node(tree, "research-flow/publish")["status"] == "skipped"
    # Inputs: a chain passes each step the output before it; a parallel passes its own input.
    fetch = _node(tree, "research-flow/fetch")
    assert fetch["input"]["text"] == '"the quarterly numbers"'
    assert research["input"] == fetch["output"]
    assert _node(tree, "research-flow/research/summarize")["input"] == research["input"]
    # The timeline: one row per step in tree order, on the run's time axis.
    rows = data["timeline"]["rows"]
    assert len(rows) == data["step_count"] == 8
    assert [r["depth"] for r in rows[:5]] == [0, 0, 1, 1, 2]
    calls = [c for r in rows for c in _node(tree, r["path"])["calls"]]
    assert len(calls) == 10 and all(
        data["timeline"]["start"] <= c["start"] <= c["end"] <= data["timeline"]["end"] for c in calls
    )
    # The token shape: one window per agent call site, with the tokens the agents reported.
    windows = {w["path"]: w for w in data["windows"]}
    assert windows["research-flow/research/summarize"]["prompt"] == 900
    assert sum(w["prompt"] + w["completion"] for w in windows.values()) == result.tokens.total
    assert data["events_total"] == len(result.events) and data["last_event_id"] > 0


async def test_a_large_output_is_cut_with_a_link_to_the_full_value(store: str) -> None:
    await record_nested(store, "big-1")
    with client_for(store) as client:
        report = _node(client.get("/api/runs/big-1").json()["tree"], "research-flow/report")
        shown = report["output"]
        assert shown["truncated"] and len(shown["text"]) == PREVIEW_CHARS and shown["size"] == len(BIG) + 2
        full = client.get(shown["href"])
        assert full.status_code == 200 and full.text == f'"{BIG}"'
        assert full.headers["content-type"].startswith("text/plain")
        assert client.get("/api/runs/big-1/value?which=nope").status_code == 404


async def test_runs_list_filters_and_pages_by_cursor(backend: Backend) -> None:
    store = backend.store
    before = time.time()
    for i in range(7):
        await wide_flow(2).run(i, store=store, run_id=f"w-{i}")
    await record_nested(store, "n-0")
    with client_for(store) as client:
        page = client.get("/api/runs?limit=3").json()
        assert [r["run_id"] for r in page["runs"]] == ["n-0", "w-6", "w-5"] and page["next"]
        seen = [r["run_id"] for r in page["runs"]]
        while page["next"]:
            page = client.get("/api/runs", params={"limit": 3, "cursor": page["next"]}).json()
            seen += [r["run_id"] for r in page["runs"]]
        assert seen == ["n-0"] + [f"w-{i}" for i in range(6, -1, -1)]
        assert [r["run_id"] for r in client.get("/api/runs?status=partial").json()["runs"]] == ["n-0"]
        assert len(client.get("/api/runs?flow=wide").json()["runs"]) == 7
        assert client.get("/api/runs", params={"until": before}).json()["runs"] == []
        first = client.get("/api/runs?flow=research-flow").json()["runs"][0]
        assert first["tokens"] > 0 and first["duration"] > 0 and first["owner"]
        assert sorted(client.get("/api/runs").json()["flows"]) == ["research-flow", "wide"]


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("status=bogus", "use one of completed, failed, partial, running"),
        ("limit=0", "from 1 to 500"),
        ("limit=ten", "not a whole number"),
        ("since=yesterday", "epoch seconds or ISO 8601"),
        ("cursor=abc", "the 'next' value"),
    ],
)
async def test_bad_filters_are_400_with_what_to_send(store: str, query: str, says: str) -> None:
    await wide_flow(1).run(0, store=store, run_id="one")
    with client_for(store) as client:
        answer = client.get(f"/api/runs?{query}")
        assert answer.status_code == 400 and says in answer.json()["error"]
        assert client.get("/api/runs/none-such").status_code == 404
        assert client.get("/api/runs").json()["runs"][0]["run_id"] == "one"  # nothing was harmed


async def test_events_page_after_an_id(store: str) -> None:
    result = await record_nested(store, "ev-1")
    with client_for(store) as client:
        first = client.get("/api/runs/ev-1/events?limit=5").json()["events"]
        rest = client.get(f"/api/runs/ev-1/events?after={first[-1]['id']}").json()["events"]
    assert [e["type"] for e in first + rest] == [e.type for e in result.events]
