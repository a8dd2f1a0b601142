"""Issue 9: every table and tree of the CLI reads well at 80 columns and through a pipe.

The real ``jotty`` commands run in subprocesses with ``COLUMNS=80`` and their output captured
through a pipe (no terminal): no colour codes, no line wider than 80 cells, no cell folded one
character per line, names and ids whole, and the live tree ends its line before the next title.
"""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from rich.cells import cell_len


def jotty(home: Path, *args: str, cwd: Path | None = None) -> str:
    env = {**os.environ, "JOTTY_HOME": str(home), "COLUMNS": "80", "GIT_CEILING_DIRECTORIES": str(home.parent)}
    env.pop("FORCE_COLOR", None)
    done = subprocess.run(
        [sys.executable, "-m", "jotty", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def jotty_at_once(home: Path, commands: Mapping[str, Sequence[str]]) -> dict[str, str]:
    """``jotty`` for each of these independent commands, each in its own process, four at a time."""
    with ThreadPoolExecutor(4) as pool:
        outputs = {name: pool.submit(jotty, home, *args) for name, args in commands.items()}
        return {name: output.result() for name, output in outputs.items()}


def check_narrow(out: str) -> None:
    assert "\x1b[" not in out, "colour codes in a pipe"
    for line in out.splitlines():
        assert cell_len(line) <= 80, f"wider than 80 columns: {line!r}"
        bare = line.strip(" │┃|")
        assert len(bare) != 1 or bare in "()", f"a cell folded one character per line: {line!r}"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    root = tmp_path_factory.mktemp("narrow")
    home, outside = root / "home", root / "not-a-repo"
    outside.mkdir()
    return home, jotty(home, "demo", "--repo", str(outside), "--rounds", "3", "--workers", "2", cwd=outside)


def test_the_demo_at_80_columns_through_a_pipe(demo: tuple[Path, str]) -> None:
    _, out = demo
    check_narrow(out)
    assert re.search(r"^└── ✓ report .*\n^steps\s*$", out, re.M), "the tree's last line runs into the title"
    for actor in ("file-census", "test-census", "outline"):
        assert re.search(rf"^ {actor}\s+(code|files|tests|\(all\))\s", out, re.M), f"{actor} is cut or folded"
    assert re.search(r"^\s*1 │\s+\d+ │", out, re.M)  # the rounds table keeps its columns


def test_runs_queue_and_learning_at_80_columns(demo: tuple[Path, str]) -> None:
    home, _ = demo
    store = home / "demo.db"
    with sqlite3.connect(store) as conn:
        run_id = conn.execute("SELECT run_id FROM jotty_runs").fetchone()[0]
        task_id = conn.execute("SELECT task_id FROM tasks ORDER BY task_id").fetchone()[0]
    outputs = jotty_at_once(
        home,
        {
            "runs list": ("runs", "list", "--store", str(store)),
            "runs show": ("runs", "show", run_id, "--store", str(store)),
            "queue list": ("queue", "list", "--db", str(store)),
            "queue show": ("queue", "show", task_id, "--db", str(store)),
            "queue stats": ("queue", "stats", "--db", str(store)),
            "learning show": ("learning", "show", "--db", str(store)),
        },
    )
    for out in outputs.values():
        check_narrow(out)
    assert run_id in outputs["runs list"] and "(left out at 80 columns: started)" in outputs["runs list"]
    assert re.search(rf"^ {task_id}\s+completed", outputs["queue list"], re.M)
    assert re.search(r"^ …?\S*branch-3/cloc\s+completed\s+2\s+fallback", outputs["runs show"], re.M)
    assert "file-census" in outputs["learning show"] and "left out at 80 columns" in outputs["learning show"]


def test_a_wide_terminal_keeps_every_column(demo: tuple[Path, str]) -> None:
    home, _ = demo
    env = {**os.environ, "JOTTY_HOME": str(home), "COLUMNS": "160"}
    done = subprocess.run(
        [sys.executable, "-m", "jotty", "learning", "show", "--db", str(home / "demo.db")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "tokens" in done.stdout and "left out" not in done.stdout


def test_the_new_commands_at_80_columns(tmp_path: Path) -> None:
    home = tmp_path / "home"
    outputs = {"memory add": jotty(home, "memory", "add", "the Lisbon offsite budget is 4000 euros")}
    outputs |= jotty_at_once(
        home,
        {
            "memory search": ("memory", "search", "offsite budget"),
            "memory stats": ("memory", "stats"),
            "data search": ("data", "search", "sales"),
            "supervise status": ("supervise", "status"),
            **{f"{name} --help": (name, "--help") for name in ("compare", "dashboard", "supervise", "memory")},
        },
    )
    outputs["memory consolidate"] = jotty(home, "memory", "consolidate")
    for out in outputs.values():
        check_narrow(out)
    assert outputs["memory stats"].splitlines()[0] == "Memory conductor: 1 memory"  # the title is not folded
    assert "offsite budget" in outputs["memory search"]


def test_every_command_summary_is_one_paragraph_line() -> None:
    """A summary (a help's first paragraph) written over two source lines shows as a broken line in
    ``jotty --help``: every command's summary must be one line of source."""
    import click
    import typer

    from jotty.cli.main import app

    def walk(command: click.Command, path: str) -> list[str]:
        summary = (command.help or "").strip().split("\n\n")[0]
        broken = [path] if "\n" in summary else []
        for name, sub in getattr(command, "commands", {}).items():
            broken += walk(sub, f"{path} {name}")
        return broken

    assert walk(typer.main.get_command(app), "jotty") == []
