"""The documented example runs offline in seconds: six tasks, two routed, six branches."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "supervise"


def test_the_example_runs_every_task_on_its_branch(tmp_path: Path) -> None:
    jotty = Path(sys.executable).with_name("jotty")  # in a directory of its own: other checkouts run it too
    env = {**os.environ, "JOTTY": str(jotty), "COLUMNS": "80", "JOTTY_EXAMPLE_DIR": str(tmp_path / "example")}
    env.pop("JOTTY_DATABASE_URL", None)
    done = subprocess.run(["sh", str(EXAMPLE / "run.sh")], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "6 started, 6 completed, 0 failed" in done.stdout
    branches = [line.strip() for line in done.stdout.splitlines() if line.strip().startswith("agent/")]
    assert len(branches) == 6
    assert sum("routed to" in line for line in done.stderr.splitlines()) == 2
