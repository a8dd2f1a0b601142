"""Discovery by words and by fields, through the memory index (scope "registry"), shared by processes."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from jotty.errors import ValidationError
from jotty.memory import Memory, WordLlamaEmbedder, embedders_onnx
from jotty.memory.text import term_set
from jotty.registry import DataRegistry
from jotty.registry.records import Source
from jotty.registry.registry import WORDS, _content_words, _scored, index_embedder
from tests.runs.backends import Backend
from tests.support.processes import spawn_module


async def test_discover_by_words(registry: DataRegistry, data: Path) -> None:
    await registry.scan(data)
    cases = {
        "daily temperature per city": "data/weather/daily_temperatures.jsonl",
        "sales orders by region": "data/sales_2023.csv",
        "product prices in the shop": "data/shop.db",
        "customer ages": "data/customers.json",
        "churn model notes": "data/churn_notes.md",
    }
    for query, expected in cases.items():
        hits = await registry.discover(query, k=3)
        assert hits and hits[0].source.name == expected, (query, [h.source.name for h in hits])
        assert hits[0].score > 0 and hits[0].why["coverage"] > 0


async def test_discover_by_fields(registry: DataRegistry, data: Path) -> None:
    await registry.scan(data, tags=["raw"])
    await registry.add_file(data / "sales_2023.csv", "curated/sales", tags=["curated", "finance"], owner="ana")
    await registry.add_artifact("reports/q1", {"total": 111.5}, run_id="run-7", step="analyse")
    assert [h.source.name for h in await registry.discover("sales", k=5, tags=["curated"])] == ["curated/sales"]
    assert [h.source.name for h in await registry.discover("sales", owner="ana")] == ["curated/sales"]
    found = await registry.discover("sales region", k=5, format="csv")
    assert {h.source.name for h in found} == {"data/sales_2023.csv", "curated/sales"}
    assert [h.source.name for h in await registry.discover("", k=10, column="temp_c")] == [
        "data/weather/daily_temperatures.jsonl"
    ]
    assert [h.source.name for h in await registry.discover("", run_id="run-7")] == ["reports/q1"]
    assert [h.source.name for h in await registry.discover("", kind="folder")] == ["data"]
    assert await registry.discover("sales", tags=["curated", "raw"]) == []
    with pytest.raises(ValidationError, match=r"unknown filter \['colour'\]: filter on kind, format"):
        await registry.discover("sales", colour="red")
    with pytest.raises(ValidationError, match="kind must be one of"):
        await registry.discover("sales", kind="bucket")
    for bad in (0, 1_001, "3"):
        with pytest.raises(ValidationError, match="k must be a whole number"):
            await registry.discover("sales", k=bad)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="query is not valid Unicode text"):
        await registry.discover(b"sales \xff".decode("utf-8", "surrogateescape"))


async def test_the_index_is_the_memory_scope_and_updates_replace_entries(registry: DataRegistry, data: Path) -> None:
    await registry.add_file(data / "sales_2023.csv", "sales", description="Quarterly revenue ledger")
    await registry.add_file(data / "sales_2023.csv", "sales", description="Warehouse stock levels")
    await registry.add_file(data / "customers.json", "people", description="Warehouse staff roster")
    index = registry.index
    assert index.scope == "registry" and index.dedupe is False
    stats = await index.stats()
    assert stats.total == 2  # the replaced entry went
    entries = await index.recall("quarterly revenue ledger warehouse", k=10)
    assert len(entries) == 2 and not any("revenue" in e.text.lower() for e in entries)
    assert [h.source.name for h in await registry.discover("stock levels", k=1)] == ["sales"]
    both = {h.source.name for h in await registry.discover("warehouse", k=5)}
    assert both == {"sales", "people"}  # two similar descriptions stay two entries
    await registry.remove("sales")
    assert [h.source.name for h in await registry.discover("warehouse stock levels")] == ["people"]
    assert (await index.stats()).total == 1


async def test_the_index_embeds_with_minilm_int8_beside_memorys_default(
    registry: DataRegistry, store: str, data: Path
) -> None:
    """With jotty[memory-minilm] (installed here), the index's default is MiniLM int8 (it matches
    paraphrases: README, Data registry); a memory scope in the same store keeps memory's default."""
    await registry.add_file(data / "sales_2023.csv", "sales", description="Quarterly revenue ledger")
    assert registry.index.embedder_name == "all-MiniLM-L6-v2-int8" == index_embedder().name  # type: ignore[union-attr]
    assert (await registry.index.stats()).embedder == "all-MiniLM-L6-v2-int8"
    async with Memory(store, scope="notes") as notes:
        await notes.remember("the ledger closes on Fridays")
        assert (await notes.stats()).embedder == "wordllama-l2_supercat-256-unit"
    assert [h.source.name for h in await registry.discover("revenue ledger", k=1)] == ["sales"]
    assert [h.source.name for h in await registry.discover("income book", k=1)] == ["sales"]  # no shared word


async def test_an_index_an_earlier_default_wrote_keeps_its_embedder(store: str, data: Path) -> None:
    mean = WordLlamaEmbedder(pooling="mean")  # the index's default before MiniLM int8
    async with DataRegistry(store, embedder=mean) as earlier:
        await earlier.add_file(data / "sales_2023.csv", "sales", description="Quarterly revenue ledger")
    async with DataRegistry(store) as registry:
        assert [h.source.name for h in await registry.discover("revenue ledger", k=1)] == ["sales"]
        assert registry.index.embedder_name == "wordllama-l2_supercat-256"
        await registry.add_file(data / "customers.json", "people", description="Staff roster")
        assert (await registry.index.stats()).embedder == "wordllama-l2_supercat-256"


async def test_an_index_that_cannot_export_minilm_uses_wordllama(
    tmp_path: Path, data: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    monkeypatch.setenv("JOTTY_CACHE", str(blocked / "cache"))  # nothing cached, nowhere to export to
    async with DataRegistry(str(tmp_path / "r.db")) as registry:
        await registry.add_file(data / "sales_2023.csv", "sales", description="Quarterly revenue ledger")
        assert registry.index.embedder_name == "wordllama-l2_supercat-256"
        assert [h.source.name for h in await registry.discover("revenue ledger", k=1)] == ["sales"]
    assert "MiniLM int8 cannot be exported here" in caplog.text and "JOTTY_CACHE" in caplog.text
    explicit = WordLlamaEmbedder(pooling="unit")
    async with DataRegistry(str(tmp_path / "e.db"), embedder=explicit) as given:
        assert given.index.embedder is explicit  # an embedder passed in is used as given


async def test_a_first_registry_exports_minilm_off_the_event_loop(
    tmp_path: Path, data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a machine without the exported model, the constructor exports nothing; the first
    embedding does, on a worker thread, while the event loop goes on running other tasks."""
    monkeypatch.setenv("JOTTY_CACHE", str(tmp_path / "cache"))  # nothing exported yet
    monkeypatch.setattr(embedders_onnx, "_session", None)  # this process's session: loaded anew
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticker = asyncio.create_task(tick())
    try:
        async with DataRegistry(str(tmp_path / "r.db")) as registry:
            assert registry.index.embedder_name == "all-MiniLM-L6-v2-int8"
            assert not embedders_onnx.model_file(export=False).exists()  # not exported by the constructor
            before, started = ticks, time.monotonic()
            await registry.add_file(data / "sales_2023.csv", "sales", description="Quarterly revenue ledger")
            took = time.monotonic() - started
            assert embedders_onnx.model_file(export=False).is_file()  # exported by the first embedding
            assert took > 1.0 and ticks - before > 20, (took, ticks - before)  # the loop ran during the export
            assert [h.source.name for h in await registry.discover("income book", k=1)] == ["sales"]
    finally:
        ticker.cancel()


@pytest.mark.parametrize("where", ["without the extra", "where the model cannot be exported"])
async def test_an_index_minilm_wrote_is_searched_by_its_words_where_minilm_cannot_run(
    where: str, tmp_path: Path, data: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    store = str(tmp_path / "r.db")
    async with DataRegistry(store) as first:  # MiniLM int8, from this machine's cache
        await first.add_file(data / "sales_2023.csv", "sales", description="Quarterly revenue ledger")
        assert first.index.embedder_name == "all-MiniLM-L6-v2-int8"
    # another process: jotty[memory] only, or a cache that holds nothing and cannot be written
    if where == "without the extra":
        monkeypatch.setattr(embedders_onnx, "_installed", lambda module: module != "onnxruntime")
    else:
        blocked = tmp_path / "a-file"
        blocked.write_text("not a folder")
        monkeypatch.setenv("JOTTY_CACHE", str(blocked / "cache"))
    async with DataRegistry(store) as second:
        assert [h.source.name for h in await second.discover("revenue ledger", k=1)] == ["sales"]
        await second.add_file(data / "customers.json", "people", description="Staff roster")  # indexed by words
        assert [h.source.name for h in await second.discover("staff roster", k=1)] == ["people"]
        assert second.index.embedder is None
    assert "it is searched by its words only" in caplog.text
    async with DataRegistry(store) as third:  # where MiniLM runs again, both entries are found
        monkeypatch.undo()
        assert {h.source.name for h in await third.discover("revenue ledger staff roster", k=5)} == {"sales", "people"}


async def test_a_stale_index_entry_is_ignored(registry: DataRegistry, store: str, data: Path) -> None:
    await registry.add_file(data / "sales_2023.csv", "sales", description="Quarterly revenue ledger")
    async with Memory(store, "registry", registry.index.embedder, min_salience=0.0, dedupe=False) as index:
        # what a crash between indexing and storing leaves: an entry no row points at
        await index.remember("orphan revenue ledger for quarterly sales", metadata={"source": "sales"})
        await index.remember("ghost revenue ledger", metadata={"source": "ghost"})
    hits = await registry.discover("quarterly revenue ledger", k=5)
    assert [h.source.name for h in hits] == ["sales"]


async def test_another_process_sees_the_same_registry(backend: Backend, data: Path) -> None:
    async with DataRegistry(backend.store) as registry:
        await registry.scan(data)
    worker = spawn_module("tests.registry.worker", "discover", backend.store, "temperature per city")
    stdout, stderr = worker.communicate(timeout=120)
    assert worker.returncode == 0, stderr
    assert stdout.split()[0] == "data/weather/daily_temperatures.jsonl"


def test_the_indexed_document_holds_the_words_of_the_fields_not_column_types() -> None:
    source = Source(
        "sales/orders_2023.csv",
        "file",
        "csv",
        description="Customer orders.",
        schema=[{"name": "order_id", "type": "integer"}, {"name": "total-amount", "type": "number"}],
        tags=["sales"],
        owner="ana",
    )
    document = source.document()
    assert document.startswith("sales orders 2023 csv. Customer orders. Columns: order id, total amount.")
    assert "Tags: sales." in document and "Owner: ana." in document and "csv file." in document
    assert "integer" not in document and "number" not in document
    tables = Source(
        "shop.db",
        "file",
        "sqlite",
        schema=[{"table": "line_items", "rows": 2, "columns": [{"name": "unit_price", "type": "REAL"}]}],
    )
    assert "Table line items: unit price." in tables.document() and "REAL" not in tables.document()


def test_a_question_is_asked_by_its_content_words() -> None:
    assert _content_words("Which subscribers left, and why?") == "subscribers left"
    assert _content_words("What is it?") == "what is it?"  # nothing but stopwords: asked as it is


async def test_a_wordy_question_finds_what_its_content_words_ask(registry: DataRegistry, data: Path) -> None:
    await registry.scan(data)
    hits = await registry.discover("What was the temperature in each of the cities, day by day?", k=3)
    assert hits[0].source.name == "data/weather/daily_temperatures.jsonl", [h.source.name for h in hits]
    assert len(await registry.discover("what is it?", k=3)) == 3


def test_words_count_only_as_whole_words_of_the_fields() -> None:
    asked = term_set(_content_words("air in the us"))
    chance = Source("repairs.csv", "file", "csv", description="Repair status of the chairs.")
    meant = Source("sensors/air_us.csv", "file", "csv", description="Quality readings.", tags=["us"])
    by_chance, by_meaning = _scored(chance, 0.5, {}, asked), _scored(meant, 0.5, {}, asked)
    assert by_chance.why["words"] == 0.0 and by_chance.score == 0.5  # "air" in "repair", "us" in "status"
    assert by_meaning.why["words"] == 1.0 and by_meaning.score == pytest.approx(0.5 + WORDS)
    columns = Source("t.csv", "file", "csv", schema=[{"name": "unit_price", "type": "number"}])
    assert _scored(columns, 0.0, {}, term_set("price of units")).why["words"] == 1.0  # column words, stemmed


async def test_the_word_share_follows_a_re_registered_source(registry: DataRegistry, data: Path) -> None:
    await registry.add_file(data / "sales_2023.csv", "ledger", description="Quarterly revenue ledger")
    first = await registry.discover("quarterly revenue amount", k=1)
    assert first[0].source.name == "ledger" and first[0].why["words"] == 1.0
    await registry.add_file(data / "sales_2023.csv", "ledger", description="Warehouse stock levels")
    again = await registry.discover("quarterly revenue amount", k=1)
    assert again[0].source.description == "Warehouse stock levels"
    assert again[0].why["words"] == pytest.approx(1 / 3, abs=1e-4)  # only the column "amount" is left
