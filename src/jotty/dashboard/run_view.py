"""One run as the run page shows it: the nested step tree, the timeline of attempts, the token
shape, the events, and each step's input and output.

Steps come from two places: the checkpointed records (and the run's summary, for steps that failed)
and the events (``step_started`` / ``step_completed`` / ``step_failed`` / ``chain_error_handled``),
so a step that is still running, or whose checkpoint is not written yet, shows too. Attempts, with
their start and end times, come from the events; a fallback's calls (``<path>/fallback``) are
attempts of their step.
"""

from __future__ import annotations

import json
import time
from typing import Any

from jotty.dashboard.reader import Reader
from jotty.dashboard.values import shown
from jotty.errors import NotFoundError

RUN = (
    "SELECT run_id, flow, shape, status, input, output, error, summary, metadata, prompt_tokens, "
    "completion_tokens, owner, sessions, created_at, updated_at, finished_at FROM jotty_runs WHERE run_id = ?"
)
STEPS = "SELECT step_path, output, record, finished_at FROM jotty_run_steps WHERE run_id = ?"
EVENTS = "SELECT id, at, type, step_path, data FROM jotty_events WHERE run_id = ? AND id > ? ORDER BY id LIMIT ?"
STEP_EVENTS = (
    "SELECT id, at, type, step_path, data FROM jotty_events WHERE run_id = ? AND type IN "
    "('step_started', 'step_completed', 'step_failed', 'chain_error_handled', 'step_restored') ORDER BY id LIMIT ?"
)
CONTEXT_EVENTS = (
    "SELECT id, at, type, step_path, data FROM jotty_events WHERE run_id = ? AND type IN "
    "('context_prefetch', 'context_window', 'context_compressed') ORDER BY id LIMIT ?"
)
CONTEXT_KINDS = {"context_prefetch": "prefetch", "context_window": "windows", "context_compressed": "compressed"}
"""Each context event's list in a step's ``context``."""
LATEST_EVENTS = "SELECT id, at, type, step_path, data FROM jotty_events WHERE run_id = ? ORDER BY id DESC LIMIT ?"
COUNT_EVENTS = "SELECT COUNT(*) FROM jotty_events WHERE run_id = ?"
EVENT_LIMIT = 20_000
"""Events read to build one run (a 1,000-step run writes about 5,000)."""
EVENTS_SHOWN = 300
"""The newest events the run page lists; the rest are one call of ``/api/runs/{id}/events`` away."""
FALLBACK = "/fallback"
ATTEMPT_EVENTS = frozenset({"step_started", "step_completed", "step_failed"})
FLOW_KINDS_PASSING_OUTPUT = frozenset({"chain", "sequential"})


def _step(path: str, name: str | None = None, kind: str = "agent") -> dict[str, Any]:
    return {
        "path": path,
        "name": name or path.rsplit("/", 1)[-1],
        "kind": kind,
        "status": "running",
        "attempts": 0,
        "strategy": None,
        "strategies": [],
        "error": None,
        "agent": None,
        "started_at": None,
        "duration": None,
        "prompt_tokens": 0,
        "completion_tokens": 0,
        "restored": False,
        "calls": [],
        "context": {"windows": [], "prefetch": [], "compressed": []},
        "output": None,
        "input": None,
        "children": [],
    }


def _apply_record(step: dict[str, Any], record: dict[str, Any]) -> None:
    for key in ("name", "kind", "status", "attempts", "strategy", "error", "agent", "started_at", "duration"):
        step[key] = record.get(key, step[key])
    step["prompt_tokens"] = record.get("prompt_tokens", 0)
    step["completion_tokens"] = record.get("completion_tokens", 0)


def _data(text: str | None) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(text) if text else {}
    return loaded


def _apply_event(steps: dict[str, dict[str, Any]], kind: str, path: str, at: float, text: str | None) -> None:
    """Apply one event to its step; its data (JSON text) is parsed only when it is needed."""
    fallback = path.endswith(FALLBACK)
    owner = path[: -len(FALLBACK)] if fallback else path
    step = steps.get(owner)
    if step is None:
        step = steps[owner] = _step(owner)
    if kind == "step_started":
        data = _data(text)
        if step["started_at"] is None:
            step["started_at"] = at
        step["calls"].append(
            {
                "attempt": data.get("attempt"),
                "agent": data.get("agent"),
                "start": at,
                "end": None,
                "status": "running",
                "fallback": fallback,
            }
        )
        if step["status"] in ("failed", "running"):
            step["status"] = "running"
            step["agent"] = data.get("agent", step["agent"])
            step["attempts"] = max(step["attempts"], data.get("attempt") or 0)
    elif kind in ("step_completed", "step_failed"):
        ok = kind == "step_completed"
        data = {} if ok and step.get("_recorded") else _data(text)
        for call in reversed(step["calls"]):
            if call["end"] is None and call["fallback"] == fallback:
                call["end"], call["status"] = at, "completed" if ok else "failed"
                if not ok:
                    call["error"] = data.get("error")
                break
        if not step.get("_recorded"):
            step["status"] = "completed" if ok else "failed"
            step["error"] = None if ok else data.get("error")
            step["prompt_tokens"] += data.get("prompt_tokens", 0) or 0
            step["completion_tokens"] += data.get("completion_tokens", 0) or 0
            if step["started_at"] is not None:
                step["duration"] = at - step["started_at"]
    elif kind == "chain_error_handled":
        data = _data(text)
        step["strategies"].append({"strategy": data.get("strategy"), "attempt": data.get("attempt"), "at": at})
        if not step.get("_recorded"):
            step["strategy"] = data.get("strategy")


def _apply_context(steps: dict[str, dict[str, Any]], root: str, events: list[tuple[Any, ...]]) -> dict[str, Any] | None:
    """Add each step's context events (its windows, L4 prefetches, compressions; a fallback's are its
    step's) to its ``context``; return the run's prefetch (the ``context_prefetch`` of the run)."""
    run_prefetch = None
    for _id, at, kind, path, text in events:
        data = _data(text)
        if not isinstance(data, dict):
            continue
        if path == root and kind == "context_prefetch" and isinstance(data.get("run"), dict):
            run_prefetch = data["run"]
            continue
        owner = path[: -len(FALLBACK)] if path.endswith(FALLBACK) else path
        step = steps.get(owner)
        if step is not None:
            step["context"][CONTEXT_KINDS[kind]].append({**data, "at": at, "fallback": owner != path})
    return run_prefetch


def _parent(path: str, steps: dict[str, dict[str, Any]], root: str) -> str:
    while "/" in path:
        path = path.rsplit("/", 1)[0]
        if path in steps or path == root:
            return path
    return root


def _windows(events: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    """The token shape of a run still running: tokens per window from ``step_completed`` events."""
    found: dict[str, dict[str, Any]] = {}
    for _id, _at, kind, _path, text in events:
        data = _data(text) if kind == "step_completed" else {}
        if data.get("window"):
            w = found.setdefault(
                data["window"], {"path": data["window"], "kind": "step", "prompt": 0, "completion": 0, "calls": 0}
            )
            w["prompt"] += data.get("prompt_tokens", 0) or 0
            w["completion"] += data.get("completion_tokens", 0) or 0
            w["calls"] += 1
    return list(found.values())


def _inputs(node: dict[str, Any], given: dict[str, Any] | None) -> None:
    """Fill in each step's input: what its chain passed it (the step before's output), or, in any
    other pattern, the input of the pattern itself."""
    previous = given
    passes = node["kind"] in FLOW_KINDS_PASSING_OUTPUT
    for child in node["children"]:
        child["input"] = previous if passes else given
        _inputs(child, child["input"])
        if passes and child["output"] is not None:
            previous = child["output"]


def _flatten(node: dict[str, Any], depth: int, rows: list[dict[str, Any]]) -> None:
    """The timeline's rows: each step's path and depth, in tree order (its calls are in the tree)."""
    for child in node["children"]:
        rows.append({"path": child["path"], "depth": depth})
        _flatten(child, depth + 1, rows)


async def run_view(reader: Reader, run_id: str) -> dict[str, Any]:
    """The run page's JSON; ``NotFoundError`` when the store has no run ``run_id``."""
    row = await reader.one(RUN, (run_id,))
    if row is None:
        raise NotFoundError(f"no run {run_id!r} in this store: pick one from /api/runs")
    (
        _,
        flow,
        shape_text,
        status,
        input_text,
        output_text,
        error,
        summary_text,
        metadata_text,
        prompt,
        completion,
        owner,
        sessions,
        created,
        updated,
        finished,
    ) = row
    # The newest events first: whatever lands after this is sent by the live stream.
    latest = sorted(await reader.rows(LATEST_EVENTS, (run_id, EVENTS_SHOWN)))
    total = await reader.one(COUNT_EVENTS, (run_id,))
    summary = json.loads(summary_text) if summary_text else {}
    shape = json.loads(shape_text) if shape_text else {}
    root = flow
    steps: dict[str, dict[str, Any]] = {}
    checkpoint_at = 0.0
    for path, output, record_text, finished_at in await reader.rows(STEPS, (run_id,)):
        checkpoint_at = max(checkpoint_at, finished_at)
        step = steps[path] = _step(path)
        _apply_record(step, json.loads(record_text))
        step["_recorded"] = True
        step["output"] = shown(output, run_id, path)
    for record in summary.get("steps", []):
        step = steps.setdefault(record["path"], _step(record["path"]))
        _apply_record(step, record)
        step["_recorded"] = True
    events = await reader.rows(STEP_EVENTS, (run_id, EVENT_LIMIT))
    for _id, at, kind, path, data in events:
        if kind in ATTEMPT_EVENTS or kind == "chain_error_handled":
            _apply_event(steps, kind, path, at, data)
        elif kind == "step_restored" and path in steps:
            steps[path]["restored"] = True
    steps.pop(root, None)
    tree = _step(root, flow, shape.get("kind", "flow"))
    context_events = await reader.rows(CONTEXT_EVENTS, (run_id, EVENT_LIMIT))
    run_prefetch = _apply_context({**steps, root: tree}, root, context_events)
    tree.update(
        status=status,
        started_at=created,
        input=shown(input_text, run_id, "input"),
        output=shown(output_text, run_id, "output"),
    )
    for path in sorted(steps, key=lambda p: (steps[p]["started_at"] or float("inf"), p)):
        step = steps[path]
        step.pop("_recorded", None)
        parent = _parent(path, steps, root)
        (tree if parent == root else steps[parent])["children"].append(step)
    _inputs(tree, tree["input"])
    timeline: list[dict[str, Any]] = []
    _flatten(tree, 0, timeline)
    now = time.time()
    end = finished if finished is not None else (now if status == "running" else updated)
    return {
        "run": {
            "run_id": run_id,
            "flow": flow,
            "status": status,
            "error": error,
            "owner": owner,
            "sessions": sessions,
            "created_at": created,
            "finished_at": finished,
            "duration": max(0.0, end - created),
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "metadata": json.loads(metadata_text) if metadata_text else {},
            "prefetch": run_prefetch,
        },
        "tree": tree,
        "timeline": {"start": created, "end": end, "rows": timeline},
        "windows": summary.get("windows") or _windows(events),
        "events": [
            {"id": i, "at": at, "type": kind, "path": path, "data": _data(text)} for i, at, kind, path, text in latest
        ],
        "events_total": total[0] if total else 0,
        "last_event_id": latest[-1][0] if latest else 0,
        "checkpoint_at": checkpoint_at,
        "step_count": len(steps),
    }


async def run_value(reader: Reader, run_id: str, which: str) -> str:
    """The full JSON text of the run's ``input``, ``output``, or the output of the step at path ``which``."""
    if which in ("input", "output"):
        row = await reader.one(f"SELECT {which} FROM jotty_runs WHERE run_id = ?", (run_id,))
    else:
        row = await reader.one("SELECT output FROM jotty_run_steps WHERE run_id = ? AND step_path = ?", (run_id, which))
    if row is None:
        raise NotFoundError(f"run {run_id!r} has no value {which!r}: use input, output or a step path of the run")
    return "null" if row[0] is None else str(row[0])


async def run_events(reader: Reader, run_id: str, after: int, limit: int) -> list[dict[str, Any]]:
    """The run's events with id above ``after``, oldest first."""
    rows = await reader.rows(EVENTS, (run_id, after, limit))
    return [{"id": i, "at": at, "type": kind, "path": path, "data": _data(data)} for i, at, kind, path, data in rows]
