"""Levels L1-L4 in every pattern: what each window holds, the same outputs, the prefetch."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from jotty.agents import FunctionAgent
from jotty.context import (
    ContextBudgetError,
    ContextPolicy,
    Level,
    Part,
    PartKind,
    PrefetchModel,
    SmartContextGuard,
    TokenBudget,
)
from jotty.context.policy import StepCall
from jotty.errors import StoreError, ValidationError
from jotty.patterns import Chain, Sequential, Step
from tests.context.flows import Seen, chat_run, conductor, flows, policy

PATTERNS = ["sequential", "chain", "parallel", "subagent", "phased", "team", "supervisor", "conductor"]
LEVELS = ["L1", "L2", "L3", "L4"]


async def run_pattern(pattern: str, level: str | None, seen: Seen, tmp_path: Path, pol: ContextPolicy) -> Any:
    if pattern == "conductor":
        with conductor(seen, level or "L1", pol, str(tmp_path / "learn.db")) as c:
            result = await c.run("the quarterly report")
        return result.output, result.status, result.events
    result = await flows(seen)[pattern].run("the quarterly report", level=level, policy=pol)
    return result.output, result.status, [e.to_dict() for e in result.events]


@pytest.mark.parametrize("pattern", PATTERNS)
async def test_every_level_works_with_every_pattern(pattern: str, tmp_path: Path) -> None:
    outputs = {}
    for level in LEVELS:
        seen = Seen()
        output, status, events = await run_pattern(pattern, level, seen, tmp_path, policy(seen))
        assert str(status) == "completed", (pattern, level)
        outputs[level] = output
        windows = [e for e in events if e["type"] == "context_window"]
        assert windows and {w["data"]["level"] for w in windows} == {level}
        for role, data in ((r, w) for r in seen.windows for w in seen.windows[r]):
            parts = data["parts"]
            assert isinstance(data["context"], str)
            memory = {n for n in parts if n in ("source-list", "metric-definitions", "style-guide")}
            skills = {n for n in parts if n.startswith("skill:")}
            if level in ("L1", "L2"):
                assert memory == {"source-list", "metric-definitions", "style-guide"}, (pattern, level, role)
            if level == "L1":
                assert skills == {"skill:web-search", "skill:charts", "skill:house-style"}
            if level == "L2":
                assert len(skills) <= 1 and "skills" in parts  # the others as descriptions
            if level in ("L3", "L4"):
                wanted = {"research": "source-list", "analyse": "metric-definitions", "write": "style-guide"}[role]
                assert memory == {wanted}, (pattern, level, role, memory)
                assert "skills" not in parts and len(skills) == 1
    assert len({repr(o) for o in outputs.values()}) == 1, outputs


async def test_l1_gives_every_window_the_history_and_l3_scopes_it(tmp_path: Path) -> None:
    seen = Seen()
    await flows(seen)["chain"].run("go", level="L1", policy=policy(seen))
    assert set(seen.last("write")["parts"]) >= {"step:chain/research", "step:chain/analyse"}
    scoped = Seen()
    await flows(scoped)["chain"].run("go", level="L3", policy=policy(scoped))
    assert not any(n.startswith("step:") for n in scoped.last("write")["parts"])
    assert "source:archive" in scoped.last("research")["parts"]
    assert "source:archive" not in scoped.last("write")["parts"]


async def test_a_sequentials_window_holds_each_earlier_output_once() -> None:
    """A Sequential gives its steps the history itself: the level's pool does not add it again
    (at L1 and L2 each output was in the window twice)."""
    for level in ("L1", "L2"):
        seen = Seen()
        await flows(seen)["sequential"].run("go", level=level, policy=policy(seen))
        window = seen.last("write")
        assert [h["output"] for h in window["history"]] == ["research done", "analyse done"]
        assert not any(name.startswith("step:") for name in window["parts"])
        assert "research done" not in window["context"] and "metric-definitions" in window["parts"]
    seen = Seen()
    await flows(seen)["chain"].run("go", level="L1", policy=policy(seen))
    assert "step:chain/research" in seen.last("write")["parts"]  # a Chain's steps get no history of their own


async def test_l2_loads_a_skill_the_step_names() -> None:
    seen = Seen()
    flow = Chain([Step(seen.agent("write"), name="draft", skills=("charts",))])
    await flow.run("go", level="L2", policy=policy(seen))
    parts = seen.last("write")["parts"]
    assert parts["skill:charts"] == "Plot the trend by quarter."
    assert "skill:house-style" in parts  # its category (writing) chose it too
    assert [d["name"] for d in parts["skills"]] == ["web-search"]


async def test_l4_prefetches_what_the_next_step_needed_before() -> None:
    model = PrefetchModel()
    first, second = Seen(), Seen()
    cold = await flows(first)["chain"].run("go", level="L4", policy=policy(first, model))
    warm = await flows(second)["chain"].run("go", level="L4", policy=policy(second, model))
    assert cold.output == warm.output
    [cold_run] = [e.data["run"] for e in cold.events if e.type == "context_prefetch" and "run" in e.data]
    [warm_run] = [e.data["run"] for e in warm.events if e.type == "context_prefetch" and "run" in e.data]
    assert cold_run["hit_rate"] == 0.0 and cold_run["prefetched"] == 0
    assert warm_run["hit_rate"] == 1.0 and warm_run["prefetched"] == warm_run["hits"] == 2  # archive, ledger
    assert second.loads.count("ledger:analysis analyse") == 1  # loaded once, ahead of its step
    steps = [e.data for e in warm.events if e.type == "context_prefetch" and "step" in e.data]
    assert [(s["step"], s["hits"], s["misses"]) for s in steps] == [
        ("chain/research", 1, 0),
        ("chain/analyse", 1, 0),
        ("chain/write", 0, 0),
    ]


async def test_prefetch_model_persists_in_a_file(tmp_path: Path) -> None:
    model = PrefetchModel()
    seen = Seen()
    await flows(seen)["chain"].run("go", level="L4", policy=policy(seen, model))
    model.save(tmp_path / "prefetch.json")
    again = PrefetchModel.load(tmp_path / "prefetch.json")
    assert again.predict("chain", "chain/research") == ("chain/analyse", ["ledger"])
    assert again.predict("chain", "") == ("chain/research", ["archive"])
    assert again.query("chain", "chain/analyse") == "analysis analyse"
    (tmp_path / "bad.json").write_text("[1, 2]")
    with pytest.raises(ValidationError, match="not a prefetch model"):
        PrefetchModel.load(tmp_path / "bad.json")
    assert PrefetchModel.load(tmp_path / "missing.json").to_dict() == {"next": {}, "needs": {}, "queries": {}}


async def test_a_per_window_budget_guards_every_window_without_a_level() -> None:
    seen = Seen()

    def long(value: Any) -> str:
        return "The north region grew again this week. " * 60

    flow = Sequential([FunctionAgent(long, name="one"), FunctionAgent(long, name="two"), seen.agent("write")])
    result = await flow.run("go", budget=TokenBudget(per_window=120))
    assert result.ok
    compressed = [e for e in result.events if e.type == "context_compressed"]
    assert compressed and all(e.data["after"] <= 120 < e.data["before"] for e in compressed)
    window = seen.last("write")
    assert "parts" not in window  # no level: the pattern's own window, only guarded
    assert SmartContextGuard(120).assemble_data(window).tokens <= 120


async def test_a_level_window_over_its_budget_is_compressed() -> None:
    seen = Seen()
    notes = "The north grew. The south fell. " * 200
    pol = ContextPolicy(parts=[Part("notes", notes, PartKind.MEMORY)])
    result = await Chain([seen.agent("write")]).run("go", level="L1", policy=pol, budget=TokenBudget(per_window=60))
    [event] = [e for e in result.events if e.type == "context_compressed"]
    assert event.data["after"] <= 60 < event.data["before"]
    assert len(seen.last("write")["context"]) < len(notes)


def test_bad_levels_and_steps_are_clear_errors() -> None:
    with pytest.raises(ValidationError, match="unknown context level 'L9'; use one of L1, L2, L3, L4"):
        Step(FunctionAgent(str), level="L9")
    with pytest.raises(ValidationError, match="skills must be a list of skill names"):
        Step(FunctionAgent(str), skills="charts")  # type: ignore[arg-type]
    assert Step(FunctionAgent(str), level=3).level is Level.L3


async def test_a_pinned_part_over_the_window_budget_fails_the_run_clearly() -> None:
    from jotty.context import ContextBudgetError

    seen = Seen()
    pol = ContextPolicy(parts=[Part("facts", "fact " * 500, PartKind.PINNED)])
    with pytest.raises(ContextBudgetError, match="pinned context parts \\(facts\\)"):
        await Chain([seen.agent("write")]).run("go", level="L1", policy=pol, budget=TokenBudget(per_window=20))


def earlier_runs(store: str, count: int) -> None:
    """``count`` durable runs of the test chain, each in a process of its own."""
    for n in range(count):
        done = subprocess.run(
            [sys.executable, "-m", "tests.context.worker", store, "L3", f"earlier-{n}"],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["status"] == "completed"


async def test_l4_learns_from_earlier_durable_runs_in_other_processes(tmp_path: Path) -> None:
    store = str(tmp_path / "runs.db")
    earlier_runs(store, 2)
    seen = Seen()
    model = PrefetchModel()  # this process has learned nothing yet
    result = await flows(seen)["chain"].run("go", store=store, run_id="now", level="L4", policy=policy(seen, model))
    [stats] = [e.data["run"] for e in result.events if e.type == "context_prefetch" and "run" in e.data]
    assert stats["hit_rate"] == 1.0 and stats["hits"] == 2
    assert model.predict("chain", "chain/research") == ("chain/analyse", ["ledger"])
    again = await flows(Seen())["chain"].run(
        "go", store=store, run_id="again", level="L4", policy=policy(Seen(), model)
    )
    assert again.ok
    counts = model.to_dict()["needs"]["chain"]["chain/analyse"]
    assert counts["__runs__"] == 4  # two from the store, two live: no run is learned twice


async def test_steps_at_l4_in_a_run_without_a_level_learn_from_earlier_runs_too(tmp_path: Path) -> None:
    store = str(tmp_path / "runs.db")
    earlier_runs(store, 2)
    seen, model = Seen(), PrefetchModel()  # this process has learned nothing yet
    flow = Chain([Step(seen.agent(role), name=role, level="L4") for role in ("research", "analyse", "write")])
    result = await flow.run("go", store=store, run_id="now", policy=policy(seen, model))
    assert result.ok
    [stats] = [e.data["run"] for e in result.events if e.type == "context_prefetch" and "run" in e.data]
    # the ledger was loaded ahead of analyse, as learned from the store; the run is not at L4, so the
    # archive of its first step was not loaded ahead of the run (a fresh model would have missed both)
    assert (stats["hits"], stats["misses"]) == (1, 1)
    assert model.to_dict()["needs"]["chain"]["chain/analyse"]["__runs__"] == 3  # two from the store, one live


async def test_l4_goes_on_without_learning_when_the_store_cannot_be_read(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def unreadable() -> None:
        raise StoreError("the runs table is locked")

    seen = Seen()
    session = policy(seen).session("chain", Level.L4, None)
    session.learn = unreadable
    call = StepCall("chain/research", "research", "step", seen.agent("research"))
    data, _ = await session.window(call, "go", {})
    assert "source:archive" in data["parts"] and "could not learn" in caplog.text


async def test_a_step_level_works_in_a_run_without_one() -> None:
    seen = Seen()
    flow = Chain([seen.agent("research"), Step(seen.agent("write"), name="write", level="L1")])
    result = await flow.run("go")
    assert result.ok
    assert "parts" not in seen.last("research")
    assert seen.last("write")["parts"] == {}  # L1 with nothing in the pool yet: no policy, no history before it
    second = Seen()
    flow = Chain([Step(second.agent("research"), level="L1"), Step(second.agent("write"), name="w", level="L1")])
    await flow.run("go")
    assert second.last("write")["parts"] == {"step:chain/research": "research done"}


async def test_l3_scopes_the_memory_a_pattern_gives_its_window(tmp_path: Path) -> None:
    memory = [
        {"text": "Write reports with the conclusion first."},
        {"text": "Search the census archive for sources."},
        {"text": "Caroline prefers tea."},
    ]
    for level, expected in (("L1", 3), ("L3", 2)):
        seen = Seen()
        with conductor(seen, level, ContextPolicy(), str(tmp_path / f"{level}.db")) as c:
            result = await c.run("the quarterly report", context={"memory": memory})
        assert result.ok
        window = seen.last("write")["memory"]
        assert len(window) == expected, (level, window)
        assert {"text": "Search the census archive for sources."} in window or level == "L3"


async def test_an_llm_step_is_guarded_by_its_models_context_limit_by_default(tmp_path: Path) -> None:
    history = [
        {"role": "user" if i % 2 == 0 else "assistant", "content": f"message {i}: " + "the north grew. " * 20}
        for i in range(40)
    ]
    result, request = await chat_run(str(tmp_path / "l.db"), "tiny-context-model", 300, "what grew?", history)
    assert result.ok, result.error
    sent = [m for m in request.messages if m["role"] != "user" or m["content"] != "what grew?"]
    assert 0 < len(sent) < len(history) and sent[-1] == history[-1]  # the newest history kept
    [event] = [e for e in result.events if e["type"] == "context_compressed"]
    assert event["data"]["after"] <= 300 < event["data"]["before"]
    assert [a["action"] for a in event["data"]["actions"]] == ["drop_oldest"]


async def test_the_default_window_leaves_the_agents_max_tokens_for_the_answer(tmp_path: Path) -> None:
    """The window fitted to a model's limit leaves room for the answer the agent asks for (it took
    the whole limit: a hunt's finding), at most half the limit: the table may know less than the
    provider (a review's finding: max_tokens at the table's limit failed every step)."""
    history = [{"role": "user", "content": f"message {i}: " + "the north grew. " * 20} for i in range(40)]
    model, store = "tiny-context-model-answer", str(tmp_path / "l.db")
    for max_tokens, budget in ((100, 300), (400, 200)):
        result, _ = await chat_run(store, model, 400, "what grew?", history, max_tokens=max_tokens)
        assert result.ok, result.error
        [event] = [e for e in result.events if e["type"] == "context_compressed"]
        assert event["data"]["budget"] == budget and event["data"]["after"] <= budget
    with pytest.raises(ContextBudgetError, match="reserve of 400 tokens"):
        SmartContextGuard(reserve=400).budget_for(model)


async def test_a_resumed_durable_run_keeps_restored_steps_in_the_pool(tmp_path: Path) -> None:
    seen = Seen()
    broken = {"analyse": True}

    def analyse(value: Any) -> str:
        if broken["analyse"]:
            raise RuntimeError("the ledger is offline")
        return "analyse done"

    flow = Chain([seen.agent("research"), FunctionAgent(analyse, name="analyse"), seen.agent("write")])
    store = str(tmp_path / "runs.db")
    first = await flow.run("go", store=store, run_id="r1", level="L1")
    assert not first.ok
    broken["analyse"] = False
    second = await flow.run("go", store=store, run_id="r1", level="L1")
    assert second.ok and second.resumed
    assert seen.last("write")["parts"] == {"step:chain/research": "research done", "step:chain/analyse": "analyse done"}


async def test_l3_scopes_the_conductors_recalled_memory() -> None:
    from jotty.context.policy import StepCall

    recalled = {
        "scope": "conductor",
        "text": "Relevant memory:\n- Write reports with the conclusion first.\n- Search the census archive.",
        "items": [{"text": "Write reports with the conclusion first."}, {"text": "Search the census archive."}],
        "tokens": 20,
    }
    session = ContextPolicy().session("f", Level.L3, None)
    out, _ = await session.window(StepCall("f/write", "write", "step", FunctionAgent(str)), "go", {"memory": recalled})
    assert out["memory"]["items"] == [{"text": "Write reports with the conclusion first."}]
    assert out["memory"]["text"] == "Relevant memory:\n- Write reports with the conclusion first."
    wide = ContextPolicy().session("f", Level.L1, None)
    same, _ = await wide.window(StepCall("f/write", "write", "step", FunctionAgent(str)), "go", {"memory": recalled})
    assert same["memory"] == recalled


class SlowLedger(Seen):
    """The ledger loads synchronously and slowly (a file, a database); the research step waits on
    I/O while L4 loads the ledger ahead for the analyse step."""

    def loader(self, name: str) -> Any:
        load = super().loader(name)

        def slow(query: str) -> str:
            if name == "ledger":
                time.sleep(0.4)
            return load(query)

        return slow

    def agent(self, role: str) -> Any:
        async def work(value: Any, ctx: Any) -> str:
            self.windows.setdefault(role, []).append(dict(ctx.data))
            await asyncio.sleep(0.4 if role == "research" else 0)
            return f"{role} done"

        return FunctionAgent(work, name=role)


async def test_l4_runs_a_sync_loader_off_the_event_loop() -> None:
    """A sync source loaded ahead at L4 ran on the event loop and stalled the running step (a
    hunt's finding): it now runs on a worker thread, beside the step."""
    model = PrefetchModel()
    await flows(SlowLedger())["chain"].run("go", level="L4", policy=policy(SlowLedger(), model))  # learn
    seen = SlowLedger()
    gaps: list[float] = []

    async def tick() -> None:
        last = time.monotonic()
        while True:
            await asyncio.sleep(0.01)
            now = time.monotonic()
            gaps.append(now - last)
            last = now

    ticker = asyncio.create_task(tick())
    began = time.monotonic()
    result = await flows(seen)["chain"].run("go", level="L4", policy=policy(seen, model))
    took = time.monotonic() - began
    ticker.cancel()
    assert result.ok and seen.loads.count("ledger:analysis analyse") == 1
    assert max(gaps) < 0.2, f"the event loop stalled {max(gaps):.2f} s"
    assert took < 0.75, f"the ledger's load did not overlap the research step ({took:.2f} s)"
