"""The RunStore interface, run against every backend (SQLite and PostgreSQL, see conftest)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from jotty.agents import TokenUsage
from jotty.errors import StoreError, StoreUnavailableError, ValidationError
from jotty.events import Event
from jotty.runs import (
    Checkpoint,
    RunFinish,
    RunStatus,
    RunStore,
    SQLiteRunStore,
    StepRecord,
    StepStatus,
    get_run,
    list_runs,
    open_run_store,
)
from jotty.runs.postgres import PostgresRunStore
from tests.queue.server_backends import PG_URL, pg_schema
from tests.runs.backends import Backend

STORE_CLASSES = {"sqlite": SQLiteRunStore, "postgres": PostgresRunStore}


@pytest.fixture
async def store(backend: Backend) -> AsyncIterator[RunStore]:
    opened = open_run_store(backend.store)
    assert isinstance(opened, STORE_CLASSES[backend.kind])
    yield opened
    await opened.close()


def record(path: str, status: StepStatus = StepStatus.COMPLETED, started: float = 1.0) -> StepRecord:
    return StepRecord(path, path.rsplit("/", 1)[-1], "agent", status, attempts=1, started_at=started, prompt_tokens=3)


async def test_a_run_lives_through_create_checkpoint_claim_finish(store: RunStore) -> None:
    await store.create_run("r1", "chain", '{"kind":"chain"}', {"goal": "x"}, "host:1")
    run = await store.get_run("r1")
    assert run is not None and (run.status, run.input, run.sessions, run.owner) == (
        RunStatus.RUNNING,
        {"goal": "x"},
        1,
        "host:1",
    )
    events = [Event("step_started", "chain/a", "r1", {"attempt": 1}), Event("step_completed", "chain/a", "r1", {})]
    await store.save_checkpoint("r1", Checkpoint("chain/a", [1, "two"], record("chain/a")), events)
    await store.save_checkpoint("r1", Checkpoint("chain/a", [1, "again"], record("chain/a")), [])  # replaces
    [checkpoint] = await store.load_checkpoints("r1")
    assert (checkpoint.path, checkpoint.output, checkpoint.record.restored) == ("chain/a", [1, "again"], True)

    await store.claim_run("r1", "host:2")
    failed = record("chain/b", StepStatus.FAILED, started=2.0)
    finish = RunFinish(RunStatus.FAILED, None, "b broke", [failed], [{"path": "chain/a"}], TokenUsage(3, 0))
    await store.finish_run("r1", finish, [Event("run_failed", "chain", "r1", {"error": "b broke"})])
    run = await store.get_run("r1")
    assert run is not None
    assert (run.status, run.error, run.sessions, run.owner, run.tokens) == (
        RunStatus.FAILED,
        "b broke",
        2,
        "host:2",
        TokenUsage(3, 0),
    )
    assert [(s.path, s.status) for s in run.steps] == [("chain/a", "completed"), ("chain/b", "failed")]
    assert run.windows == [{"path": "chain/a"}]

    stored = await store.get_events("r1")
    assert [e.event.type for e in stored] == ["step_started", "step_completed", "run_failed"]
    assert stored[0].event.data == {"attempt": 1} and stored[0].event.run_id == "r1"
    assert [e.event.type for e in await store.get_events("r1", after=stored[1].id)] == ["run_failed"]


async def test_runs_list_newest_first_and_by_status(store: RunStore) -> None:
    for n in range(3):
        await store.create_run(f"run-{n}", "chain", "{}", n, "host:1")
    await store.finish_run("run-1", RunFinish(RunStatus.COMPLETED, "out"), [])
    assert [r.run_id for r in await store.list_runs()] == ["run-2", "run-1", "run-0"]
    assert [r.run_id for r in await store.list_runs(status=RunStatus.COMPLETED)] == ["run-1"]
    assert [r.run_id for r in await store.list_runs(limit=1)] == ["run-2"]
    assert await store.get_run("missing") is None


async def test_list_runs_checks_its_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="unknown run status 'done'"):
        await list_runs(tmp_path / "runs.db", status="done")
    with pytest.raises(ValidationError, match="limit must be at least 1"):
        await list_runs(tmp_path / "runs.db", limit=0)
    assert await list_runs(tmp_path / "runs.db", status="completed") == []


def test_a_server_store_without_a_backend_is_a_clear_error() -> None:
    with pytest.raises(StoreError, match="runs cannot be stored in a redis store"):
        open_run_store("redis://127.0.0.1:6379/0")


async def test_the_database_url_is_the_default_store(backend: Backend, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JOTTY_DATABASE_URL", backend.store)
    opened = open_run_store(backend.store)
    try:
        await opened.create_run("by-url", "chain", "{}", "in", "host:1")
    finally:
        await opened.close()
    assert [r.run_id for r in await list_runs()] == ["by-url"]
    assert (await get_run("by-url")).input == "in"


async def test_a_postgres_store_in_a_schema_of_its_own(tmp_path: Path) -> None:
    opened = PostgresRunStore(PG_URL, schema=pg_schema(tmp_path))  # created on first use, dropped at exit
    try:
        await opened.create_run("mine", "chain", "{}", None, "host:1")
        assert [r.run_id for r in await opened.list_runs()] == ["mine"]
        assert opened.location.endswith(f"(schema {opened.schema})")
    finally:
        await opened.close()


@pytest.mark.parametrize(
    ("url", "fix"),
    [
        ("postgresql://postgres@127.0.0.1:1/test", "start the server or fix the host and port"),
        ("postgresql://postgres@127.0.0.1:5432/jotty_no_such_db", "create the database"),
        ("postgresql://postgres@127.0.0.1:5432/test?bogus=1", "malformed.*postgresql://USER"),
    ],
)
async def test_an_unusable_postgres_url_says_what_to_fix(url: str, fix: str) -> None:
    with pytest.raises(StoreUnavailableError, match=fix):
        await list_runs(url)
