"""Bad input: a ValidationError naming the fix, and nothing written."""

from __future__ import annotations

from typing import Any

import pytest

from jotty.errors import SchemaVersionError, ValidationError
from jotty.memory import MAX_TEXT, Memory
from tests.runs.backends import Backend


@pytest.mark.parametrize(
    ("text", "fix"),
    [
        ("", "empty"),
        ("   ", "empty"),
        (b"bytes", "decode it first"),
        (42, "must be a str"),
        (None, "must be a str"),
        ("x" * (MAX_TEXT + 1), "split it into smaller memories"),
        ("a\x00b", "NUL character"),
        (b"caf\xe9".decode("utf-8", "surrogateescape"), r"not valid Unicode text .* decode the source"),
    ],
)
async def test_bad_text(memory: Memory, text: Any, fix: str) -> None:
    with pytest.raises(ValidationError, match=fix):
        await memory.remember(text)
    with pytest.raises(ValidationError, match=fix):
        await memory.remember_many(["fine", text])  # one bad item: the whole batch is refused
    assert (await memory.stats()).total == 0


@pytest.mark.parametrize(
    ("call", "fix"),
    [
        (lambda m: m.remember("a", metadata=[1]), "must be a dict"),
        (lambda m: m.remember("a", metadata={"x": object()}), "JSON-serialisable"),
        (lambda m: m.remember("a", at="yesterday"), "ISO 8601"),
        (lambda m: m.remember("a", importance=2), "from 0 to 1"),
        (lambda m: m.remember("a", level="procedural"), "working, episodic or semantic"),
        (lambda m: m.remember_many("a"), "list of items"),
        (lambda m: m.remember_many([{"txt": "a"}]), "unknown keys"),
        (lambda m: m.recall("q", k=0), "k must be a whole number"),
        (lambda m: m.recall("q", k="3"), "k must be a whole number"),
        (lambda m: m.recall("q", level="dreams"), "unknown level 'dreams'"),
        (lambda m: m.recall(""), "query is empty: give it some text"),
        (lambda m: m.recall("caf\udce9"), "query is not valid Unicode"),
        (lambda m: m.forget(), "everything=True"),
        (lambda m: m.forget(3), "memory id"),
        (lambda m: m.get(None), "memory id"),
        (lambda m: m.consolidate(max_episodes=0), "max_episodes"),
    ],
)
async def test_bad_arguments(memory: Memory, call: Any, fix: str) -> None:
    await memory.remember("the one memory")
    with pytest.raises(ValidationError, match=fix):
        await call(memory)
    stats = await memory.stats()
    assert stats.total == 1


@pytest.mark.parametrize("scope", ["", "has space", "-dash-first", "x" * 129, None, "a;drop"])
def test_bad_scope(scope: Any) -> None:
    with pytest.raises(ValidationError, match="scope"):
        Memory("unused.db", scope=scope)


def test_bad_embedder_and_store() -> None:
    with pytest.raises(ValidationError, match="embed"):
        Memory("unused.db", embedder="wordllama")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="SQLite path or a postgresql"):
        Memory("redis://127.0.0.1:6379/0")


async def test_newer_store_is_refused_untouched(backend: Backend) -> None:
    async with Memory(backend.store, scope="s") as memory:
        await memory.remember("kept safe")
    backend.rows("INSERT INTO jotty_schema_migrations (version, name) VALUES (9999, 'future')")
    before = backend.rows("SELECT id, text FROM jotty_memory")
    from jotty.memory.database import open_database

    with pytest.raises(SchemaVersionError, match="newer"):
        open_database(backend.store)
    assert backend.rows("SELECT id, text FROM jotty_memory") == before
