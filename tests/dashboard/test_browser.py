"""The dashboard in a real browser: Debian's headless Chromium driven by Playwright, against
``jotty dashboard`` in its own process. ``scripts/browser.sh`` (run by ``make test``) installs
Chromium when it is missing; these tests skip, saying why, only where it cannot be installed.
With ``JOTTY_SCREENSHOTS=DIR`` the run and insights pages are saved there (the README's pictures)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jotty.agents import FunctionAgent
from jotty.patterns import Chain, Retry, Step
from tests.dashboard.conftest import run_async, serve
from tests.dashboard.flows import XSS, nested_flow, record_nested

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TOKEN = "browser-test-token-0123456789"

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed: pip install -e '.[dev]'")
if not os.path.exists(CHROMIUM):
    pytest.skip(
        "Debian's chromium is not installed and scripts/browser.sh could not install it (needs root and apt-get)",
        allow_module_level=True,
    )


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1300, "height": 900})
    opened = context.new_page()
    opened.errors = []
    opened.on("pageerror", lambda e: opened.errors.append(str(e)))
    try:
        yield opened
    finally:
        context.close()


def _shoot(page: Any, tmp_path: Path, name: str) -> Path:
    target = Path(os.environ.get("JOTTY_SCREENSHOTS") or tmp_path) / name
    page.screenshot(path=str(target))
    return target


def test_run_page_tree_timeline_and_inert_xss(store: str, page: Any, tmp_path: Path) -> None:
    for i in range(4):  # earlier runs, for the insights page
        run_async(
            nested_flow(fail_first=i % 2 == 0, tokens=1 + i // 2).run(
                "q", store=store, run_id=f"earlier-{i}", metadata={"version": 1 + i // 2}
            )
        )
    run_async(record_nested(store, "nested"))
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    with serve(store) as base:
        page.goto(f"{base}/runs/nested")
        page.wait_for_selector("#tree .node")
        names = page.locator("#tree .node").all_inner_texts()
        assert len(names) == 9  # the run and its 8 steps, nested
        verify = page.locator('.node[data-path="research-flow/research/review/verify"]')
        assert "2 attempts" in verify.inner_text() and "retry" in verify.inner_text()
        assert page.locator('#tree li li li li .node[data-path$="/verify"]').count() == 1  # 3 levels down
        assert page.locator("#timeline .tl-row").count() == 8
        calls = page.locator('#timeline .tl-row[data-path="research-flow/analyze"] .tl-call')
        assert calls.count() == 2 and page.locator("#timeline .tl-call.fallback").count() == 1
        assert page.locator("#windows rect").count() >= 6  # the token shape's bars
        page.locator('#timeline .tl-row[data-path="research-flow/analyze"]').click()
        shown = page.locator("#detail pre.value").last.inner_text()
        assert shown == f'"{XSS}"'  # the output as text, not markup
        assert page.locator("#detail script").count() == 0 and dialogs == []
        page.locator('.node[data-path="research-flow/report"]').click()
        assert "Full value (12,002 characters)" in page.locator("#detail").inner_text()
        page.locator('.node[data-path="research-flow/analyze"]').click()
        _shoot(page, tmp_path, "dashboard-run.png")
        page.goto(f"{base}/insights?flow=research-flow")
        page.wait_for_selector(".insight")
        page.set_viewport_size({"width": 1300, "height": 1400})
        titles = page.locator(".insight h2").all_inner_texts()
        assert titles == [
            "Slowest steps",
            "Steps that fail or fall back most",
            "Where tokens go",
            "Error strategies that fired",
            "Cost by version",
            "L4 prefetch across runs",
        ]
        assert page.locator(".insight svg").count() == 5  # the flow never ran at L4: nothing to draw there
        _shoot(page, tmp_path, "dashboard-insights.png")
        page.goto(f"{base}/?status=partial")
        page.wait_for_selector("table")
        assert page.locator("tbody tr").count() == 5
    assert page.errors == []


def test_a_live_run_grows_without_a_reload_and_after_one(store: str, served: str, page: Any, tmp_path: Path) -> None:
    gates = tmp_path / "gates"
    gates.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.dashboard.writer", store, "gated", "live", str(gates), "4"], cwd=ROOT
    )
    try:
        (gates / "0").touch()
        deadline = time.monotonic() + 30
        while page.goto(f"{served}/runs/live").status != 200 or not page.locator(".node").count():
            assert time.monotonic() < deadline
            time.sleep(0.1)
        page.wait_for_selector('.node[data-path="gated/step-0"]')
        assert page.locator("#live").count() == 1
        for k in (1, 2):
            (gates / str(k)).touch()
            started = time.monotonic()
            page.wait_for_selector(f'.node[data-path="gated/step-{k}"] .badge.completed', timeout=10_000)
            assert time.monotonic() - started < 5  # the benchmark measures the real latency
        page.reload()  # mid-run: the page picks up the stream again
        page.wait_for_selector('.node[data-path="gated/step-2"]')
        (gates / "3").touch()
        page.wait_for_selector('.node[data-path="gated/step-3"] .badge.completed', timeout=10_000)
        page.wait_for_selector("#live", state="detached", timeout=10_000)  # the run finished: no longer live
        assert page.locator("#timeline .tl-row").count() == 4
    finally:
        proc.wait(timeout=30)
    assert page.errors == []


def test_the_token_is_required_off_loopback(store: str, page: Any) -> None:
    run_async(record_nested(store, "secret-run"))
    with serve(store, "--token", TOKEN, host="0.0.0.0") as base:
        refused = page.goto(f"{base}/runs/secret-run")
        assert refused.status == 401 and "needs its token" in page.inner_text("body")
        page.goto(f"{base}/?token={TOKEN}")
        assert "token=" not in page.url  # it moved into a cookie
        page.wait_for_selector("tbody tr")
        assert page.locator("tbody a").first.inner_text() == "secret-run"
        page.locator("tbody a").first.click()
        page.wait_for_selector("#tree .node")


def retried_flow() -> Chain:
    """A step whose first attempt fails with a short error (``RuntimeError: 503``)."""
    calls = {"n": 0}

    def flaky(value: Any) -> str:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("503")
        return "found"

    return Chain([Step(FunctionAgent(flaky, name="researcher"), name="research", on_error=Retry(2))], name="retried")


@pytest.mark.parametrize("run", ["nested", "retried"])
def test_no_step_of_the_run_page_overflows_at_800_px(store: str, page: Any, run: str) -> None:
    """A step's attempts table, with an error per failed attempt, stays within an 800 px window."""
    run_async(record_nested(store, run) if run == "nested" else retried_flow().run("q", store=store, run_id=run))
    page.set_viewport_size({"width": 800, "height": 900})
    with serve(store) as base:
        page.goto(f"{base}/runs/{run}")
        page.wait_for_selector("#tree .node")
        for path in page.locator("#tree .node").evaluate_all("nodes => nodes.map((n) => n.dataset.path)"):
            page.locator(f'.node[data-path="{path}"]').click()
            assert page.evaluate("document.documentElement.scrollWidth") <= 800, path
    assert page.errors == []


def test_the_timeline_is_drawn_at_the_pages_width_and_again_when_it_changes(store: str, page: Any) -> None:
    """At 800 px the timeline was a 1240 px drawing scaled down: its 11 px labels were 6 px tall."""
    run_async(record_nested(store, "nested"))

    def drawn() -> tuple[float, float, float]:
        """The timeline's width, its drawing's and a name's height; 0 for one the redraw is
        replacing at that moment (measured between its removal and its successor)."""
        box = page.locator("#timeline").bounding_box()
        svg = page.locator("#timeline svg").bounding_box()
        name = page.locator("#timeline .tl-name").first.bounding_box()
        return (box or {}).get("width", 0), (svg or {}).get("width", 0), (name or {}).get("height", 0)

    with serve(store) as base:
        page.set_viewport_size({"width": 800, "height": 900})
        page.goto(f"{base}/runs/nested")
        page.wait_for_selector("#timeline .tl-row")
        host, svg, text = drawn()
        assert svg == host and text >= 10  # one drawing pixel per screen pixel: 11 px text stays 11 px
        page.set_viewport_size({"width": 1300, "height": 900})
        deadline = time.monotonic() + 10
        while (found := drawn())[1] < 1000:  # the page's scripts may not be evaluated from here (its CSP)
            assert time.monotonic() < deadline, found
            time.sleep(0.05)
        host, svg, text = found
        assert svg == host and text >= 10
        assert page.locator("#timeline .tl-row").count() == 8  # drawn again, not twice
    assert page.errors == []
