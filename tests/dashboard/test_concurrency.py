"""The dashboard reads while other processes write: writers running, a writer killed -9 mid-run,
and the live stream delivering each step as its process writes it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from jotty.runs import open_run_store
from tests.dashboard.conftest import client_for

ROOT = Path(__file__).resolve().parents[2]


def writer(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.dashboard.writer", *args], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )


def wait_for(check, timeout: float = 30.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("timed out waiting")


async def test_reads_while_two_processes_write(store: str) -> None:
    await open_run_store(store).close()
    writers = [writer(store, "many", f"p{n}", "15") for n in range(2)]
    seen: set[str] = set()
    try:
        with client_for(store) as client:
            while any(w.poll() is None for w in writers):
                page = client.get("/api/runs?limit=100")
                assert page.status_code == 200
                for run in page.json()["runs"]:
                    seen.add(run["run_id"])
                    view = client.get(f"/api/runs/{run['run_id']}")
                    assert view.status_code == 200 and view.json()["tree"]["path"] == "research-flow"
            final = client.get("/api/runs?limit=100").json()["runs"]
    finally:
        for w in writers:
            w.wait(timeout=60)
    assert all(w.returncode == 0 for w in writers)
    assert len(final) == 30 and all(r["status"] == "partial" for r in final)
    assert seen  # it read while they wrote


async def test_a_run_killed_mid_way_shows_as_running_with_its_finished_steps(store: str, tmp_path: Path) -> None:
    gates = tmp_path / "gates"
    gates.mkdir()
    await open_run_store(store).close()
    proc = writer(store, "gated", "killed", str(gates), "5")
    try:
        with client_for(store) as client:
            for k in range(3):
                (gates / str(k)).touch()
                wait_for(
                    lambda k=k: (
                        client.get("/api/runs/killed").status_code == 200
                        and client.get("/api/runs/killed").json()["step_count"] >= k + 1
                    )
                )
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
            data = client.get("/api/runs/killed").json()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert data["run"]["status"] == "running"  # nobody finished it; `jotty runs resume` can
    done = [c for c in data["tree"]["children"] if c["status"] == "completed"]
    assert [c["name"] for c in done] == ["step-0", "step-1", "step-2"]
    assert [c["output"]["text"] for c in done] == ['"go+0"', '"go+0+1"', '"go+0+1+2"']


def test_the_live_stream_sends_each_step_as_it_lands(store: str, served: str, tmp_path: Path) -> None:
    gates = tmp_path / "gates"
    gates.mkdir()
    proc = writer(store, "gated", "live", str(gates), "3")
    try:
        with httpx.Client(base_url=served, timeout=10) as client:
            wait_for(lambda: client.get("/api/runs/live").status_code == 200)
            page = client.get("/api/runs/live").json()
            got: list[dict] = []
            live = f"/api/runs/live/live?after={page['last_event_id']}&since={page['checkpoint_at']}"
            with client.stream("GET", live) as stream:
                assert stream.headers["content-type"].startswith("text/event-stream")
                lines = stream.iter_lines()
                for k in range(3):
                    (gates / str(k)).touch()
                    kind = ""
                    while True:
                        line = next(lines)
                        kind = line[7:] if line.startswith("event: ") else kind
                        if kind == "checkpoint" and line.startswith("data: "):
                            got.append(json.loads(line[6:]))
                            break
                ends = [line for line in lines if line.startswith("event: end")]
            assert [e["path"] for e in got] == ["gated/step-0", "gated/step-1", "gated/step-2"]
            assert ends == ["event: end"]
            # A reconnect (a reload mid-run) resumes after the last id it saw: nothing twice.
            last = client.get("/api/runs/live").json()["last_event_id"]
            with client.stream("GET", "/api/runs/live/live", headers={"Last-Event-ID": str(last - 3)}) as again:
                rest = [json.loads(x[6:]) for x in again.iter_lines() if x.startswith("data: ") and '"id"' in x]
            assert [e["id"] for e in rest] == [last - 2, last - 1, last]
    finally:
        proc.wait(timeout=30)
