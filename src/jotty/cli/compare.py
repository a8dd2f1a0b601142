"""``jotty compare FLOW --levels L1,L3``: the same flow at several context levels, side by side."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console, ConsoleOptions, RenderResult
from rich.table import Table
from rich.text import Text

from jotty.cli.console import console, friendly_errors, json_text
from jotty.cli.live import clip
from jotty.cli.run import JsonOption, flow_input
from jotty.context import default_counter
from jotty.errors import ValidationError
from jotty.patterns.compare import Comparison, compare_levels, parse_levels


def compare(
    flow_file: Annotated[Path, typer.Argument(metavar="FLOW", help="The flow definition (.yaml, .yml or .json).")],
    levels: Annotated[
        str, typer.Option("--levels", "-l", help="Comma-separated context levels; the first is the baseline.")
    ] = "L1,L3",
    input: Annotated[str | None, typer.Option("--input", "-i", help="The flow's input text.")] = None,
    input_file: Annotated[
        Path | None, typer.Option("--input-file", "-f", help="Read the input from this file ('-': stdin).")
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Run a flow at each context level and show the token shapes side by side.

    The levels run in memory, one after another; each output is checked against the first level's."""
    with friendly_errors():
        chosen = parse_levels(levels)
        if len(chosen) < 2:  # one level compares nothing
            raise ValidationError(
                f"--levels: give two levels or more to compare, e.g. --levels L1,L3 (got only {chosen[0]})"
            )
        from jotty.spec import load_definition  # only here: its models take a third of the start-up

        definition = load_definition(flow_file)
        value = flow_input(definition, input, input_file)
        comparison = asyncio.run(compare_levels(definition.flow, value, chosen, policy=definition.policy))
    if json_output:
        typer.echo(json_text(comparison.to_dict(), default=repr))
    else:
        console.print(render(comparison))
    if not all(r.result.ok for r in comparison.runs):
        raise typer.Exit(1)


def render(comparison: Comparison) -> Any:
    """The side-by-side table and the agreement lines."""
    runs = comparison.runs
    base = comparison.baseline
    lines = []
    for run in runs:
        line = Text(f"{run.level}: {run.result.status}")
        if run is not base:
            if run.result.ok and base.result.ok:  # a failed run has no output to compare
                agrees = comparison.agrees(run)
                line.append(f", output {'agrees with' if agrees else 'DIFFERS from'} {base.level}")
            saved = _saving(sum(base.window.values()), sum(run.window.values()))
            if saved:
                line.append(f", window tokens {saved}")
        if run.prefetch is not None and run.prefetch.get("hit_rate") is not None:
            line.append(f", prefetch hit rate {run.prefetch['hit_rate']:.0%}")
        if run.result.error:
            line.append(f", error: {clip(run.result.error, 60)}")
        lines.append(line)
    return _Shapes(comparison, lines)


class _Shapes:
    """The token shapes side by side, fitted to the width they are printed at: a number is never
    cut; when the cells do not fit on one line each, each shows its two numbers one above the other."""

    def __init__(self, comparison: Comparison, lines: list[Text]) -> None:
        self.comparison = comparison
        self.lines = lines

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        runs = self.comparison.runs
        paths = self.comparison.paths()
        rows: list[list[tuple[int | None, int | None]]] = [
            [(r.window.get(p), r.prompt.get(p)) for r in runs] for p in paths
        ]
        totals: list[tuple[int | None, int | None]] = [(sum(r.window.values()), r.result.tokens.prompt) for r in runs]
        flat = max(len(_cell(w, p)) for row in [*rows, totals] for w, p in row)
        window_room = min(max((len(p) for p in paths), default=6), 16)
        stacked = len(runs) * (flat + 3) + window_room + 2 > options.max_width
        table = Table(title="token shape by level", title_justify="left", show_edge=False, show_footer=True)
        table.add_column("window", footer="total", overflow="fold")
        for run, total in zip(runs, totals, strict=True):
            table.add_column(str(run.level), justify="right", no_wrap=True, footer=_cell(*total, stacked=stacked))
        for path, row in zip(paths, rows, strict=True):
            table.add_row(Text(path), *(_cell(w, p, stacked=stacked) for w, p in row))
        yield table
        yield Text("")
        joined = "over" if stacked else "/"
        legend = Text(f"cells: window tokens ({default_counter().source}) {joined} prompt tokens the model reported")
        yield Text("\n").join([legend, *self.lines])


def _cell(window: int | None, prompt: int | None, *, stacked: bool = False) -> str:
    if not prompt:
        return "-" if window is None else f"{window:,}"
    between = "\n" if stacked else "/"
    return f"{window or 0:,}{between}{prompt:,}"


def _saving(base: int, other: int) -> str:
    if not base:
        return ""
    change = (other - base) / base
    return f"{change:+.0%} vs baseline"
