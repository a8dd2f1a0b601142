"""The run page of runs recorded with the context layer's data (an L4 flow run twice, an
``LLMAgent`` step whose image the guard dropped, a skill's tool), in a real browser: the run's
prefetch (hits, misses, wasted) and each step's window, prefetch and compressions show where a user
looks, not only in the events' raw JSON (cut at 300 characters, and only the newest 300 events)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.dashboard.conftest import run_async, serve
from tests.dashboard.context_runs import record_context_runs
from tests.dashboard.test_browser import _shoot, browser, page

__all__ = ["browser", "page"]
BAD = ("undefined", "NaN", "[object Object]")


@pytest.fixture
def recorded(store: str) -> str:
    run_async(record_context_runs(store))
    return store


def test_the_run_json_holds_the_prefetch_and_each_steps_context(recorded: str) -> None:
    with serve(recorded) as base:
        data = httpx.get(f"{base}/api/runs/ctx-2").json()
    assert data["run"]["prefetch"] == {"hits": 2, "misses": 0, "prefetched": 3, "wasted": 1, "hit_rate": 1.0}
    [analyse] = [s for s in data["tree"]["children"] if s["name"] == "analyse"]
    context = analyse["context"]
    assert [p["hits"] for p in context["prefetch"]] == [1] and context["prefetch"][0]["needed"] == ["ledger"]
    assert [(w["level"], w["order"], w["sources"]) for w in context["windows"]] == [("L4", 1, ["ledger"])]
    [compressed] = context["compressed"]
    assert compressed["reason"] == "context_length_exceeded"
    assert [(a["part"], a["action"]) for a in compressed["actions"]] == [("1:user", "drop_non_text")]
    [research] = [s for s in data["tree"]["children"] if s["name"] == "research"]
    assert research["context"]["compressed"] == []


@pytest.mark.parametrize("width", [1280, 800])
def test_the_run_page_shows_the_prefetch_and_the_compression(
    recorded: str, page: Any, width: int, tmp_path: Path
) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    with serve(recorded) as base:
        page.goto(f"{base}/runs/ctx-2")
        page.wait_for_selector("#tree .node")
        prefetch = page.locator("#prefetch").inner_text()
        assert "2 hits" in prefetch and "0 misses" in prefetch and "1 wasted" in prefetch, prefetch
        page.locator('.node[data-path="context-flow/analyse"]').click()
        context = page.locator("#context").inner_text()
        assert "L4" in context and "ledger" in context and "1 hit" in context and "2 parts" in context, context
        assert "drop_non_text" in page.locator("#context table").inner_text()
        assert "172" in context and "65" in context  # the part's tokens before and after
        body = page.inner_text("body")
        assert not [w for w in BAD if w in body]
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        _shoot(page, tmp_path, f"dashboard-context-{width}.png")
        page.goto(f"{base}/runs/ctx-1")  # the first run: misses, nothing compressed
        page.wait_for_selector("#tree .node")
        assert "3 misses" in page.locator("#prefetch").inner_text()
        page.locator('.node[data-path="context-flow/research"]').click()
        context = page.locator("#context").inner_text()
        assert page.locator("#context table").count() == 0 and "1 miss ·" in context and "1 part ·" in context, context
        assert not [w for w in BAD if w in page.inner_text("body")]
    assert page.errors == []


@pytest.mark.parametrize("width", [1280, 800])
def test_the_token_shapes_labels_stay_inside_the_chart(recorded: str, page: Any, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    with serve(recorded) as base:
        page.goto(f"{base}/runs/ctx-2")
        page.wait_for_selector("#windows svg text")
        box = page.locator("#windows svg").bounding_box()
        labels = page.locator("#windows svg text")
        for i in range(labels.count()):
            label = labels.nth(i).bounding_box()
            assert label["y"] + label["height"] <= box["y"] + box["height"] + 0.5, labels.nth(i).text_content()
            assert label["x"] >= box["x"] - 0.5, labels.nth(i).text_content()
        names = page.locator("#windows svg text").all_text_contents()
        assert "analyse" in " ".join(names)
