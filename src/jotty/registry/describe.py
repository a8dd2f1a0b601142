"""Descriptions of inspected files: offline heuristics, or a model when the registry has one.

A ``describer`` is an agent with ``run`` (such as ``LLMAgent``) or a callable (plain or async) from a
prompt to text. If it fails or returns nothing, the heuristic description is used.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any

from jotty.agents.ask import ask
from jotty.registry.probe import Probe
from jotty.wording import plural

log = logging.getLogger(__name__)
_KINDS = {"csv": "CSV table", "tsv": "TSV table", "json": "JSON data", "jsonl": "JSON Lines records"}
_PROMPT = """Describe this data file in one or two sentences for a data catalogue: what it holds and what
it could answer. Use plain words; do not list every column.

Name: {name}
Format: {format}
Schema: {schema}
Statistics: {stats}
Sample: {sample}"""


def name_words(path: str) -> str:
    """The words of a file name (``sales_by-region2023.csv`` -> ``sales by region 2023``)."""
    stem = Path(path).stem
    spaced = re.sub(r"([a-z])([A-Z0-9])", r"\1 \2", stem)
    return " ".join(w for w in re.split(r"[^A-Za-z0-9]+", spaced) if w).lower()


def heuristic(path: str, probe: Probe) -> str:
    """A description from the file's name, format, schema and statistics, without a model."""
    subject = name_words(path) or Path(path).name
    size = f"{probe.size:,} bytes"
    if probe.format == "sqlite":
        tables = ", ".join(f"{t['table']} ({plural(t['rows'], 'row')}: {_columns(t['columns'])})" for t in probe.schema)
        return f"SQLite database about {subject} ({size}) with tables {tables or 'none'}."
    if probe.format in _KINDS and probe.schema:
        rows = probe.stats.get("rows", 0)
        details = []
        for column in probe.schema[:30]:
            stats = probe.stats.get("columns", {}).get(column["name"], {})
            details.append(_detail(column, stats))
        return (
            f"{_KINDS[probe.format]} about {subject}: {plural(rows, 'row')} and {plural(len(probe.schema), 'column')} "
            f"({size}). Columns: {'; '.join(details)}."
        )
    if probe.format == "text":
        return f"Text document about {subject}: {plural(probe.stats.get('lines', 0), 'line')} ({size})."
    return f"{probe.format.upper()} file about {subject} ({size})."


def _columns(columns: list[dict[str, Any]]) -> str:
    return ", ".join(f"{c['name']} {c['type']}" for c in columns[:20])


def _detail(column: dict[str, Any], stats: dict[str, Any]) -> str:
    text = f"{column['name']} ({column['type']}"
    if "min" in stats:
        text += f", {stats['min']} to {stats['max']}"
    if "values" in stats:
        text += ": " + ", ".join(str(v) for v in stats["values"][:8])
    return text + ")"


async def describe(describer: Any, path: str, probe: Probe) -> tuple[str, str]:
    """The description of an inspected file and who wrote it (``"llm"`` or ``"heuristic"``). NUL
    characters (a file's data may hold them; PostgreSQL text may not) are left out."""
    fallback = heuristic(path, probe).replace("\x00", "")
    if describer is None:
        return fallback, "heuristic"
    prompt = _PROMPT.format(
        name=Path(path).name,
        format=probe.format,
        schema=json.dumps(probe.schema)[:2_000],
        stats=json.dumps(probe.stats, default=str)[:2_000],
        sample=json.dumps(probe.sample[:3], default=str)[:1_500],
    )
    try:
        text = await ask(describer, prompt)
    except Exception as exc:  # a failing model must not stop a scan: the heuristic is still right
        log.warning("registry describer failed for %s (%s); using the heuristic description", path, exc)
        return fallback, "heuristic"
    text = text.replace("\x00", "")
    return (text[:4_000], "llm") if text else (fallback, "heuristic")
