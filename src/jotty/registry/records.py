"""What the registry holds and returns: a source, a discovery hit, a scan report, a read."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from jotty.db.location import redact

KINDS = ("file", "folder", "sqlite_table", "postgres_table", "run_output")
"""Kinds of data source."""
FORMATS = ("csv", "tsv", "json", "jsonl", "text", "binary", "sqlite", "postgres", "folder")
"""Formats of data source: a file's (probed), an SQLite or PostgreSQL table's, a folder's."""


@dataclass(frozen=True)
class Source:
    """One registered data source.

    ``location`` is the resolved path of a file or folder, the SQLite file or PostgreSQL URL of a
    table (shown without its password), or empty for a run output (whose JSON ``value`` is kept).
    ``table`` names the table of a table source. ``schema`` lists columns (``{"name", "type"}``), or
    for an SQLite file its tables (``{"table", "rows", "columns"}``). ``run_id`` and ``step`` are
    the provenance of an artifact: the run and step that made it. ``link`` is the symbolic link
    inside a scanned folder through which the scan found a file (the source is named after it and
    located at its target), None otherwise.
    """

    name: str
    kind: str
    format: str = ""
    location: str = ""
    table: str = ""
    description: str = ""
    described_by: str = "user"
    schema: list[dict[str, Any]] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    owner: str = ""
    size: int | None = None
    stats: dict[str, Any] = field(default_factory=dict)
    run_id: str | None = None
    step: str | None = None
    value: Any = None
    created_at: float = 0.0
    updated_at: float = 0.0
    link: str | None = None

    @property
    def columns(self) -> list[str]:
        """Column names (every table's, for an SQLite file)."""
        names: list[str] = []
        for entry in self.schema:
            if "columns" in entry:
                names.extend(str(c.get("name", "")) for c in entry["columns"])
            elif "name" in entry:
                names.append(str(entry["name"]))
        return names

    def to_dict(self, value: bool = False) -> dict[str, Any]:
        """A JSON-serialisable dict (times in ISO 8601; the run output's value only if asked)."""
        data = asdict(self)
        data["location"] = self.shown_location
        for key in ("created_at", "updated_at"):
            data[key] = datetime.fromtimestamp(data[key], UTC).isoformat() if data[key] else None
        if not value:
            data.pop("value")
        return data

    @property
    def shown_location(self) -> str:
        """``location`` as shown to people and models: a PostgreSQL URL without its password."""
        return redact(self.location) if self.kind == "postgres_table" else self.location

    def words(self) -> str:
        """The words of the fields that say what the data is: name, description, columns, tags."""
        tables = [str(c.get("table", "")) for c in self.schema if "columns" in c]
        fields = [self.name, self.description, self.table, *tables, *self.columns, *self.tags]
        return _SEPARATORS.sub(" ", " ".join(fields))

    def document(self) -> str:
        """The words the search index holds for this source: what the data is about first (the
        name's words, the description, the column names as words, the tags), then the format, kind,
        owner and provenance. Column types and exact identifiers are left out: words such as
        "integer" or "csv" are in nearly every source, tell sources apart by nothing, and pull every
        source's vector toward the same point (the exact names are matched by the ``column`` filter
        and by ``get``)."""
        parts = [_spaced(self.name) + ".", self.description]
        if self.table:
            parts.append(f"Table {_spaced(self.table)}.")
        for entry in self.schema:
            if "columns" in entry:
                cols = ", ".join(_spaced(str(c.get("name", ""))) for c in entry["columns"])
                parts.append(f"Table {_spaced(str(entry.get('table', '')))}: {cols}.")
        plain = [_spaced(str(c.get("name", ""))) for c in self.schema if "columns" not in c]
        if plain:
            parts.append("Columns: " + ", ".join(plain) + ".")
        if self.tags:
            parts.append("Tags: " + ", ".join(self.tags) + ".")
        parts.append(f"{self.format or self.kind} {self.kind.replace('_', ' ')}.")
        if self.owner:
            parts.append(f"Owner: {self.owner}.")
        if self.step:
            parts.append(f"Made by step {self.step} of run {self.run_id}.")
        return " ".join(p for p in parts if p).replace("\x00", " ")[:8_000]  # NUL: from a file's column names


_SEPARATORS = re.compile(r"[/_\-.]+")


def _spaced(name: str) -> str:
    """A name's words: ``sales/orders_2023.csv`` -> ``sales orders 2023 csv``."""
    return _SEPARATORS.sub(" ", name).strip()


@dataclass(frozen=True)
class SourceHit:
    """A source that ``discover`` found, its score and why (the index's score parts)."""

    source: Source
    score: float
    why: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict."""
        return {"source": self.source.to_dict(), "score": self.score, "why": self.why}


@dataclass(frozen=True)
class Problem:
    """A file a scan could not register, and why."""

    path: str
    error: str


@dataclass(frozen=True)
class ScanReport:
    """What ``scan`` found: the sources (registered unless ``register=False``) and the problems;
    ``removed``: the names of the folder's files registered by an earlier scan that are gone, and so
    were unregistered (or, with ``register=False``, would be); ``kept``: those this scan did not
    register whose file is still there (it could not be inspected), which stay as registered."""

    folder: str
    sources: list[Source]
    problems: list[Problem]
    registered: bool
    removed: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict."""
        return {
            "folder": self.folder,
            "registered": self.registered,
            "sources": [s.to_dict() for s in self.sources],
            "problems": [asdict(p) for p in self.problems],
            "removed": list(self.removed),
            "kept": list(self.kept),
        }


@dataclass(frozen=True)
class ReadResult:
    """What ``read`` returned: rows (dicts) for tabular data, or text; capped.

    ``truncated`` says that more was there than returned (rows past ``limit``, or the character cap).
    """

    name: str
    kind: str
    format: str
    columns: list[str] = field(default_factory=list)
    rows: list[Any] = field(default_factory=list)
    text: str | None = None
    truncated: bool = False

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict."""
        return asdict(self)

    def to_json(self) -> str:
        """This result as JSON text (what the read tool gives a model)."""
        return json.dumps(self.to_dict(), default=str)
