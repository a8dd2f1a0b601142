"""The registry as agent tools: search, describe and read, for ``LLMAgent(tools=registry.tools())``.

Each tool returns JSON-ready data; a refused read raises, and ``LLMAgent`` hands the error's message
to the model.
"""

from __future__ import annotations

import itertools
import json
from typing import TYPE_CHECKING, Annotated, Any

from jotty.agents.tools import Tool
from jotty.registry.reader import MAX_CHARS, MAX_COLUMNS

if TYPE_CHECKING:
    from jotty.registry.registry import DataRegistry


def described(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` (a source's ``to_dict``) within ``MAX_CHARS`` of JSON for a model: past it, the
    first ``MAX_COLUMNS`` columns (of each table too) of the schema and of the statistics; then no
    statistics; then no schema; then the description cut. ``left_out`` says what went."""

    def size(value: dict[str, Any]) -> int:
        return len(json.dumps(value, default=str))

    if size(data) <= MAX_CHARS:
        return data
    schema = [
        {**entry, "columns": entry["columns"][:MAX_COLUMNS]} if isinstance(entry.get("columns"), list) else entry
        for entry in (data.get("schema") or [])[:MAX_COLUMNS]
    ]
    stats = dict(data.get("stats") or {})
    if isinstance(stats.get("columns"), dict):
        stats["columns"] = dict(itertools.islice(stats["columns"].items(), MAX_COLUMNS))
    fitted = {**data, "schema": schema, "stats": stats, "left_out": [f"columns past the first {MAX_COLUMNS}"]}
    for key, empty in (("stats", {}), ("schema", [])):
        if size(fitted) > MAX_CHARS:
            fitted[key] = empty
            fitted["left_out"].append(f"the {key}")
    if size(fitted) > MAX_CHARS:
        fitted["description"] = str(fitted.get("description", ""))[:2_000]
        fitted["left_out"].append("the description past 2,000 characters")
    return fitted


def registry_tools(registry: DataRegistry) -> list[Tool]:
    """The three tools over ``registry``."""

    async def search_data(
        query: Annotated[str, "what the data is about, in words"],
        k: Annotated[int, "how many sources, 1-20"] = 5,
        kind: Annotated[str | None, "file, folder, sqlite_table, postgres_table or run_output"] = None,
        tag: Annotated[str | None, "only sources with this tag"] = None,
        column: Annotated[str | None, "only sources with a column of this name"] = None,
    ) -> list[dict[str, Any]]:
        """Find registered data sources by what they hold; returns names, descriptions and columns."""
        hits = await registry.discover(query, k=min(max(k, 1), 20), kind=kind, tag=tag, column=column)
        return [
            {
                "name": h.source.name,
                "kind": h.source.kind,
                "format": h.source.format,
                "description": h.source.description[:500],
                "columns": h.source.columns[:40],
                "tags": h.source.tags,
                "score": round(h.score, 4),
            }
            for h in hits
        ]

    async def describe_data(name: Annotated[str, "a registered source name"]) -> dict[str, Any]:
        """Everything registered about one data source: description, schema, statistics, provenance."""
        return described((await registry.get(name)).to_dict())

    async def read_data(
        name: Annotated[str, "a registered source name"],
        limit: Annotated[int, "rows to return, 1-100"] = 20,
        path: Annotated[str | None, "for a folder: a file inside it"] = None,
        table: Annotated[str | None, "for an SQLite file: one of its registered tables"] = None,
    ) -> dict[str, Any]:
        """Read the first rows (or text) of a registered data source; nothing else can be read."""
        result = await registry.read(name, min(max(limit, 1), 100), path=path, table=table)
        return result.to_dict()

    return [Tool.from_function(fn) for fn in (search_data, describe_data, read_data)]
