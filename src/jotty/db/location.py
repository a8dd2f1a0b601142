"""Where the store lives: an SQLite file, a PostgreSQL URL or (for the queue) a Redis URL.

``JOTTY_DATABASE_URL`` moves everything to a server; otherwise the store is the SQLite file
``$JOTTY_HOME/jotty.db`` (``JOTTY_HOME`` defaults to ``./.jotty``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlsplit

from jotty.errors import ValidationError

StoreKind = Literal["sqlite", "postgresql", "redis"]


@dataclass(frozen=True)
class StoreLocation:
    """A resolved store: its kind and the path (SQLite) or URL (servers)."""

    kind: StoreKind
    target: str


def jotty_home() -> Path:
    """The directory of the embedded store (``$JOTTY_HOME``, default ``./.jotty``)."""
    return Path(os.environ.get("JOTTY_HOME", ".jotty"))


def default_sqlite_path() -> Path:
    """The default embedded store file."""
    return jotty_home() / "jotty.db"


def resolve_store(store: str | os.PathLike[str] | None = None) -> StoreLocation:
    """Resolve an explicit store (path or URL), else ``JOTTY_DATABASE_URL``, else the default file."""
    if store is None:
        store = os.environ.get("JOTTY_DATABASE_URL") or default_sqlite_path()
    text = os.fspath(store)
    if not text:
        raise ValidationError("the store is an empty string: give a file path or a database URL")
    if text.startswith(("postgresql://", "postgres://")):
        return StoreLocation("postgresql", text)
    if text.startswith(("redis://", "rediss://", "unix://")):
        return StoreLocation("redis", text)
    if text.startswith("sqlite:///"):
        return StoreLocation("sqlite", text.removeprefix("sqlite:///"))
    if "://" in text:
        scheme = text.split("://", 1)[0]
        raise ValidationError(
            f"unknown store URL scheme {scheme!r}: use a file path, sqlite:///PATH, "
            "postgresql://USER@HOST/DB or redis://HOST:PORT/N"
        )
    return StoreLocation("sqlite", text)


def redact(url: str) -> str:
    """The URL without its password (``user:PASSWORD@`` or ``?password=``), for messages and logs."""
    parts = urlsplit(url)
    head, _, tail = url.partition("?")
    if parts.password is not None:
        head = head.replace(f":{parts.password}@", ":***@", 1)
    if tail:
        query, hash_, fragment = tail.partition("#")
        fields = [
            f"{field.split('=', 1)[0]}=***" if unquote(field.split("=", 1)[0]).lower() == "password" else field
            for field in query.split("&")
        ]
        tail = "&".join(fields) + hash_ + fragment
    return head + ("?" + tail if tail else "")
