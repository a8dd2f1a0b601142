"""A mistyped ``--db``: commands that only read (or change what is there) say so and create nothing;
commands that write create the store, as the first one always has."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jotty.cli.main import app

from .checks import error, ok

ROOT = Path(__file__).resolve().parents[2]

READERS = [
    ["memory", "search", "foo"],
    ["memory", "show", "mem-1"],
    ["memory", "stats"],
    ["memory", "export"],
    ["memory", "forget", "mem-1"],
    ["memory", "consolidate"],
    ["data", "search", "sales"],
    ["data", "show", "X"],
    ["data", "remove", "X"],
    ["queue", "list"],
    ["queue", "show", "TASK-19990101-00001"],
    ["queue", "stats"],
    ["queue", "export"],
    ["queue", "templates"],
    ["queue", "retry", "TASK-19990101-00001"],
    ["queue", "cancel", "TASK-19990101-00001"],
    ["learning", "show"],
    ["supervise", "status"],
    ["supervise", "logs", "TASK-19990101-00001"],
]  # and `jotty dashboard`, whose reader says so itself (tests/dashboard/test_security.py)
RUN_READERS = [["runs", "list"], ["runs", "show", "r-1"], ["runs", "resume", "r-1"]]


@pytest.fixture(autouse=True)
def no_store_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JOTTY_DATABASE_URL", raising=False)


@pytest.mark.parametrize("args", READERS + RUN_READERS, ids=" ".join)
def test_a_read_of_a_missing_store_is_one_line_and_creates_nothing(tmp_path: Path, args: list[str]) -> None:
    typo = tmp_path / "nope" / "typo.db"
    option = "--store" if args[0] == "runs" else "--db"
    message = error(CliRunner().invoke(app, [*args, option, str(typo)]))
    assert (
        message == f"error: no store at {typo}: check {option} (a store is created by the first command that writes)\n"
    )
    assert not typo.parent.exists()


def test_the_store_url_variable_and_sqlite_urls_are_checked_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    typo = tmp_path / "typo.db"
    monkeypatch.setenv("JOTTY_DATABASE_URL", f"sqlite:///{typo}")
    assert f"no store at {typo}: check $JOTTY_DATABASE_URL" in error(CliRunner().invoke(app, ["queue", "list"]))
    assert f"no store at {typo}: check --db" in error(
        CliRunner().invoke(app, ["queue", "list", "--db", f"sqlite:///{typo}"])
    )
    assert not typo.exists()


def test_writes_create_the_store_and_reads_then_work(tmp_path: Path) -> None:
    for name, args in (
        ("memory", ["memory", "add", "Ada moved to Lisbon"]),
        ("queue", ["queue", "add", "Fix the login bug"]),
        ("data", ["data", "add", str(Path(__file__))]),
    ):
        store = tmp_path / name / "jotty.db"
        ok(CliRunner().invoke(app, [*args, "--db", str(store)]))
        assert store.exists()
    assert "Lisbon" in ok(
        CliRunner().invoke(app, ["memory", "search", "Lisbon", "--db", str(tmp_path / "memory/jotty.db")])
    )
    assert "Fix the login" in ok(CliRunner().invoke(app, ["queue", "list", "--db", str(tmp_path / "queue/jotty.db")]))


def test_the_default_store_is_still_made_by_a_first_read(tmp_path: Path) -> None:
    env = {**os.environ, "COLUMNS": "80", "JOTTY_HOME": str(tmp_path / "home")}
    env.pop("JOTTY_DATABASE_URL", None)
    listed = subprocess.run(
        [sys.executable, "-m", "jotty", "queue", "list"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert listed.returncode == 0 and "no tasks yet" in listed.stderr, listed.stderr
    assert (tmp_path / "home" / "jotty.db").exists()


def test_the_real_cli_piped_at_80_columns(tmp_path: Path) -> None:
    env = {**os.environ, "COLUMNS": "80"}
    env.pop("JOTTY_DATABASE_URL", None)
    found = subprocess.run(
        [sys.executable, "-m", "jotty", "memory", "search", "foo", "--db", "typo.db"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert found.returncode == 1 and found.stdout == ""
    assert (
        found.stderr == "error: no store at typo.db: check --db (a store is created by the first command that writes)\n"
    )
    assert list(tmp_path.iterdir()) == []
