"""Dashboard benchmark: the run page's JSON for a 1,000-step run, the runs list with 100,000 runs,
and how long a finished step takes to reach a live page; on SQLite and on PostgreSQL.

The 1,000-step run is a real Jotty run (a Chain of 1,000 agent steps, checkpointed). The 100,000
runs are rows inserted in bulk (real runs would take minutes to write), spread over 4 statuses, 20
flows and 8 owners. The list is timed for its first page, a filtered page, and a page 1,000 pages
deep, against OFFSET paging (the usual way) as the peer. Live: a writer process finishes one step
at a time; the time is from the step's checkpoint (the writer's clock) to the server-sent event
arriving at a client of ``jotty dashboard`` (same machine, same clock). Targets: under 100 ms for
the run page and the list, under 1 s for live.

    .venv/bin/python -m bench.dashboard [--quick]
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/ holds files named like standard modules (queue.py): keep the folder off the import path.
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    del sys.path[0]

import argparse
import asyncio
import contextlib
import json
import os
import random
import socket
import statistics
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any
from urllib.parse import quote

import httpx
import psycopg

from jotty.agents import FunctionAgent
from jotty.agents.base import AgentResult, TokenUsage
from jotty.dashboard.reader import Reader, open_reader
from jotty.dashboard.run_view import run_view
from jotty.dashboard.runs_list import runs_page
from jotty.patterns import Chain, Step
from jotty.runs import open_run_store

PG_URL = os.environ.get("JOTTY_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
STATUSES = ("completed", "completed", "completed", "failed", "partial", "running")
ROWS: list[tuple[str, str, str, str, str]] = []


def wide_flow(steps: int) -> Chain:
    def agent(i: int) -> FunctionAgent:
        return FunctionAgent(lambda v: AgentResult(output=f"s{i}", tokens=TokenUsage(10, 5)), name=f"s{i}")

    return Chain([Step(agent(i), name=f"s{i}") for i in range(steps)], name="wide")


def gated_flow(gates: Path, steps: int) -> Chain:
    def waiter(k: int) -> FunctionAgent:
        async def wait(value: Any) -> Any:
            while not (gates / str(k)).exists():
                await asyncio.sleep(0.005)
            return k

        return FunctionAgent(wait, name=f"g{k}")

    return Chain([Step(waiter(k), name=f"g{k}") for k in range(steps)], name="gated")


async def timed(fn: Callable[[], Awaitable[Any]], repeat: int) -> float:
    """The median of ``repeat`` calls, in milliseconds (after one warm-up call)."""
    await fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        await fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def insert_runs(store: str, count: int) -> None:
    """``count`` finished runs in bulk, newest one second apart."""
    rng = random.Random(7)
    now = time.time()
    rows = [
        (
            f"run-{i:06d}",
            f"flow-{rng.randrange(20)}",
            "{}",
            rng.choice(STATUSES),
            f"host:{rng.randrange(8)}",
            now - (count - i),
            now - (count - i) + 1,
            rng.randrange(5000),
            rng.randrange(2000),
        )
        for i in range(count)
    ]
    statement = (
        "INSERT INTO jotty_runs (run_id, flow, shape, status, owner, created_at, updated_at, prompt_tokens, "
        "completion_tokens) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
    )
    if store.startswith("postgresql://"):
        with psycopg.connect(store, autocommit=True) as conn, conn.cursor() as cur:
            cur.executemany(statement.replace("?", "%s"), rows)
    else:
        import sqlite3

        with contextlib.closing(sqlite3.connect(store)) as conn, conn:
            conn.executemany(statement, rows)


@contextlib.contextmanager
def postgres_schema() -> Iterator[str]:
    schema = f"bench_dashboard_{os.getpid()}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        sep = "&" if "?" in PG_URL else "?"
        yield f"{PG_URL}{sep}options={quote(f'-csearch_path={schema}')}"
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


@contextlib.contextmanager
def server(store: str) -> Iterator[str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "jotty", "dashboard", "--db", store, "--port", str(port)])
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                httpx.get(base + "/static/charts.js", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)


async def live_latency(store: str, base: str, steps: int) -> list[float]:
    """Seconds from each step's checkpoint to its event at an SSE client."""
    with tempfile.TemporaryDirectory() as tmp:
        gates = Path(tmp)
        writer = subprocess.Popen([sys.executable, "-m", "bench.dashboard", "--writer", store, str(gates), str(steps)])
        try:
            async with httpx.AsyncClient(base_url=base, timeout=30) as client:
                while (await client.get("/api/runs/gated")).status_code != 200:
                    await asyncio.sleep(0.02)
                latencies = []
                async with client.stream("GET", "/api/runs/gated/live") as stream:
                    lines = stream.aiter_lines()
                    for k in range(steps):
                        (gates / str(k)).touch()
                        kind = ""
                        async for line in lines:
                            kind = line[7:] if line.startswith("event: ") else kind
                            if kind == "checkpoint" and line.startswith("data: "):
                                event = json.loads(line[6:])
                                if event["path"] == f"gated/g{k}":
                                    latencies.append(time.time() - event["at"])
                                    break
                        await asyncio.sleep(0.05)
                return latencies
        finally:
            writer.wait(timeout=60)


async def measure(kind: str, store: str, runs: int, repeat: int, live_steps: int) -> list[tuple[str, str, float, str]]:
    out: list[tuple[str, str, float, str]] = []
    await open_run_store(store).close()
    start = time.perf_counter()
    await wide_flow(1000).run("go", store=store, run_id="wide-1000")
    print(f"  {kind}: the 1,000-step run took {time.perf_counter() - start:.1f} s to record", file=sys.stderr)
    insert_runs(store, runs)
    reader: Reader = await open_reader(store)
    try:
        out.append(
            (
                kind,
                "run page JSON, 1,000-step run (in process)",
                await timed(lambda: run_view(reader, "wide-1000"), repeat),
                "< 100 ms",
            )
        )
        first = await runs_page(reader, {})
        deep: dict[str, Any] = {"next": first["next"]}
        pages = 1000 if runs >= 50_000 else 100
        for _ in range(pages):
            deep = await runs_page(reader, {"cursor": deep["next"]})
        cursor = deep["next"]
        out.append(
            (
                kind,
                f"runs list, first page of {runs:,} runs",
                await timed(lambda: runs_page(reader, {}), repeat),
                "< 100 ms",
            )
        )
        out.append(
            (
                kind,
                "runs list, status=failed & flow=flow-3",
                await timed(lambda: runs_page(reader, {"status": "failed", "flow": "flow-3"}), repeat),
                "< 100 ms",
            )
        )
        out.append(
            (
                kind,
                f"runs list, {pages:,} pages deep (cursor)",
                await timed(lambda: runs_page(reader, {"cursor": cursor}), repeat),
                "< 100 ms",
            )
        )
        offset = 50 * pages
        out.append(
            (
                kind,
                "peer: same page by OFFSET",
                await timed(
                    lambda: reader.rows(
                        "SELECT run_id, flow, status FROM jotty_runs ORDER BY created_at "
                        f"DESC, run_id LIMIT 51 OFFSET {offset}"
                    ),
                    repeat,
                ),
                "-",
            )
        )
    finally:
        await reader.close()
    with server(store) as base:
        async with httpx.AsyncClient(base_url=base) as client:
            out.append(
                (
                    kind,
                    "run page JSON over HTTP (jotty dashboard)",
                    await timed(lambda: client.get("/api/runs/wide-1000"), repeat),
                    "< 100 ms",
                )
            )
            out.append(
                (
                    kind,
                    "runs list over HTTP, first page",
                    await timed(lambda: client.get("/api/runs"), repeat),
                    "< 100 ms",
                )
            )
        latencies = await live_latency(store, base, live_steps)
    out.append(
        (
            kind,
            f"live: step checkpoint -> SSE client, median of {live_steps}",
            statistics.median(latencies) * 1000,
            "< 1000 ms",
        )
    )
    out.append((kind, "live: worst step", max(latencies) * 1000, "< 1000 ms"))
    return out


@contextlib.asynccontextmanager
async def stores(kinds: list[str]) -> AsyncIterator[list[tuple[str, str]]]:
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        found = []
        for kind in kinds:
            found.append(
                (kind, str(Path(tmp) / "bench.db") if kind == "sqlite" else stack.enter_context(postgres_schema()))
            )
        yield found


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="10,000 runs and fewer repeats")
    parser.add_argument("--only", choices=["sqlite", "postgres"], help="one store only")
    args = parser.parse_args()
    runs, repeat, live_steps = (10_000, 5, 5) if args.quick else (100_000, 20, 10)
    rows = []
    async with stores([args.only] if args.only else ["sqlite", "postgres"]) as found:
        for kind, store in found:
            rows += await measure(kind, store, runs, repeat, live_steps)
    load = os.getloadavg()[0]
    print(f"\nDashboard (median ms; load average {load:.1f} on {os.cpu_count()} CPUs)\n")
    print("| store | measure | ms | target |")
    print("|---|---|---:|---|")
    for kind, what, ms, target in rows:
        print(f"| {kind} | {what} | {ms:.1f} | {target} |")


def writer(store: str, gates: str, steps: str) -> None:
    asyncio.run(gated_flow(Path(gates), int(steps)).run("go", store=store, run_id="gated"))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--writer":
        writer(*sys.argv[2:5])
    else:
        asyncio.run(main())
