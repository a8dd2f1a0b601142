"""Versioned schema migrations, kept as ``.sql`` files under ``db/migrations/<backend>/``.

A file ``0003_runs.sql`` is version 3. Each version runs once, inside one transaction together with
its row in ``jotty_schema_migrations``, so a store is never half-migrated. Jotty only adds tables,
indexes and columns, and drops nothing but an index of its own, with one exception: version 11
makes SQLite's ``jotty_registry`` again with its rows, keyed by scope and name (SQLite cannot change
a primary key in place; PostgreSQL's is altered). ``ALTER TABLE ... ADD COLUMN`` of
a column that already exists is skipped, so a database that already has some of Jotty's columns
opens cleanly.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from functools import cache
from importlib import resources

from jotty.db.sqlite import write_transaction
from jotty.errors import SchemaVersionError

_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_ADD_COLUMN = re.compile(r"^\s*ALTER\s+TABLE\s+(\w+)\s+ADD\s+COLUMN\s+(\w+)", re.IGNORECASE)


@dataclass(frozen=True)
class Migration:
    """One schema version."""

    version: int
    name: str
    sql: str


@cache
def load_migrations(backend: str) -> tuple[Migration, ...]:
    """All migrations of a backend (``sqlite`` or ``postgres``), in version order."""
    folder = resources.files("jotty.db") / "migrations" / backend
    found = []
    for entry in folder.iterdir():
        match = _FILE.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"two {backend} migrations share a version: {versions}")
    return tuple(found)


def latest_version(backend: str) -> int:
    """The schema version this Jotty knows."""
    migrations = load_migrations(backend)
    return migrations[-1].version if migrations else 0


def split_statements(sql: str) -> list[str]:
    """Split a script into complete statements (so they can run inside one transaction)."""
    statements, current = [], ""
    for line in sql.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            if current.strip():
                statements.append(current.strip())
            current = ""
    if current.strip() and not current.strip().startswith("--"):
        statements.append(current.strip())
    return statements


def _applied_sqlite(conn: sqlite3.Connection) -> set[int] | None:
    row = conn.execute(
        "SELECT name FROM sqlite_master WHERE type='table' AND name='jotty_schema_migrations'"
    ).fetchone()
    if row is None:
        return None
    return {int(r[0]) for r in conn.execute("SELECT version FROM jotty_schema_migrations")}


def check_not_newer(applied: set[int], known: tuple[Migration, ...], where: str, package: str = "jotty") -> None:
    """Refuse a store migrated by a newer Jotty (a version this code does not know)."""
    unknown = applied - {m.version for m in known}
    if unknown:
        newest = max(m.version for m in known) if known else 0
        raise SchemaVersionError(
            f"{where} has schema version {max(unknown)}, newer than this Jotty knows ({newest}): upgrade "
            f"Jotty (pip install -U '{package}') on this machine; nothing was changed."
        )


def migrate_sqlite(conn: sqlite3.Connection, where: str = "the database") -> int:
    """Apply every migration the store lacks; safe when several processes start at once."""
    known = load_migrations("sqlite")
    applied = _applied_sqlite(conn)
    if applied is not None:
        check_not_newer(applied, known, where)
        if applied >= {m.version for m in known}:
            return latest_version("sqlite")
    with write_transaction(conn):
        conn.execute(
            "CREATE TABLE IF NOT EXISTS jotty_schema_migrations ("
            "version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
            "applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)"
        )
        applied = _applied_sqlite(conn) or set()
        check_not_newer(applied, known, where)
        for migration in known:
            if migration.version in applied:
                continue
            for statement in split_statements(migration.sql):
                if _column_exists(conn, statement):
                    continue
                conn.execute(statement)
            conn.execute(
                "INSERT INTO jotty_schema_migrations (version, name) VALUES (?, ?)",
                (migration.version, migration.name),
            )
    return latest_version("sqlite")


def _column_exists(conn: sqlite3.Connection, statement: str) -> bool:
    code = "\n".join(line for line in statement.splitlines() if not line.lstrip().startswith("--"))
    match = _ADD_COLUMN.match(code)
    if not match:
        return False
    columns = {row[1] for row in conn.execute(f"PRAGMA table_info({match[1]})")}
    return match[2] in columns
