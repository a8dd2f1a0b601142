"""L4 prefetch under error strategies and concurrent patterns (a levels hunt; each failed before).

- A fallback (or a retry) is another attempt of the same step: it gets the data its step loaded
  (prefetched), and the prefetch made for the next step survives it. Before, the fallback loaded
  the step's sources again (a miss) and threw the next step's prefetch away (another miss), and a
  retry taught the model that a step follows itself.
- Parallel branches and Team members start windows at once: the model learned their order as
  their loads happened to finish, and each window threw away the prefetches of its siblings, so
  the same flow run again stayed at a third of its sources prefetched.
- A prefetch nobody took is counted (``wasted``), not silently dropped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from jotty.agents import Agent, FunctionAgent, RunContext
from jotty.context import ContextPolicy, PrefetchModel, Source
from jotty.patterns import Chain, Fallback, Flow, Member, Parallel, Retry, Step, Team, TeamTask

CATEGORIES = {"research": "research", "analyse": "analysis", "write": "writing"}
SOURCES = {"archive": "research", "ledger": "analysis", "style": "writing"}


class Pool:
    """Async sources that take a while (each a different time), and what each window got."""

    def __init__(self) -> None:
        self.loads: list[str] = []
        self.windows: dict[str, list[dict[str, Any]]] = {}

    def policy(self, model: PrefetchModel) -> ContextPolicy:
        delays = {"archive": 0.03, "ledger": 0.01, "style": 0.02}

        def loader(name: str) -> Callable[[str], Any]:
            async def load(query: str) -> str:
                await asyncio.sleep(delays[name])
                self.loads.append(name)
                return f"{name} for {query}"

            return load

        sources = [Source(n, loader(n), category=c) for n, c in SOURCES.items()]
        return ContextPolicy(sources=sources, prefetch=model)

    def agent(self, role: str, fails: int = 0, delay: float = 0.0) -> Agent:
        calls = {"n": 0}

        async def work(value: Any, ctx: RunContext) -> str:
            calls["n"] += 1
            self.windows.setdefault(role, []).append(dict(ctx.data))
            await asyncio.sleep(delay)
            if calls["n"] <= fails:
                raise RuntimeError(f"{role} broke")
            return f"{role} done"

        return FunctionAgent(work, name=role)


def stats(result: Any) -> dict[str, Any]:
    [run] = [e.data["run"] for e in result.events if e.type == "context_prefetch" and "run" in e.data]
    return dict(run)


def step_reports(result: Any) -> dict[str, tuple[int, int]]:
    return {
        e.data["step"]: (e.data["hits"], e.data["misses"])
        for e in result.events
        if e.type == "context_prefetch" and "step" in e.data
    }


async def warm(model: PrefetchModel, make: Callable[[Pool], Flow], runs: int = 1) -> None:
    for _ in range(runs):
        pool = Pool()
        assert (await make(pool).run("go", level="L4", policy=pool.policy(model))).ok


def chain(pool: Pool, strategy: Any = None, fails: int = 0) -> Flow:
    analyse = Step(pool.agent("analyse", fails), name="analyse", on_error=strategy)
    return Chain([pool.agent("research"), analyse, pool.agent("write")])


async def test_a_fallback_gets_its_steps_prefetched_data_and_the_next_step_keeps_its_prefetch() -> None:
    model = PrefetchModel()
    await warm(model, chain)
    pool = Pool()
    flow = chain(pool, Fallback(pool.agent("backup")), fails=1)
    result = await flow.run("go", level="L4", policy=pool.policy(model))
    assert result.ok
    assert pool.windows["backup"][-1]["parts"]["source:ledger"] == "ledger for analysis analyse"
    assert sorted(pool.loads) == ["archive", "ledger", "style"]  # each loaded once, ahead of its step
    assert step_reports(result)["chain/write"] == (1, 0)
    run = stats(result)
    assert (run["hits"], run["misses"], run["hit_rate"]) == (3, 0, 1.0)


async def test_a_retried_step_is_not_learned_as_its_own_successor() -> None:
    model = PrefetchModel()
    await warm(model, lambda pool: chain(pool, Retry(3), fails=2), runs=2)
    assert model.predict("chain", "chain/analyse") == ("chain/write", ["style"])
    pool = Pool()
    result = await chain(pool, Retry(3), fails=2).run("go", level="L4", policy=pool.policy(model))
    assert result.ok and len(pool.windows["analyse"]) == 3
    assert all(w["parts"]["source:ledger"] == "ledger for analysis analyse" for w in pool.windows["analyse"])
    assert sorted(pool.loads) == ["archive", "ledger", "style"]  # the retries reuse the step's data
    run = stats(result)
    assert (run["hits"], run["misses"], run["prefetched"]) == (3, 0, 3)


def parallel(pool: Pool) -> Flow:
    branches = [pool.agent(role, delay=0.01) for role in CATEGORIES]
    return Chain([Parallel(branches, name="fan"), pool.agent("write")], name="report")


def team(pool: Pool) -> Flow:
    members = [Member(role[0], pool.agent(role, delay=0.01), {role}) for role in CATEGORIES]
    return Team(members, plan=lambda goal: [TeamTask(goal, id=f"{r}-task", role=r) for r in CATEGORIES])


@pytest.mark.parametrize(
    ("shape", "loads"),
    [
        (parallel, ["archive", "ledger", "style", "style"]),  # style: a branch's and write's
        (team, ["archive", "ledger", "style"]),
    ],
    ids=["parallel-branches", "team-members"],
)
async def test_l4_concurrent_windows_are_all_prefetched_when_the_flow_runs_again(
    shape: Callable[[Pool], Flow], loads: list[str]
) -> None:
    model = PrefetchModel()
    await warm(model, shape, runs=2)
    pool = Pool()
    result = await shape(pool).run("go", level="L4", policy=pool.policy(model))
    assert result.ok
    run = stats(result)
    assert run["hit_rate"] == 1.0 and run["wasted"] == 0, run
    assert sorted(pool.loads) == loads


async def test_a_prefetch_nobody_took_is_counted_as_wasted() -> None:
    model = PrefetchModel()
    await warm(model, chain)  # research, then analyse (ledger), then write
    pool = Pool()
    shorter = Chain([pool.agent("research"), pool.agent("write")])  # the same flow name, no analyse
    result = await shorter.run("go", level="L4", policy=pool.policy(model))
    assert result.ok
    run = stats(result)
    assert run["wasted"] == 1 and run["prefetched"] == 2 and run["hits"] == 1, run


async def test_a_model_learned_from_the_store_skips_retries_and_keeps_the_start_order(tmp_path: Any) -> None:
    """What a durable run stored teaches another process the same as the live run taught its own:
    the stored windows came in the order their loads finished, and a retry's window again."""
    from jotty.context.prefetch import learn_from_store
    from jotty.runs.shared import shared_store

    store = str(tmp_path / "runs.db")
    for n, make in enumerate((lambda pool: chain(pool, Retry(3), fails=2), parallel)):
        pool = Pool()
        result = await make(pool).run(
            "go", store=store, run_id=f"r{n}", level="L3", policy=pool.policy(PrefetchModel())
        )
        assert result.ok
    model = PrefetchModel()
    opened = await shared_store(store)
    assert await learn_from_store(opened, "chain", model) == 1
    assert model.to_dict()["next"]["chain"] == {"": {"chain/research": 1}, "chain/research": {"chain/analyse": 1},
                                                "chain/analyse": {"chain/write": 1}}  # fmt: skip
    assert await learn_from_store(opened, "report", model) == 1
    assert [model.predict("report", p)[0] for p in ("", "report/fan/branch-0", "report/fan/branch-1")] == [
        "report/fan/branch-0",
        "report/fan/branch-1",
        "report/fan/branch-2",
    ]


async def test_a_resumed_run_is_learned_as_one_run_live_and_from_the_store(tmp_path: Any) -> None:
    """A resumed session started learning from scratch: it taught that the flow begins at the step
    it resumed, and the store's windows of its two sessions were learned interleaved."""
    from jotty.context.prefetch import learn_from_store
    from jotty.runs.shared import shared_store

    broken = {"c": True}

    def step(name: str) -> Agent:
        def work(value: Any) -> str:
            if name == "c" and broken["c"]:
                raise RuntimeError("c is down")
            return f"{name} done"

        return FunctionAgent(work, name=name)

    store = str(tmp_path / "runs.db")
    live = PrefetchModel()
    flow = Chain([step(n) for n in "abcde"], name="five")
    assert not (await flow.run("go", store=store, run_id="r1", level="L3", policy=ContextPolicy(prefetch=live))).ok
    broken["c"] = False
    again = await flow.run("go", store=store, run_id="r1", level="L3", policy=ContextPolicy(prefetch=live))
    assert again.ok and again.resumed
    chain_of = {"": {"five/a"}, **{f"five/{x}": {f"five/{y}"} for x, y in zip("abcd", "bcde", strict=False)}}
    # (live, c's two sessions count b -> c twice: the failed session's windows are not read back)
    assert {p: set(after) for p, after in live.to_dict()["next"]["five"].items()} == chain_of
    stored = PrefetchModel()
    assert await learn_from_store(await shared_store(store), "five", stored) == 1
    assert {p: set(after) for p, after in stored.to_dict()["next"]["five"].items()} == chain_of


async def test_a_run_whose_steps_alone_are_at_l4_records_its_hit_rate() -> None:
    """``level="L4"`` on the steps of a run without a level prefetched, but the run's hit rate was
    recorded only for a run at L4."""
    model = PrefetchModel()

    def make(pool: Pool) -> Flow:
        return Chain([Step(pool.agent(r), name=r, level="L4") for r in CATEGORIES])

    await warm(model, make)
    pool = Pool()
    result = await make(pool).run("go", policy=pool.policy(model))
    run = stats(result)
    assert (run["hits"], run["misses"]) == (2, 1)  # the first step's data is loaded ahead only at a run's L4
