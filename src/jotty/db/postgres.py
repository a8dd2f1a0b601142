"""PostgreSQL for the store: an async connection pool, versioned migrations and clear errors.

Migrations live in ``db/migrations/postgres/*.sql``. They run inside one transaction that first
takes ``pg_advisory_xact_lock``, so two processes starting at the same moment apply each version
exactly once, and a failure leaves the database as it was (PostgreSQL DDL is transactional).

psycopg and psycopg-pool are the ``jotty[postgres]`` extra; importing this module needs them.
"""

from __future__ import annotations

import asyncio
import random
import re
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from jotty.db.location import redact, resolve_store
from jotty.db.migrations import check_not_newer, latest_version, load_migrations
from jotty.errors import StoreError, StoreUnavailableError, ValidationError

AsyncConn = psycopg.AsyncConnection[DictRow]
CONNECT_TIMEOUT = 10
_SCHEMA_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")

_CREATE_MIGRATIONS = """CREATE TABLE IF NOT EXISTS jotty_schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"""
_APPLIED = "SELECT version FROM jotty_schema_migrations"
_HAS_MIGRATIONS = "SELECT to_regclass('jotty_schema_migrations') IS NOT NULL AS present"
_LOCK = "SELECT pg_advisory_xact_lock(hashtext('jotty-migrations:' || %s))"
_RECORD = "INSERT INTO jotty_schema_migrations (version, name) VALUES (%s, %s)"


def rolled_back_pause(attempt: int) -> float:
    """Seconds to wait before running again a transaction PostgreSQL rolled back (a deadlock, a
    serialisation failure) for the ``attempt``-th time: 1-2 ms, doubling each time, at random.
    Run again at once, the loser of a deadlock can take back the row the winner was waiting for
    before the winner wakes, and deadlock again."""
    return random.uniform(0.001, 0.002) * (1 << min(attempt - 1, 6))


def conninfo(url: str, schema: str | None = None, application_name: str | None = None) -> str:
    """A libpq connection string for ``url``, with ``search_path`` set to ``schema`` and the
    ``application_name`` (shown in ``pg_stat_activity``) if given."""
    if not url.startswith(("postgresql://", "postgres://")):
        raise ValidationError(f"not a PostgreSQL URL: {redact(url)!r}: use postgresql://USER[:PASSWORD]@HOST[:PORT]/DB")
    extra: dict[str, Any] = {}
    if schema is not None:
        extra["options"] = f"-c search_path={check_schema(schema)}"
    if application_name is not None:
        extra["application_name"] = application_name[:63]
    try:
        conninfo_to_dict(url)
        return make_conninfo(url, **extra)
    except psycopg.ProgrammingError as exc:
        raise StoreUnavailableError(
            f"the PostgreSQL URL {redact(url)} is malformed ({str(exc).strip()}): use "
            "postgresql://USER[:PASSWORD]@HOST[:PORT]/DB[?options=...]"
        ) from None


def server_url(url: str | None, who: str) -> str:
    """The PostgreSQL URL ``who`` was given, else ``JOTTY_DATABASE_URL``; ``ValidationError`` for
    anything that is not a ``postgresql://`` URL."""
    location = resolve_store(url)
    if location.kind != "postgresql":
        raise ValidationError(
            f"{who} needs a postgresql:// URL (or JOTTY_DATABASE_URL set to one), got {location.target!r}"
        )
    return location.target


def describe(url: str, schema: str | None = None) -> str:
    """A store's place for messages: the URL without its password, and the schema if one is set."""
    return redact(url) if schema is None else f"{redact(url)} (schema {schema})"


@lru_cache(maxsize=512)
def format_placeholders(statement: str) -> str:
    """A statement written for sqlite3 (``?`` placeholders) in psycopg's style (``%s``).

    The portable SQL shared with the SQLite stores has no literal ``?``; a literal ``%`` is escaped.
    """
    return statement.replace("%", "%%").replace("?", "%s")


def check_schema(schema: str) -> str:
    """A plain schema name (letters, digits, underscore), so it can be used in ``search_path``."""
    if not isinstance(schema, str) or not _SCHEMA_NAME.match(schema):
        raise ValidationError(
            f"schema must be a plain name of letters, digits and underscores (at most 63), got {schema!r}"
        )
    return schema


def translate(exc: BaseException, url: str) -> StoreError | None:
    """A ``StoreError`` naming what to fix for a psycopg connection problem or a canceled statement,
    or None."""
    where = redact(url)
    if isinstance(exc, PoolTimeout):
        return StoreUnavailableError(
            f"no PostgreSQL connection became available from {where} in time ({exc}): check that the "
            "server is up and not out of connections (max_connections), or raise pool_size"
        )
    if isinstance(exc, psycopg.errors.QueryCanceled):  # the server is up: a statement ran too long
        return StoreError(
            f"PostgreSQL at {where} canceled a statement ({' '.join(str(exc).split())}): raise the role's or "
            "database's statement_timeout, or look for what holds a lock on Jotty's tables"
        )
    if not isinstance(exc, psycopg.OperationalError):
        return None
    text = str(exc)
    detail = " ".join(text.split("failed: ", 1)[-1].strip().splitlines()[0].split())
    if "does not exist" in text and "role" in text:
        fix = "create the role (CREATE ROLE ... LOGIN) or put an existing user in JOTTY_DATABASE_URL"
    elif "does not exist" in text and "database" in text:
        fix = "create the database (createdb NAME) or name an existing one in JOTTY_DATABASE_URL"
    elif "password authentication failed" in text or "no password supplied" in text:
        fix = "fix the user or password in JOTTY_DATABASE_URL"
    elif "Connection refused" in text or "timeout expired" in text or "resolve host" in text:
        fix = "start the server or fix the host and port in JOTTY_DATABASE_URL"
    elif "invalid" in text and "connection option" in text:
        fix = "fix the URL: postgresql://USER[:PASSWORD]@HOST[:PORT]/DB"
    else:
        fix = "check that the server is up and JOTTY_DATABASE_URL is right"
    return StoreUnavailableError(f"cannot use PostgreSQL at {where} ({detail}): {fix}")


async def connect(
    url: str, *, schema: str | None = None, application_name: str | None = None, autocommit: bool = True
) -> AsyncConn:
    """One connection (dict rows, UTC session), with connection errors as ``StoreUnavailableError``."""
    info = conninfo(url, schema, application_name)
    try:
        conn = await psycopg.AsyncConnection.connect(
            info, autocommit=autocommit, row_factory=dict_row, connect_timeout=CONNECT_TIMEOUT
        )
    except psycopg.Error as exc:
        raise (translate(exc, url) or StoreUnavailableError(f"cannot use PostgreSQL at {redact(url)}: {exc}")) from exc
    await conn.execute("SET TIME ZONE 'UTC'")
    return conn


async def _applied(conn: AsyncConn) -> set[int] | None:
    row = await (await conn.execute(_HAS_MIGRATIONS)).fetchone()
    if row is None or not row["present"]:
        return None
    return {int(r["version"]) for r in await (await conn.execute(_APPLIED)).fetchall()}


async def migrate_postgres(conn: AsyncConn, where: str, schema: str | None = None) -> int:
    """Bring the schema (``schema``, created if missing, or the connection's search_path) to the
    latest version; safe when several processes start at once. Returns the version."""
    latest = latest_version("postgres")
    known = load_migrations("postgres")
    applied = await _applied(conn)
    if applied is not None:
        check_not_newer(applied, known, where, "jotty[postgres]")
        if applied >= {m.version for m in known}:
            return latest
    async with conn.transaction():
        await conn.execute(_LOCK, (schema or "",))
        if schema is not None:
            await conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
        await conn.execute(_CREATE_MIGRATIONS)
        applied = await _applied(conn) or set()
        check_not_newer(applied, known, where, "jotty[postgres]")
        for migration in known:  # every missing version, not only those above the highest applied
            if migration.version not in applied:
                await conn.execute(migration.sql.encode())
                await conn.execute(_RECORD, (migration.version, migration.name))
    return latest


async def prepare(url: str, *, schema: str | None = None, application_name: str | None = None) -> None:
    """Check the server and bring the schema to the latest version, with errors that name the fix."""
    first = await connect(url, schema=schema, application_name=application_name)
    try:
        await migrate_postgres(first, f"the PostgreSQL database {redact(url)}", schema)
    except psycopg.errors.InsufficientPrivilege as exc:
        raise StoreError(
            f"the PostgreSQL user of {redact(url)} may not create Jotty's tables ({str(exc).strip()}): grant it "
            "CREATE on the database or schema (GRANT CREATE ON DATABASE ... TO ...), or connect as the owner; "
            "nothing was changed"
        ) from exc
    except psycopg.Error as exc:
        raise StoreError(
            f"migrating the PostgreSQL database {redact(url)} failed ({exc}); nothing was changed"
        ) from exc
    finally:
        await first.close()


def prepare_blocking(url: str, *, schema: str | None = None, application_name: str | None = None) -> None:
    """``prepare`` for synchronous code (a store whose interface is not async).

    It runs on a private event loop in a helper thread, so it also works when the caller's thread
    runs an event loop already.
    """
    with ThreadPoolExecutor(1, thread_name_prefix="jotty-migrate") as helper:
        helper.submit(asyncio.run, prepare(url, schema=schema, application_name=application_name)).result()


async def open_pool(
    url: str,
    *,
    schema: str | None = None,
    application_name: str | None = None,
    min_size: int = 1,
    max_size: int = 10,
    timeout: float = 30.0,
    extra: Mapping[str, Any] | None = None,
    check: bool = False,
) -> AsyncConnectionPool[AsyncConn]:
    """Check the server, migrate the schema, then open a pool of autocommit dict-row connections.

    Problems surface here, as ``StoreUnavailableError`` or ``SchemaVersionError``, not as a pool
    timeout later. With ``check``, each connection is tested as it leaves the pool (one round
    trip) and replaced if the server dropped it (after a restart, say).
    """
    await prepare(url, schema=schema, application_name=application_name)

    async def configure(conn: AsyncConn) -> None:
        # The queue runs a few statements over and over: prepare each on first use and plan it
        # once per connection (planning its CTEs costs more than running them).
        conn.prepare_threshold = 0
        await conn.execute("SET TIME ZONE 'UTC'")
        await conn.execute("SET plan_cache_mode = force_generic_plan")

    pool: AsyncConnectionPool[AsyncConn] = AsyncConnectionPool(
        conninfo(url, schema, application_name),
        min_size=min_size,
        max_size=max_size,
        timeout=timeout,
        open=False,
        configure=configure,
        check=AsyncConnectionPool.check_connection if check else None,
        kwargs={
            "autocommit": True,
            "row_factory": dict_row,
            "connect_timeout": CONNECT_TIMEOUT,
            **(extra or {}),
        },
        name="jotty",
    )
    try:
        await pool.open(wait=True, timeout=timeout)
    except PoolTimeout as exc:
        await pool.close()
        raise (translate(exc, url) or StoreUnavailableError(str(exc))) from exc
    return pool
