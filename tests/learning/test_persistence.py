"""What the router learns is in the store: another process reads it, several processes add to it."""

from __future__ import annotations

import json
import multiprocessing
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from jotty.learning import GoalFeatures, Router, SQLiteLearningStore, open_store, reward

ACTORS = ["coder", "reviewer", "writer"]

READ_BACK = """
import json, sys
from jotty.learning import Router
with Router(["coder", "reviewer", "writer"], store=sys.argv[1]) as router:
    q = router.store.all_q_values()
    run = router.start("fix the login test", {"category": "code"})
    print(json.dumps({
        "q": {f"{s}/{a}": [v.q, v.visits] for (s, a), v in q.items()},
        "rows": [row.to_dict() for row in router.summary().rows],
        "choice": router.choose(run).actor,
    }))
"""


def test_values_are_reloaded_by_another_process(store_path: Path) -> None:
    with Router(ACTORS, store=store_path) as router:
        for actor, ok in [("coder", True), ("reviewer", False), ("writer", False)] * 3:
            run = router.start("fix the login test", {"category": "code"})
            router.record(run, actor, success=ok, failed=not ok, tokens=300)
            router.finish(run)
        expected_q = {f"{s}/{a}": [v.q, v.visits] for (s, a), v in router.store.all_q_values().items()}
        expected_rows = [row.to_dict() for row in router.summary().rows]
        expected_choice = router.choose(router.start("fix the login test", {"category": "code"})).actor

    out = subprocess.run(
        [sys.executable, "-c", READ_BACK, str(store_path)], capture_output=True, text=True, check=True, timeout=60
    )
    seen = json.loads(out.stdout)
    assert seen["q"] == expected_q
    assert seen["rows"] == expected_rows
    assert seen["choice"] == expected_choice == "coder"


def _worker(path: str, worker: int, updates: int, barrier: Any) -> None:
    router = Router(ACTORS, store=path)
    barrier.wait(timeout=30)
    for i in range(updates):
        run = router.start(f"job {worker}-{i}", {"category": "code", "task_id": f"{worker}-{i}"})
        router.record(run, router.choose(run).actor, success=True, tokens=1_000)
        router.finish(run)
    router.close()


@pytest.mark.slow
def test_concurrent_updates_from_several_processes_all_count(store_path: Path) -> None:
    processes, updates = 4, 50
    SQLiteLearningStore.open(str(store_path)).close()  # create and migrate once, as an installed Jotty would
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(processes)
    workers = [context.Process(target=_worker, args=(str(store_path), w, updates, barrier)) for w in range(processes)]
    for p in workers:
        p.start()
    for p in workers:
        p.join(timeout=120)
    assert [p.exitcode for p in workers] == [0] * processes

    store = open_store(store_path)
    total = processes * updates
    overall = [s for (actor, feature), s in store.all_feature_stats().items() if feature == "*"]
    assert sum(s.attempts for s in overall) == total
    assert sum(s.successes for s in overall) == total
    assert sum(s.reward for s in overall) == pytest.approx(total * reward(True, tokens=1_000))
    category = [s for (_, feature), s in store.all_feature_stats().items() if feature == "category:code"]
    assert sum(s.attempts for s in category) == total
    visits = [v.visits for (state, _), v in store.all_q_values().items() if state == "code|s0|start"]
    assert sum(visits) == total
    store.close()


def test_stores_share_one_file_and_see_each_others_updates(store_path: Path) -> None:
    one, two = Router(ACTORS, store=store_path), Router(ACTORS, store=store_path)
    features = GoalFeatures.from_goal("write the guide", {"category": "docs"})
    run = one.start(features)
    one.record(run, "writer", success=True)
    one.finish(run)
    decision = two.choose(two.start(features))
    assert decision.scores["writer"].n == 1
    assert decision.scores["writer"].p_success > decision.scores["coder"].p_success
    one.close()
    two.close()


def test_router_accepts_a_connection_or_a_store(store_path: Path) -> None:
    from jotty.db import connect

    conn = connect(store_path)
    with Router(ACTORS, store=conn) as router:
        run = router.start("goal a")
        router.record(run, "coder", success=True)
        router.finish(run)
    assert conn.execute("SELECT COUNT(*) FROM jotty_learning_q").fetchone()[0] == 1  # still open
    store = SQLiteLearningStore(conn)
    with Router(ACTORS, store=store) as router:
        assert router.store is store
    conn.close()


def test_postgres_is_refused_with_a_clear_message() -> None:
    from jotty.errors import StoreError

    with pytest.raises(StoreError, match="does not support postgresql yet"):
        open_store("postgresql://localhost/jotty")
