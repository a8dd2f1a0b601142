"""PostgreSQL tables as sources: their columns, row estimate and rows, through read-only transactions
with quoted identifiers. psycopg is the ``jotty[postgres]`` extra."""

from __future__ import annotations

from typing import Any

from jotty.errors import NotFoundError, StoreUnavailableError, ValidationError
from jotty.registry.validation import check_identifier


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
        raise StoreUnavailableError(f"cannot reach the PostgreSQL server of the table ({exc})") from exc
    conn.read_only = True
    return conn


def _where(table: str) -> tuple[str, tuple[Any, ...]]:
    schema, name = _split(table)
    if schema is None:
        return "table_schema = current_schema() AND table_name = %s", (name,)
    return "table_schema = %s AND table_name = %s", (schema, name)


def table_columns(url: str, table: str) -> tuple[list[dict[str, Any]], int]:
    """The columns of ``table`` (``schema.table`` or a table of the search path) and its row count."""
    from psycopg import sql

    where, params = _where(table)
    with _connect(url) as conn:
        rows = conn.execute(
            f"SELECT column_name, data_type FROM information_schema.columns WHERE {where} ORDER BY ordinal_position",
            params,
        ).fetchall()
        if not rows:
            raise NotFoundError(f"no table {table!r} in that database: check the name and the schema")
        count = conn.execute(sql.SQL("SELECT COUNT(*) FROM {}").format(_identifier(table))).fetchone()
    return [{"name": r[0], "type": r[1]} for r in rows], int(count[0]) if count else 0


def _identifier(table: str) -> Any:
    from psycopg import sql

    schema, name = _split(table)
    return sql.Identifier(schema, name) if schema else sql.Identifier(name)


def read_table(url: str, table: str, limit: int) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Up to ``limit`` rows of ``table`` in a read-only transaction."""
    from psycopg import sql

    where, params = _where(table)
    with _connect(url) as conn:
        if not conn.execute(f"SELECT 1 FROM information_schema.tables WHERE {where}", params).fetchall():
            raise NotFoundError(f"table {table!r} is no longer in that database")
        cursor = conn.execute(sql.SQL("SELECT * FROM {} LIMIT %s").format(_identifier(table)), (limit,))
        columns = [d.name for d in cursor.description or []]
        return columns, cursor.fetchall()
