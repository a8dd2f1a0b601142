"""``jotty run FLOW``: run a flow definition durably, with a live tree of its steps and a summary."""

from __future__ import annotations

import asyncio
import shlex
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.live import Live
from rich.text import Text

from jotty.cli.console import console, err_console, fail, friendly_errors, json_text
from jotty.cli.live import StepTree, output_text, report, shape_table, steps_table, summary
from jotty.context.levels import check_level
from jotty.db import resolve_store
from jotty.errors import ValidationError
from jotty.events import EventSink
from jotty.patterns import RunResult
from jotty.patterns.runner import LEVEL_KEY, new_run_id
from jotty.runs import RunStatus

if TYPE_CHECKING:
    from jotty.spec import Definition

StoreOption = Annotated[
    str | None,
    typer.Option(
        "--store",
        "--db",
        metavar="PATH|URL",
        help="Where runs are kept: an SQLite file or postgresql://... "
        "\\[default: $JOTTY_DATABASE_URL, else $JOTTY_HOME/jotty.db]",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON instead of tables.")]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="No live step tree.")]

FLOW_FILE_KEY = "flow_file"
"""Where a run started by ``jotty run`` keeps its definition file (in the run's metadata)."""
FLOW_DIGEST_KEY = "flow_digest"

_live_console = Console(stderr=True, highlight=False)
"""The live view's console (stderr; lines wrap, so the view redraws cleanly in a narrow terminal)."""

Start = Callable[[EventSink | None], Coroutine[Any, Any, RunResult]]
"""Starts the run with an event sink (``None``: no live view)."""


def run(
    flow_file: Annotated[Path, typer.Argument(metavar="FLOW", help="The flow definition (.yaml, .yml or .json).")],
    input: Annotated[str | None, typer.Option("--input", "-i", help="The flow's input text.")] = None,
    input_file: Annotated[
        Path | None, typer.Option("--input-file", "-f", help="Read the input from this file ('-': stdin).")
    ] = None,
    store: StoreOption = None,
    run_id: Annotated[
        str | None, typer.Option("--run-id", help="The run's id; an existing run with this id is resumed.")
    ] = None,
    level: Annotated[
        str | None,
        typer.Option("--level", "-l", help="Context level L1-L4 (default: the definition's 'level:', if any)."),
    ] = None,
    json_output: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Run a flow definition (YAML or JSON) with a live view of its steps.

    The run is durable: when it dies, `jotty runs resume RUN_ID` continues it without repeating a finished
    step."""
    with friendly_errors():
        from jotty.spec import load_definition  # only here: its models take a third of the start-up

        definition = load_definition(flow_file)
        value = flow_input(definition, input, input_file)
        run_id = run_id or new_run_id()
        chosen = check_level(level, "--level") or definition.level
        metadata: dict[str, Any] = {
            FLOW_FILE_KEY: str(definition.path),
            FLOW_DIGEST_KEY: definition.digest,
            LEVEL_KEY: None if chosen is None else str(chosen),
        }
        flow = definition.flow
        durable = resolve_store(store).target  # the default store too: every CLI run is resumable

        def start(sink: EventSink | None) -> Coroutine[Any, Any, RunResult]:
            return flow.run(
                value, store=durable, run_id=run_id, sink=sink, metadata=metadata, level=chosen,
                policy=definition.policy(),
            )  # fmt: skip

        result = execute(start, run_id=run_id, store=store, quiet=quiet)
    finish(result, store=store, json_output=json_output)


def flow_input(definition: Definition, text: str | None, file: Path | None) -> Any:
    """The input from ``--input``, ``--input-file`` or the definition's ``input:``."""
    if text is not None and file is not None:
        raise ValidationError("give the input once: --input TEXT or --input-file FILE, not both")
    if text is not None:
        return text
    if file is not None:
        if str(file) == "-":
            return sys.stdin.read()
        try:
            return file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ValidationError(f"cannot read --input-file {file}: {exc}") from None
    if definition.has_input:
        return definition.input
    raise ValidationError(
        f"the flow needs an input: give --input TEXT or --input-file FILE, or add 'input:' to {definition.source}"
    )


def execute(start: Start, *, run_id: str, store: str | None, quiet: bool) -> RunResult:
    """Run ``start(sink)`` with the live step tree on stderr (none when ``quiet``). Ctrl-C stops
    the run, which stays resumable."""
    try:
        if quiet:
            return asyncio.run(start(None))
        tree = StepTree()
        try:
            with Live(tree, console=_live_console, refresh_per_second=8) as live:
                try:
                    return asyncio.run(start(tree.sink))
                except BaseException:
                    live.transient = not tree.roots  # nothing ran: leave no empty tree above the error
                    raise
        finally:
            if tree.roots and not _live_console.is_terminal:
                _live_console.line()  # Live ends its last frame with a newline only on a terminal
    except KeyboardInterrupt:
        fail(f"interrupted: resume the run with `jotty runs resume {run_id}{_store_flag(store)}`", code=130)


def finish(result: RunResult, *, store: str | None, json_output: bool) -> None:
    """Print the result (summary, output, steps, token shape, or JSON); exit 1 when the run failed."""
    if json_output:
        typer.echo(json_text(result_json(result), default=repr))
    else:
        shape = result.token_shape
        tokens = result.tokens
        parts: list[Any] = [
            summary(result.status, result.run_id, result.duration or None, tokens.prompt, tokens.completion)
        ]
        if result.resumed:
            parts[0].append("  (resumed)", style="cyan")
        if result.error:
            parts.append(Text.assemble(("error: ", "bold red"), result.error))
        parts += [output_text(result.output), steps_table(result.steps)]
        if shape.windows:
            parts.append(shape_table(shape.windows))
        console.print(report(*parts))
    if result.status is RunStatus.FAILED:
        if not json_output:
            err_console.print(
                f"the run failed; fix the cause and continue it with "
                f"`jotty runs resume {result.run_id}{_store_flag(store)}`",
                markup=False,
            )
        raise typer.Exit(1)


def result_json(result: RunResult) -> dict[str, Any]:
    """A run result as JSON data."""
    return {
        "run_id": result.run_id,
        "status": str(result.status),
        "ok": result.ok,
        "error": result.error,
        "output": result.output,
        "resumed": result.resumed,
        "duration": result.duration,
        "tokens": {"prompt": result.tokens.prompt, "completion": result.tokens.completion},
        "steps": [step.to_dict() for step in result.steps],
        "handled": result.handled,
        "token_shape": result.token_shape.to_dict(),
    }


def _store_flag(store: str | None) -> str:
    if store is None:
        return ""
    return f" --store {shlex.quote(resolve_store(store).target)}"
