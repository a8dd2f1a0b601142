"""Embedders: the bundled offline model (no network at run time), an OpenAI-compatible endpoint
(the shared test server), lexical-only memory when the extra is missing, and a changed embedder."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from jotty.errors import ValidationError
from jotty.memory import Memory, OpenAIEmbedder, WordLlamaEmbedder, embedders
from tests.runs.backends import Backend
from tests.support.openai_server import EMBEDDING_DIMENSION, OpenAIServer

ROOT = Path(__file__).resolve().parents[2]


def test_wordllama_loads_offline_and_leaves_logging_alone() -> None:
    script = textwrap.dedent(
        """
        import socket
        def refuse(*args, **kwargs):
            raise OSError("network used at run time")
        socket.socket.connect = refuse
        socket.getaddrinfo = refuse
        from jotty.memory import WordLlamaEmbedder
        vectors = WordLlamaEmbedder().embed(["Caroline moved to Boston", "where does Caroline live?"])
        import logging
        assert logging.getLogger().handlers == [], "importing the embedder configured logging"
        print(vectors.shape, round(float(vectors[0] @ vectors[1]), 2))
        """
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    shape, cosine = done.stdout.rsplit(" ", 1)
    assert shape == "(2, 256)" and float(cosine) > 0.3


def test_wordllama_dimensions() -> None:
    assert WordLlamaEmbedder(64).embed(["a cat"]).shape == (1, 64)
    with pytest.raises(ValidationError, match="64, 128 or 256"):
        WordLlamaEmbedder(100)


@pytest.mark.parametrize(("dimension", "pooling"), [(64, "mean"), (256, "mean"), (64, "unit"), (256, "unit")])
def test_a_few_texts_embed_as_a_batch_does(dimension: int, pooling: str) -> None:
    import numpy as np

    texts = [
        "Caroline moved to Boston in May",
        "where does Caroline live now?",
        "Acme-123 in Lisbon -> done: 12 items, late",
        "!!!",
        "naïve café déjà vu, 東京 2024-03-01",
        "word " * 400,
    ]
    embedder = WordLlamaEmbedder(dimension, pooling=pooling)
    assert len(texts) <= embedders.FEW_TEXTS
    few = embedder.embed(texts)  # one text at a time
    batch = embedder.embed(texts * 2)[: len(texts)]  # past FEW_TEXTS: padded batches
    assert few.shape == (len(texts), dimension) and few.dtype == np.float32
    assert np.allclose(few, batch, atol=1e-5)
    assert np.allclose(np.linalg.norm(few, axis=1), 1.0, atol=1e-5)


def test_mean_pooling_is_wordllamas_own_embedding() -> None:
    import numpy as np

    texts = [f"order {i}: Caroline moved to Boston, then to Bergen in {2000 + i}" for i in range(150)] + ["!!!"]
    embedder = WordLlamaEmbedder()
    assert embedder.name == "wordllama-l2_supercat-256"
    own = embedder._model().embed(texts, norm=True)  # what the former default stored
    assert np.allclose(embedder.embed(texts), own, atol=1e-6)


def test_unit_pooling_folds_case_and_weighs_tokens_alike() -> None:
    import numpy as np

    unit, mean = WordLlamaEmbedder(pooling="unit"), WordLlamaEmbedder()
    assert unit.name == "wordllama-l2_supercat-256-unit" and embedders.default_embedder() is not None
    assert embedders.default_embedder().name == unit.name  # type: ignore[union-attr]
    upper, lower = unit.embed(["Where does Caroline LIVE", "where does caroline live"])
    assert np.allclose(upper, lower, atol=1e-6)
    upper, lower = mean.embed(["Where does Caroline LIVE", "where does caroline live"])
    assert float(upper @ lower) < 0.99  # the model's own pooling keeps case
    # "the" has a short vector in the table: the mean all but ignores it, the unit pooling does not.
    cat, the_cat = unit.embed(["cat", "the the the cat"])
    mean_cat, mean_the_cat = mean.embed(["cat", "the the the cat"])
    assert float(cat @ the_cat) < float(mean_cat @ mean_the_cat) - 0.1
    with pytest.raises(ValidationError, match="pooling must be one of mean, unit"):
        WordLlamaEmbedder(pooling="max")


def test_the_embedder_of_a_name() -> None:
    for dimension in (64, 128, 256):
        for pooling in embedders.POOLINGS:
            embedder = WordLlamaEmbedder(dimension, pooling=pooling)
            found = embedders.wordllama_for(embedder.name)
            assert found is not None and (found.dimension, found.pooling) == (dimension, pooling)
    assert embedders.wordllama_for("openai-text-embedding-3-small") is None
    assert embedders.wordllama_for(None) is None


async def test_a_scope_written_by_the_former_default_keeps_its_embedder(tmp_path: Path) -> None:
    """A real SQLite file written by the former default (the model's own mean pooling) opened with
    today's default: recall, remember and consolidate use the scope's embedder; a new scope, and a
    new child scope, take the new one; an embedder given explicitly is never swapped."""
    path = tmp_path / "old.db"
    async with Memory(path, scope="old", embedder=WordLlamaEmbedder()) as before:
        kept = await before.remember("Caroline got the keys to a flat in Bergen")
        await before.remember("the standup moved to ten on Mondays")
    async with Memory(path, scope="old") as memory:
        hits = await memory.recall("Caroline flat in Bergen")
        assert memory.embedder_name == "wordllama-l2_supercat-256"
        assert hits[0].id == kept and hits[0].why["vector"] > 0
        await memory.remember("Caroline adopted a grey cat called Pixel")
        assert (await memory.stats()).embedder == "wordllama-l2_supercat-256"
        fresh = memory.scoped("new")
        await fresh.remember("the release train leaves on Thursdays")
        assert fresh.embedder_name == "wordllama-l2_supercat-256-unit"
        assert (await fresh.stats()).embedder == "wordllama-l2_supercat-256-unit"
        assert (await memory.consolidate()).lease
        # One transaction over several scopes: each written as its own scope's default would be.
        await memory.remember_scopes({"old": ["Caroline painted the hallway"], "newer": ["standup at ten"]})
        assert (await memory.scoped("newer").stats()).embedder == "wordllama-l2_supercat-256-unit"
        assert (await memory.stats()).embedder == "wordllama-l2_supercat-256"
    async with Memory(path, scope="newer") as other:  # a default memory of another scope
        await other.remember_scopes({"old": ["Caroline sold the flat"], "newer": ["the standup moved"]})
        assert (await other.scoped("old").recall("Caroline flat"))[0].why["vector"] > 0
        assert (await other.stats()).embedder == "wordllama-l2_supercat-256-unit"
    async with Memory(path, scope="new") as again:  # written by the new default: unchanged
        assert (await again.recall("release train"))[0].why["vector"] > 0
        assert again.embedder_name == "wordllama-l2_supercat-256-unit"
    async with Memory(path, scope="old", embedder=WordLlamaEmbedder(pooling="unit")) as explicit:
        with pytest.raises(ValidationError, match="use the scope's embedder"):
            await explicit.remember("a memory with the other pooling")
        assert explicit.embedder_name == "wordllama-l2_supercat-256-unit"


async def test_openai_compatible_endpoint(backend: Backend) -> None:
    with OpenAIServer() as server:
        embedder = OpenAIEmbedder("test-embed", base_url=server.base_url)
        assert embedder.dimension == EMBEDDING_DIMENSION
        async with Memory(backend.store, scope="remote", embedder=embedder) as memory:
            mid = await memory.remember("the invoices live in the finance bucket")
            await memory.remember("lunch is at noon")
            hits = await memory.recall("finance bucket invoices")
            assert hits[0].id == mid and hits[0].why["vector"] > 0
            assert (await memory.stats()).embedder == "openai-test-embed"
        posts = [r for r in server.requests if r.path.endswith("/embeddings")]
        assert posts and all(r.body["model"] == "test-embed" for r in posts)


async def test_a_changed_embedder_is_refused_and_writes_nothing(backend: Backend) -> None:
    async with Memory(backend.store, scope="vectors") as memory:
        await memory.remember("the first memory")
    async with Memory(backend.store, scope="vectors", embedder=WordLlamaEmbedder(64)) as other:
        with pytest.raises(ValidationError, match="use the scope's embedder"):
            await other.remember("a second memory")
        with pytest.raises(ValidationError, match="256-dimensional"):
            await other.recall("first memory")
        assert (await other.stats()).total == 1
        assert [h.text for h in await other.scoped("fresh").recall("x")] == []


async def test_lexical_only_when_the_extra_is_missing(backend: Backend, monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    real_import = builtins.__import__

    def no_wordllama(name: str, *args: object, **kwargs: object) -> object:
        if name.split(".")[0] == "wordllama":
            raise ImportError("No module named 'wordllama'")
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", no_wordllama)
    async with Memory(backend.store, scope="plain") as memory:
        assert memory.embedder is None
        mid = await memory.remember("the backups run at 3am from the cron host")
        hits = await memory.recall("when do the backups run?")
        assert [h.id for h in hits] == [mid] and hits[0].why["vector"] == 0.0


class CountingEmbedder:
    """The default embedder, counting the texts it is asked to embed."""

    def __init__(self) -> None:
        self.inner = WordLlamaEmbedder(pooling="unit")
        self.name, self.dimension = self.inner.name, self.inner.dimension
        self.asked: list[int] = []

    def embed(self, texts: list[str]) -> object:
        self.asked.append(len(texts))
        return self.inner.embed(texts)


async def test_a_query_that_is_its_own_what_is_embedded_once(tmp_path: Path) -> None:
    counting = CountingEmbedder()
    async with Memory(str(tmp_path / "m.db"), scope="count", embedder=counting) as memory:
        mid = await memory.remember("Caroline moved to Boston last spring")
        counting.asked.clear()
        assert [h.id for h in await memory.recall("city she moved to")] == [mid]  # as the data registry asks
        assert [h.id for h in await memory.recall("where does Caroline live?")] == [mid]
        assert counting.asked == [1, 2]  # the whole query is its "what" / the query and its "what"
