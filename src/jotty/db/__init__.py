"""The store: connections, schema and migrations for SQLite and PostgreSQL."""

from jotty.db.location import StoreLocation, default_sqlite_path, jotty_home, resolve_store
from jotty.db.migrations import latest_version, migrate_sqlite
from jotty.db.sqlite import connect, translate_errors, write_transaction

__all__ = [
    "StoreLocation",
    "connect",
    "default_sqlite_path",
    "jotty_home",
    "latest_version",
    "migrate_sqlite",
    "resolve_store",
    "translate_errors",
    "write_transaction",
]
