"""The queue, learning and memory pages' JSON, from what the real queue, Conductor and memory wrote."""

from __future__ import annotations

import sqlite3
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from jotty.agents import FunctionAgent
from jotty.dashboard.queue_view import FINISHED
from jotty.memory import Memory
from jotty.orchestration import AgentConfig, Conductor
from jotty.queue import TaskStatus
from jotty.queue.factory import open_queue
from tests.dashboard.conftest import client_for


async def test_queue_page_counts_filters_history_workers_and_throughput(store: str) -> None:
    queue = open_queue(store)
    try:
        ids = [
            await queue.create_task(f"task {i}", category="docs" if i % 2 else "code", status="pending")
            for i in range(5)
        ]
        claimed = await queue.dequeue()
        assert claimed is not None
        await queue.update_status(claimed.task_id, TaskStatus.COMPLETED)
        running = await queue.dequeue()
        assert running is not None
    finally:
        await queue.close()
    with client_for(store) as client:
        page = client.get("/api/queue").json()
        assert page["counts"] == {"pending": 3, "completed": 1, "in_progress": 1}
        assert {t["task_id"] for t in page["tasks"]} == set(ids)
        docs = client.get("/api/queue?category=docs&status=pending").json()["tasks"]
        assert all(t["category"] == "docs" and t["status"] == "pending" for t in docs) and docs
        assert [t["title"] for t in client.get("/api/queue?q=task 3").json()["tasks"]] == ["task 3"]
        assert [w["tasks"] for w in page["workers"]] == [1] and page["workers"][0]["alive"] is True
        assert sum(h["completed"] for h in page["throughput"]) == 1 and len(page["throughput"]) == 24
        history = client.get(f"/api/queue/{claimed.task_id}").json()["history"]
        assert [h["to"] for h in history][-2:] == ["in_progress", "completed"]
        assert client.get("/api/queue/TASK-nope").status_code == 404
        assert client.get("/api/queue?status=lost").status_code == 400


async def test_learning_page_actors_by_category_and_the_curve(store: str) -> None:
    attempts = {"n": 0}

    def sometimes(goal: str) -> str:
        attempts["n"] += 1
        if attempts["n"] % 3 == 0:
            raise RuntimeError("try another")
        return goal

    actors = [
        AgentConfig("steady", FunctionAgent(lambda g: g, name="steady")),
        AgentConfig("shaky", FunctionAgent(sometimes, name="shaky")),
    ]
    with Conductor(actors, mode="dynamic", store=store) as conductor:  # records every run in the store
        for i in range(6):
            await conductor.run(f"goal {i}", context={"category": "docs"}, run_id=f"c-{i}")
    with client_for(store) as client:
        page = client.get("/api/learning?window=2").json()
    docs = {a["actor"]: a for a in page["categories"]["docs"]}
    assert set(docs) == {"steady", "shaky"} and sum(a["attempts"] for a in docs.values()) >= 6
    assert all(0 <= a["success_rate"] <= 1 for a in docs.values())
    assert [c["run"] for c in page["curve"]] == [1, 2, 3, 4, 5, 6]
    assert all(c["tries"] >= 1 and 0 <= c["first_try_rate"] <= 1 for c in page["curve"])


async def test_memory_page_search_and_consolidations(store: str) -> None:
    memory = Memory(store, scope="notes", embedder=False)
    try:
        for i in range(6):
            await memory.remember(f"The deploy of service alpha failed on day {i} because the disk was full")
        await memory.remember("Lunch is at noon")
        await memory.remember("Renée moved to São Paulo")
        await memory.consolidate()
    finally:
        await memory.close()
    with client_for(store) as client:
        page = client.get("/api/memory?q=disk full").json()
        assert page["hits"] and all("disk" in h["text"].lower() for h in page["hits"])
        assert any(lv["scope"] == "notes" for lv in page["levels"])
        assert all(c["level"] == "semantic" for c in page["consolidations"])
        assert client.get('/api/memory?q="unbalanced').status_code == 200  # never an FTS syntax error
        for asked in ("renee sao paulo", "Renée", "O'Brien & | !"):  # accents aside, as recall finds them
            found = client.get("/api/memory", params={"q": asked}).json()["hits"]
            assert [h["text"] for h in found] == (["Renée moved to São Paulo"] if "O'Brien" not in asked else [])


async def test_throughput_counts_exactly_the_finished_tasks_of_each_hour(tmp_path: Path) -> None:
    path = tmp_path / "spread.db"
    queue = open_queue(str(path))
    try:
        for i in range(60):
            task_id = await queue.create_task(f"task {i}", status="pending")
            await queue.update_status(task_id, TaskStatus.COMPLETED if i % 3 else TaskStatus.FAILED)
    finally:
        await queue.close()
    # Spread the history over the last 40 hours, oldest first as ids grow, with gaps in the ids.
    now = datetime.now(UTC).replace(tzinfo=None)
    with sqlite3.connect(path) as conn:
        ids = [r[0] for r in conn.execute("SELECT id FROM jotty_task_history ORDER BY id")]
        for position, row_id in enumerate(ids):
            at = now - timedelta(hours=40) + timedelta(hours=40) * position / len(ids)
            conn.execute("UPDATE jotty_task_history SET at = ? WHERE id = ?", (at.isoformat(" "), row_id))
        conn.execute("DELETE FROM jotty_task_history WHERE id % 7 = 0")
        start = (now - timedelta(hours=23)).replace(minute=0, second=0, microsecond=0).isoformat(" ")
        expected = Counter(
            (at[:13], status)
            for status, at in conn.execute(
                "SELECT to_status, at FROM jotty_task_history WHERE at >= ? AND to_status IN ('completed', 'failed')",
                (start,),
            )
        )
    with client_for(str(path)) as client:
        hours = client.get("/api/queue").json()["throughput"]
    got = Counter()
    for hour in hours:
        got[(hour["hour"][:13], "completed")] += hour["completed"]
        got[(hour["hour"][:13], "failed")] += hour["failed"]
    assert +got == expected and sum(expected.values()) > 20
    with sqlite3.connect(path) as conn:  # the partial index of migration 0008 serves the chart's query
        plan = " ".join(str(row) for row in conn.execute(f"EXPLAIN QUERY PLAN {FINISHED}", (start,)))
    assert "idx_jotty_task_history_finished_at" in plan, plan
