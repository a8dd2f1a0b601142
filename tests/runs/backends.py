"""The stores the run and learning tests run against: an SQLite file, and a PostgreSQL schema of
its own per test, reached through a plain URL (``?options=-csearch_path=...``) so the tests take
the path a user's ``JOTTY_DATABASE_URL`` takes.

The schemas are named like the queue suite's (``jt_<pid>_<hash>``): dropped when the test ends,
and those of a killed session by the next session.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
import pytest
from psycopg import sql

from jotty.db.postgres import format_placeholders
from tests.queue.server_backends import PG_URL, drop_schema, pg_schema

KINDS = ("sqlite", "postgres")


def schema_url(schema: str) -> str:
    """``PG_URL`` with ``schema`` as the connection's search_path."""
    separator = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{separator}options={quote(f'-csearch_path={schema}')}"


@contextlib.contextmanager
def postgres_url(tmp_path: Path) -> Iterator[str]:
    """A URL on a fresh schema of the test server, dropped afterwards."""
    schema = pg_schema(tmp_path)
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    try:
        yield schema_url(schema)
    finally:
        drop_schema(schema)


@dataclass(frozen=True)
class Backend:
    """One test's store: ``store`` is what ``store=`` takes (a path or a URL)."""

    kind: str
    store: str

    def rows(self, statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one statement (``?`` placeholders) on the store, outside Jotty; its rows, if any."""
        if self.kind == "sqlite":
            with contextlib.closing(sqlite3.connect(self.store, timeout=5)) as lite, lite:
                return lite.execute(statement, params).fetchall()
        with psycopg.connect(self.store, autocommit=True) as conn:
            cursor = conn.execute(format_placeholders(statement), params)
            return cursor.fetchall() if cursor.description else []


@contextlib.contextmanager
def open_backend(kind: str, tmp_path: Path) -> Iterator[Backend]:
    """The store of ``kind`` for the test of ``tmp_path``."""
    if kind == "sqlite":
        yield Backend(kind, str(tmp_path / "jotty.db"))
        return
    with postgres_url(tmp_path) as url:
        yield Backend(kind, url)


MISSING_TABLE = (sqlite3.OperationalError, psycopg.errors.UndefinedTable)
"""What ``Backend.rows`` raises before the store is migrated."""


@pytest.fixture(params=KINDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    """The test runs once per kind of store (import this fixture into a conftest)."""
    with open_backend(request.param, tmp_path) as opened:
        yield opened


@pytest.fixture
def store(backend: Backend) -> str:
    """The store path or URL to pass as ``store=``."""
    return backend.store
