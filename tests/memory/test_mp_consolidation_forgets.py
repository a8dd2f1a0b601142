"""Consolidation racing remembers and every kind of forget from another process: afterwards every
consolidated memory's episodes exist and are absorbed into it, no episode is absorbed into a memory
that is gone, and no group's sources hold an item its episodes no longer hold."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

from jotty.memory import Memory, WordLlamaEmbedder
from tests.runs.backends import Backend

ROOT = Path(__file__).resolve().parents[2]


def check(backend: Backend, scope: str) -> list[str]:
    rows = backend.rows(
        "SELECT id, level, metadata, sources, absorbed_into, text FROM jotty_memory WHERE scope = ?", (scope,)
    )
    by_id = {r[0]: r for r in rows}
    problems = []
    for mid, level, metadata, sources, absorbed, _text in rows:
        meta = json.loads(metadata)
        if absorbed and absorbed not in by_id:
            problems.append(f"{mid} absorbed into missing {absorbed}")
        if level == "semantic" and meta.get("kind") == "consolidated":
            held = set()
            for eid in meta["episodes"]:
                ep = by_id.get(eid)
                if ep is None:
                    problems.append(f"group {mid} names missing episode {eid}")
                    continue
                if ep[4] != mid:
                    problems.append(f"group {mid} names {eid} absorbed into {ep[4]}")
                held |= {(s["id"], s["text"], json.dumps(s["metadata"], sort_keys=True)) for s in json.loads(ep[3])}
            for s in json.loads(sources):
                key = (s["id"], s["text"], json.dumps(s["metadata"], sort_keys=True))
                if s["id"] != mid and key not in held:
                    problems.append(f"group {mid} holds {key} that no episode of it holds")
    return problems


async def test_consolidation_racing_forgets_keeps_groups_whole(backend: Backend) -> None:
    async def summarizer(prompt: str) -> str:
        await asyncio.sleep(0.03)
        return "summary: " + prompt[-200:]

    churn = subprocess.Popen(
        [sys.executable, "-m", "tests.memory.mp_worker", "churn_forget", backend.store, "c", "5"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    reports = []
    try:
        assert churn.stdout is not None and churn.stdout.readline().strip() == "started"
        memory = Memory(backend.store, scope="c", embedder=WordLlamaEmbedder(pooling="mean"), summarizer=summarizer)
        async with memory:
            end = time.monotonic() + 4.5
            while time.monotonic() < end:
                reports.append(await memory.consolidate(lease_seconds=5))
    finally:
        out, err = churn.communicate(timeout=60)
    assert churn.returncode == 0, err
    print(len(reports), sum(r.clusters for r in reports), sum(r.skipped_clusters for r in reports), out)
    problems = check(backend, "c")
    import numpy as np

    from jotty.memory.embedders import embed_texts

    embedder = WordLlamaEmbedder(pooling="mean")
    rows = backend.rows("SELECT id, level, text, embedding FROM jotty_memory WHERE scope = 'c'")
    missing = [r[0] for r in rows if r[3] is None]
    for mid, level, text, blob in rows:
        if blob is not None and not np.allclose(
            np.frombuffer(bytes(blob), dtype=np.float32), embed_texts(embedder, [text])[0], atol=1e-5
        ):
            problems.append(f"{level} {mid} has a vector of another text")
    print("rows", len(rows), "without a vector", len(missing))
    assert problems == [], problems[:10]
    assert missing == []
