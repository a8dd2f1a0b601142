"""The built-in insights. Each is one generator over ``FlowRuns``; its docstring is its description."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Iterator
from typing import Any

from jotty.dashboard.insights.data import FlowRuns
from jotty.dashboard.insights.registry import insight


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``values`` by linear interpolation; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    at = (len(ordered) - 1) * q
    low = int(at)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (at - low)


def _by_key(runs: FlowRuns) -> dict[str, list[Any]]:
    grouped: dict[str, list[Any]] = defaultdict(list)
    for step in runs.steps:
        grouped[step.key].append(step)
    return grouped


def register_builtins() -> None:
    """Import-time registration happens in this module's decorators; this keeps the import explicit."""


@insight("Slowest steps", ("step", "runs", "p50_s", "p95_s", "max_s"), chart="p95_s")
def slowest_steps(runs: FlowRuns) -> Iterator[dict[str, Any]]:
    """Steps by their 95th-percentile duration across runs (agent steps only: a pattern's time is its children's)."""
    rows = []
    for key, steps in _by_key(runs).items():
        times = [s.duration for s in steps if s.kind == "agent"]
        if times:
            rows.append(
                {
                    "step": key,
                    "runs": len(times),
                    "p50_s": round(percentile(times, 0.5), 4),
                    "p95_s": round(percentile(times, 0.95), 4),
                    "max_s": round(max(times), 4),
                }
            )
    yield from sorted(rows, key=lambda r: -r["p95_s"])


@insight(
    "Steps that fail or fall back most",
    ("step", "runs", "failed", "fallbacks", "retried", "skipped", "trouble_rate"),
    chart="trouble_rate",
)
def troubled_steps(runs: FlowRuns) -> Iterator[dict[str, Any]]:
    """Steps by the share of runs in which they failed, fell back, were retried or skipped."""
    rows = []
    for key, steps in _by_key(runs).items():
        failed = sum(s.status == "failed" for s in steps)
        fallbacks = sum(s.strategy == "fallback" for s in steps)
        retried = sum(s.attempts > 1 and s.strategy == "retry" for s in steps)
        skipped = sum(s.status == "skipped" for s in steps)
        troubled = sum(s.status in ("failed", "skipped") or s.attempts > 1 for s in steps)
        if troubled:
            rows.append(
                {
                    "step": key,
                    "runs": len(steps),
                    "failed": failed,
                    "fallbacks": fallbacks,
                    "retried": retried,
                    "skipped": skipped,
                    "trouble_rate": round(troubled / len(steps), 3),
                }
            )
    yield from sorted(rows, key=lambda r: (-r["trouble_rate"], -r["runs"]))


@insight("Where tokens go", ("step", "tokens", "share", "per_run"), chart="tokens")
def token_spend(runs: FlowRuns) -> Iterator[dict[str, Any]]:
    """Tokens used by each agent step across runs, with its share of the flow's total."""
    totals: Counter[str] = Counter()
    seen: Counter[str] = Counter()
    for step in runs.steps:
        if step.kind == "agent":
            totals[step.key] += step.tokens
            seen[step.key] += 1
    whole = sum(totals.values()) or 1
    for key, tokens in totals.most_common():
        if tokens:
            yield {
                "step": key,
                "tokens": tokens,
                "share": round(tokens / whole, 3),
                "per_run": round(tokens / seen[key], 1),
            }


@insight("Error strategies that fired", ("strategy", "step", "times", "runs"), chart="times")
def strategies_fired(runs: FlowRuns) -> Iterator[dict[str, Any]]:
    """Each error strategy (retry, fallback, skip, abort) by step: how often it fired and in how many runs."""
    times: Counter[tuple[str, str]] = Counter()
    in_runs: dict[tuple[str, str], set[str]] = defaultdict(set)
    for run_id, key, strategy in runs.strategies:
        times[(strategy, key)] += 1
        in_runs[(strategy, key)].add(run_id)
    for (strategy, key), count in times.most_common():
        yield {"strategy": strategy, "step": key, "times": count, "runs": len(in_runs[(strategy, key)])}


@insight(
    "Cost by version",
    ("version", "runs", "tokens_per_run", "seconds_per_run", "success", "tokens_change"),
    chart="tokens_per_run",
)
def cost_by_version(runs: FlowRuns) -> Iterator[dict[str, Any]]:
    """How the flow's cost changes between versions or levels (the run's metadata 'version' or 'level',
    else the flow's structure), in the order they first ran; the change is against the version before."""
    groups: dict[str, list[Any]] = {}
    for run in runs.runs:
        groups.setdefault(run.version, []).append(run)
    before: float | None = None
    for version, members in groups.items():
        tokens = statistics.fmean(r.tokens for r in members)
        ok = sum(r.status in ("completed", "partial") for r in members)
        change = None if before in (None, 0) else round((tokens - before) / before, 3)
        yield {
            "version": version,
            "runs": len(members),
            "tokens_per_run": round(tokens, 1),
            "seconds_per_run": round(statistics.fmean(r.duration for r in members), 4),
            "success": round(ok / len(members), 3),
            "tokens_change": change,
        }
        before = tokens


@insight(
    "L4 prefetch across runs",
    ("run", "hit_rate", "hits", "misses", "prefetched", "wasted"),
    chart="hit_rate",
)
def prefetch_across_runs(runs: FlowRuns) -> Iterator[dict[str, Any]]:
    """How much of what its steps needed each run had loaded ahead (L4), oldest first, the latest 20:
    the hit rate rises as the flow's prefetch model learns it; a run not at L4 has no row."""
    prefetched = [(run.run_id, runs.prefetch[run.run_id]) for run in runs.runs if run.run_id in runs.prefetch]
    for run_id, stats in prefetched[-20:]:
        yield {
            "run": run_id,
            "hit_rate": stats.get("hit_rate"),
            "hits": stats.get("hits", 0),
            "misses": stats.get("misses", 0),
            "prefetched": stats.get("prefetched", 0),
            "wasted": stats.get("wasted", 0),
        }
