"""A run killed with SIGKILL halfway resumes in another process and never repeats a finished step
(on SQLite and on PostgreSQL)."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from jotty.runs import RunStatus, get_run
from tests.runs.backends import MISSING_TABLE, Backend
from tests.support.kill import kill_when

SCRIPT = Path(__file__).with_name("killable_flow.py")


def checkpointed(backend: Backend) -> set[str]:
    try:
        return {row[0] for row in backend.rows("SELECT step_path FROM jotty_run_steps WHERE run_id = 'kill-me'")}
    except MISSING_TABLE:  # not migrated yet
        return set()


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
async def test_kill_minus_nine_halfway_then_resume_elsewhere(backend: Backend, tmp_path: Path) -> None:
    store, side = backend.store, tmp_path / "side-effects.txt"
    wanted = {"chain/s1", "chain/s2", "chain/fan/branch-0", "chain/fan/branch-1"}
    first = subprocess.Popen([sys.executable, str(SCRIPT), store, str(side), "p2"])
    # Wait until the steps before p2 are checkpointed and p2 is running.
    kill_when(
        first,
        lambda: wanted <= checkpointed(backend) and side.exists() and "p2" in side.read_text().split(),
        lambda: checkpointed(backend),
    )
    assert checkpointed(backend) == wanted  # p2 was running, s4 never started
    killed = await get_run("kill-me", store)
    assert killed.status is RunStatus.RUNNING and killed.sessions == 1

    second = subprocess.run(
        [sys.executable, str(SCRIPT), store, str(side), ""], capture_output=True, text=True, timeout=60
    )
    assert second.returncode == 0, second.stderr
    assert second.stdout.startswith("completed")

    runs = Counter(side.read_text().split())
    assert runs == {"s1": 1, "s2": 1, "p0": 1, "p1": 1, "p2": 2, "s4": 1, "s5": 1}
    done = await get_run("kill-me", store)
    assert done.status is RunStatus.COMPLETED and done.sessions == 2
    assert done.output == "['in>s1>s2>p0', 'in>s1>s2>p1', 'in>s1>s2>p2']>s4>s5"
    assert {s.path for s in done.steps} >= wanted | {"chain/fan", "chain/s4", "chain/s5"}
