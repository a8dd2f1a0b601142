"""A count says its noun in the singular for one: "1 source registered", not "1 sources"."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from jotty.wording import plural


def piped(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``jotty`` as a process, stdout piped, COLUMNS=80; it must succeed."""
    env = {**os.environ, "COLUMNS": "80"}
    env.pop("JOTTY_DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, "-m", "jotty", *args, "--db", "jotty.db"], cwd=cwd, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert all(len(line) <= 80 for line in done.stdout.splitlines()), done.stdout
    return done


def test_plural() -> None:
    assert [plural(n, "source") for n in (0, 1, 2)] == ["0 sources", "1 source", "2 sources"]
    assert [plural(n, "memory", "memories") for n in (1, 3)] == ["1 memory", "3 memories"]


def test_one_of_each_is_said_in_the_singular(tmp_path: Path) -> None:
    (tmp_path / "notes").mkdir()
    scanned = piped("data", "scan", "notes", "--name", "notes", cwd=tmp_path).stdout
    assert scanned.startswith("1 source registered"), scanned  # the folder itself
    (tmp_path / "notes" / "a.csv").write_text("city,temp\nFaro,21\n")
    assert piped("data", "scan", "notes", "--name", "notes", cwd=tmp_path).stdout.startswith("2 sources registered")
    (tmp_path / "notes" / "a.csv").unlink()
    (tmp_path / "notes" / "b.csv").write_text("city,temp\nPorto,18\n")
    rescanned = piped("data", "scan", "notes", "--name", "notes", cwd=tmp_path).stdout
    assert "removed 1 source whose file is gone from the folder:" in rescanned, rescanned
    found = piped("data", "search", "Porto", "-k", "1", cwd=tmp_path).stdout
    assert found.splitlines()[0].strip() == "1 source", found
    assert "first 1 row" in piped("data", "show", "notes/b.csv", cwd=tmp_path).stdout

    piped("memory", "add", "Ada moved to Lisbon", cwd=tmp_path)
    exported = piped("memory", "export", "-o", "memories.jsonl", cwd=tmp_path).stdout
    assert exported == "exported 1 memory of conductor to memories.jsonl\n", exported
    assert "Memory conductor: 1 memory" in piped("memory", "stats", cwd=tmp_path).stdout

    piped("queue", "add", "Fix the login bug", cwd=tmp_path)
    assert "exported 1 task to tasks.json" in piped("queue", "export", "tasks.json", cwd=tmp_path).stderr
    imported = piped("queue", "import", "tasks.json", "--replace", cwd=tmp_path).stdout
    assert imported == "imported 1 task from tasks.json\n", imported
