"""Benchmark of ``jotty supervise`` against the seed's own polling supervisor loop.

The peer is seed 004's Example 1, as a user writes it today: ``while True: task = await
queue.dequeue(filters={'agent_type': 'claude'}); if task: spawn_task(task); await
asyncio.sleep(30)``, with ``spawn_task`` creating the task's git worktree (``create_worktree``)
and starting the agent there (``subprocess.Popen``). Both run on the same SQLite store, the same
repository and the same fake agent (a shell script), in their own processes.

- start latency: with the supervisor idle, one task at a time is enqueued; the latency is from the
  enqueue to the agent's launch, minus the worktree creation itself (which both pay the same).
  The peer's samples are enqueued at random moments of its 30 s sleep, as real tasks arrive.
- CPU while 16 agents run: 16 tasks whose agents sleep; once all 16 run, the supervisor's own
  CPU time (user + system, from /proc) over a window, as a share of one core. The seed loop starts
  one task per sleep, so for this part it runs with a 1 s sleep (16 agents in 16 s, not 8 min):
  more polling than at 30 s, so its CPU here is an upper bound for it.

Targets (issue 12): start latency p50 under 50 ms beyond the worktree; CPU under 2% of a core.

    python -m bench.supervise [--samples 30] [--peer-samples 4] [--peer-sleep 30] [--window 10]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from jotty.queue import SQLiteTaskQueue

TICKS = os.sysconf("SC_CLK_TCK")

AGENT = """#!/bin/sh
sleep "${SLEEP:-0}"
echo done
"""

PEER = """
import asyncio, json, os, subprocess, sys, time
from pathlib import Path
from jotty.agents.worktree import create_worktree
from jotty.queue import SQLiteTaskQueue

db, repo, agent, sleep, out = sys.argv[1:6]

async def main():
    queue = SQLiteTaskQueue(db)
    running = []
    while True:  # seed 004, Example 1
        task = await queue.dequeue(filters={"agent_type": "claude"})
        if task:
            clock = time.perf_counter()
            tree = await create_worktree(repo, f"peer/{task.task_id}")
            made = time.perf_counter() - clock
            env = {**os.environ, "SLEEP": task.description}
            running.append(subprocess.Popen([agent], cwd=tree.path, env=env, stdout=subprocess.DEVNULL))
            with open(out, "a") as f:
                f.write(json.dumps({"task": task.task_id, "launched": time.time(), "worktree": made}) + "\\n")
        await asyncio.sleep(float(sleep))

asyncio.run(main())
"""


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def load() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def make_repo(root: Path) -> Path:
    repo = root / "repo"
    repo.mkdir()
    for args in (
        ["init", "-q", "-b", "main"],
        ["add", "."],
        ["-c", "user.name=b", "-c", "user.email=b@x", "commit", "-qm", "i"],
    ):
        if args[0] == "add":
            (repo / "README.md").write_text("bench\n")
        subprocess.run(["git", "-C", str(repo), *args], check=True)
    return repo


def start_jotty(root: Path, repo: Path, agent: Path, db: Path, concurrency: int) -> subprocess.Popen[bytes]:
    config = {
        "repo": str(repo),
        "routing": False,
        "grace_period": 0,
        "agents": {"claude": {"argv": [str(agent)], "concurrency": concurrency, "env": {"SLEEP": "{description}"}}},
    }
    (root / "supervise.yaml").write_text(yaml.safe_dump(config))
    code = "from jotty.cli.main import main; main()"
    return subprocess.Popen(
        [sys.executable, "-c", code, "supervise", "-q", "--config", str(root / "supervise.yaml"), "--db", str(db)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip


def start_peer(repo: Path, agent: Path, db: Path, sleep: float, out: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", PEER, str(db), str(repo), str(agent), str(sleep), str(out)], start_new_session=True
    )


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM: jotty stops its agents' process groups (grace 0); the peer's agents share its group."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


async def wait_for(predicate, timeout: float = 120.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        value = await predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError("the benchmark waited too long")
        await asyncio.sleep(0.002)


async def jotty_latency(queue: SQLiteTaskQueue, samples: int) -> list[float]:
    """Enqueue one task at a time into an idle supervisor; launch time - enqueue - worktree."""
    out = []
    for i in range(samples):
        await asyncio.sleep(0.3)  # idle again: the previous start is over
        enqueued = time.time()
        task_id = await queue.create_task(f"latency {i}", description="0", status="pending", agent_type="claude")

        async def record(task_id: str = task_id) -> dict | None:
            task = await queue.get_task(task_id)
            return task.metadata.get("supervise") if task is not None else None

        rec = await wait_for(record)
        out.append(rec["started"] - enqueued - rec["worktree_seconds"])
    return out


async def peer_latency(queue: SQLiteTaskQueue, samples: int, sleep: float, log: Path) -> list[float]:
    out = []
    rng = random.Random(4)
    for i in range(samples):
        await asyncio.sleep(rng.uniform(0, sleep))  # tasks arrive at any moment of the loop's sleep
        enqueued = time.time()
        task_id = await queue.create_task(f"latency {i}", description="0", status="pending", agent_type="claude")

        async def launched(task_id: str = task_id) -> dict | None:
            import json

            for line in log.read_text().splitlines() if log.exists() else []:
                row = json.loads(line)
                if row["task"] == task_id:
                    return row
            return None

        row = await wait_for(launched, timeout=sleep * 3 + 30)
        out.append(row["launched"] - enqueued - row["worktree"])
    return out


async def cpu_with_agents(queue: SQLiteTaskQueue, pid: int, agents: int, window: float) -> float:
    for i in range(agents):
        await queue.create_task(f"busy {i}", description=str(window * 3 + 30), status="pending", agent_type="claude")

    async def all_running() -> bool:
        return (await queue.get_stats())["in_progress"] == agents

    await wait_for(all_running)
    await asyncio.sleep(2)  # the starts are over
    before, clock = cpu_seconds(pid), time.monotonic()
    await asyncio.sleep(window)
    return (cpu_seconds(pid) - before) / (time.monotonic() - clock)


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def run(args: argparse.Namespace) -> None:
    root = Path(tempfile.mkdtemp(prefix="jotty-bench-supervise-"))
    try:
        agent = root / "agent.sh"
        agent.write_text(AGENT)
        agent.chmod(0o755)
        rows = []
        peer = f"seed loop (sleep {args.peer_sleep:g}s; CPU at sleep {args.peer_cpu_sleep:g}s)"
        for name in ("jotty supervise", peer):
            case = root / name.split()[0]
            case.mkdir()
            repo = make_repo(case)
            db = case / "jotty.db"
            queue = SQLiteTaskQueue(db)
            await queue.get_stats()  # the store exists before the supervisor opens it
            if name.startswith("jotty"):
                process = start_jotty(case, repo, agent, db, concurrency=args.agents)
                await asyncio.sleep(2)
                latencies = await jotty_latency(queue, args.samples)
            else:
                log = case / "launched.jsonl"
                process = start_peer(repo, agent, db, args.peer_sleep, log)
                await asyncio.sleep(2)
                latencies = await peer_latency(queue, args.peer_samples, args.peer_sleep, log)
                stop(process)  # at one start per sleep, 16 agents would take 16 sleeps: CPU is measured
                process = start_peer(repo, agent, db, args.peer_cpu_sleep, log)  # with a shorter sleep
            cpu = await cpu_with_agents(queue, process.pid, args.agents, args.window)
            stop(process)
            await queue.close()
            rows.append((name, len(latencies), p(latencies, 0.5), p(latencies, 0.99), cpu))
        print(f"\nload average before/after: {args.load_before} / {load()}, {os.cpu_count()} CPUs\n")
        print("| supervisor | samples | start latency p50 | p99 | CPU with 16 agents |")
        print("|---|---|---|---|---|")
        for name, n, p50, p99, cpu in rows:
            print(f"| {name} | {n} | {p50 * 1000:.1f} ms | {p99 * 1000:.1f} ms | {cpu:.2%} of a core |")
        jotty = rows[0]
        print(f"\n- {'PASS' if jotty[2] < 0.05 else 'FAIL'}: start latency p50 under 50 ms beyond the worktree")
        print(f"- {'PASS' if jotty[4] < 0.02 else 'FAIL'}: supervisor CPU under 2% of a core with {args.agents} agents")
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=30)
    parser.add_argument("--peer-samples", type=int, default=4)
    parser.add_argument("--peer-sleep", type=float, default=30.0)
    parser.add_argument("--peer-cpu-sleep", type=float, default=1.0)
    parser.add_argument("--agents", type=int, default=16)
    parser.add_argument("--window", type=float, default=30.0)
    args = parser.parse_args()
    args.load_before = load()
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
