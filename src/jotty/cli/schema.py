"""``jotty schema``: the JSON Schema of flow definitions, for editors and validators."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from jotty.cli.console import err_console, fail, json_text


def schema(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the schema to this file instead of stdout.")
    ] = None,
) -> None:
    """Print the JSON Schema of flow definitions (YAML or JSON files for `jotty run`)."""
    from jotty.spec import flow_schema  # only here: its models take a third of the start-up

    text = json_text(flow_schema())
    if output is None:
        typer.echo(text)
        return
    try:
        output.write_text(text + "\n", encoding="utf-8")
    except OSError as exc:
        fail(f"cannot write {output}: {exc.strerror or exc}")
    err_console.print(f"wrote {output}", markup=False)
