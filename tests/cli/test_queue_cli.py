"""``jotty queue ...`` on real SQLite files."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import pytest

from jotty.queue import SQLiteTaskQueue, Task, TaskStatus
from tests.cli.checks import error, ok
from tests.cli.conftest import Jotty

ID = re.compile(r"TASK-\d{8}-\d{5}")


def stored(db: Path, task_id: str) -> Task:
    async def read() -> Task | None:
        async with SQLiteTaskQueue(db) as queue:
            return await queue.get_task(task_id)

    task = asyncio.run(read())
    assert task is not None
    return task


def new_id(output: str) -> str:
    found = ID.fullmatch(output.strip())
    assert found, output
    return found.group(0)


def test_add_list_show_and_stats(jotty: Jotty, db: Path) -> None:
    first = new_id(ok(jotty("queue", "add", "Write the docs", "-d", "all of them", "-p", "high", "-c", "docs")))
    task = stored(db, first)
    assert (task.title, task.description, task.priority, task.category) == ("Write the docs", "all of them", 2, "docs")
    assert task.status == TaskStatus.PENDING and task.agent_type == "claude"  # the supervisor's default
    second = new_id(
        ok(jotty("queue", "add", "Review", "--depends-on", first, "--parent", first, "-a", "cursor", "-p", "5"))
    )
    third = new_id(
        ok(jotty("queue", "add", "Later", "--status", "backlog", "--depends-on", first, "--depends-on", second))
    )
    assert stored(db, second).depends_on == [first] and stored(db, second).parent_id == first
    assert stored(db, second).agent_type == "cursor"
    assert stored(db, third).depends_on == [first, second] and stored(db, third).status == TaskStatus.BACKLOG

    listed = ok(jotty("queue", "list"))
    assert ID.findall(listed) == [first, third, second]  # queue order: priority 2, 3, 5
    assert "Write the" in listed and "pending" in listed
    only_backlog = ok(jotty("queue", "list", "--status", "backlog"))
    assert third in only_backlog and first not in only_backlog
    assert second in ok(jotty("queue", "list", "--agent-type", "cursor"))
    assert len(ID.findall(ok(jotty("queue", "list", "--limit", "1")))) == 1
    assert "no tasks match" in jotty("queue", "list", "--status", "failed").stderr

    shown = ok(jotty("queue", "show", first))
    assert "all of them" in shown and "History" in shown and "created" in shown
    assert "subtasks" in shown and "1 (0% completed)" in shown

    stats = ok(jotty("queue", "stats"))
    assert re.search(r"pending\s+2", stats) and re.search(r"backlog\s+1", stats) and re.search(r"total\s+3", stats)


def test_titles_are_not_read_as_markup(jotty: Jotty) -> None:
    task_id = new_id(ok(jotty("queue", "add", "[bold]literal[/bold] brackets")))
    assert "[bold]literal[/bold] brackets" in ok(jotty("queue", "show", task_id))


def test_templates(jotty: Jotty, db: Path) -> None:
    ok(jotty("queue", "template", "bugfix", "--title", "Fix {issue}", "-d", "in {repo}", "-p", "1", "-a", "claude"))
    assert "bugfix" in ok(jotty("queue", "templates"))
    task_id = new_id(ok(jotty("queue", "add", "--template", "bugfix", "--var", "issue=#12", "--var", "repo=a=b")))
    task = stored(db, task_id)
    assert (task.title, task.description, task.priority, task.agent_type) == ("Fix #12", "in a=b", 1, "claude")
    assert task.metadata["template"] == "bugfix" and task.status == TaskStatus.PENDING
    titled = new_id(ok(jotty("queue", "add", "Own title", "--template", "bugfix", "--var", "repo=r", "-p", "4")))
    assert (stored(db, titled).title, stored(db, titled).priority) == ("Own title", 4)
    assert "needs the variable 'issue'" in error(jotty("queue", "add", "--template", "bugfix"))
    assert "no task template named 'nope'" in error(jotty("queue", "add", "--template", "nope"))


def test_retry_and_cancel(jotty: Jotty, db: Path) -> None:
    task_id = new_id(ok(jotty("queue", "add", "Flaky")))
    dependent = new_id(ok(jotty("queue", "add", "After", "--depends-on", task_id)))
    assert "only failed, cancelled or blocked" in error(jotty("queue", "retry", task_id))
    assert "cancelled" in ok(jotty("queue", "cancel", task_id))
    assert stored(db, task_id).status == TaskStatus.CANCELLED
    assert stored(db, dependent).status == TaskStatus.BLOCKED
    assert "already ended" in error(jotty("queue", "cancel", task_id))
    assert "pending again" in ok(jotty("queue", "retry", task_id))
    assert stored(db, task_id).status == TaskStatus.PENDING
    history = ok(jotty("queue", "show", task_id))
    assert "cancelled by user" in history and "retried by user" in history


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["queue", "show", "TASK-19990101-00001"], "no task 'TASK-19990101-00001' in this store"),
        (["queue", "retry", "TASK-19990101-00001"], "no task 'TASK-19990101-00001'"),
        (["queue", "cancel", "TASK-19990101-00001"], "no task 'TASK-19990101-00001'"),
        (["queue", "add", "x", "-p", "9"], "--priority must be 1 to 5 or one of critical, high"),
        (["queue", "add", "x", "-p", "urgent"], "--priority must be 1 to 5"),
        (["queue", "add", "x", "--status", "running"], "unknown task status 'running'"),
        (["queue", "add", "x", "--var", "a=b"], "--var fills a template's {variables}: give --template NAME"),
        (["queue", "add", "--template", "t", "--var", "novalue"], "--var takes KEY=VALUE"),
        (["queue", "add", "--template", "t", "--var", "=v"], "--var takes KEY=VALUE"),
        (["queue", "add"], "give the task a TITLE"),
        (["queue", "add", "x", "--depends-on", "TASK-19990101-00009"], "depends_on names unknown task(s)"),
        (["queue", "add", "x", "--parent", "TASK-19990101-00009"], "parent task TASK-19990101-00009 does not exist"),
        (["queue", "list", "--status", "running"], "unknown task status 'running'"),
        (["queue", "template", "t", "--title", "x", "-p", "0"], "--priority must be 1 to 5"),
    ],
)
def test_bad_input_is_one_clear_line(jotty: Jotty, db: Path, args: list[str], message: str) -> None:
    new_id(ok(jotty("queue", "add", "the store exists")))
    assert message in error(jotty(*args))


def test_export_and_import(jotty: Jotty, db: Path, tmp_path: Path) -> None:
    first = new_id(ok(jotty("queue", "add", "One", "-p", "1")))
    new_id(ok(jotty("queue", "add", "Two", "--depends-on", first)))
    ok(jotty("queue", "template", "t", "--title", "T {x}"))
    document = json.loads(ok(jotty("queue", "export")))
    assert document["total_tasks"] == 2 and first in document["pending_tasks"] and "t" in document["templates"]

    out = tmp_path / "export.json"
    exported = jotty("queue", "export", str(out))
    assert ok(exported) == "" and "exported 2 tasks" in exported.stderr
    other = tmp_path / "other.db"
    assert "imported 2 tasks" in ok(jotty("queue", "import", str(out), db_path=other))
    assert stored(other, first).title == "One"
    assert "already exist" in error(jotty("queue", "import", str(out), db_path=other))
    ok(jotty("queue", "cancel", first, db_path=other))
    assert "imported 2" in ok(jotty("queue", "import", str(out), "--replace", db_path=other))
    assert stored(other, first).status == TaskStatus.PENDING
    assert first in ok(jotty("queue", "show", first, db_path=other))


def test_import_of_bad_files(jotty: Jotty, tmp_path: Path) -> None:
    assert "cannot read" in error(jotty("queue", "import", str(tmp_path / "missing.json")))
    garbage = tmp_path / "garbage.json"
    garbage.write_text("{not json")
    assert "is not JSON" in error(jotty("queue", "import", str(garbage)))
    wrong = tmp_path / "wrong.json"
    wrong.write_text('{"version": 1}')
    assert "not a Jotty export" in error(jotty("queue", "import", str(wrong)))
    binary = tmp_path / "binary.json"
    binary.write_bytes(b"\xff\xfe\x00bad")
    assert "cannot read" in error(jotty("queue", "import", str(binary)))
    assert "cannot write" in error(jotty("queue", "export", str(tmp_path / "no" / "such" / "dir.json")))


def test_default_store_is_under_jotty_home(jotty: Jotty, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JOTTY_HOME", str(tmp_path / "home"))
    task_id = new_id(ok(jotty("queue", "add", "Homed", db_path=None)))
    assert stored(tmp_path / "home" / "jotty.db", task_id).title == "Homed"
    assert task_id in ok(jotty("queue", "list", db_path=None))


def test_a_corrupt_store_is_a_clear_error(jotty: Jotty, tmp_path: Path) -> None:
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"this is not a database" * 100)
    assert "is not a readable SQLite database" in error(jotty("queue", "list", db_path=bad))
    assert bad.read_bytes() == b"this is not a database" * 100
