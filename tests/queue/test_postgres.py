"""PostgreSQL specifics: migrations, clear errors, fencing across lost connections, racing reapers.

The queue rules themselves are checked by the conformance suite (backend ``postgres``). Each test
works in a schema of its own, dropped afterwards.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from jotty.db import migrations
from jotty.db.migrations import Migration, latest_version
from jotty.db.postgres import connect, migrate_postgres
from jotty.errors import JottyError, SchemaVersionError, StoreError, StoreUnavailableError, ValidationError
from jotty.queue import PostgresTaskQueue, open_queue
from tests.queue.server_backends import (
    PG_URL,
    check_cut_worker_is_fenced,
    check_racing_reapers_reap_each_lease_once,
    check_woken_by_new_work,
    pg_schema,
    until,
)

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def schema(tmp_path: Path) -> str:
    return pg_schema(tmp_path)


@pytest.fixture
async def make(schema: str) -> AsyncIterator[Callable[..., Awaitable[PostgresTaskQueue]]]:
    opened: list[PostgresTaskQueue] = []

    async def make(**options: Any) -> PostgresTaskQueue:
        options = {"retry_backoff": 0.01, "max_backoff": 0.05, "pool_size": 4, **options}
        queue = await PostgresTaskQueue(PG_URL, schema=schema, **options).open()
        opened.append(queue)
        return queue

    yield make
    for queue in opened:
        await queue.close()


async def admin(query: str | sql.Composed, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    async with await psycopg.AsyncConnection.connect(PG_URL, autocommit=True) as conn:
        cur = await conn.execute(query, params)
        return await cur.fetchall() if cur.description else []


async def terminate(queue: PostgresTaskQueue) -> int:
    """Kill every server connection of ``queue`` (pool and listener), as a network cut would."""
    rows = await admin(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
        (queue.application_name,),
    )
    return len(rows)


# ---------------------------------------------------------------------- migrations


async def test_migrations_are_versioned_and_race_free(schema: str) -> None:
    conns = [await connect(PG_URL, schema=schema) for _ in range(6)]
    try:
        versions = await asyncio.gather(*(migrate_postgres(c, "test db", schema) for c in conns))
        assert versions == [latest_version("postgres")] * 6
        rows = await (await conns[0].execute("SELECT version FROM jotty_schema_migrations ORDER BY version")).fetchall()
        assert [r["version"] for r in rows] == [m.version for m in migrations.load_migrations("postgres")]
        assert await migrate_postgres(conns[0], "test db", schema) == latest_version("postgres")  # a no-op now
    finally:
        for conn in conns:
            await conn.close()


async def test_two_processes_starting_at_once_migrate_once(schema: str) -> None:
    code = (
        "import asyncio, sys\n"
        "from jotty.queue import PostgresTaskQueue\n"
        "async def main():\n"
        "    q = await PostgresTaskQueue(sys.argv[1], schema=sys.argv[2]).open()\n"
        "    await q.create_task('from ' + sys.argv[3], status='pending')\n"
        "    await q.close()\n"
        "asyncio.run(main())\n"
    )
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", code, PG_URL, schema, str(i), stderr=asyncio.subprocess.PIPE
        )
        for i in range(3)
    ]
    results = [await p.communicate() for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [err.decode() for _, err in results]
    rows = await admin(sql.SQL("SELECT count(*) FROM {}.jotty_schema_migrations").format(sql.Identifier(schema)))
    assert rows[0][0] == len(migrations.load_migrations("postgres"))
    tasks = await admin(sql.SQL("SELECT task_id FROM {}.tasks").format(sql.Identifier(schema)))
    assert len({t[0] for t in tasks}) == 3  # ids generated atomically across processes


async def test_newer_schema_is_refused_and_left_alone(schema: str) -> None:
    await admin(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    await admin(
        sql.SQL("CREATE TABLE {}.jotty_schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL)").format(
            sql.Identifier(schema)
        )
    )
    await admin(sql.SQL("INSERT INTO {}.jotty_schema_migrations VALUES (999, 'future')").format(sql.Identifier(schema)))
    queue = PostgresTaskQueue(PG_URL, schema=schema)
    with pytest.raises(SchemaVersionError, match=r"schema version 999, newer than this Jotty knows .*upgrade Jotty"):
        await queue.create_task("x")
    await queue.close()
    tables = await admin("SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (schema,))
    assert tables == [("jotty_schema_migrations",)]


async def test_a_failing_migration_leaves_nothing_half_done(schema: str, monkeypatch: pytest.MonkeyPatch) -> None:
    good = migrations.load_migrations("postgres")
    broken = Migration(good[-1].version + 1, "broken", "CREATE TABLE jotty_half (x INT); SELECT no_such_function();")
    monkeypatch.setattr(migrations, "load_migrations", lambda backend: (*good, broken))
    monkeypatch.setattr("jotty.db.postgres.load_migrations", lambda backend: (*good, broken))
    monkeypatch.setattr("jotty.db.postgres.latest_version", lambda backend: broken.version)
    with pytest.raises(JottyError, match="nothing was changed"):
        await PostgresTaskQueue(PG_URL, schema=schema).open()
    tables = await admin("SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (schema,))
    assert tables == []  # not even the migrations table or the first (good) versions: one transaction


# ---------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://postgres@127.0.0.1:1/test", r"Connection refused.*start the server"),
        (
            "postgresql://no_such_role_jotty@127.0.0.1:5432/test",
            r'role "no_such_role_jotty" does not exist.*create the role',
        ),
        (
            "postgresql://postgres@127.0.0.1:5432/no_such_db_jotty",
            r'database "no_such_db_jotty" does not exist.*createdb',
        ),
        ("postgresql://postgres@127.0.0.1:abc/test", r"port.*fix the URL"),
        ("postgresql://postgres@127.0.0.1/test?bogus=1", r"malformed.*postgresql://USER"),
    ],
)
async def test_unusable_servers_raise_clear_errors(url: str, expected: str) -> None:
    queue = PostgresTaskQueue(url)
    with pytest.raises(StoreUnavailableError, match=expected):
        await queue.get_stats()
    await queue.close()


async def test_a_role_without_rights_is_told_what_to_grant(schema: str) -> None:
    role = f"{schema}_role"
    await admin(sql.SQL("CREATE ROLE {} LOGIN PASSWORD 'secret-pw'").format(sql.Identifier(role)))
    try:
        # The server trusts local logins, so the password is not checked; the role's rights are.
        queue = PostgresTaskQueue(f"postgresql://{role}:secret-pw@127.0.0.1:5432/test", schema=schema)
        with pytest.raises(StoreError, match=r"may not create Jotty's tables .*GRANT CREATE") as caught:
            await queue.open()
        assert "secret-pw" not in str(caught.value) and ":***@" in str(caught.value)
        await queue.close()
        assert await admin("SELECT count(*) FROM pg_namespace WHERE nspname = %s", (schema,)) == [(0,)]
    finally:
        await admin(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


async def test_wrong_arguments_are_validation_errors() -> None:
    with pytest.raises(ValidationError, match="postgresql://"):
        PostgresTaskQueue("redis://127.0.0.1:6379/0")
    with pytest.raises(ValidationError, match="schema must be a plain name"):
        PostgresTaskQueue(PG_URL, schema="x; DROP TABLE tasks")
    with pytest.raises(ValidationError, match="min_pool_size"):
        PostgresTaskQueue(PG_URL, pool_size=1, min_pool_size=2)


async def test_jotty_database_url_selects_postgres(schema: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JOTTY_DATABASE_URL", f"{PG_URL}?options=-csearch_path%3D{schema}")
    await admin(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    queue = open_queue()
    assert isinstance(queue, PostgresTaskQueue)
    try:
        task_id = await queue.create_task("via env", status="pending")
        rows = await admin(sql.SQL("SELECT title FROM {}.tasks WHERE task_id = %s").format(sql.Identifier(schema)),
                           (task_id,))  # fmt: skip
        assert rows == [("via env",)]
    finally:
        await queue.close()


# ---------------------------------------------------------------------- leases under failure


async def test_worker_that_lost_its_connection_is_fenced(make: Callable[..., Awaitable[PostgresTaskQueue]]) -> None:
    first = await make(worker_id="first", lease_seconds=0.5)
    second = await make(worker_id="second", lease_seconds=30)
    await check_cut_worker_is_fenced(first, second, lambda: terminate(first))


async def test_many_reapers_reap_each_expired_lease_once(make: Callable[..., Awaitable[PostgresTaskQueue]]) -> None:
    await check_racing_reapers_reap_each_lease_once([await make() for _ in range(4)])


async def test_concurrent_children_roll_up_their_parent(make: Callable[..., Awaitable[PostgresTaskQueue]]) -> None:
    queues = [await make() for _ in range(4)]
    parent = await queues[0].create_task("parent", status="backlog")
    for i in range(20):
        await queues[0].create_subtask(parent, f"child {i}")

    async def drain(queue: PostgresTaskQueue) -> None:
        while (task := await queue.claim()) is not None:
            assert task.lease_id is not None
            assert await queue.complete(task.task_id, task.lease_id)

    await asyncio.gather(*(drain(q) for q in queues))
    stored = await queues[0].get_task(parent)
    assert stored is not None and stored.progress_percent == 100


async def test_listener_reconnects_after_its_connection_is_cut(
    make: Callable[..., Awaitable[PostgresTaskQueue]],
) -> None:
    worker = await make(worker_id="listener")
    producer = await make(worker_id="producer")
    assert await worker.wait_for_work(0.05) is False  # listening now
    await terminate(worker)
    assert await worker.wait_for_work(5) is True  # the reconnect itself wakes the worker: work may be missed
    await until(lambda: _listening(worker))
    await check_woken_by_new_work(worker, producer)


async def _listening(queue: PostgresTaskQueue) -> bool:
    rows = await admin(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s AND query LIKE 'LISTEN%%'",
        (queue.application_name,),
    )
    return bool(rows[0][0])


async def test_a_missing_older_version_is_applied(schema: str) -> None:
    queue = PostgresTaskQueue(PG_URL, schema=schema)
    await queue.create_task("before")
    await queue.close()
    ident = sql.Identifier(schema)
    await admin(sql.SQL("DROP TABLE {}.jotty_task_templates").format(ident))
    await admin(sql.SQL("DELETE FROM {}.jotty_schema_migrations WHERE version = 2").format(ident))
    queue = PostgresTaskQueue(PG_URL, schema=schema)  # version 2 is below the highest: it runs again
    await queue.create_template("t", title="T")
    assert [t.title for t in await queue.list_tasks()] == ["before"]
    await queue.close()
    rows = await admin(sql.SQL("SELECT version FROM {}.jotty_schema_migrations ORDER BY version").format(ident))
    assert [r[0] for r in rows] == [m.version for m in migrations.load_migrations("postgres")]


# ---------------------------------------------------------------------- rolled back, or cut off

DEADLOCK, CUT, OK = "deadlock", "cut", "ok"


async def _meets(queue: PostgresTaskQueue, script: list[str]) -> tuple[list[str], list[str]]:
    """Run one queue transaction (each of two tasks' titles gets a '+') that meets, attempt by
    attempt, what ``script`` says, on the real server: a deadlock (a rival connection takes the
    second row and waits for the first; this transaction, whose deadlock_timeout is far shorter,
    finds the cycle and is rolled back), a cut (its backend terminated mid-transaction), then
    commits. Returns what each attempt met and the titles after; raises what the queue raised."""
    first, second = [await queue.create_task(f"row {i}") for i in (1, 2)]
    met: list[str] = []
    rivals: list[asyncio.Task[None]] = []

    async def work(conn: psycopg.AsyncConnection[Any]) -> None:
        event = script[len(met)] if len(met) < len(script) else OK
        met.append(event)
        await conn.execute("UPDATE tasks SET title = title || '+' WHERE task_id = %s", (first,))
        if event == DEADLOCK:
            rival = await connect(PG_URL, schema=queue.schema, autocommit=False)
            await rival.execute("SET deadlock_timeout = '10s'")
            await rival.execute("UPDATE tasks SET title = title WHERE task_id = %s", (second,))

            async def wait_for_first() -> None:
                try:
                    await rival.execute("UPDATE tasks SET title = title WHERE task_id = %s", (first,))
                    await rival.rollback()
                finally:
                    await rival.close()

            rivals.append(asyncio.create_task(wait_for_first()))
            waiting = "SELECT count(*) AS n FROM pg_locks WHERE pid = %s AND NOT granted"
            while not (await (await conn.execute(waiting, (rival.info.backend_pid,))).fetchone())["n"]:
                await asyncio.sleep(0.005)
            await conn.execute("SET LOCAL deadlock_timeout = '10ms'")
        elif event == CUT:
            pid = (await (await conn.execute("SELECT pg_backend_pid() AS pid")).fetchone())["pid"]
            assert await admin("SELECT pg_terminate_backend(%s, 5000)", (pid,)) == [(True,)]
        await conn.execute("UPDATE tasks SET title = title || '+' WHERE task_id = %s", (second,))

    try:
        await queue._run(work)
    finally:
        await asyncio.gather(*rivals)
    titles = [t.title for t in await queue.list_tasks()]
    return met, titles


@pytest.mark.parametrize(
    "script",
    [
        [DEADLOCK, CUT],  # a deadlock's rerun does not use up the reconnect
        [CUT, DEADLOCK, DEADLOCK, DEADLOCK, DEADLOCK],  # nor the reconnect the reruns
        [DEADLOCK, DEADLOCK, CUT, DEADLOCK, DEADLOCK],
    ],
)
async def test_a_rolled_back_transaction_and_a_lost_connection_each_have_their_own_retries(
    make: Callable[..., Awaitable[PostgresTaskQueue]], script: list[str]
) -> None:
    met, titles = await _meets(await make(), script)
    assert met == [*script, OK]
    assert titles == ["row 1+", "row 2+"]  # committed once


@pytest.mark.parametrize(
    ("script", "error", "message"),
    [
        ([DEADLOCK] * 5, StoreError, r"rolled back a queue transaction 5 times \(deadlock detected"),
        ([CUT, DEADLOCK, DEADLOCK, DEADLOCK, DEADLOCK, DEADLOCK], StoreError, r"rolled back a queue transaction 5 t"),
        (
            [CUT, CUT],
            StoreUnavailableError,
            r"lost its PostgreSQL connection again after reconnecting once; cannot use",
        ),
        (
            [DEADLOCK, CUT, DEADLOCK, CUT],
            StoreUnavailableError,
            r"lost its PostgreSQL connection again after reconnecting once; cannot use",
        ),
    ],
)
async def test_each_retry_is_bounded_and_says_which_ran_out(
    make: Callable[..., Awaitable[PostgresTaskQueue]], script: list[str], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message) as caught:
        await _meets(await make(), script)
    assert "PostgreSQL at postgresql://" in str(caught.value)
    queue = await make()
    assert [t.title for t in await queue.list_tasks()] == ["row 1", "row 2"]  # nothing committed


async def test_a_canceled_statement_is_not_taken_for_a_lost_connection(
    make: Callable[..., Awaitable[PostgresTaskQueue]],
) -> None:
    queue = await make()
    runs = 0

    async def slow(conn: psycopg.AsyncConnection[Any]) -> None:
        nonlocal runs
        runs += 1
        await conn.execute("SET LOCAL statement_timeout = 50")
        await conn.execute("SELECT pg_sleep(2)")

    with pytest.raises(StoreError, match="canceled a statement") as caught:
        await queue._run(slow)
    assert runs == 1  # the connection is fine: running it again would only wait as long again
    assert not isinstance(caught.value, StoreUnavailableError) and "reconnect" not in str(caught.value)


async def test_no_free_connection_is_said_at_once_not_taken_for_a_lost_one(
    make: Callable[..., Awaitable[PostgresTaskQueue]],
) -> None:
    queue = await make(pool_size=1, min_pool_size=1, pool_timeout=1.0)
    pool = await queue._ready()
    async with pool.connection():  # the pool's only connection, busy
        started = asyncio.get_running_loop().time()
        with pytest.raises(StoreUnavailableError, match="no PostgreSQL connection became available") as caught:
            await queue.list_tasks()
        waited = asyncio.get_running_loop().time() - started
    # PoolTimeout is an OperationalError: it was taken for a dropped connection, waited for twice
    # and said to be "lost ... again after reconnecting once"
    assert "reconnect" not in str(caught.value)
    assert waited < 1.8
    assert await queue.list_tasks() == []  # the pool serves again once the connection is free
