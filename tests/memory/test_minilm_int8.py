"""MiniLMInt8Embedder: exported once per machine (offline, quietly, into $JOTTY_CACHE), close to
the float model, recalls the paraphrases MiniLM does, and says what to fix when it cannot run."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from jotty.errors import StoreError, ValidationError
from jotty.memory import Memory, MiniLMEmbedder, MiniLMInt8Embedder, embedders_onnx
from jotty.memory.embedders import bundled_embedder
from tests.memory.test_minilm import PARAPHRASES
from tests.runs.backends import Backend

ROOT = Path(__file__).resolve().parents[2]
EXPORT_SECONDS = 300
"""How long a process may take to export the model and embed: about 12 s of CPU, but minutes of
wall time on a busy machine (4 at once took 94-116 s on 2 shared cores)."""


@pytest.mark.timeout(EXPORT_SECONDS + 60)  # the suite's 120 s would cut the export short first
def test_it_exports_once_offline_and_quietly(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import logging, socket
        def refuse(*args, **kwargs):
            raise OSError("network used at run time")
        socket.socket.connect = refuse
        socket.getaddrinfo = refuse
        from jotty.memory.embedders_onnx import MiniLMInt8Embedder, model_file
        from jotty.memory import MiniLMEmbedder
        texts = ["my physician told me to cut back on salt", "what did the doctor say?"]
        vectors = MiniLMInt8Embedder().embed(texts)
        floats = MiniLMEmbedder().embed(texts)
        assert logging.getLogger().handlers == [], "the export configured logging"
        print(model_file(export=False).name, vectors.shape, round(float(min((vectors * floats).sum(axis=1))), 2))
        """
    )
    env = {**os.environ, "JOTTY_CACHE": str(tmp_path / "cache")}
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=EXPORT_SECONDS
    )
    assert done.returncode == 0, done.stderr
    name, rest = done.stdout.strip().split(" ", 1)
    shape, closeness = rest.rsplit(" ", 1)
    assert name.endswith("-int8.onnx") and (tmp_path / "cache" / name).is_file()
    assert shape == "(2, 384)" and float(closeness) > 0.9  # each vector's cosine with the float model's
    assert done.stderr == "", done.stderr  # no progress bar, tracer warning or quantizer advice
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [name]  # no export folder left behind


@pytest.mark.timeout(EXPORT_SECONDS + 60)
def test_processes_exporting_at_once_each_leave_a_whole_file(tmp_path: Path) -> None:
    """Two processes on a machine with nothing exported yet: both export, into one cache, at the
    same moment; each embeds, and the cache holds one whole model and nothing else."""
    script = textwrap.dedent(
        """
        import logging, sys, time
        from jotty.memory.embedders_onnx import MiniLMInt8Embedder, log
        log.addHandler(logging.StreamHandler(sys.stdout))  # "exporting ...": each process exports
        log.setLevel(logging.INFO)
        while time.time() < float(sys.argv[1]):  # start together
            time.sleep(0.005)
        print(MiniLMInt8Embedder().embed(["the ledger closes on Fridays"]).shape)
        """
    )
    env = {**os.environ, "JOTTY_CACHE": str(tmp_path / "cache")}
    start = str(time.time() + 2)
    exporting = [
        subprocess.Popen(
            [sys.executable, "-c", script, start],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=EXPORT_SECONDS) for p in exporting]
    assert [p.returncode for p in exporting] == [0, 0], [err for _, err in outputs]
    for out, _ in outputs:
        assert out.startswith("exporting all-MiniLM-L6-v2") and out.endswith("\n(1, 384)\n"), out
    assert [err for _, err in outputs] == ["", ""]
    cached = sorted(p.name for p in (tmp_path / "cache").iterdir())
    assert len(cached) == 1 and cached[0].endswith("-int8.onnx")  # no export folder left behind
    import onnx

    onnx.checker.check_model(str(tmp_path / "cache" / cached[0]))  # a whole model


async def test_it_recalls_the_paraphrases_minilm_does(backend: Backend) -> None:
    async with Memory(backend.store, scope="para-int8", embedder=MiniLMInt8Embedder()) as memory:
        await memory.remember_many([{"text": fact} for fact in PARAPHRASES.values()] + ["The car needs new tyres"])
        for question, answer in PARAPHRASES.items():
            assert (await memory.recall(question, k=1))[0].text == answer
        assert (await memory.stats()).embedder == "all-MiniLM-L6-v2-int8"


async def test_a_scope_minilm_int8_wrote_keeps_it_under_the_default(backend: Backend) -> None:
    async with Memory(backend.store, scope="kept-int8", embedder=MiniLMInt8Embedder()) as memory:
        mid = await memory.remember("My physician told me to cut back on salt")
    async with Memory(backend.store, scope="kept-int8") as default:
        assert [h.id for h in await default.recall("what did the doctor advise about my diet?")] == [mid]
        assert default.embedder_name == "all-MiniLM-L6-v2-int8"
    assert isinstance(bundled_embedder("all-MiniLM-L6-v2-int8"), MiniLMInt8Embedder)
    assert isinstance(bundled_embedder("all-MiniLM-L6-v2"), MiniLMEmbedder)
    assert bundled_embedder("someone-elses-model") is None


def test_bad_settings_and_an_unwritable_cache_say_what_to_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for bad in (0, True, "2"):
        with pytest.raises(ValidationError, match="threads must be a whole number"):
            MiniLMInt8Embedder(threads=bad)  # type: ignore[arg-type]
        with pytest.raises(ValidationError, match="batch_size must be a whole number"):
            MiniLMInt8Embedder(batch_size=bad)  # type: ignore[arg-type]
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    monkeypatch.setenv("JOTTY_CACHE", str(blocked / "cache"))
    with pytest.raises(StoreError, match=r"cannot write the exported model .* set JOTTY_CACHE to a writable folder"):
        embedders_onnx.model_file()
    monkeypatch.setattr(embedders_onnx, "_installed", lambda module: module != "onnxruntime")
    with pytest.raises(
        ValidationError, match=r"needs onnxruntime, which are not installed: pip install 'jotty\[memory-minilm\]'"
    ):
        MiniLMInt8Embedder()
    monkeypatch.setattr(embedders_onnx, "_installed", lambda module: module != "torch")
    with pytest.raises(ValidationError, match="exports the model once with PyTorch and onnx"):
        MiniLMInt8Embedder()  # the model is not in this cache, and it cannot be exported here


def test_a_damaged_cached_model_is_exported_again_and_stale_exports_go(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JOTTY_CACHE", str(tmp_path))
    monkeypatch.setattr(embedders_onnx, "_session", None)  # this process's session: loaded again below
    damaged = embedders_onnx.model_file(export=False)
    damaged.write_bytes(b"cut short by a crash")
    stale = tmp_path / ".export-left-by-a-killed-process"
    stale.mkdir()
    (stale / "float.onnx").write_bytes(b"x" * 1000)
    old = 1_000_000_000.0  # 2001: far older than STALE_SECONDS
    os.utime(stale, (old, old))
    vectors = MiniLMInt8Embedder().embed(["the ledger closes on Fridays"])
    assert vectors.shape == (1, 384) and damaged.stat().st_size > 1_000_000
    assert not stale.exists() and sorted(p.name for p in tmp_path.iterdir()) == [damaged.name]


def test_needs_export_says_whether_a_first_use_would_export(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    MiniLMInt8Embedder().embed(["warm"])  # the suite's cache holds the model now
    assert embedders_onnx.needs_export() is False
    monkeypatch.setenv("JOTTY_CACHE", str(tmp_path / "empty"))
    assert embedders_onnx.needs_export() is True  # what `jotty data` says on stderr before it waits
    monkeypatch.setattr(embedders_onnx, "_installed", lambda module: module != "onnxruntime")
    assert embedders_onnx.needs_export() is False  # it would not run here at all


@pytest.mark.parametrize("setting", [None, "0"])
def test_onnxruntime_telemetry_is_off_unless_the_environment_says(tmp_path: Path, setting: str | None) -> None:
    """onnxruntime (1.29 on) keeps a device id and an events file under ~/.cache and uploads them:
    off by default, as the user's ``ORT_DISABLE_TELEMETRY`` says otherwise."""
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])],
        "identity",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
    )
    model = tmp_path / "identity.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), model)
    script = textwrap.dedent(
        f"""
        import numpy
        from jotty.memory.embedders_onnx import onnxruntime_module
        ort = onnxruntime_module()
        session = ort.InferenceSession({str(model)!r}, providers=["CPUExecutionProvider"])
        print(session.run(None, {{"x": numpy.ones(1, dtype=numpy.float32)}})[0])
        """
    )
    home = tmp_path / "home"
    # only what the process needs: onnxruntime also stays quiet where the environment says CI (CI=true)
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(home)}
    env |= {} if setting is None else {"ORT_DISABLE_TELEMETRY": setting}
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "[1.]", done.stderr
    kept = home / ".cache" / "Microsoft"
    assert kept.exists() == (setting == "0")
