"""``jotty memory``: search, show, add, consolidate, stats, forget and export a scope's memory.

Every command takes ``--db`` (the store), ``--scope`` (default ``conductor``: what Conductor runs
remember) and ``--json`` (machine-readable output instead of a table).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich import box
from rich.table import Table

from jotty.cli.console import (
    SqlDbOption,
    checked,
    console,
    escaped,
    existing_store,
    fail,
    json_text,
    one_of,
    print_json,
    run,
    text,
    valid_scope,
    within,
)
from jotty.wording import cut, plural

if TYPE_CHECKING:  # imported when the command runs: `jotty --help` stays quick
    from jotty.memory import Memory, MemoryHit

memory_app = typer.Typer(name="memory", help="What runs remember: search, inspect and tend it.", no_args_is_help=True)

ScopeOption = Annotated[
    str,
    typer.Option(
        "--scope", "-s", help="The memory scope (actor:NAME, team:NAME, conductor, ...).", callback=valid_scope
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
LevelOption = Annotated[
    str | None, typer.Option("--level", "-l", help="working, episodic, semantic, procedural, archive or all.")
]
StoredLevelOption = Annotated[
    str | None, typer.Option("--level", "-l", help="working, episodic, semantic, archive or all.")
]


def _memory(db: str | None, scope: str, timezone: str | None = None) -> Memory:
    from jotty.memory import Memory

    return Memory(db, scope, timezone=timezone)


def _table(title: str, *columns: str) -> Table:
    """A table whose title stays on one line however narrow its columns are."""
    return Table(
        *columns, title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, min_width=min(len(title), 80)
    )


def _stored_level(level: str | None) -> None:
    """``--level`` of forget and export: a stored level or all, else a usage error (procedural memory
    is the router's learning, not stored here: exporting it gave nothing)."""
    from jotty.memory.records import STORED_LEVELS

    one_of(level, (*STORED_LEVELS, "all"), "--level")


def _when(hit: MemoryHit) -> str:
    return f"{hit.created_at:%Y-%m-%d %H:%M}"


@memory_app.command("search")
def search(
    query: Annotated[str, typer.Argument(help="What to recall.")],
    k: Annotated[int, typer.Option("--k", "-k", help="How many memories.")] = 10,
    level: LevelOption = None,
    scope: ScopeOption = "conductor",
    db: SqlDbOption = None,
    as_json: JsonOption = False,
    timezone: Annotated[
        str | None,
        typer.Option(
            "--timezone",
            "--tz",
            help="The zone whose days the query's time words name ('yesterday', 'on 2024-03-01'), "
            "such as Europe/Lisbon (default: this machine's).",
        ),
    ] = None,
) -> None:
    """Recall the memories that best answer QUERY, best first."""
    from jotty.memory import LEVELS
    from jotty.memory.validation import MAX_K, check_timezone

    within(k, 1, MAX_K, "-k")
    one_of(level, (*LEVELS, "all"), "--level")
    checked(check_timezone, timezone, "--timezone")
    existing_store(db)

    async def go() -> list[MemoryHit]:
        async with _memory(db, scope, timezone) as memory:
            return await memory.recall(query, k=k, level=level, counted=False)  # a look, not a use

    hits = run(go())
    if as_json:
        print_json([hit.to_dict() for hit in hits])
        return
    if not hits:
        console.print(text(f"nothing in scope {scope} answers {query!r}"))
        return
    table = _table(f"Memory {scope}: {escaped(cut(query, 60))}", "score", "level", "text", "id")
    table.columns[2].overflow = "fold"
    table.columns[3].overflow = "fold"
    long = False
    for hit in hits:
        long = long or len(hit.text) > SHOWN
        table.add_row(f"{hit.score:.2f}", hit.level, text(cut(hit.text, SHOWN)), text(hit.id))
    console.print(table)
    if long:
        console.print(text(f"(texts over {SHOWN} characters are cut: `jotty memory show ID` shows one whole)"))


SHOWN = 400
"""The characters of a memory's text a search shows: one of 32,000 filled hundreds of lines."""


@memory_app.command("show")
def show(
    memory_id: Annotated[str, typer.Argument(help="The memory's id (mem-...).")],
    scope: ScopeOption = "conductor",
    db: SqlDbOption = None,
    as_json: JsonOption = False,
) -> None:
    """One memory, with every item it holds (its sources)."""
    existing_store(db)

    async def go() -> MemoryHit | None:
        async with _memory(db, scope) as memory:
            return await memory.get(memory_id)

    hit = run(go())
    if hit is None:
        fail(f"no memory {memory_id!r} in scope {scope!r}: find ids with `jotty memory search QUERY --scope {scope}`")
    if as_json:
        print_json(hit.to_dict())
        return
    table = _table(f"Memory {hit.id}", "field", "value")
    table.columns[1].overflow = "fold"
    for name, value in (
        ("scope", scope),
        ("level", hit.level),
        ("created", _when(hit)),
        ("seen", str(hit.seen)),
        ("recalled", str(hit.uses)),
        ("salience", f"{hit.salience:.2f}"),
        ("text", hit.text),
        ("metadata", json.dumps(hit.metadata, ensure_ascii=False)),
    ):
        table.add_row(name, text(value))
    console.print(table)
    sources = _table(f"Sources ({len(hit.sources)})", "at", "text")
    sources.columns[1].overflow = "fold"
    for item in hit.sources:
        sources.add_row(text(str(item.get("at", ""))[:16].replace("T", " ")), text(item.get("text", "")))
    console.print(sources)


@memory_app.command("add")
def add(
    content: Annotated[str, typer.Argument(help="The text to remember.")],
    metadata: Annotated[str | None, typer.Option("--metadata", "-m", help="A JSON object.")] = None,
    importance: Annotated[float | None, typer.Option("--importance", help="0..1")] = None,
    level: Annotated[str, typer.Option("--level", "-l", help="working, episodic or semantic.")] = "episodic",
    scope: ScopeOption = "conductor",
    db: SqlDbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Remember CONTENT; says whether it was stored, reinforced (a near-duplicate) or skipped, and why."""
    from jotty.memory.records import WRITABLE_LEVELS
    from jotty.memory.validation import check_metadata

    within(importance, 0, 1, "--importance", "a number")
    one_of(level, WRITABLE_LEVELS, "--level")
    meta: Any = None
    if metadata is not None:
        try:
            meta = json.loads(metadata)
            why = f"got {cut(metadata, 40)!r}"
        except ValueError as exc:
            why = str(exc)
        if not isinstance(meta, dict):
            example = '{"source": "notes"}'
            raise typer.BadParameter(f"must be a JSON object such as '{example}': {why}", param_hint="--metadata")
        checked(check_metadata, meta, "--metadata")

    async def go() -> Any:
        async with _memory(db, scope) as memory:
            return await memory.remember_detailed(content, meta, importance=importance, level=level)

    outcome = run(go())
    if as_json:
        print_json(outcome.to_dict())
        return
    console.print(text(f"{outcome.action} {outcome.id or ''} in {scope}: {outcome.reason}".replace("  ", " ")))


@memory_app.command("consolidate")
def consolidate(
    max_episodes: Annotated[int, typer.Option("--max-episodes", help="Episodes replayed at most.")] = 5_000,
    scope: ScopeOption = "conductor",
    db: SqlDbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Run the "sleep" pass now: cluster related episodes into semantic memories, fade unused ones."""
    from jotty.memory.memory import MAX_BATCH

    within(max_episodes, 1, MAX_BATCH, "--max-episodes")
    existing_store(db)

    async def go() -> Any:
        async with _memory(db, scope) as memory:
            return await memory.consolidate(max_episodes=max_episodes)

    report = run(go())
    if as_json:
        print_json(report.to_dict())
        return
    if not report.lease:
        console.print(text(f"scope {scope} is being consolidated by another process; nothing done"))
        return
    table = _table(
        f"Consolidated {scope} in {report.seconds:.2f} s", "replayed", "clusters", "absorbed", "faded", "more"
    )
    table.add_row(
        str(report.replayed),
        str(report.clusters),
        str(report.absorbed),
        str(report.faded),
        "yes" if report.more else "no",
    )
    console.print(table)


@memory_app.command("stats")
def stats(scope: ScopeOption = "conductor", db: SqlDbOption = None, as_json: JsonOption = False) -> None:
    """How many memories the scope holds, per level, and its embedder."""
    existing_store(db)

    async def go() -> Any:
        async with _memory(db, scope) as memory:
            return await memory.stats()

    found = run(go())
    if as_json:
        print_json(found.to_dict())
        return
    table = _table(f"Memory {scope}: {plural(found.total, 'memory', 'memories')}", "level", "count")
    for name, count in found.levels.items():
        table.add_row(name, str(count))
    table.add_row("absorbed", str(found.absorbed))
    console.print(table)
    console.print(
        text(
            f"embedder: {found.embedder or 'none (lexical)'}" + (f", {found.dimension} dims" if found.dimension else "")
        )
    )


@memory_app.command("forget")
def forget(
    ctx: typer.Context,
    ids: Annotated[list[str] | None, typer.Argument(help="Memory ids to delete.")] = None,
    level: Annotated[
        str | None,
        typer.Option("--level", "-l", help="Delete this level: working, episodic, semantic, archive or all."),
    ] = None,
    before: Annotated[str | None, typer.Option("--before", help="Delete memories older than this ISO date.")] = None,
    everything: Annotated[bool, typer.Option("--all", help="Empty the scope.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Needed with --all.")] = False,
    scope: ScopeOption = "conductor",
    db: SqlDbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Delete memories by id, level or age (or --all --yes); their provenance entries go too."""
    from jotty.memory.validation import check_time

    _stored_level(level)
    checked(lambda date: check_time(date, "the date"), before, "--before")
    # nothing named, or --all unconfirmed: usage errors (exit 2, with the usage line), as a bad value is
    if (everything or level == "all") and not yes:
        what = "--all" if everything else "--level all"
        ctx.fail(f"{what} deletes every memory of scope {scope!r}: add --yes to confirm")
    if not ids and level is None and before is None and not everything:
        ctx.fail("say what to forget: memory ids, --level, --before DATE, or --all --yes")
    existing_store(db)

    async def go() -> int | list[str]:
        async with _memory(db, scope) as memory:
            unknown = [i for i in ids or [] if await memory.get(i) is None]
            if unknown:  # nothing is forgotten when an id is wrong (or of another scope)
                return unknown
            return await memory.forget(ids or None, level=level, before=before, everything=everything)

    count = run(go())
    if isinstance(count, list):
        fail(
            f"no memory {', '.join(map(repr, count))} in scope {scope!r}, nothing forgotten: find ids with "
            f"`jotty memory search QUERY --scope {scope}`"
        )
    if as_json:
        print_json({"scope": scope, "forgotten": count})
        return
    console.print(text(f"forgot {plural(count, 'memory', 'memories')} in {scope}"))


@memory_app.command("export")
def export(
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")] = None,
    level: StoredLevelOption = "all",
    scope: ScopeOption = "conductor",
    db: SqlDbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Every memory of the scope as JSON lines (one memory with its sources per line), oldest first."""
    from jotty.memory.export import export_memories

    _stored_level(level)
    existing_store(db)

    async def go() -> list[dict[str, Any]]:
        async with _memory(db, scope) as memory:
            return await export_memories(memory, level)

    rows = run(go())
    lines = [json_text(row, indent=None) for row in rows]
    if output is None:
        sys.stdout.write("".join(line + "\n" for line in lines))
        return
    try:
        output.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    except OSError as exc:
        fail(f"cannot write {output}: {exc.strerror}; choose a writable --output path")
    summary = {"scope": scope, "memories": len(rows), "output": str(output)}
    if as_json:
        print_json(summary)
    else:
        console.print(text(f"exported {plural(len(rows), 'memory', 'memories')} of {scope} to {output}"))
