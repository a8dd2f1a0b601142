"""``jotty data scan|add|search|show``: the data registry from the command line."""

from __future__ import annotations

import json
from functools import partial
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich import box
from rich.table import Table

from jotty.cli.console import (
    Col,
    SqlDbOption,
    checked,
    console,
    err_console,
    existing_store,
    fail,
    fit_table,
    one_of,
    print_json,
    run,
    text,
    valid_scope,
)
from jotty.wording import plural

if TYPE_CHECKING:  # imported when the command runs: `jotty --help` stays quick
    from jotty.registry import DataRegistry, Source

data_app = typer.Typer(name="data", help="Register, find and read data sources.", no_args_is_help=True)


def _tags(tags: list[str] | None) -> list[str] | None:
    """``--tag``'s callback: a tag no source can have is a usage error."""
    from jotty.registry.validation import check_tags

    checked(check_tags, tags, "--tag")
    return tags


def _filter(key: str, value: object) -> None:
    """The registry's check of ``discover``'s filter ``key``."""
    from jotty.registry.validation import check_filters

    check_filters({key: value})


def _given(name: str | None, owner: str, description: str | None = None) -> None:
    """What scan and add are given to register: a usage error (exit 2) when the registry would refuse it."""
    from jotty.registry.validation import check_name, check_owner, check_text

    checked(check_name, name, "--name")
    checked(check_owner, owner, "--owner")
    checked(lambda value: check_text(value, "description"), description, "--description")


TagOption = Annotated[list[str] | None, typer.Option("--tag", "-t", help="A tag (repeatable).", callback=_tags)]
OwnerOption = Annotated[str, typer.Option("--owner", help="Who owns the data.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]
ScopeOption = Annotated[
    str | None,
    typer.Option(
        "--scope",
        "-s",
        help="The registry: a memory scope, each its own sources [default: registry].",
        callback=valid_scope,
    ),
]
LlmOption = Annotated[
    bool, typer.Option("--llm", help="Describe files with the LLM of JOTTY_LLM_MODEL / JOTTY_LLM_BASE_URL.")
]


def _registry(db: str | None, scope: str | None, llm: bool = False) -> DataRegistry:
    from jotty.registry import SCOPE, DataRegistry

    describer = None
    if llm:
        from jotty.agents import LLMAgent

        describer = LLMAgent(max_retries=1)
    from jotty.memory import embedders_onnx

    if embedders_onnx.needs_export():  # said on stderr: a first run is otherwise silent for seconds
        err_console.print(text("preparing the search model (MiniLM int8), once on this machine..."))
    return DataRegistry(db, describer=describer, scope=scope or SCOPE)


def _table(title: str, *columns: str) -> Table:
    """A table whose title stays on one line however narrow its columns are."""
    out = Table(
        title=title,
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
        min_width=min(len(title), console.width),
    )
    for column in columns:
        wide = column in ("name", "description")
        out.add_column(column, overflow="fold", min_width=8 if wide else None, ratio=2 if wide else None)
    return out


def _size(size: int | None) -> str:
    if size is None:
        return "-"
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024  # type: ignore[assignment]
    return "-"


def _rows(source: Source) -> str:
    rows = source.stats.get("rows")
    if rows is None and source.format == "sqlite":
        rows = sum(int(t.get("rows", 0)) for t in source.schema)
    return "-" if rows is None else f"{rows:,}"


SOURCE_COLUMNS = (
    Col("name"),  # a name is what `jotty data show` takes: never cut
    Col("kind", drop=3),
    Col("format", drop=4),
    Col("rows", "right", drop=2),
    Col("cols", "right", drop=5),
    Col("size", "right", drop=1),
)
HIT_COLUMNS = (Col("name"), Col("score", "right"), Col("description", shrink=True, min_width=16, drop=1))


def _sources_table(title: str, sources: list[Source]) -> Table:
    rows = [
        (source.name, source.kind, source.format, _rows(source), str(len(source.columns)), _size(source.size))
        for source in sources
    ]
    return fit_table(SOURCE_COLUMNS, rows, title=title)


@data_app.command("scan")
def scan(
    folder: Annotated[str, typer.Argument(help="The folder to scan (recursively).")],
    name: Annotated[str | None, typer.Option("--name", help="The folder's source name [default: its name].")] = None,
    tag: TagOption = None,
    owner: OwnerOption = "",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Inspect only; register nothing.")] = False,
    strict: Annotated[bool, typer.Option("--strict", help="Register nothing if any file has a problem.")] = False,
    llm: LlmOption = False,
    as_json: JsonOption = False,
    scope: ScopeOption = None,
    db: SqlDbOption = None,
) -> None:
    """Inspect and register every file in FOLDER.

    Each file gets its type, schema, size, statistics and a description, and is registered as
    NAME/relative/path; the folder is registered as NAME. A rescan unregisters the files of an
    earlier scan that are gone from the folder."""
    _given(name, owner)

    async def go() -> Any:
        async with _registry(db, scope, llm) as registry:
            return await registry.scan(folder, name=name, register=not dry_run, tags=tag, owner=owner, strict=strict)

    report = run(go())
    if as_json:
        print_json(report.to_dict(), default=str)
        return
    verb = "registered" if report.registered else "found (dry run, nothing registered)"
    console.print(_sources_table(f"{plural(len(report.sources), 'source')} {verb}", report.sources))
    if report.removed:
        said = "removed" if report.registered else "would remove"
        gone = plural(len(report.removed), "source whose file is", "sources whose files are")
        console.print(text(f"{said} {gone} gone from the folder:"))
        for gone in report.removed:
            console.print(text(f"  {gone}"))
    for problem in report.problems:
        err_console.print(text(f"{problem.path}: {problem.error}"))
    for kept in report.kept:
        err_console.print(text(f"{kept}: kept as registered (still there, not inspected this time)"))


@data_app.command("add")
def add(
    target: Annotated[
        str, typer.Argument(help="A file, a folder, or (with --table) an SQLite file or postgresql:// URL.")
    ],
    name: Annotated[str | None, typer.Option("--name", help="The source name [default: the file name].")] = None,
    table: Annotated[str | None, typer.Option("--table", help="Register this table of TARGET.")] = None,
    description: Annotated[str | None, typer.Option("--description", "-d", help="What the data is.")] = None,
    tag: TagOption = None,
    owner: OwnerOption = "",
    llm: LlmOption = False,
    as_json: JsonOption = False,
    scope: ScopeOption = None,
    db: SqlDbOption = None,
) -> None:
    """Register one data source."""
    _given(name, owner, description)

    async def go() -> Source:
        async with _registry(db, scope, llm) as registry:
            options: dict[str, Any] = {"description": description, "tags": tag, "owner": owner}
            if table is not None:
                options["table"] = table
            return await registry.add(target, name, **options)

    source = run(go())
    if as_json:
        print_json(source.to_dict(), default=str)
        return
    console.print(text(f"registered {source.name} ({source.kind}, {source.format})"))
    console.print(text(source.description))


@data_app.command("remove")
def remove(
    name: Annotated[str, typer.Argument(help="A registered source name.")],
    as_json: JsonOption = False,
    scope: ScopeOption = None,
    db: SqlDbOption = None,
) -> None:
    """Unregister NAME (its file, folder or table is not touched)."""
    existing_store(db)

    async def go() -> bool:
        async with _registry(db, scope) as registry:
            return await registry.remove(name)

    if not run(go()):
        fail(f"no data source is registered as {name!r}: list them with `jotty data search`")
    if as_json:
        print_json({"removed": name})
        return
    console.print(text(f"removed {name} (its data is untouched)"))


@data_app.command("search")
def search(
    query: Annotated[str, typer.Argument(help="What the data is about, in words (empty: list).")] = "",
    k: Annotated[int, typer.Option("-k", min=1, max=1000, help="How many sources.")] = 5,
    kind: Annotated[
        str | None, typer.Option("--kind", help="file, folder, sqlite_table, postgres_table, run_output.")
    ] = None,
    fmt: Annotated[str | None, typer.Option("--format", help="csv, json, jsonl, sqlite, text, ...")] = None,
    tag: TagOption = None,
    owner: Annotated[str | None, typer.Option("--owner", help="Only this owner's sources.")] = None,
    column: Annotated[str | None, typer.Option("--column", help="Only sources with this column.")] = None,
    run_id: Annotated[str | None, typer.Option("--run", help="Only artifacts of this run.")] = None,
    as_json: JsonOption = False,
    scope: ScopeOption = None,
    db: SqlDbOption = None,
) -> None:
    """Find registered data sources by words and fields."""
    from jotty.registry.records import FORMATS, KINDS

    one_of(kind, KINDS, "--kind")
    one_of(fmt, FORMATS, "--format")
    for option, key, value in (
        ("--owner", "owner", owner),
        ("--column", "column", column),
        ("--run", "run_id", run_id),
    ):
        checked(partial(_filter, key), value, option)  # an empty one, as the registry refuses it
    existing_store(db)

    async def go() -> Any:
        async with _registry(db, scope) as registry:
            return await registry.discover(
                query, k, kind=kind, format=fmt, tags=tag, owner=owner, column=column, run_id=run_id
            )

    hits = run(go())
    if as_json:
        print_json([h.to_dict() for h in hits], default=str)
        return
    if not hits:
        console.print(text("no data source matches"))
        return
    rows = [(hit.source.name, f"{hit.score:.2f}", " ".join(hit.source.description.split())) for hit in hits]
    console.print(fit_table(HIT_COLUMNS, rows, title=plural(len(hits), "source")))


@data_app.command("show")
def show(
    name: Annotated[str, typer.Argument(help="A registered source name.")],
    rows: Annotated[int, typer.Option("--rows", "-n", min=0, max=1000, help="Rows to show (0: none).")] = 5,
    path: Annotated[str | None, typer.Option("--path", help="For a folder: a file inside it.")] = None,
    table: Annotated[str | None, typer.Option("--table", help="For an SQLite file: a registered table.")] = None,
    as_json: JsonOption = False,
    scope: ScopeOption = None,
    db: SqlDbOption = None,
) -> None:
    """Print what is registered about NAME, and its first rows.

    That is its description, schema, statistics and provenance (the run and step that made it)."""
    existing_store(db)

    async def go() -> tuple[Any, Any, str | None]:
        from jotty.errors import JottyError

        async with _registry(db, scope) as registry:
            source = await registry.get(name)
            readable = source.format != "binary" or path is not None  # a binary file has no rows or text
            wants = (
                rows > 0
                and readable
                and (source.format != "sqlite" or source.kind == "sqlite_table" or table is not None)
            )
            try:
                data = await registry.read(name, rows, path=path, table=table) if wants else None
            except JottyError as exc:  # a file gone or now malformed: what is registered is still shown
                if path is not None or table is not None:  # a wrong --path or --table: only the error
                    raise
                return source, None, str(exc)
            return source, data, None

    source, data, problem = run(go())
    if as_json:
        out = source.to_dict()
        out["read"] = data.to_dict() if data is not None else None
        if problem is not None:
            out["read_error"] = problem
        print_json(out, default=str)
        if problem is not None:
            raise typer.Exit(1)
        return
    facts = _table(source.name, "field", "value")
    for label, value in (
        ("kind", f"{source.kind} ({source.format})"),
        ("location", source.shown_location + (f" table {source.table}" if source.table else "")),
        ("description", f"{source.description} [{source.described_by}]"),
        ("tags", ", ".join(source.tags)),
        ("owner", source.owner),
        ("size", _size(source.size)),
        ("rows", _rows(source)),
        ("made by", f"run {source.run_id}, step {source.step}" if source.run_id or source.step else ""),
    ):
        if value:
            facts.add_row(label, text(value))
    console.print(facts)
    schema = _table("schema", "table", "column", "type")
    for entry in source.schema:
        for column in entry.get("columns", [entry]):
            schema.add_row(text(entry.get("table", "")), text(column.get("name")), text(column.get("type")))
    if source.schema:
        console.print(schema)
    if data is not None:
        if data.text is not None:
            console.print(text(data.text[:2_000]))
        elif data.rows:
            objects = all(isinstance(row, dict) for row in data.rows)  # else one column: each row as JSON
            columns = (data.columns or list(dict.fromkeys(k for r in data.rows for k in r))) if objects else ["value"]
            title = f"first {plural(len(data.rows), 'row')}" + (" (more not shown)" if data.truncated else "")
            cells = [[row.get(c) for c in columns] if objects else [row] for row in data.rows]
            shown = [[text(json.dumps(c, default=str) if isinstance(c, dict | list) else c) for c in r] for r in cells]
            # cut long values, then leave out the last columns (named under the table): never one character a line
            fitted = [Col(str(c), shrink=True, min_width=8, drop=i) for i, c in enumerate(columns)]
            sample = fit_table(fitted, shown, title=title)
            sample.min_width = min(len(title), console.width)
            left_out = len(columns) - len(sample.columns)
            if left_out > 3:  # a wide table: its names would fill the screen
                sample.caption = f"(left out at {console.width} columns: {left_out} more; --json has every column)"
            console.print(sample)
    if problem is not None:
        fail(problem)
