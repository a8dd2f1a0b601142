"""MiniLMEmbedder (the ``memory-minilm`` extra, part of ``dev``): loads offline, recalls paraphrases
the default wordllama misses, is refused by a scope written with another embedder, and names the
extra when it is missing."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from jotty.errors import ValidationError
from jotty.memory import Memory, MiniLMEmbedder, WordLlamaEmbedder
from tests.runs.backends import Backend

ROOT = Path(__file__).resolve().parents[2]

FACTS = [
    "My physician told me to cut back on salt",
    "The quarterly report is due on Friday",
    "We adopted a kitten named Miso last spring",
    "The car needs new tyres before winter",
    "Lunch with the marketing team is at noon on Tuesday",
]
# No word in common with the fact that answers each question.
PARAPHRASES = {
    "what did the doctor advise about my diet?": FACTS[0],
    "what pet do we have?": FACTS[2],
    "when do I have to hand in the earnings summary?": FACTS[1],
}


def test_minilm_loads_offline_quietly() -> None:
    script = textwrap.dedent(
        """
        import socket
        def refuse(*args, **kwargs):
            raise OSError("network used at run time")
        socket.socket.connect = refuse
        socket.getaddrinfo = refuse
        from jotty.memory import MiniLMEmbedder
        vectors = MiniLMEmbedder().embed(["my physician told me to cut back on salt", "what did the doctor say?"])
        print(vectors.shape, round(float(vectors[0] @ vectors[1]), 2))
        """
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    shape, cosine = done.stdout.rsplit(" ", 1)
    assert shape == "(2, 384)" and float(cosine) > 0.3
    assert "Loading weights" not in done.stderr, "loading the model drew a progress bar"


async def test_minilm_recalls_paraphrases_that_wordllama_misses(backend: Backend) -> None:
    found: dict[str, list[str]] = {}
    for embedder in (WordLlamaEmbedder(), MiniLMEmbedder()):
        async with Memory(backend.store, scope=f"para-{embedder.dimension}", embedder=embedder) as memory:
            await memory.remember_many([{"text": fact} for fact in FACTS])
            found[embedder.name] = [
                hits[0].text if (hits := await memory.recall(question, k=3)) else "" for question in PARAPHRASES
            ]
            assert (await memory.stats()).embedder == embedder.name
    assert found["all-MiniLM-L6-v2"] == list(PARAPHRASES.values())
    # wordllama finds the pet ("pet" is close enough to "kitten"), not the doctor's advice or the report
    wordllama = found["wordllama-l2_supercat-256"]
    assert wordllama[0] != FACTS[0] and wordllama[2] != FACTS[1]


async def test_a_scope_of_another_dimension_refuses_minilm(backend: Backend) -> None:
    async with Memory(backend.store, scope="dims", embedder=WordLlamaEmbedder()) as memory:
        await memory.remember("the first memory")
    async with Memory(backend.store, scope="dims", embedder=MiniLMEmbedder()) as other:
        with pytest.raises(ValidationError, match=r"256-dimensional .* 'all-MiniLM-L6-v2' \(384 dimensions\)"):
            await other.remember("a second memory")
        with pytest.raises(ValidationError, match="use the scope's embedder"):
            await other.recall("first memory")
        assert (await other.stats()).total == 1
    async with Memory(backend.store, scope="dims-minilm", embedder=MiniLMEmbedder()) as fresh:
        await fresh.remember("a fresh scope takes MiniLM")
    async with Memory(backend.store, scope="dims-minilm", embedder=WordLlamaEmbedder()) as back:
        with pytest.raises(ValidationError, match="384-dimensional"):
            await back.remember("wordllama into a MiniLM scope")
        assert (await back.stats()).total == 1


def test_missing_extra_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)
    with pytest.raises(ValidationError, match=r"sentence_transformers.*pip install 'jotty\[memory-minilm\]'"):
        MiniLMEmbedder()


@pytest.mark.parametrize("batch_size", [0, -1, 2.5, True, "64"])
def test_bad_batch_size(batch_size: object) -> None:
    with pytest.raises(ValidationError, match="batch_size must be a whole number >= 1"):
        MiniLMEmbedder(batch_size=batch_size)  # type: ignore[arg-type]


def test_empty_input() -> None:
    assert MiniLMEmbedder().embed([]).shape == (0, 384)
