"""Queue benchmark: Jotty's SQLiteTaskQueue against Huey's SqliteHuey, in one run, same machine.

Measures enqueue rate (single and batched), the single-task paths (`create_task` one at a time,
`dequeue` + `update_status` loop), end-to-end rate (claim + run a no-op + complete +
history) with 1 and 4 worker processes, and idle wake-up latency (enqueue -> handler start).
Prints a markdown table with the targets of the queue issue.

    .venv/bin/python -m bench.queue [--tasks 20000] [--quick]

(Run it as a module: a script run from bench/ would shadow the standard library's ``queue``.)
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import sqlite3
import statistics
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from huey import SqliteHuey
from huey.consumer import Consumer

from jotty.queue import SQLiteTaskQueue, Task
from jotty.queue.manager import TaskQueueManager

CONCURRENCY = 64  # coroutines per Jotty worker process (the handler is a no-op coroutine)


# ---------------------------------------------------------------------------------------- Huey


def same_module(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Huey registers a task under its function's module, which is ``__main__`` in this process and
    ``__mp_main__`` in a spawned worker: give both the same name."""
    fn.__module__ = "bench_queue"
    return fn


def make_huey(path: Path) -> tuple[SqliteHuey, Callable[..., Any]]:
    huey = SqliteHuey(filename=str(path), results=False)

    def noop(stamp: float = 0.0) -> None:
        return None

    return huey, huey.task(name="noop")(same_module(noop))


def reporting(work: Callable[[], int], done: Any) -> None:
    """Run a worker's work and put its count, or its traceback, on the ``done`` queue."""
    try:
        done.put(work())
    except BaseException:
        done.put(traceback.format_exc())
        raise


def huey_drain(path: Path, go: Any, done: Any) -> None:
    def work() -> int:
        huey, _ = make_huey(path)
        go.wait()
        count = 0
        while (task := huey.dequeue()) is not None:
            huey.execute(task)
            count += 1
        return count

    reporting(work, done)


def huey_wake_consumer(path: Path, stamps: Any) -> None:
    huey = SqliteHuey(filename=str(path), results=False)

    def noop(stamp: float = 0.0) -> None:
        stamps.put(time.time() - stamp)

    huey.task(name="noop")(same_module(noop))
    Consumer(huey, workers=1, periodic=False).run()  # Huey's defaults: 0.1 s first poll, backoff to 10 s


# ---------------------------------------------------------------------------------------- Jotty


async def _noop(task: Task) -> None:
    return None


def jotty_drain(path: Path, go: Any, done: Any) -> None:
    async def main() -> int:
        queue = SQLiteTaskQueue(path)
        go.wait()
        stats = await TaskQueueManager(_noop, queue, max_concurrent=CONCURRENCY).run(burst=True)
        await queue.close()
        return stats.completed

    reporting(lambda: asyncio.run(main()), done)


def jotty_wake_worker(path: Path, stamps: Any, ready: Any) -> None:
    async def record(task: Task) -> None:
        stamps.put(time.time() - float(task.metadata["stamp"]))

    async def main() -> None:
        queue = SQLiteTaskQueue(path)
        manager = TaskQueueManager(record, queue, max_concurrent=4, poll_interval=5.0)
        runner = asyncio.create_task(manager.run())
        await queue.wait_for_work(0.001)  # binds the wake-up socket before we say ready
        ready.set()
        await runner

    asyncio.run(main())


# ---------------------------------------------------------------------------------------- measuring


def fresh(directory: Path, name: str) -> Path:
    path = directory / name
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return path


def drain_rate(target: Callable[..., None], path: Path, workers: int, expected: int) -> float:
    ctx = mp.get_context("spawn")
    go, done = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=target, args=(path, go, done)) for _ in range(workers)]
    for p in procs:
        p.start()
    time.sleep(1.5)  # let the workers import and open the store; the clock starts at go
    started = time.perf_counter()
    go.set()
    counts = [done.get(timeout=600) for _ in procs]
    elapsed = time.perf_counter() - started
    failures = [c for c in counts if isinstance(c, str)]
    if failures:
        raise RuntimeError(f"a {target.__name__} worker failed:\n{failures[0]}")
    total = sum(counts)
    for p in procs:
        p.join()
    if total != expected:
        raise RuntimeError(f"{target.__name__}: {total} tasks ran, expected {expected}")
    return total / elapsed


def jotty_enqueue(directory: Path, n: int, batched: bool) -> float:
    async def main() -> float:
        queue = SQLiteTaskQueue(fresh(directory, "enqueue.db"))
        tasks = [Task(title=f"task {i}") for i in range(n)]
        started = time.perf_counter()
        if batched:
            for i in range(0, n, 5000):
                await queue.enqueue_many(tasks[i : i + 5000])
        else:
            for task in tasks:
                await queue.enqueue(task)
        rate = n / (time.perf_counter() - started)
        await queue.close()
        return rate

    return asyncio.run(main())


def huey_enqueue(directory: Path, n: int) -> float:
    _, noop = make_huey(fresh(directory, "huey-enqueue.db"))
    started = time.perf_counter()
    for _ in range(n):
        noop()
    return n / (time.perf_counter() - started)


def jotty_create_task(directory: Path, n: int) -> float:
    """``create_task`` one at a time, the supervisor's way (pending, so that it would run)."""

    async def main() -> float:
        queue = SQLiteTaskQueue(fresh(directory, "create.db"))
        started = time.perf_counter()
        for i in range(n):
            await queue.create_task(f"task {i}", status="pending")
        rate = n / (time.perf_counter() - started)
        assert (await queue.get_stats())["pending"] == n
        await queue.close()
        return rate

    return asyncio.run(main())


def jotty_single_loop(directory: Path, n: int) -> float:
    """The supervisor's loop: ``dequeue()`` then ``update_status(id, "completed")``, one task at a time."""
    path = fresh(directory, "single-loop.db")

    async def main() -> float:
        queue = SQLiteTaskQueue(path)
        await queue.enqueue_many([Task(title=f"task {i}") for i in range(n)])
        started = time.perf_counter()
        while (task := await queue.dequeue()) is not None:
            await queue.update_status(task.task_id, "completed")
        rate = n / (time.perf_counter() - started)
        await check_completed(queue, n)
        await queue.close()
        return rate

    return asyncio.run(main())


async def check_completed(queue: SQLiteTaskQueue, n: int) -> None:
    """Every task completed, and a task's history shows its three states."""
    stats = await queue.get_stats()
    sample = (await queue.list_tasks(limit=1))[0]
    history = await queue.get_history(sample.task_id)
    assert stats["completed"] == n, stats
    assert [h.to_status for h in history] == ["pending", "in_progress", "completed"], history


def huey_single_loop(directory: Path, n: int) -> float:
    """Huey's in-process loop: ``dequeue()`` then ``execute()``, one task at a time."""
    huey, noop = make_huey(fresh(directory, "huey-single-loop.db"))
    for _ in range(n):
        noop()
    started = time.perf_counter()
    count = 0
    while (task := huey.dequeue()) is not None:
        huey.execute(task)
        count += 1
    rate = count / (time.perf_counter() - started)
    assert count == n, count
    return rate


_HISTORY = (
    "INSERT INTO jotty_task_history (task_id, from_status, to_status, actor, reason, at) VALUES (?, ?, ?, ?, ?, ?)"
)


def sql_floor(directory: Path, n: int) -> tuple[float, float]:
    """The ceiling SQLite alone sets (no Jotty Python): the statements of ``create_task`` and of the
    dequeue + complete loop on the supervisor's table, as tasks/s, one transaction per call."""
    path = fresh(directory, "floor.db")
    asyncio.run(SQLiteTaskQueue(path).close())  # the schema, migrated
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("INSERT INTO jotty_id_counters (day, last) VALUES ('20261201', 0)")
    stamp = "2026-12-01 00:00:00.000000"
    started = time.perf_counter()
    for i in range(n):
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("UPDATE jotty_id_counters SET last = last + 1 WHERE day = '20261201' RETURNING last").fetchone()
        conn.execute(
            "INSERT INTO tasks (task_id, title, description, category, priority, status, progress_percent, "
            "created_at, retry_count, max_retries, created_by, agent_type) "
            "VALUES (?, ?, '', '', 3, 'pending', 0, ?, 0, 3, 'user', 'claude')",
            (f"TASK-20261201-{i:05d}", f"task {i}", stamp),
        )
        conn.execute(_HISTORY, (f"TASK-20261201-{i:05d}", None, "pending", "w", "created", stamp))
        conn.execute("COMMIT")
    create = n / (time.perf_counter() - started)
    started = time.perf_counter()
    for _ in range(n):
        conn.execute("BEGIN IMMEDIATE")
        task_id = conn.execute(
            "UPDATE tasks SET status = 'in_progress', lease_id = lower(hex(randomblob(16))), lease_owner = 'w', "
            "lease_expires_at = 1e10, pid = 1, host = 'h', started_at = ?, last_heartbeat = ?, run_after = NULL "
            "WHERE task_id IN (SELECT task_id FROM tasks INDEXED BY idx_jotty_tasks_claim WHERE status = 'pending' "
            "ORDER BY priority, created_at, task_id LIMIT 1) RETURNING task_id",
            (stamp, stamp),
        ).fetchone()[0]
        conn.execute(_HISTORY, (task_id, "pending", "in_progress", "w", "claimed", stamp))
        conn.execute("COMMIT")
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(_HISTORY, (task_id, "in_progress", "completed", "w", None, stamp))
        conn.execute(
            "UPDATE tasks SET status = 'completed', pid = NULL, completed_at = ?, lease_id = NULL, "
            "lease_owner = NULL, lease_expires_at = NULL, progress_percent = 100 WHERE task_id = ?",
            (stamp, task_id),
        )
        conn.execute("COMMIT")
    loop = n / (time.perf_counter() - started)
    conn.close()
    return create, loop


def jotty_e2e(directory: Path, n: int, workers: int) -> float:
    path = fresh(directory, f"jotty-e2e-{workers}.db")

    async def fill() -> None:
        queue = SQLiteTaskQueue(path)
        for i in range(0, n, 5000):
            await queue.enqueue_many([Task(title=f"task {j}") for j in range(i, min(n, i + 5000))])
        await queue.close()

    asyncio.run(fill())
    rate = drain_rate(jotty_drain, path, workers, n)

    async def check() -> None:
        queue = SQLiteTaskQueue(path)
        await check_completed(queue, n)
        await queue.close()

    asyncio.run(check())
    return rate


def huey_e2e(directory: Path, n: int, workers: int) -> float:
    path = fresh(directory, f"huey-e2e-{workers}.db")
    _, noop = make_huey(path)
    for _ in range(n):
        noop()
    return drain_rate(huey_drain, path, workers, n)


def jotty_wake(directory: Path, samples: int) -> list[float]:
    path = fresh(directory, "jotty-wake.db")
    ctx = mp.get_context("spawn")
    stamps, ready = ctx.Queue(), ctx.Event()
    asyncio.run(SQLiteTaskQueue(path).close())  # create the store first
    worker = ctx.Process(target=jotty_wake_worker, args=(path, stamps, ready), daemon=True)
    worker.start()
    ready.wait(30)

    async def produce() -> list[float]:
        queue = SQLiteTaskQueue(path)
        out = []
        for _ in range(samples):
            await asyncio.sleep(0.02)  # the worker goes idle again
            await queue.enqueue(Task(title="wake", metadata={"stamp": time.time()}))
            out.append(await asyncio.to_thread(stamps.get, True, 30))
        await queue.close()
        return out

    latencies = asyncio.run(produce())
    worker.terminate()
    worker.join()
    return latencies


def huey_wake(directory: Path, samples: int) -> list[float]:
    path = fresh(directory, "huey-wake.db")
    ctx = mp.get_context("spawn")
    stamps = ctx.Queue()
    _, noop = make_huey(path)
    consumer = ctx.Process(target=huey_wake_consumer, args=(path, stamps), daemon=True)
    consumer.start()
    time.sleep(1.5)
    out = []
    for _ in range(samples):
        time.sleep(0.3)  # idle long enough for Huey's poll interval to back off, as in real use
        noop(time.time())
        out.append(stamps.get(timeout=60))
    consumer.terminate()
    consumer.join()
    return out


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=20000, help="tasks per end-to-end run")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    args = parser.parse_args()
    n = 2000 if args.quick else args.tasks
    wake_samples = 30 if args.quick else 200
    directory = Path(tempfile.mkdtemp(prefix="jotty-bench-"))
    load = os.getloadavg()[0]
    print(
        f"queue benchmark: {n} tasks, {os.cpu_count()} cores, Python {sys.version.split()[0]}, load {load:.1f}",
        flush=True,
    )

    rows = []
    single_j, single_h = jotty_enqueue(directory, n // 4, False), huey_enqueue(directory, n // 4)
    rows.append(("enqueue, one at a time (tasks/s)", single_j, single_h, None))  # one run each
    # Single-task paths, medians of 5 interleaved rounds: a passing hiccup hits both alike.
    rounds = [
        (jotty_create_task(directory, n // 4), huey_enqueue(directory, n // 4),
         jotty_single_loop(directory, n // 4), huey_single_loop(directory, n // 4),
         *sql_floor(directory, n // 4))
        for _ in range(5)
    ]  # fmt: skip
    create_j, create_h = statistics.median(r[0] for r in rounds), statistics.median(r[1] for r in rounds)
    rows.append(("`create_task`, one at a time (tasks/s)", create_j, create_h, ("≥ 1.0x Huey", create_j >= create_h)))
    loop_j, loop_h = statistics.median(r[2] for r in rounds), statistics.median(r[3] for r in rounds)
    rows.append(
        ("`dequeue` + `update_status(completed)` loop (tasks/s)", loop_j, loop_h, ("≥ 1.0x Huey", loop_j >= loop_h))
    )
    floor_create, floor_loop = statistics.median(r[4] for r in rounds), statistics.median(r[5] for r in rounds)
    rows.append(("floor: SQLite alone, `create_task`'s statements (tasks/s)", floor_create, create_h, None))
    rows.append(("floor: SQLite alone, the loop's statements (tasks/s)", floor_loop, loop_h, None))
    batched = statistics.median(jotty_enqueue(directory, n, True) for _ in range(3))
    rows.append(
        ("enqueue, batched `enqueue_many` (tasks/s)", batched, None, ("batched >= 50,000/s", batched >= 50_000))
    )
    for workers in (1, 4):  # medians of 3 runs, interleaved, so a passing hiccup hits both alike
        runs = [(jotty_e2e(directory, n, workers), huey_e2e(directory, n, workers)) for _ in range(3)]
        j, h = statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)
        target = ("1 worker >= 3x Huey", j >= 3 * h) if workers == 1 else None
        rows.append((f"end to end, {workers} worker process{'es' if workers > 1 else ''} (tasks/s)", j, h, target))
    jw = jotty_wake(directory, wake_samples)
    hw = huey_wake(directory, max(10, wake_samples // 10))
    p50 = pct(jw, 0.5) * 1000
    rows.append(("idle wake-up p50 (ms)", p50, pct(hw, 0.5) * 1000, ("p50 < 5 ms", p50 < 5)))
    rows.append(("idle wake-up p99 (ms)", pct(jw, 0.99) * 1000, pct(hw, 0.99) * 1000, None))

    print()
    print("| measure | Jotty SQLiteTaskQueue | Huey SqliteHuey | Jotty / Huey | target |")
    print("|---|---:|---:|---:|---|")
    for name, j, h, target in rows:
        ratio = f"{j / h:.1f}x" if h else "n/a"
        verdict = f"{target[0]}: {'PASS' if target[1] else 'FAIL'}" if target else ""
        huey_cell = f"{h:,.1f}" if h is not None else "n/a (no batch API)"
        print(f"| {name} | {j:,.1f} | {huey_cell} | {ratio} | {verdict} |")
    print()
    print(
        "End to end: medians of 3 runs. Jotty's includes a lease per claim, fenced completion and two history "
        "rows per task; "
        f"each Jotty worker runs {CONCURRENCY} handler coroutines. Huey's drain loop is dequeue + execute "
        "with results off (no leases, no history). Huey's wake-up uses its consumer's default polling. "
        "Single-task rows: medians of 5 interleaved rounds in this process; Jotty's loop is dequeue + "
        "update_status(completed) (a lease and two history rows per task), Huey's is dequeue + execute. "
        f"Load average at the end: {os.getloadavg()[0]:.1f}."
    )


if __name__ == "__main__":
    main()
