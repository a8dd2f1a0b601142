"""What every ``jotty`` command shares: the rich consoles, one-line errors, the ``--db`` option."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine, Iterator
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.text import Text

from jotty.errors import JottyError

T = TypeVar("T")

console = Console(highlight=False)
"""Normal output (stdout)."""
err_console = Console(stderr=True, highlight=False, soft_wrap=True)
"""Errors and progress notes (stderr)."""

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        metavar="PATH|URL",
        help="The store: an SQLite file, postgresql://... or redis://... "
        "[default: $JOTTY_DATABASE_URL, else $JOTTY_HOME/jotty.db]",
        show_default=False,
    ),
]


def fail(message: str, code: int = 1) -> NoReturn:
    """Print ``error: message`` on stderr (one line, no traceback) and exit with ``code``."""
    err_console.print(Text.assemble(("error: ", "bold red"), message))
    raise typer.Exit(code)


@contextlib.contextmanager
def friendly_errors() -> Iterator[None]:
    """Turn a ``JottyError`` into a one-line message and exit status 1."""
    try:
        yield
    except JottyError as exc:
        fail(str(exc))


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a command's coroutine, reporting ``JottyError`` as a one-line error."""
    with friendly_errors():
        return asyncio.run(coro)


def text(value: Any) -> Text:
    """User data as a table cell: never read as rich markup."""
    return Text("" if value is None else str(value))


STATUS_STYLES = {
    "pending": "yellow",
    "in_progress": "cyan",
    "completed": "green",
    "failed": "red",
    "blocked": "magenta",
    "cancelled": "dim",
    "backlog": "blue",
    "suggested": "blue",
}


def status_text(status: Any) -> Text:
    """A task status, coloured."""
    return Text(str(status), style=STATUS_STYLES.get(str(status), ""))
