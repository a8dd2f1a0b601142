"""Benchmark: what recording Conductor runs in the runs table, and tracing them, cost per run.

The same Conductor run again and again: a dynamic run whose first attempt fails and whose
second is accepted (two attempts, two route decisions), and a static chain of three actors. The
actors are plain functions, so what is measured is Jotty's own work per run (the router's
learning store, on SQLite, is the same in every configuration). Configurations:

- no recording (``runs=False``), tracing off: the baseline;
- recording in SQLite (``runs=True``, the default), tracing off;
- recording in PostgreSQL (``runs=PostgresRunStore(...)``), tracing off (skipped when the
  server at ``JOTTY_BENCH_POSTGRES_URL`` cannot be reached);
- no recording, tracing on (OpenTelemetry SDK provider with a batch processor; the exporter
  drops the spans, so no network is measured);
- recording in SQLite and tracing on.

Configurations take turns in rounds, so a change of machine load spreads over all of them.
Each row gives the median (p50) and p95 wall time of one run, the p50 overhead over the
baseline, and the median CPU time of the process per run (all threads: the router's and the
span processor's too) with its overhead: on a busy machine the CPU time is the steadier
measure of Jotty's own work, the wall time says what a caller waits (PostgreSQL's included).
"Tracing off" costs one check per run: its own line measures that check.

Run: ``python -m bench.recording`` (``--runs N`` per configuration, default 300).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
import timeit
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jotty import tracing
from jotty.orchestration import AgentConfig, Conductor
from jotty.runs import RunStore

PG_URL = os.environ.get("JOTTY_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
PG_SCHEMA = "bench_recording"
ROUND = 25


def broken(goal: str) -> str:
    raise RuntimeError("not today")


def answer(goal: str) -> dict[str, Any]:
    return {"answer": goal.upper(), "words": len(goal.split())}


def step(value: Any) -> str:
    return f"{value}+"


@dataclass
class Config:
    name: str
    runs: Any
    traced: bool
    times: dict[str, list[float]] = field(default_factory=lambda: {"dynamic": [], "static": []})
    cpu: dict[str, list[float]] = field(default_factory=lambda: {"dynamic": [], "static": []})


class DropSpans:
    """A span exporter that drops what it gets (the SDK's work is measured, not a network)."""

    def export(self, spans: Sequence[Any]) -> Any:
        from opentelemetry.sdk.trace.export import SpanExportResult

        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True


def tracer_provider() -> Any:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(DropSpans()))  # type: ignore[arg-type]
    return provider


async def postgres_store() -> RunStore | None:
    try:
        from jotty.runs.postgres import PostgresRunStore

        store = PostgresRunStore(PG_URL, schema=PG_SCHEMA)
        await store.list_runs(limit=1)
        return store
    except Exception as exc:
        print(f"(PostgreSQL at {PG_URL} skipped: {type(exc).__name__}: {exc})")
        return None


async def drop_schema() -> None:
    import psycopg

    async with await psycopg.AsyncConnection.connect(PG_URL, autocommit=True) as conn:
        await conn.execute(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE")


async def one_round(configs: list[Config], learning: Path, provider: Any, count: int) -> None:
    for config in configs:
        if config.traced:
            tracing.configure(provider)
        else:
            tracing.disable()
        dynamic = Conductor(
            [AgentConfig("broken", broken), AgentConfig("answer", answer)],
            mode="dynamic",
            store=learning,
            runs=config.runs,
            router_options={"explore": 0.0, "stuck_after": 10**6},
        )
        static = Conductor(
            [AgentConfig(f"s{i}", step) for i in range(3)], store=learning, runs=config.runs, mode="static"
        )
        with dynamic, static:
            for kind, conductor in (("dynamic", dynamic), ("static", static)):
                for _ in range(count):
                    started, cpu = time.perf_counter(), time.process_time()
                    result = await conductor.run("summarise the meeting notes")
                    config.times[kind].append(time.perf_counter() - started)
                    config.cpu[kind].append(time.process_time() - cpu)
                    assert result.ok, result.error
    tracing.disable()


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def main(runs: int) -> None:
    provider = tracer_provider()
    with tempfile.TemporaryDirectory() as tmp:
        learning = Path(tmp) / "learning.db"
        sqlite_runs = Path(tmp) / "runs.db"
        configs = [
            Config("no recording, tracing off (baseline)", False, False),
            Config("recording in SQLite, tracing off", sqlite_runs, False),
        ]
        pg = await postgres_store()
        if pg is not None:
            configs.append(Config("recording in PostgreSQL, tracing off", pg, False))
        configs += [
            Config("no recording, tracing on", False, True),
            Config("recording in SQLite, tracing on", sqlite_runs, True),
        ]
        try:
            await one_round(configs, learning, provider, 5)  # warm up: stores open, caches filled
            for config in configs:
                config.times = {"dynamic": [], "static": []}
                config.cpu = {"dynamic": [], "static": []}
            for _ in range(max(1, runs // ROUND)):
                await one_round(configs, learning, provider, ROUND)
        finally:
            if pg is not None:
                await pg.close()
                await drop_schema()
    provider.shutdown()
    check = timeit.timeit(tracing.active_tracer, number=100_000) / 100_000

    load = os.getloadavg()
    print(f"\nRecording and tracing a Conductor run: p50/p95 per run, {runs} runs per configuration")
    print(f"(load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; 2 CPUs)\n")
    for kind, what in (("dynamic", "dynamic: 1 failed + 1 accepted attempt"), ("static", "static: 3 actors")):
        base = statistics.median(configs[0].times[kind])
        base_cpu = statistics.median(configs[0].cpu[kind])
        print(f"{what}")
        print(f"  {'configuration':<38} {'p50 ms':>7} {'p95 ms':>7} {'over p50':>9} {'CPU p50':>8} {'over CPU':>9}")
        for config in configs:
            values, cpu = config.times[kind], statistics.median(config.cpu[kind])
            median = statistics.median(values)
            extra = "" if config is configs[0] else f"{(median - base) * 1e3:+.2f}"
            extra_cpu = "" if config is configs[0] else f"{(cpu - base_cpu) * 1e3:+.2f}"
            print(
                f"  {config.name:<38} {median * 1e3:7.2f} {p(values, 0.95) * 1e3:7.2f} {extra:>9} "
                f"{cpu * 1e3:8.2f} {extra_cpu:>9}"
            )
        print()
    print(f"tracing off: the check each run makes costs {check * 1e9:.0f} ns")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=300, help="runs per configuration and kind")
    args = parser.parse_args()
    asyncio.run(main(args.runs))
