"""Versioned schema migrations, kept as ``.sql`` files under ``db/migrations/<backend>/``.

A file ``0003_runs.sql`` is version 3. Each version runs once, inside one transaction together with
its row in ``jotty_schema_migrations``, so a store is never half-migrated. Jotty only adds: tables,
indexes and columns. ``ALTER TABLE ... ADD COLUMN`` of a column that already exists is skipped, so
a database that already has some of Jotty's columns opens cleanly.
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


def _applied_sqlite(conn: sqlite3.Connection) -> int | None:
    row = conn.execute(
        "SELECT name FROM sqlite_master WHERE type='table' AND name='jotty_schema_migrations'"
    ).fetchone()
    if row is None:
        return None
    return int(conn.execute("SELECT COALESCE(MAX(version), 0) FROM jotty_schema_migrations").fetchone()[0])


def _check_not_newer(applied: int | None, where: str) -> None:
    known = latest_version("sqlite")
    if applied is not None and applied > known:
        raise SchemaVersionError(
            f"{where} has schema version {applied}, newer than this Jotty knows ({known}): upgrade "
            "Jotty (pip install -U jotty); nothing was changed."
        )


def migrate_sqlite(conn: sqlite3.Connection, where: str = "the database") -> int:
    """Bring an SQLite store to the latest version; safe when several processes start at once."""
    applied = _applied_sqlite(conn)
    _check_not_newer(applied, where)
    if applied == latest_version("sqlite"):
        return applied
    with write_transaction(conn):
        conn.execute(
            "CREATE TABLE IF NOT EXISTS jotty_schema_migrations ("
            "version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
            "applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)"
        )
        applied = _applied_sqlite(conn) or 0
        _check_not_newer(applied, where)
        for migration in load_migrations("sqlite"):
            if migration.version <= applied:
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
    match = _ADD_COLUMN.match(statement)
    if not match:
        return False
    columns = {row[1] for row in conn.execute(f"PRAGMA table_info({match[1]})")}
    return match[2] in columns
