"""Act 3 of ``jotty demo``: a later round answers from what an earlier round stored."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from jotty.cli.demo_memory import ROUNDS, act_three


def repository(path: Path) -> Path:
    path.mkdir()

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=path, check=True, capture_output=True)

    git("init", "-q")
    for number, author in enumerate(["Ada", "Ada", "Grace"]):
        (path / "notes.txt").write_text(f"note {number}\n")
        git("add", "notes.txt")
        git("-c", f"user.name={author}", "-c", "user.email=a@example.com", "commit", "-q", "-m", f"note {number}")
    return path


def test_round_two_is_answered_from_round_ones_memories(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = act_three(repository(tmp_path / "repo"), tmp_path / "demo.db")
    first = [row for row in rows if row[0] == 1]
    second = [row for row in rows if row[0] == 2]
    assert len(first) == len(second) == len(ROUNDS[0])
    assert all(row[3] == "worked out with git" for row in first)
    assert [row[2] for row in first] == ["3 commits", "Ada (2 commits)", "notes.txt (changed in 3 commits)"]
    assert all(row[3].startswith("memory mem-") for row in second)
    assert [row[2] for row in second] == [row[2] for row in first]  # the same answers, recalled
    out = capsys.readouterr().out
    assert "round 2 answered 3 of 3 questions from memory" in out
