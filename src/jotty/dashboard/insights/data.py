"""What insights read: the latest runs of one flow, with their steps and the error strategies that fired."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from jotty.dashboard.reader import Reader
from jotty.patterns.runner import LEVEL_KEY

RUNS = (
    "SELECT run_id, status, prompt_tokens, completion_tokens, created_at, updated_at, finished_at, metadata, "
    "shape, summary FROM jotty_runs WHERE flow = ? ORDER BY created_at DESC LIMIT ?"
)
CHUNK = 500


@dataclass
class StepRun:
    """One step of one run: ``key`` is its path inside the flow (the same in every run of the flow)."""

    run_id: str
    key: str
    name: str
    kind: str
    status: str
    attempts: int
    strategy: str | None
    duration: float
    tokens: int


@dataclass
class RunInfo:
    """One run of the flow: status, tokens, duration, and the version it ran (see ``version_of``)."""

    run_id: str
    status: str
    tokens: int
    duration: float
    created_at: float
    version: str


@dataclass
class FlowRuns:
    """The latest runs of a flow, oldest first, with their steps and fired strategies."""

    flow: str
    runs: list[RunInfo] = field(default_factory=list)
    steps: list[StepRun] = field(default_factory=list)
    strategies: list[tuple[str, str, str]] = field(default_factory=list)
    """(run_id, step key, strategy) for each ``chain_error_handled`` event."""
    prefetch: dict[str, dict[str, Any]] = field(default_factory=dict)
    """A run's L4 prefetch (hits, misses, prefetched, wasted, hit_rate: its ``context_prefetch``
    event's ``run``), by run id, for the runs that prefetched."""


def version_of(metadata: dict[str, Any], shape: str) -> str:
    """The version a run ran: its metadata's ``version`` or ``level`` when the caller stored one,
    else the context level it ran at (``flow.run(level=...)``, ``jotty run --level``), else the
    flow's structure (a changed flow is a new version), as ``shape:<digest>``."""
    for key, label in (("version", "version"), ("level", "level"), (LEVEL_KEY, "level")):
        if metadata.get(key) is not None:
            return f"{label} {metadata[key]}"
    return "shape:" + hashlib.sha256(shape.encode()).hexdigest()[:8]


def _key(flow: str, path: str) -> str:
    return path[len(flow) + 1 :] if path.startswith(flow + "/") else path


def _step(run_id: str, flow: str, record: dict[str, Any]) -> StepRun:
    return StepRun(
        run_id=run_id,
        key=_key(flow, record["path"]),
        name=record["name"],
        kind=record["kind"],
        status=record["status"],
        attempts=record.get("attempts", 0),
        strategy=record.get("strategy"),
        duration=record.get("duration") or 0.0,
        tokens=(record.get("prompt_tokens") or 0) + (record.get("completion_tokens") or 0),
    )


async def load_flow_runs(reader: Reader, flow: str, limit: int) -> FlowRuns:
    """The latest ``limit`` runs of ``flow`` with their steps."""
    out = FlowRuns(flow)
    rows = await reader.rows(RUNS, (flow, limit))
    for run_id, status, prompt, completion, created, updated, finished, metadata, shape, summary in reversed(rows):
        end = finished if finished is not None else updated
        meta = json.loads(metadata) if metadata else {}
        out.runs.append(RunInfo(run_id, status, prompt + completion, end - created, created, version_of(meta, shape)))
        for record in (json.loads(summary) if summary else {}).get("steps", []):
            out.steps.append(_step(run_id, flow, record))
    ids = [r.run_id for r in out.runs]
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        marks = ", ".join("?" * len(chunk))
        for run_id, record in await reader.rows(
            f"SELECT run_id, record FROM jotty_run_steps WHERE run_id IN ({marks})", chunk
        ):
            out.steps.append(_step(run_id, flow, json.loads(record)))
        for run_id, kind, path, data in await reader.rows(
            f"SELECT run_id, type, step_path, data FROM jotty_events WHERE run_id IN ({marks}) "
            "AND type IN ('chain_error_handled', 'context_prefetch')",
            chunk,
        ):
            found = json.loads(data)
            if kind == "chain_error_handled":
                out.strategies.append((run_id, _key(flow, path), found.get("strategy", "?")))
            elif isinstance(found.get("run"), dict):  # the run's totals (a step's own event has none)
                out.prefetch[run_id] = found["run"]
    return out
