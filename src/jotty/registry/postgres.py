"""PostgreSQL tables as sources: their columns, row count and rows, through read-only transactions
with quoted, schema-qualified identifiers. Only base tables are read (a view runs its query, a
foreign table another server's). psycopg is the ``jotty[postgres]`` extra."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from jotty.db.location import redact
from jotty.errors import NotFoundError, StoreUnavailableError, ValidationError
from jotty.registry import probe
from jotty.registry.validation import check_identifier

_TEXT = frozenset({"text", "character varying", "character"})
_KINDS = {"VIEW": "a view", "FOREIGN": "a foreign table", "LOCAL TEMPORARY": "a temporary table"}


def _split(table: str) -> tuple[str | None, str]:
    schema, _, name = table.rpartition(".")
    return (check_identifier(schema, "a schema name") if schema else None), check_identifier(name)


def _connect(url: str) -> Any:
    try:
        import psycopg
    except ImportError as exc:
        raise ValidationError(f"PostgreSQL tables need psycopg ({exc}): pip install 'jotty[postgres]'") from exc
    try:
        conn = psycopg.connect(url, autocommit=False, connect_timeout=10)
    except psycopg.OperationalError as exc:
        detail = " ".join(str(exc).split())  # psycopg's message has a second line (a hint): errors are one line
        raise StoreUnavailableError(
            f"cannot reach the PostgreSQL server of the table at {redact(url)} ({detail}): "
            "start the server or fix the URL"
        ) from exc
    conn.read_only = True
    # another session's lock (ALTER TABLE, VACUUM FULL, LOCK TABLE) is waited on this long, not forever
    conn.execute("SELECT set_config('lock_timeout', %s, false)", (f"{int(probe.LOCK_WAIT * 1000)}ms",))
    return conn


@contextlib.contextmanager
def _said(table: str) -> Iterator[None]:
    """The server's refusals (no right to read, a dropped connection) as a ``ValidationError``."""
    import psycopg

    try:
        yield
    except psycopg.errors.LockNotAvailable as exc:
        raise ValidationError(f"table {table!r} is locked by another session: try again when it is done") from exc
    except psycopg.errors.QueryCanceled as exc:
        raise ValidationError(f"reading table {table!r} took too long ({exc}): read fewer rows") from exc
    except psycopg.Error as exc:
        raise ValidationError(
            f"cannot read table {table!r} ({str(exc).strip()}): check the table, and the rights of the URL's user on it"
        ) from exc


def _located(conn: Any, table: str, missing: str) -> tuple[str, str]:
    """The schema and name of the base table ``table`` (``schema.table``, or a table of the first
    schema of the search path), checked: reading it by this qualified name reads nothing else (an
    unqualified name is looked up in ``pg_catalog`` first)."""
    schema, name = _split(table)
    if schema is None:
        row = conn.execute("SELECT current_schema()").fetchone()
        schema = row[0] if row else None
    found = conn.execute(
        "SELECT table_type FROM information_schema.tables WHERE table_schema = %s AND table_name = %s", (schema, name)
    ).fetchone()
    if schema is None or found is None:
        raise NotFoundError(missing)
    if found[0] != "BASE TABLE":
        kind = _KINDS.get(found[0], found[0].lower())
        raise ValidationError(
            f"{table!r} is {kind}, not a table: only tables are read (reading a view runs its query); "
            "register the tables it reads"
        )
    return schema, name


def _columns(conn: Any, schema: str, name: str) -> list[tuple[str, str]]:
    return [
        (row[0], row[1])
        for row in conn.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = %s "
            "AND table_name = %s ORDER BY ordinal_position",
            (schema, name),
        ).fetchall()
    ]


def table_columns(url: str, table: str) -> tuple[list[dict[str, Any]], int]:
    """The columns of ``table`` (``schema.table`` or a table of the search path) and its row count."""
    from psycopg import sql

    with _connect(url) as conn, _said(table):
        schema, name = _located(conn, table, f"no table {table!r} in that database: check the name and the schema")
        columns = _columns(conn, schema, name)
        count = conn.execute(sql.SQL("SELECT COUNT(*) FROM {}").format(sql.Identifier(schema, name))).fetchone()
    return [{"name": n, "type": t} for n, t in columns], int(count[0]) if count else 0


def _capped(column: str, kind: str, cell: int) -> Any:
    """The SQL that reads ``column`` with text past ``cell`` characters cut (to one more, which says
    that it was cut) and binary data as its size, in the server: a huge cell never travels."""
    from psycopg import sql

    quoted = sql.Identifier(column)
    if kind in _TEXT:
        return sql.SQL("left({}, {}) AS {}").format(quoted, sql.Literal(cell + 1), quoted)
    if kind == "bytea":
        return sql.SQL("'<' || octet_length({}) || ' bytes>' AS {}").format(quoted, quoted)
    return quoted


def read_table(url: str, table: str, limit: int, cell: int, seconds: float) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Up to ``limit`` rows of ``table`` in a read-only transaction of at most ``seconds``, text cells
    cut past ``cell`` characters."""
    from psycopg import sql

    with _connect(url) as conn, _said(table):
        schema, name = _located(conn, table, f"table {table!r} is no longer in that database")
        conn.execute("SELECT set_config('statement_timeout', %s, true)", (f"{int(seconds * 1000)}ms",))
        columns = _columns(conn, schema, name)
        select = sql.SQL(", ").join(_capped(n, t, cell) for n, t in columns)
        cursor = conn.execute(
            sql.SQL("SELECT {} FROM {} LIMIT %s").format(select, sql.Identifier(schema, name)), (limit,)
        )
        return [n for n, _ in columns], cursor.fetchall()
