"""``jotty queue ...``: add, list, show, retry, cancel, stats, export and import queued tasks."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.table import Table

from jotty.cli.console import (
    Col,
    DbOption,
    console,
    err_console,
    existing_store,
    fail,
    fit_table,
    json_text,
    run,
    status_text,
    text,
)
from jotty.errors import NotFoundError, ValidationError
from jotty.queue import Task, TaskPriority, TaskQueue, open_queue
from jotty.wording import plural

T = TypeVar("T")

queue_app = typer.Typer(name="queue", help="Add, inspect and manage queued tasks.", no_args_is_help=True)

PriorityOption = Annotated[
    str | None, typer.Option("--priority", "-p", help="1 (critical) to 5 (optional), or a name such as high.")
]
StatusFilter = Annotated[str | None, typer.Option("--status", "-s", help="Only tasks in this status.")]
AgentOption = Annotated[str | None, typer.Option("--agent-type", "-a", help="Agent type, e.g. claude, cursor.")]


async def _with_queue(db: str | None, body: Callable[[TaskQueue], Awaitable[T]]) -> T:
    queue = open_queue(db)
    try:
        return await body(queue)
    finally:
        await queue.close()


def parse_priority(value: str) -> int:
    """``1``-``5`` or a ``TaskPriority`` name (``critical`` ... ``optional``)."""
    cleaned = value.strip()
    if cleaned.isdigit() and 1 <= int(cleaned) <= 5:
        return int(cleaned)
    try:
        return int(TaskPriority[cleaned.upper()])
    except KeyError:
        names = ", ".join(p.name.lower() for p in TaskPriority)
        raise ValidationError(f"--priority must be 1 to 5 or one of {names}; got {value!r}") from None


def parse_vars(pairs: list[str]) -> dict[str, str]:
    """``KEY=VALUE`` strings as a dict."""
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ValidationError(f"--var takes KEY=VALUE (e.g. --var repo=jotty), got {pair!r}")
        out[key.strip()] = value
    return out


def _missing(task_id: str) -> NotFoundError:
    return NotFoundError(f"no task {task_id!r} in this store: see `jotty queue list` (and check --db)")


# ---------------------------------------------------------------------- commands


@queue_app.command("add")
def add(
    title: Annotated[str | None, typer.Argument(help="The task's title (optional with --template).")] = None,
    description: Annotated[str | None, typer.Option("--description", "-d")] = None,
    priority: PriorityOption = None,
    category: Annotated[str | None, typer.Option("--category", "-c")] = None,
    agent_type: AgentOption = None,
    depends_on: Annotated[
        list[str] | None, typer.Option("--depends-on", help="A task that must complete first (repeatable).")
    ] = None,
    parent: Annotated[str | None, typer.Option("--parent", help="Make this a subtask of that task.")] = None,
    status: Annotated[str | None, typer.Option("--status", "-s", help="Initial status [default: pending].")] = None,
    template: Annotated[str | None, typer.Option("--template", "-t", help="Start from this saved template.")] = None,
    var: Annotated[list[str] | None, typer.Option("--var", help="KEY=VALUE for the template (repeatable).")] = None,
    db: DbOption = None,
) -> None:
    """Queue a new task (pending, so workers pick it up, unless --status says otherwise)."""
    fields: dict[str, Any] = {
        k: v
        for k, v in {
            "description": description,
            "category": category,
            "agent_type": agent_type,
            "parent_id": parent,
            "status": status,
        }.items()
        if v is not None
    }
    if depends_on:
        fields["depends_on"] = list(depends_on)

    async def body(queue: TaskQueue) -> str:
        if priority is not None:
            fields["priority"] = parse_priority(priority)
        if template is None:
            if var:
                raise ValidationError("--var fills a template's {variables}: give --template NAME too")
            if title is None:
                raise ValidationError("give the task a TITLE (or use --template NAME)")
            fields.setdefault("status", "pending")
            return await queue.create_task(title, **fields)
        if title is not None:
            fields["title"] = title
        return await queue.create_task_from_template(template, parse_vars(var or []), **fields)

    task_id = run(_with_queue(db, body))
    console.print(text(task_id))


@queue_app.command("list")
def list_tasks(
    status: StatusFilter = None,
    agent_type: AgentOption = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="Show at most this many.")] = 50,
    db: DbOption = None,
) -> None:
    """List tasks in queue order (priority, then age)."""
    existing_store(db)
    filters = {k: v for k, v in {"status": status, "agent_type": agent_type}.items() if v is not None}
    tasks = run(_with_queue(db, lambda q: q.list_tasks(filters, limit)))
    if not tasks:
        err_console.print("no tasks" + (" match" if filters else " yet: add one with `jotty queue add TITLE`"))
        return
    rows = [
        (
            t.task_id,
            status_text(t.status),
            str(t.priority),
            t.agent_type or "-",
            t.title,
            f"{t.retry_count}/{t.max_retries}",
            f"{t.created_at:%Y-%m-%d %H:%M}" if t.created_at else "",
        )
        for t in tasks
    ]
    console.print(fit_table(TASK_COLUMNS, rows))


TASK_COLUMNS = (
    Col("ID"),  # never shortened: it is what `jotty queue show` takes
    Col("Status"),
    Col("Pri", "right", drop=3),
    Col("Agent", shrink=True, min_width=6, drop=2),
    Col("Title", shrink=True, min_width=16),
    Col("Tries", "right", drop=1),
    Col("Created", drop=4),
)


@queue_app.command("show")
def show(task_id: Annotated[str, typer.Argument(help="The task's id.")], db: DbOption = None) -> None:
    """Show one task's fields and its history."""
    existing_store(db)

    async def body(queue: TaskQueue) -> tuple[Task, list[Any], dict[str, Any] | None]:
        task = await queue.get_task(task_id)
        if task is None:
            raise _missing(task_id)
        progress = await queue.get_progress(task_id) if await queue.get_subtasks(task_id) else None
        return task, await queue.get_history(task_id), progress

    task, history, progress = run(_with_queue(db, body))
    fields = Table(box=None, show_header=False)
    fields.add_column(style="bold")
    fields.add_column()
    for key, value in task.to_dict().items():
        if value in (None, "", [], {}):
            continue
        shown = value if key == "status" else json.dumps(value) if isinstance(value, dict | list) else value
        fields.add_row(key, status_text(value) if key == "status" else text(shown))
    if progress is not None:
        fields.add_row("subtasks", text(f"{progress['children']} ({progress['percent']}% completed)"))
    console.print(fields)
    if history:
        columns = (
            Col("At (UTC)"),
            Col("From"),
            Col("To"),
            Col("By", shrink=True, min_width=8),
            Col("Why", shrink=True, min_width=12),
        )
        rows = [
            (f"{h.at:%Y-%m-%d %H:%M:%S}", h.from_status or "-", status_text(h.to_status), h.actor or "", h.reason or "")
            for h in history
        ]
        console.print(fit_table(columns, rows, title="History"))


@queue_app.command("retry")
def retry(
    task_id: Annotated[str, typer.Argument(help="A failed, cancelled or blocked task.")], db: DbOption = None
) -> None:
    """Make a failed, cancelled or blocked task pending again, with fresh retries."""
    existing_store(db)
    if not run(_with_queue(db, lambda q: q.retry_task(task_id))):
        fail(str(_missing(task_id)))
    console.print(text(f"{task_id} is pending again"))


@queue_app.command("cancel")
def cancel(task_id: Annotated[str, typer.Argument(help="A task that has not ended.")], db: DbOption = None) -> None:
    """Cancel a task that has not finished (its pending dependents become blocked)."""
    existing_store(db)
    if not run(_with_queue(db, lambda q: q.cancel_task(task_id))):
        fail(str(_missing(task_id)))
    console.print(text(f"{task_id} cancelled"))


@queue_app.command("stats")
def stats(db: DbOption = None) -> None:
    """Counts per status, running PIDs and running tasks per agent type."""
    existing_store(db)
    data = run(_with_queue(db, lambda q: q.get_stats()))
    table = Table(box=None, show_header=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    for status in ("suggested", "backlog", "pending", "in_progress", "completed", "failed", "blocked", "cancelled"):
        table.add_row(status_text(status), text(data.get(status, 0)))
    table.add_row("total", text(data.get("total", "")))
    table.add_row("active pids", text(data.get("active_pids", 0)))
    for agent, count in sorted((data.get("by_agent") or {}).items()):
        table.add_row(text(f"running as {agent}"), text(count))
    console.print(table)


@queue_app.command("export")
def export(
    file: Annotated[Path | None, typer.Argument(help="Write here instead of stdout.", dir_okay=False)] = None,
    db: DbOption = None,
) -> None:
    """Export every task, its history and the templates as JSON (stdout, or FILE)."""
    existing_store(db)
    data = run(_with_queue(db, lambda q: q.export_to_json()))
    document = json_text(data, default=str)
    if file is None:
        console.out(document, highlight=False)
        return
    try:
        file.write_text(document + "\n", encoding="utf-8")
    except OSError as exc:
        fail(f"cannot write {file} ({exc.strerror or exc}): check the path and its permissions")
    err_console.print(text(f"exported {plural(data['total_tasks'], 'task')} to {file}"))


@queue_app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="A file made by `jotty queue export`.", dir_okay=False)],
    replace: Annotated[bool, typer.Option("--replace", help="Overwrite tasks whose ids already exist.")] = False,
    db: DbOption = None,
) -> None:
    """Import an export into the store (all or nothing)."""
    try:
        raw = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"cannot read {file} ({getattr(exc, 'strerror', None) or exc}): give the path of an export file")
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        fail(f"{file} is not JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}): give a `jotty queue export`")
    count = run(_with_queue(db, lambda q: q.import_from_json(data, replace=replace)))
    console.print(text(f"imported {plural(count, 'task')} from {file}"))


@queue_app.command("template")
def template(
    name: Annotated[str, typer.Argument(help="The template's name.")],
    title: Annotated[str, typer.Option("--title", help="Title; may hold {variables}.")],
    description: Annotated[str | None, typer.Option("--description", "-d", help="May hold {variables}.")] = None,
    priority: PriorityOption = None,
    category: Annotated[str | None, typer.Option("--category", "-c")] = None,
    agent_type: AgentOption = None,
    db: DbOption = None,
) -> None:
    """Save (or replace) a task template for `jotty queue add --template NAME --var KEY=VALUE`."""
    fields: dict[str, Any] = {"title": title}
    fields.update({k: v for k, v in {"description": description, "category": category,
                                      "agent_type": agent_type}.items() if v is not None})  # fmt: skip

    async def body(queue: TaskQueue) -> None:
        if priority is not None:
            fields["priority"] = parse_priority(priority)
        await queue.create_template(name, **fields)

    run(_with_queue(db, body))
    console.print(text(f"template {name} saved"))


@queue_app.command("templates")
def templates(db: DbOption = None) -> None:
    """List the saved task templates."""
    existing_store(db)
    found = run(_with_queue(db, lambda q: q.list_templates()))
    if not found:
        err_console.print("no templates yet: save one with `jotty queue template NAME --title ...`")
        return
    columns = (Col("Name", shrink=True), Col("Title", shrink=True, min_width=16), Col("Fields", shrink=True))
    rows = []
    for name, fields in found.items():
        rest = {k: v for k, v in fields.items() if k != "title"}
        rows.append((name, str(fields.get("title") or ""), json.dumps(rest) if rest else ""))
    console.print(fit_table(columns, rows))
