"""``jotty learning show``: what the Conductor has learned, actor by actor and category by category."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from jotty.cli.console import Col, SqlDbOption, console, existing_store, fit_table, friendly_errors, print_json, text
from jotty.db import resolve_store

if TYPE_CHECKING:  # imported when the command runs: `jotty --help` stays quick
    from jotty.learning import LearningTable

learning_app = typer.Typer(name="learning", help="What the Conductor has learned.", no_args_is_help=True)


def _number(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _names(*names: str) -> tuple[Col, ...]:
    return tuple(Col(name, shrink=True, min_width=16) for name in names)


ROW_COLUMNS = (
    *_names("actor", "category"),
    Col("runs", "right"),
    Col("ok", "right"),
    Col("rate", "right"),
    Col("p(ok)", "right", drop=2),
    Col("reward", "right"),
    Col("tokens", "right", drop=4),
    Col("secs", "right", drop=3),
    Col("Q start", "right"),
    Col("n", "right", drop=1),
)


def rows_table(table: LearningTable) -> Table:
    """Per actor and category: runs, successes, rates, reward, cost and the learned Q of starting."""
    rows = [
        (
            row.actor,
            row.category,
            str(row.attempts),
            str(row.successes),
            _percent(row.success_rate),
            _number(row.p_success),
            _number(row.mean_reward),
            _number(row.mean_tokens, 0),
            _number(row.mean_seconds),
            _number(row.q_start),
            str(row.visits) if row.q_start is not None else "-",
        )
        for row in table.rows
    ]
    return fit_table(ROW_COLUMNS, rows, title="Actors by category")


def _keywords_table(table: LearningTable, limit: int) -> Table:
    columns = (*_names("actor", "keyword"), Col("runs", "right"), Col("ok", "right"), Col("rate", "right"))
    rows = [
        (row.actor, row.keyword, str(row.attempts), str(row.successes), _percent(row.success_rate))
        for row in table.keywords[:limit]
    ]
    return fit_table(columns, rows, title=f"Keywords (most tried {limit})")


@learning_app.command("show")
def show(
    actor: Annotated[list[str] | None, typer.Option("--actor", "-a", help="Only this actor (repeatable).")] = None,
    keywords: Annotated[int, typer.Option("--keywords", "-k", min=0, help="Keyword rows to show.")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
    db: SqlDbOption = None,
) -> None:
    """Print the learning table: per actor and category, how each has done.

    Runs, success rate, predicted success, mean reward, tokens, seconds, and Q start (the learned value of starting).
    """
    from jotty.learning import learning_table, open_store

    existing_store(db)
    with friendly_errors():
        location = resolve_store(db)
        if location.kind == "sqlite" and not Path(location.target).exists():  # the default store, not made yet
            console.print(text(f"nothing learned yet: there is no store at {location.target}"))
            return
        store = open_store(db)
        try:
            table = learning_table(store, actor or None)
        finally:
            store.close()
    if as_json:
        keyword_rows = [asdict(k) for k in table.keywords[:keywords]]
        print_json({"rows": table.to_dicts(), "keywords": keyword_rows})
        return
    if not table.rows:
        console.print(text(f"nothing learned yet in {location.target}"))
        return
    console.print(rows_table(table))
    if keywords and table.keywords:
        console.print(_keywords_table(table, keywords))
