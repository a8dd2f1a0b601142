"""What only the PostgreSQL learning store has to show: updates of the same values take turns across
connections, a schema of its own, and a Conductor that learns there through JOTTY_DATABASE_URL."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import psycopg
import pytest

from jotty.agents import FunctionAgent
from jotty.learning import QValue, open_store
from jotty.learning.postgres_store import PostgresLearningStore
from jotty.orchestration import AgentConfig, Conductor
from tests.queue.server_backends import PG_URL, pg_schema
from tests.runs.backends import postgres_url

KEY = ("code|s0|start", "coder")
# A session waiting for a row lock while it holds a lock on the test's jotty_learning_q.
_WAITING = """SELECT EXISTS (SELECT 1 FROM pg_locks w JOIN pg_locks r ON r.pid = w.pid
    WHERE NOT w.granted AND r.relation = 'jotty_learning_q'::regclass)"""


def wait_for(condition: str, url: str, timeout: float = 10.0) -> None:
    """Poll the server until ``condition`` (a query of one boolean) holds."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(url, autocommit=True) as conn:
        while not (row := conn.execute(condition).fetchone()) or not row[0]:
            assert time.monotonic() < deadline, f"not reached in {timeout} s: {condition}"
            time.sleep(0.01)


def test_updates_of_the_same_values_take_turns(tmp_path: Path) -> None:
    with postgres_url(tmp_path) as url:
        first, second = PostgresLearningStore(url), PostgresLearningStore(url)
        inside, release = threading.Event(), threading.Event()
        try:
            first.update_q([KEY], lambda current: {KEY: QValue(1.0, 1)})
            seen: list[QValue] = []

            def slow(current: dict[tuple[str, str], QValue]) -> dict[tuple[str, str], QValue]:
                inside.set()
                assert release.wait(10)
                return {KEY: QValue(current[KEY].q + 1, current[KEY].visits + 1)}

            def then(current: dict[tuple[str, str], QValue]) -> dict[tuple[str, str], QValue]:
                seen.append(current[KEY])
                return {KEY: QValue(current[KEY].q * 10, current[KEY].visits + 1)}

            one = threading.Thread(target=first.update_q, args=([KEY], slow))
            one.start()
            assert inside.wait(10)
            two = threading.Thread(target=second.update_q, args=([KEY], then))
            two.start()
            wait_for(_WAITING, url)  # the second update waits on the row the first one holds
            assert seen == []
            release.set()
            one.join(10)
            two.join(10)
            assert seen == [QValue(2.0, 2)]  # it computed from the first update's result
            assert first.all_q_values() == {KEY: QValue(20.0, 3)}
        finally:
            release.set()
            first.close()
            second.close()


def test_a_store_in_a_schema_of_its_own(tmp_path: Path) -> None:
    store = PostgresLearningStore(PG_URL, schema=pg_schema(tmp_path))  # created here, dropped at exit
    try:
        store.update_q([KEY], lambda current: {KEY: QValue(0.5, 1)})
        assert store.all_q_values() == {KEY: QValue(0.5, 1)}
        assert repr(store).endswith(f"(schema {store.schema})')")
    finally:
        store.close()


async def test_a_conductor_learns_in_postgres_through_the_database_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(goal: str) -> str:
        raise RuntimeError("disk full")

    def works(goal: str) -> str:
        return f"{goal}: done"

    actors = [AgentConfig("broken", FunctionAgent(broken)), AgentConfig("works", FunctionAgent(works))]
    with postgres_url(tmp_path) as url:
        monkeypatch.setenv("JOTTY_DATABASE_URL", url)
        with Conductor(actors, mode="dynamic") as conductor:
            assert isinstance(conductor.router.store, PostgresLearningStore)
            result = await conductor.run("back up the notes", {"category": "ops"})
        assert result.ok and result.actor == "works"
        store = open_store()  # JOTTY_DATABASE_URL again
        try:
            stats = store.all_feature_stats()
            assert (stats["broken", "*"].attempts, stats["broken", "*"].successes) == (1, 0)
            assert (stats["works", "category:ops"].attempts, stats["works", "category:ops"].successes) == (1, 1)
            assert {state for state, _ in store.all_q_values()} == {"ops|s0|start", "ops|s1|failed"}
        finally:
            store.close()
