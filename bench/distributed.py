"""Distributed queue benchmark: Jotty on PostgreSQL against procrastinate, Jotty on Redis against RQ.

For each system, in one run on the same servers:

- end-to-end throughput: worker processes (1, then 4) start and go idle; N no-op tasks are
  enqueued in one batch; the clock runs from the start of the enqueue until the system's own
  store says every task finished;
- idle wake-up latency: with the workers idle, one task at a time is enqueued carrying the enqueue
  time; the handler records how long after that it started (p50 and p99 over the samples).

Jotty's workers are ``TaskQueueManager``s running ``--concurrency`` no-op async tasks each;
procrastinate's workers run with the same concurrency; RQ runs one job at a time per process
(``SimpleWorker``, no fork per job: RQ's fastest mode). Prints a markdown table and PASS/FAIL for
the targets: at least the peer's throughput, wake-up p50 under 10 ms.

    python bench/distributed.py [--tasks 5000] [--samples 100] [--concurrency 32] [--only postgres|redis]

Needs PostgreSQL and Redis (scripts/services.sh), ``pip install procrastinate rq``. It works in its
own PostgreSQL schemas (dropped afterwards) and in Redis database ``--redis-db`` (default 9),
which it refuses to use unless empty, and empties afterwards.
"""

# ruff: noqa: E402
from __future__ import annotations

import os
import sys

# Run as a script, this folder comes first on sys.path; keep its modules (bench/queue.py) from
# shadowing the standard library's.
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]

import argparse
import asyncio
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PG_URL = os.environ.get("JOTTY_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_HOST = os.environ.get("JOTTY_BENCH_REDIS", "redis://127.0.0.1:6379")
JOTTY_PG_SCHEMA = "bench_jotty"
PROCRASTINATE_SCHEMA = "bench_procrastinate"
JOTTY_REDIS_PREFIX = "bench:jotty:"
RQ_QUEUE = "bench"


# ---------------------------------------------------------------------- workers (child processes)


def _record(out: str, started: float, enqueued: float | None) -> None:
    """Append the wake-up latency of a timed task (one write per line, O_APPEND)."""
    if enqueued is None:
        return
    fd = os.open(out, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, f"{started - enqueued}\n".encode())
    finally:
        os.close(fd)


def _ready(out: str) -> None:
    with Path(out + ".ready").open("a") as f:
        f.write(f"{os.getpid()}\n")


def jotty_queue(backend: str, url: str, store: str) -> Any:
    """A Jotty queue on PostgreSQL (``store`` is the schema) or Redis (``store`` is the key prefix)."""
    from jotty.queue import PostgresTaskQueue, RedisTaskQueue

    if backend == "postgres":
        return PostgresTaskQueue(url, schema=store, pool_size=4)
    return RedisTaskQueue(url, prefix=store)


async def jotty_worker(backend: str, url: str, store: str, out: str, concurrency: int) -> None:
    from jotty.queue import Task, TaskQueueManager

    queue = jotty_queue(backend, url, store)

    async def handler(task: Task) -> None:
        _record(out, time.time(), task.metadata.get("t"))

    manager = TaskQueueManager(handler, queue, max_concurrent=concurrency, poll_interval=1.0)
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, lambda: asyncio.ensure_future(manager.stop()))
    await queue.get_stats()  # connected and migrated
    _ready(out)
    try:
        await manager.run()
    finally:
        await queue.close()


def procrastinate_app(url: str) -> Any:
    import procrastinate
    from psycopg.conninfo import make_conninfo

    info = make_conninfo(url, options=f"-c search_path={PROCRASTINATE_SCHEMA}")
    return procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=info, min_size=1, max_size=8))


async def procrastinate_worker(url: str, out: str, concurrency: int) -> None:
    app = procrastinate_app(url)

    @app.task(name="noop")
    async def noop(t: float | None = None) -> None:
        _record(out, time.time(), t)

    async with app.open_async():
        _ready(out)
        await app.run_worker_async(concurrency=concurrency, wait=True, install_signal_handlers=True)


def rq_noop(t: float | None = None, out: str = "") -> None:
    _record(out, time.time(), t)


def rq_worker(url: str, out: str) -> None:
    import redis
    from rq import Queue, SimpleWorker

    conn = redis.Redis.from_url(url)
    worker = SimpleWorker([Queue(RQ_QUEUE, connection=conn)], connection=conn)
    _ready(out)
    worker.work(burst=False, logging_level="WARNING")


def worker_main(argv: list[str]) -> None:
    system = argv[0]
    if system == "jotty":
        backend, url, store, out, concurrency = argv[1:6]
        asyncio.run(jotty_worker(backend, url, store, out, int(concurrency)))
    elif system == "procrastinate":
        url, out, concurrency = argv[1:4]
        asyncio.run(procrastinate_worker(url, out, int(concurrency)))
    elif system == "rq":
        rq_worker(argv[1], argv[2])


# ---------------------------------------------------------------------- the systems (parent side)


@dataclass
class System:
    """How to start workers of a system, enqueue tasks, and count finished ones."""

    name: str
    backend: str
    worker_args: Callable[[str, int], list[str]]
    setup: Callable[[], Any]
    enqueue: Callable[[int, float | None, str], Any]
    finished: Callable[[], Any]
    teardown: Callable[[], Any]
    concurrency_note: str = ""
    state: dict[str, Any] = field(default_factory=dict)


def jotty_system(backend: str, concurrency: int, redis_url: str) -> System:
    from jotty.queue import Task

    url, store = (PG_URL, JOTTY_PG_SCHEMA) if backend == "postgres" else (redis_url, JOTTY_REDIS_PREFIX)
    state: dict[str, Any] = {}

    async def setup() -> None:
        await teardown()
        state["queue"] = await jotty_queue(backend, url, store).open()

    async def enqueue(n: int, t: float | None, out: str) -> None:
        metadata = {"t": t} if t is not None else {}
        await state["queue"].enqueue_many([Task(title="noop", metadata=metadata) for _ in range(n)])

    async def finished() -> int:
        return int((await state["queue"].get_stats())["completed"])

    async def teardown() -> None:
        if "queue" in state:
            await state.pop("queue").close()
        if backend == "postgres":
            await _drop_schema(JOTTY_PG_SCHEMA)
        else:
            await _flush_redis(redis_url)

    return System(
        "Jotty",
        backend,
        lambda out, c: ["jotty", backend, url, store, out, str(c)],
        setup,
        enqueue,
        finished,
        teardown,
        f"TaskQueueManager, {concurrency} concurrent tasks per process",
        state,
    )


def procrastinate_system(concurrency: int) -> System:
    state: dict[str, Any] = {}

    async def setup() -> None:
        await _drop_schema(PROCRASTINATE_SCHEMA)
        await _admin(f"CREATE SCHEMA {PROCRASTINATE_SCHEMA}")
        app = procrastinate_app(PG_URL)

        @app.task(name="noop")
        async def noop(t: float | None = None) -> None:  # the workers define the body
            return None

        await app.open_async()
        await app.schema_manager.apply_schema_async()
        state.update(app=app, task=noop)

    async def enqueue(n: int, t: float | None, out: str) -> None:
        kwargs = {"t": t} if t is not None else {}
        await state["task"].batch_defer_async(*[kwargs] * n)

    async def finished() -> int:
        rows = await _admin(
            f"SELECT count(*) FROM {PROCRASTINATE_SCHEMA}.procrastinate_jobs WHERE status = 'succeeded'"
        )
        return int(rows[0][0])

    async def teardown() -> None:
        if "app" in state:
            await state.pop("app").close_async()
        await _drop_schema(PROCRASTINATE_SCHEMA)

    return System(
        "procrastinate",
        "postgres",
        lambda out, c: ["procrastinate", PG_URL, out, str(c)],
        setup,
        enqueue,
        finished,
        teardown,
        f"worker concurrency {concurrency}, LISTEN/NOTIFY",
        state,
    )


def rq_system(redis_url: str) -> System:
    import redis
    from rq import Queue

    state: dict[str, Any] = {}

    async def setup() -> None:
        await _flush_redis(redis_url)
        conn = redis.Redis.from_url(redis_url)
        state.update(conn=conn, queue=Queue(RQ_QUEUE, connection=conn))

    async def enqueue(n: int, t: float | None, out: str) -> None:
        queue = state["queue"]
        jobs = [Queue.prepare_data(rq_noop, kwargs={"t": t, "out": out}, result_ttl=3600) for _ in range(n)]
        for start in range(0, n, 1000):
            queue.enqueue_many(jobs[start : start + 1000])

    async def finished() -> int:
        return int(state["queue"].finished_job_registry.count)

    async def teardown() -> None:
        if "conn" in state:
            state.pop("conn").close()
        await _flush_redis(redis_url)

    return System(
        "RQ",
        "redis",
        lambda out, c: ["rq", redis_url, out],
        setup,
        enqueue,
        finished,
        teardown,
        "SimpleWorker, 1 job at a time per process",
        state,
    )


async def _admin(query: str) -> list[tuple[Any, ...]]:
    import psycopg

    async with await psycopg.AsyncConnection.connect(PG_URL, autocommit=True) as conn:
        cur = await conn.execute(query.encode())
        return await cur.fetchall() if cur.description else []


async def _drop_schema(name: str) -> None:
    await _admin(f"DROP SCHEMA IF EXISTS {name} CASCADE")


async def _flush_redis(url: str) -> None:
    import redis

    conn = redis.Redis.from_url(url)
    try:
        conn.flushdb()
    finally:
        conn.close()


# ---------------------------------------------------------------------- measuring


class Workers:
    """Worker processes of one system, started and waited for until ready."""

    def __init__(self, system: System, count: int, concurrency: int, out: str) -> None:
        self.system, self.count, self.concurrency, self.out = system, count, concurrency, out
        self.procs: list[subprocess.Popen[bytes]] = []

    async def __aenter__(self) -> Workers:
        Path(self.out + ".ready").unlink(missing_ok=True)
        for _ in range(self.count):
            args = [sys.executable, __file__, "worker", *self.system.worker_args(self.out, self.concurrency)]
            self.procs.append(subprocess.Popen(args, stdout=subprocess.DEVNULL))
        deadline = time.monotonic() + 60
        while _lines(self.out + ".ready") < self.count:
            if time.monotonic() > deadline or any(p.poll() is not None for p in self.procs):
                raise RuntimeError(f"{self.system.name} workers did not start")
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)  # let them reach their idle wait
        return self

    async def __aexit__(self, *exc: object) -> None:
        for proc in self.procs:
            proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _lines(path: str) -> int:
    try:
        return len(Path(path).read_text().splitlines())
    except FileNotFoundError:
        return 0


async def throughput(system: System, workers: int, concurrency: int, n: int, work_dir: str) -> float:
    await system.setup()
    try:
        async with Workers(system, workers, concurrency, f"{work_dir}/{system.name}-{workers}"):
            start = time.perf_counter()
            await system.enqueue(n, None, "")
            deadline = time.monotonic() + 300
            while await system.finished() < n:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{system.name} did not finish {n} tasks in 300 s")
                await asyncio.sleep(0.005)
            return n / (time.perf_counter() - start)
    finally:
        await system.teardown()


async def wake_latency(system: System, concurrency: int, samples: int, work_dir: str) -> list[float]:
    out = f"{work_dir}/{system.name}-latency"
    await system.setup()
    try:
        async with Workers(system, 1, concurrency, out):
            for i in range(samples):
                await asyncio.sleep(0.02 + (i % 5) * 0.01)  # idle in between
                await system.enqueue(1, time.time(), out)
                deadline = time.monotonic() + 10
                while _lines(out) < i + 1:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"{system.name} did not run a task within 10 s")
                    await asyncio.sleep(0.001)
        return [float(x) for x in Path(out).read_text().split()]
    finally:
        await system.teardown()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


@dataclass
class Row:
    system: System
    rate_1: float
    rate_4: float
    p50: float
    p99: float


async def measure(system: System, args: argparse.Namespace, work_dir: str) -> Row:
    concurrency = args.concurrency if system.name != "RQ" else 1
    print(f"measuring {system.name} on {system.backend} ...", file=sys.stderr, flush=True)
    rate_1 = await throughput(system, 1, concurrency, args.tasks, work_dir)
    rate_4 = await throughput(system, 4, concurrency, args.tasks, work_dir)
    latencies = await wake_latency(system, concurrency, args.samples, work_dir)
    return Row(system, rate_1, rate_4, percentile(latencies, 0.5) * 1000, percentile(latencies, 0.99) * 1000)


async def run(args: argparse.Namespace) -> int:
    import redis

    redis_url = f"{REDIS_HOST}/{args.redis_db}"
    conn = redis.Redis.from_url(redis_url)
    try:
        if conn.dbsize():
            print(f"Redis database {args.redis_db} is not empty; pick an empty one with --redis-db", file=sys.stderr)
            return 2
    finally:
        conn.close()
    pairs: list[tuple[System, System]] = []
    if args.only in (None, "postgres"):
        pairs.append((jotty_system("postgres", args.concurrency, redis_url), procrastinate_system(args.concurrency)))
    if args.only in (None, "redis"):
        pairs.append((jotty_system("redis", args.concurrency, redis_url), rq_system(redis_url)))
    rows: list[tuple[Row, Row]] = []
    with tempfile.TemporaryDirectory(prefix="jotty-bench-") as work_dir:
        for ours, peer in pairs:
            rows.append((await measure(ours, args, work_dir), await measure(peer, args, work_dir)))

    print(f"\n{args.tasks} no-op tasks per throughput run; {args.samples} wake-up samples; {os.cpu_count()} CPUs\n")
    print("| store | system | workers | tasks/s, 1 process | tasks/s, 4 processes | wake-up p50 | wake-up p99 |")
    print("|---|---|---|---:|---:|---:|---:|")
    for pair in rows:
        for row in pair:
            s = row.system
            print(f"| {s.backend} | {s.name} | {s.concurrency_note} | {row.rate_1:,.0f} | {row.rate_4:,.0f} "
                  f"| {row.p50:.1f} ms | {row.p99:.1f} ms |")  # fmt: skip
    print()
    failed = 0
    for ours, peer in rows:
        checks = [
            (f"{ours.system.backend}: 1-process throughput >= {peer.system.name}", ours.rate_1 >= peer.rate_1),
            (f"{ours.system.backend}: 4-process throughput >= {peer.system.name}", ours.rate_4 >= peer.rate_4),
            (f"{ours.system.backend}: wake-up p50 < 10 ms", ours.p50 < 10),
        ]
        for label, ok in checks:
            failed += not ok
            print(f"- {'PASS' if ok else 'FAIL'}: {label}")
    return 1 if failed else 0


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "worker":
        worker_main(sys.argv[2:])
        return 0
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=5000, help="tasks per throughput run")
    parser.add_argument("--samples", type=int, default=100, help="wake-up latency samples")
    parser.add_argument("--concurrency", type=int, default=32, help="concurrent tasks per worker process")
    parser.add_argument("--only", choices=["postgres", "redis"], help="run one store only")
    parser.add_argument("--redis-db", type=int, default=9, help="an empty Redis database the benchmark may use")
    return asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
