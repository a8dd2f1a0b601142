"""``jotty compare FLOW --levels L1,L3``: the same flow at several context levels, side by side."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from jotty.cli.console import console, friendly_errors, json_text
from jotty.cli.live import clip, report
from jotty.cli.run import JsonOption, flow_input
from jotty.context import default_counter
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
    table = Table(title="token shape by level", title_justify="left", show_edge=False, show_footer=True)
    table.add_column("window", footer="total", overflow="fold")
    for run in runs:
        total = sum(run.window.values())
        prompt = run.result.tokens.prompt
        table.add_column(str(run.level), justify="right", footer=_cell(total, prompt))
    for path in comparison.paths():
        table.add_row(Text(path), *(_cell(r.window.get(path), r.prompt.get(path)) for r in runs))
    base = comparison.baseline
    lines = [Text(f"cells: window tokens ({default_counter().source}) / prompt tokens the model reported")]
    for run in runs:
        line = Text(f"{run.level}: {run.result.status}")
        if run is not base:
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
    return report(table, Text("\n").join(lines))


def _cell(window: int | None, prompt: int | None) -> str:
    if not prompt:
        return "-" if window is None else f"{window:,}"
    return f"{window or 0:,}/{prompt:,}"


def _saving(base: int, other: int) -> str:
    if not base:
        return ""
    change = (other - base) / base
    return f"{change:+.0%} vs baseline"
