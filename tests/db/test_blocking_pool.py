"""BlockingPool runs again a transaction PostgreSQL rolled back to break a real deadlock."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg

from jotty.db.blocking import BlockingPool
from jotty.db.postgres import rolled_back_pause, translate
from jotty.errors import StoreError, StoreUnavailableError
from tests.queue.server_backends import PG_URL
from tests.runs.backends import open_backend


def test_the_victim_of_a_deadlock_is_run_again(tmp_path: Path) -> None:
    with open_backend("postgres", tmp_path) as backend:
        backend.rows("CREATE TABLE pair (id INT PRIMARY KEY, v INT NOT NULL)")
        backend.rows("INSERT INTO pair VALUES (1, 0), (2, 0)")
        pool = BlockingPool(backend.store, application="jotty test", size=2)
        both_hold_one = threading.Barrier(2)
        attempts: list[int] = []
        failed: list[BaseException] = []

        def crosswise(first: int, second: int) -> Callable[[], None]:
            def work(conn: Any) -> None:
                attempts.append(first)
                conn.execute("UPDATE pair SET v = v + 1 WHERE id = %s", (first,))
                if attempts.count(first) == 1:  # the first attempts hold one row each, then want the other's
                    both_hold_one.wait(timeout=10)
                conn.execute("UPDATE pair SET v = v + 1 WHERE id = %s", (second,))

            def run() -> None:
                try:
                    pool.run(work, transaction=True)
                except BaseException as exc:
                    failed.append(exc)

            return run

        threads = [threading.Thread(target=crosswise(1, 2)), threading.Thread(target=crosswise(2, 1))]
        try:
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(30)
        finally:
            pool.close()
        assert failed == []
        # one of the two was rolled back and ran again (PostgreSQL may pick a victim twice: the pause
        # before a rerun makes it rare, nothing makes it impossible)
        assert len(attempts) >= 3 and {1, 2} <= set(attempts)
        assert backend.rows("SELECT id, v FROM pair ORDER BY id") == [(1, 2), (2, 2)]


def test_a_canceled_statement_says_so_not_that_the_server_is_down() -> None:
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute("SET statement_timeout = 20")
        try:
            conn.execute("SELECT pg_sleep(2)")
        except psycopg.OperationalError as exc:
            error = translate(exc, PG_URL)
        else:
            raise AssertionError("the statement was not canceled")
    assert isinstance(error, StoreError) and not isinstance(error, StoreUnavailableError)
    assert "canceled a statement" in str(error) and "statement_timeout" in str(error)


def test_a_rolled_back_transaction_waits_a_little_longer_each_time_it_runs_again() -> None:
    pauses = [[rolled_back_pause(attempt) for _ in range(200)] for attempt in (1, 2, 3, 20)]
    assert all(0.001 <= p <= 0.002 for p in pauses[0])
    assert all(0.002 <= p <= 0.004 for p in pauses[1])
    assert all(0.004 <= p <= 0.008 for p in pauses[2])
    assert all(p <= 0.128 for p in pauses[3])  # capped
    assert len(set(pauses[0])) > 100  # at random: two losers do not come back in step
