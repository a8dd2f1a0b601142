"""The Conductor's recall cache against another process's writes: a recall made after another
process's commit must not be served from a cache filled before it."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

from jotty.memory import Memory
from jotty.runmemory.use import RunMemory

ROOT = Path(__file__).resolve().parents[2]


def test_no_stale_cached_recall_after_another_process_writes(store: str, tmp_path: Path) -> None:
    path = tmp_path / "committed"
    memory = Memory(store, scope="conductor")
    runs = RunMemory(memory)
    writer = subprocess.Popen(
        [sys.executable, "-m", "tests.memory.mp_worker", "marker", store, "conductor", str(path), "4"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    stale, cached, total = [], 0, 0
    try:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "started"
        end = time.monotonic() + 3.5
        while time.monotonic() < end:
            if not path.exists():
                continue
            committed = int(path.read_text())
            recall = runs.recall_now("Quokka report filed", {})
            total += 1
            cached += recall.report.cached
            numbers = [int(m) for item in recall.value["items"] for m in re.findall(r"number (\d+)", item["text"])]
            if not numbers or max(numbers) < committed:
                stale.append((committed, numbers, recall.report.cached, recall.report.error))
    finally:
        writer.kill()
        writer.communicate()
        runs.close()
        memory._close()
    print(total, cached, stale[:5])
    assert not [s for s in stale if s[2]], f"{len(stale)} stale of {total} ({cached} cached): {stale[:5]}"
