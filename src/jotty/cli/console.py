"""What every ``jotty`` command shares: the rich consoles, one-line errors, the ``--db`` option, and
tables and live views that read well at 80 columns and through a pipe (no colour codes there)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
from collections.abc import Callable, Coroutine, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, NoReturn, TypeVar

import typer
from rich import box
from rich.cells import cell_len
from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

from jotty.db.location import resolve_store
from jotty.errors import JottyError, ValidationError

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


SqlDbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        metavar="PATH|URL",
        help="The store: an SQLite file or postgresql://... (not redis://, which holds only the queue) "
        "[default: $JOTTY_DATABASE_URL, else $JOTTY_HOME/jotty.db]",
        show_default=False,
    ),
]
"""``--db`` of the commands whose data lives only in SQLite or PostgreSQL (memory, data, learning)."""


def fail(message: str, code: int = 1) -> NoReturn:
    """Print ``error: message`` on stderr (one line, no traceback) and exit with ``code``."""
    err_console.print(Text.assemble(("error: ", "bold red"), message))
    raise typer.Exit(code)


def one_of(value: str | None, accepted: Sequence[str], option: str) -> None:
    """A usage error (exit 2) naming what ``option`` accepts, unless ``value`` is one of them (or None)."""
    if value is not None and value not in accepted:
        raise typer.BadParameter(f"{value!r} is not one of {', '.join(accepted)}", param_hint=option)


def within(value: float | None, low: float, high: float, option: str, what: str = "a whole number") -> None:
    """A usage error (exit 2, as typer's ``min``/``max`` give) unless ``low <= value <= high`` (or
    None): for bounds that live in modules imported only when the command runs, and for floats
    (typer's range lets ``nan`` through)."""
    if value is not None and not low <= value <= high:
        shown = [f"{n:g}" if isinstance(n, float) else str(n) for n in (low, high, value)]
        raise typer.BadParameter(f"give {what} from {shown[0]} to {shown[1]}, got {shown[2]}", param_hint=option)


def checked(check: Callable[[Any], object], value: object, option: str) -> None:
    """A usage error (exit 2) of ``option`` when the library's ``check`` refuses ``value`` (None is
    not checked), with the library's message, which names the fix: the checks stay in one place."""
    if value is None:
        return
    try:
        check(value)
    except ValidationError as exc:
        raise typer.BadParameter(str(exc), param_hint=option) from None


def valid_scope(scope: str | None) -> str | None:
    """The callback of every ``--scope`` (memory and data): a name no scope can have is a usage error."""
    from jotty.memory.validation import check_scope

    checked(check_scope, scope, "--scope")
    return scope


@contextlib.contextmanager
def friendly_errors() -> Iterator[None]:
    """Turn a ``JottyError`` into a one-line message and exit status 1."""
    try:
        yield
    except JottyError as exc:
        fail(str(exc))


def existing_store(db: str | None, option: str = "--db") -> None:
    """Stop a command that only reads (or changes what is already there) when the SQLite store it was
    given, by ``option`` or ``$JOTTY_DATABASE_URL``, does not exist: a mistyped path, which opening
    would create. The default ``$JOTTY_HOME/jotty.db`` is opened as before (created when missing)."""
    given = db if db is not None else os.environ.get("JOTTY_DATABASE_URL")
    if not given:
        return
    with friendly_errors():
        location = resolve_store(given)
    if location.kind == "sqlite" and not Path(location.target).exists():
        where = option if db is not None else "$JOTTY_DATABASE_URL"
        fail(f"no store at {location.target}: check {where} (a store is created by the first command that writes)")


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a command's coroutine, reporting ``JottyError`` as a one-line error."""
    with friendly_errors():
        return asyncio.run(coro)


_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def text(value: Any) -> Text:
    """User data as a table cell: never read as rich markup, and its control characters shown as
    escapes (``\\x1b``), so that text someone said cannot clear or restyle the terminal."""
    return Text(escaped(value))


def escaped(value: Any) -> str:
    """``value`` as a string (None: empty) with its control characters but tab and newline as escapes."""
    shown = "" if value is None else str(value)
    return _CONTROL.sub(lambda c: f"\\x{ord(c.group()):02x}", shown)


_JSON_CONTROL = re.compile("[\x7f-\x9f]")
"""What ``json.dumps`` leaves raw that a terminal obeys (it escapes C0 itself): DEL and C1."""


def json_text(value: Any, *, indent: int | None = 2, default: Callable[[Any], Any] | None = None) -> str:
    """``value`` as JSON, for every JSON output of the CLI: non-ASCII text as it is, but control
    characters as ``\\uXXXX`` escapes, so that text someone said cannot drive the terminal;
    ``json.loads`` reads back the same data."""
    dumped = json.dumps(value, indent=indent, ensure_ascii=False, default=default)
    # outside a string JSON has only ASCII punctuation and spaces: every DEL or C1 is inside one
    return _JSON_CONTROL.sub(lambda c: f"\\u{ord(c.group()):04x}", dumped)


def print_json(value: Any, default: Callable[[Any], Any] | None = None) -> None:
    """Print ``json_text(value)`` on stdout."""
    console.out(json_text(value, default=default), highlight=False)


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


# ---------------------------------------------------------------- tables that fit the terminal


@dataclass(frozen=True)
class Col:
    """A column of ``fit_table``: its header and how it may give way when the table is too wide.

    ``shrink``: its cells may be shortened with an ellipsis, down to ``min_width``. ``drop``: 0 for a
    column always shown; otherwise columns with the highest ``drop`` are left out first (and named
    under the table). ``hide_empty``: left out when no row has a value in it. ``keep_end``: shorten
    from the start instead (``…branch-3/cloc``: the end of a path says the most).
    """

    header: str
    justify: Literal["left", "right"] = "left"
    shrink: bool = False
    min_width: int = 10
    drop: int = 0
    hide_empty: bool = False
    keep_end: bool = False


Cell = str | Text


def fit_table(
    columns: Sequence[Col],
    rows: Iterable[Sequence[Cell]],
    *,
    title: str | None = None,
    width: int | None = None,
    boxed: bool = False,
) -> Table:
    """A table that reads well at ``width`` (default: the console's, 80 in a pipe without COLUMNS).

    Cells never wrap one character per line: shrinkable columns are shortened with an ellipsis
    first, then the least important columns are left out, and a note under the table says which.
    Strings are shown as they are (never read as markup).
    """
    data = [[cell if isinstance(cell, Text) else Text(str(cell)) for cell in row] for row in rows]
    limit = width or console.width
    keep = [i for i, col in enumerate(columns) if not (col.hide_empty and not any(row[i].plain for row in data))]
    natural = {i: max([cell_len(columns[i].header), *(row[i].cell_len for row in data)]) for i in keep}
    widths = dict(natural)
    dropped: list[str] = []

    def overhead() -> int:
        return _overhead(len(widths))

    def shrink_to_fit() -> None:
        while sum(widths.values()) + overhead() > limit:
            shrinkable = [
                i
                for i in widths
                if columns[i].shrink and widths[i] > max(columns[i].min_width, cell_len(columns[i].header))
            ]
            if not shrinkable:
                return
            widest = max(shrinkable, key=lambda i: widths[i])
            widths[widest] -= 1

    shrink_to_fit()
    while sum(widths.values()) + overhead() > limit:
        optional = [i for i in widths if columns[i].drop]
        if not optional:
            break
        victim = max(optional, key=lambda i: (columns[i].drop, i))
        del widths[victim]
        dropped.append(columns[victim].header)
        widths = {i: natural[i] for i in widths}  # give the room back, then shrink again
        shrink_to_fit()
    style: dict[str, Any] = {"show_edge": False} if boxed else {"box": box.SIMPLE_HEAD, "show_edge": False}
    table = Table(title=title, title_justify="left", **style)
    shown = sorted(widths)
    for i in shown:
        col = columns[i]
        fixed = widths[i] if widths[i] < natural[i] else None
        table.add_column(col.header, justify=col.justify, no_wrap=True, overflow="ellipsis", width=fixed)
    for row in data:
        table.add_row(*(_cut_start(row[i], widths[i]) if columns[i].keep_end else row[i] for i in shown))
    if dropped:
        table.caption = f"(left out at {limit} columns: {', '.join(reversed(dropped))})"
        table.caption_justify = "left"
    return table


def _cut_start(cell: Text, width: int) -> Text:
    """``cell`` shortened from the start to ``width`` cells (``…`` then its end)."""
    if cell.cell_len <= width:
        return cell
    tail = cell.plain
    while tail and cell_len(tail) > width - 1:
        tail = tail[1:]
    return Text("…" + tail, style=cell.style)


def _overhead(count: int) -> int:
    """Characters a table of ``count`` columns adds to their widths (padding and rules)."""
    if count == 0:
        return 0
    return 3 * (count - 1) + 2


@contextlib.contextmanager
def live(renderable: Any, target: Console | None = None, refresh_per_second: float = 10) -> Iterator[Live]:
    """Show ``renderable`` live while the block runs. Through a pipe rich prints only the last frame,
    without ending its line: the newline is added here, so what follows starts on a line of its own."""
    shown = target or console
    with Live(renderable, console=shown, refresh_per_second=refresh_per_second) as view:
        yield view
    if not shown.is_terminal:
        shown.line()
