"""The run page of runs recorded with the context layer's data (an L4 flow run twice, an
``LLMAgent`` step whose image the guard dropped, a skill's tool), in a real browser: the run's
prefetch (hits, misses, wasted) and each step's window, prefetch and compressions show where a user
looks, not only in the events' raw JSON (cut at 300 characters, and only the newest 300 events)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.dashboard.conftest import run_async, serve
from tests.dashboard.context_runs import record_context_runs
from tests.dashboard.test_browser import browser, page

__all__ = ["browser", "page"]
BAD = ("undefined", "NaN", "[object Object]")


@pytest.fixture
def recorded(store: str) -> str:
    run_async(record_context_runs(store))
    return store


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
