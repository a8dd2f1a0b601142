"""``jotty runs ...``: list durable flow runs, show one in full, and resume one that died."""

from __future__ import annotations

from collections.abc import Coroutine
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from jotty.cli.console import Col, console, err_console, existing_store, fit_table, friendly_errors, json_text
from jotty.cli.console import run as run_sync
from jotty.cli.live import (
    checkpoints_table,
    clip,
    clock,
    events_table,
    output_text,
    report,
    seconds,
    shape_table,
    status_text,
    steps_table,
    tokens,
)
from jotty.cli.run import (
    FLOW_DIGEST_KEY,
    FLOW_FILE_KEY,
    JsonOption,
    QuietOption,
    StoreOption,
    execute,
    finish,
)
from jotty.context import ContextWindow
from jotty.db import resolve_store
from jotty.errors import ValidationError
from jotty.events import EventSink
from jotty.orchestration.recording import METADATA_KEY as CONDUCTOR_KEY
from jotty.patterns import RunResult
from jotty.patterns.runner import LEVEL_KEY
from jotty.runs import (
    Checkpoint,
    RunRecord,
    RunSummary,
    StoredEvent,
    get_events,
    get_run,
    list_runs,
    using_store,
)

runs_app = typer.Typer(name="runs", help="List, inspect and resume durable flow runs.", no_args_is_help=True)


@runs_app.command("list")
def list_command(
    store: StoreOption = None,
    status: Annotated[
        str | None,
        typer.Option("--status", "-s", help="Only runs in this status: running, completed, partial or failed."),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="At most this many runs, newest first.")] = 50,
    json_output: JsonOption = False,
) -> None:
    """The newest runs first: status, sessions, tokens and times."""
    existing_store(store, "--store")
    runs = run_sync(list_runs(store, status=status, limit=limit))
    if json_output:
        typer.echo(json_text([_summary_json(r) for r in runs]))
        return
    if not runs:
        err_console.print("no runs in this store yet: start one with `jotty run FLOW.yaml --input ...`", markup=False)
        return
    rows = [
        (
            r.run_id,
            r.flow,
            status_text(r.status),
            str(r.sessions),
            tokens(r.tokens.prompt, r.tokens.completion),
            clock(r.created_at),
            seconds((r.finished_at or r.updated_at) - r.created_at),
            Text(clip(r.error, 50) if r.error else "", style="red"),
        )
        for r in runs
    ]
    console.print(fit_table(RUN_COLUMNS, rows))


RUN_COLUMNS = (
    Col("run"),  # never shortened: it is what `jotty runs show` takes
    Col("flow", shrink=True, min_width=16),
    Col("status"),
    Col("sessions", "right", drop=3),
    Col("tokens", "right", hide_empty=True, drop=2),
    Col("started", drop=4),
    Col("took", "right"),
    Col("error", shrink=True, min_width=12, hide_empty=True, drop=1),
)


@runs_app.command("show")
def show(
    run_id: Annotated[str, typer.Argument(help="The run's id (see `jotty runs list`).")],
    store: StoreOption = None,
    events: Annotated[int, typer.Option("--events", "-e", help="Show the last N events (0: none).")] = 20,
    json_output: JsonOption = False,
) -> None:
    """One run: its steps, checkpoints, latest events and token shape."""
    if events < 0:
        raise typer.BadParameter("give 0 or more", param_hint="--events")
    existing_store(store, "--store")
    record, checkpoints, stored = run_sync(_load(run_id, store))
    if json_output:
        data = {
            **_summary_json(record),
            "metadata": record.metadata,
            "input": record.input,
            "output": record.output,
            "steps": [s.to_dict() for s in record.steps],
            "checkpoints": [{"path": c.path, "status": str(c.record.status), "output": c.output} for c in checkpoints],
            "events": [{"id": e.id, **e.event.to_dict()} for e in stored],
            "windows": record.windows,
        }
        typer.echo(json_text(data, default=repr))
        return
    parts: list[Any] = [_header(record)]
    if record.output is not None:
        parts.append(output_text(record.output))
    if record.steps:
        parts.append(steps_table(record.steps))
    if checkpoints:
        parts.append(checkpoints_table(checkpoints))
    if events and stored:
        parts.append(events_table(stored[-events:], record.created_at))
    if record.windows:
        parts.append(shape_table([ContextWindow.from_dict(w) for w in record.windows]))
    console.print(report(*parts))


@runs_app.command("resume")
def resume_command(
    run_id: Annotated[str, typer.Argument(help="The run to continue.")],
    flow: Annotated[
        Path | None,
        typer.Option("--flow", metavar="FLOW", help="The flow definition [default: the file the run started from]."),
    ] = None,
    store: StoreOption = None,
    json_output: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Continue a run that failed or died, from its checkpoints: finished steps are not run again."""
    existing_store(store, "--store")
    with friendly_errors():
        record = run_sync(get_run(run_id, store))
        flow_file = flow if flow is not None else record.metadata.get(FLOW_FILE_KEY)
        if not flow_file and CONDUCTOR_KEY in record.metadata:
            raise ValidationError(
                f"run {run_id!r} is a Conductor run: resume it where its Conductor lives, with "
                f"conductor.run(goal, run_id={run_id!r}) (its goal is the run's input, see `jotty runs show`)"
            )
        if not flow_file:
            raise ValidationError(
                f"run {run_id!r} does not say which flow file it runs (it was not started by `jotty run`): "
                "give it with --flow FLOW.yaml"
            )
        from jotty.spec import load_definition  # only here: its models take a third of the start-up

        definition = load_definition(flow_file)
        stored_file = record.metadata.get(FLOW_FILE_KEY)
        same_file = flow is None or (stored_file is not None and Path(stored_file) == definition.path)
        if same_file and record.metadata.get(FLOW_DIGEST_KEY) not in (None, definition.digest):
            err_console.print(f"note: {flow_file} changed since run {run_id} started", markup=False)
        if record.finished:
            err_console.print(f"run {run_id} has finished already ({record.status}): its stored result", markup=False)
        target = definition.flow
        # The level the run started at, whatever the file says now; a run that did not record one
        # (started from Python, or before levels) takes the file's.
        level = record.metadata.get(LEVEL_KEY, definition.level)
        durable = resolve_store(store).target

        def start(sink: EventSink | None) -> Coroutine[Any, Any, RunResult]:
            return target.run(
                record.input, store=durable, run_id=run_id, sink=sink, level=level, policy=definition.policy()
            )

        result = execute(start, run_id=run_id, store=store, quiet=quiet)
    finish(result, store=store, json_output=json_output)


async def _load(run_id: str, store: str | None) -> tuple[RunRecord, list[Checkpoint], list[StoredEvent]]:
    async with using_store(store) as opened:
        record = await get_run(run_id, opened)
        return record, await opened.load_checkpoints(run_id), await get_events(run_id, opened)


def _header(record: RunRecord) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    grid.add_row("run", Text(record.run_id))
    grid.add_row("flow", Text(record.flow))
    grid.add_row("status", status_text(record.status))
    grid.add_row("sessions", f"{record.sessions} (owner {record.owner or '-'})")
    grid.add_row("started", clock(record.created_at))
    grid.add_row("finished" if record.finished_at else "updated", clock(record.finished_at or record.updated_at))
    grid.add_row("tokens", tokens(record.tokens.prompt, record.tokens.completion) or "0")
    if record.metadata.get(FLOW_FILE_KEY):
        grid.add_row("flow file", Text(str(record.metadata[FLOW_FILE_KEY])))
    if record.metadata.get(LEVEL_KEY):
        grid.add_row("context level", Text(str(record.metadata[LEVEL_KEY])))
    grid.add_row("input", Text(clip(record.input, 100)))
    if record.error:
        grid.add_row("error", Text(record.error, style="red"))
    return grid


def _summary_json(r: RunSummary) -> dict[str, Any]:
    return {
        "run_id": r.run_id,
        "flow": r.flow,
        "status": str(r.status),
        "error": r.error,
        "created_at": r.created_at,
        "updated_at": r.updated_at,
        "finished_at": r.finished_at,
        "sessions": r.sessions,
        "owner": r.owner,
        "tokens": {"prompt": r.tokens.prompt, "completion": r.tokens.completion},
    }
