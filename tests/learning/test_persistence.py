"""What the router learns is in the store: another process reads it, several processes add to it
(on SQLite and on PostgreSQL); unusable stores are clear errors."""

from __future__ import annotations

import json
import multiprocessing
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from jotty.errors import StoreError, StoreUnavailableError
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


def test_values_are_reloaded_by_another_process(store: str) -> None:
    with Router(ACTORS, store=store) as router:
        for actor, ok in [("coder", True), ("reviewer", False), ("writer", False)] * 3:
            run = router.start("fix the login test", {"category": "code"})
            router.record(run, actor, success=ok, failed=not ok, tokens=300)
            router.finish(run)
        expected_q = {f"{s}/{a}": [v.q, v.visits] for (s, a), v in router.store.all_q_values().items()}
        expected_rows = [row.to_dict() for row in router.summary().rows]
        expected_choice = router.choose(router.start("fix the login test", {"category": "code"})).actor

    out = subprocess.run(
        [sys.executable, "-c", READ_BACK, store], capture_output=True, text=True, check=True, timeout=60
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
def test_concurrent_updates_from_several_processes_all_count(store: str) -> None:
    processes, updates = 4, 50
    open_store(store).close()  # create and migrate once, as an installed Jotty would
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(processes)
    workers = [context.Process(target=_worker, args=(store, w, updates, barrier)) for w in range(processes)]
    for p in workers:
        p.start()
    for p in workers:
        p.join(timeout=120)
    assert [p.exitcode for p in workers] == [0] * processes

    opened = open_store(store)
    total = processes * updates
    overall = [s for (actor, feature), s in opened.all_feature_stats().items() if feature == "*"]
    assert sum(s.attempts for s in overall) == total
    assert sum(s.successes for s in overall) == total
    assert sum(s.reward for s in overall) == pytest.approx(total * reward(True, tokens=1_000))
    category = [s for (_, feature), s in opened.all_feature_stats().items() if feature == "category:code"]
    assert sum(s.attempts for s in category) == total
    visits = [v.visits for (state, _), v in opened.all_q_values().items() if state == "code|s0|start"]
    assert sum(visits) == total
    opened.close()


def test_stores_share_one_store_and_see_each_others_updates(store: str) -> None:
    one, two = Router(ACTORS, store=store), Router(ACTORS, store=store)
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


def test_a_redis_store_is_refused_with_a_clear_message() -> None:
    with pytest.raises(StoreError, match=r"does not support redis .*a postgresql:// URL"):
        open_store("redis://127.0.0.1:6379/0")


@pytest.mark.parametrize(
    ("url", "fix"),
    [
        ("postgresql://postgres@127.0.0.1:1/test", "start the server or fix the host and port"),
        ("postgresql://postgres@127.0.0.1:5432/jotty_no_such_db", "create the database"),
        ("postgresql://postgres@127.0.0.1:5432/test?bogus=1", "malformed.*postgresql://USER"),
    ],
)
def test_an_unusable_postgres_url_says_what_to_fix(url: str, fix: str) -> None:
    with pytest.raises(StoreUnavailableError, match=fix):
        Router(ACTORS, store=url)
