"""Embedders: text to unit vectors, behind one small protocol.

- ``WordLlamaEmbedder`` (the default, the ``jotty[memory]`` extra): static token embeddings whose
  weights ship inside the ``wordllama`` wheel, loaded from the package folder with downloads
  disabled, so nothing is fetched at run time. ~20,000 texts/s on one core. Two poolings: the
  model's own mean ("mean", the data registry's) and unit token vectors over case-folded text
  ("unit", ``Memory``'s default); a scope written by the earlier default keeps its embedder.
- ``OpenAIEmbedder``: any OpenAI-compatible ``/v1/embeddings`` endpoint (the ``jotty[llm]`` extra).
- ``MiniLMEmbedder`` (``jotty.memory.embedders_minilm``, the ``jotty[memory-minilm]`` extra):
  all-MiniLM-L6-v2 on PyTorch, better on paraphrases, far slower (opt-in).
- Anything with ``name``, ``dimension`` and ``embed(texts) -> vectors``.

Without an embedder (``Memory(embedder=False)``, or the extra not installed) memory is lexical only.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator, Sequence
from typing import Any, Protocol, runtime_checkable

from jotty.errors import AgentError, StoreError, ValidationError
from jotty.memory import embedders_onnx
from jotty.memory.embedders_minilm import MiniLMEmbedder
from jotty.memory.embedders_onnx import MiniLMInt8Embedder

log = logging.getLogger(__name__)


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into vectors of ``dimension`` floats (unit length is best; Jotty normalises).

    ``name`` identifies the model: a scope remembers the name and dimension of the embedder that
    wrote it, and refuses another (vectors of different models are not comparable).
    """

    name: str
    dimension: int

    def embed(self, texts: Sequence[str]) -> Any:
        """One vector per text, as a 2-D array-like (``len(texts)`` x ``dimension``). Synchronous;
        ``Memory`` calls it off the event loop."""
        ...


FEW_TEXTS = 8
"""Up to this many texts, ``WordLlamaEmbedder`` tokenizes each on its own (see ``embed``)."""
BATCH = 64
"""Texts tokenized together past ``FEW_TEXTS`` (padded to the longest of the batch, as wordllama does)."""
POOLINGS = ("mean", "unit")
"""How ``WordLlamaEmbedder`` turns a text's token vectors into one vector (see the class)."""
DEFAULT_POOLING = "unit"
"""The pooling of ``default_embedder()``, and so of ``Memory``'s default (the registry keeps "mean")."""
_models: dict[tuple[str, int], Any] = {}
_unit_tables: dict[tuple[str, int], Any] = {}
_models_lock = threading.Lock()


class WordLlamaEmbedder:
    """WordLlama's ``l2_supercat`` static embeddings, at ``dimension`` 64, 128 or 256 (default).

    The weights and tokenizer come from the installed ``wordllama`` package (its wheel carries
    them); downloads are disabled, so a missing file is an error, never a fetch. ``pooling`` says how
    a text's token vectors become its vector:

    - ``"mean"`` (the model's own, and this class's default): the mean of the token vectors, the text
      as written. The model learned short vectors for frequent tokens ("the" is about a tenth as long
      as "keys"), so the mean leans toward a text's rarer words: best for keyword-dense text such as
      the data registry's catalogue entries. Name ``wordllama-{config}-{dimension}``.
    - ``"unit"`` (``default_embedder``'s, so ``Memory``'s default): the text case-folded and every
      token vector scaled to unit length before the mean (as fastText builds sentence vectors), so
      each token's direction counts alike, the common words' too: better on conversational
      paraphrases (README, Benchmarks: evidence recall). Name ``wordllama-{config}-{dimension}-unit``.

    Both come from the shipped table alone (the unit table is computed from it once, at load) and
    cost the same per text.
    """

    def __init__(self, dimension: int = 256, config: str = "l2_supercat", pooling: str = "mean") -> None:
        if dimension not in (64, 128, 256):
            raise ValidationError(
                f"WordLlamaEmbedder dimension must be 64, 128 or 256 (the bundled model), got {dimension!r}"
            )
        if pooling not in POOLINGS:
            raise ValidationError(f"WordLlamaEmbedder pooling must be one of {', '.join(POOLINGS)}, got {pooling!r}")
        self.dimension = dimension
        self.config = config
        self.pooling = pooling
        self.name = f"wordllama-{config}-{dimension}" + ("" if pooling == "mean" else f"-{pooling}")

    def __repr__(self) -> str:
        return f"WordLlamaEmbedder({self.dimension}, {self.config!r}, pooling={self.pooling!r})"

    def _model(self) -> Any:
        key = (self.config, self.dimension)
        with _models_lock:
            if key not in _models:
                _models[key] = _load_wordllama(self.config, self.dimension)
            return _models[key]

    def _table(self, model: Any) -> Any:
        """The token vectors this pooling averages: the model's, or each scaled to unit length."""
        if self.pooling == "mean":
            return model.embedding
        import numpy as np

        key = (self.config, self.dimension)
        with _models_lock:
            if key not in _unit_tables:
                norms = np.linalg.norm(model.embedding, axis=1, keepdims=True)
                norms[norms == 0] = 1.0
                _unit_tables[key] = np.ascontiguousarray(model.embedding / norms, dtype=np.float32)
            return _unit_tables[key]

    def embed(self, texts: Sequence[str]) -> Any:
        """Unit vectors (float32) for ``texts``: each the normalised mean of its tokens' vectors
        (zero for a text without tokens)."""
        import numpy as np

        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return out
        model = self._model()
        table = self._table(model)
        items = [text.lower() for text in texts] if self.pooling == "unit" else list(texts)
        if len(items) <= FEW_TEXTS:
            # A recall's few texts, one at a time: without the batch tokenizer's padding and thread
            # pool (which cost more than the embedding itself on a busy machine).
            for row, text in enumerate(items):
                ids = np.asarray(model.tokenizer.encode(text, add_special_tokens=False).ids, dtype=np.int64)
                if len(ids):
                    out[row] = table[np.clip(ids, 0, table.shape[0] - 1)].sum(axis=0, dtype=np.float32)
        else:
            for start in range(0, len(items), BATCH):
                encoded = model.tokenizer.encode_batch(items[start : start + BATCH], add_special_tokens=False)
                ids = np.clip(np.asarray([e.ids for e in encoded], dtype=np.int64), 0, table.shape[0] - 1)
                mask = np.asarray([e.attention_mask for e in encoded], dtype=np.float32)
                out[start : start + len(encoded)] = np.einsum("bt,btd->bd", mask, table[ids])
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return out / norms


def wordllama_for(name: str | None) -> WordLlamaEmbedder | None:
    """The ``WordLlamaEmbedder`` whose ``name`` is ``name`` (any dimension and pooling of the bundled
    config), or None: how ``Memory`` finds the embedder that wrote a scope before the default changed."""
    for dimension in (64, 128, 256):
        for pooling in POOLINGS:
            candidate = WordLlamaEmbedder(dimension, pooling=pooling)
            if candidate.name == name:
                return candidate
    return None


MINILM_NAMES = (MiniLMInt8Embedder.name, MiniLMEmbedder.name)
"""The names of the bundled MiniLM embedders."""


def bundled_embedder(name: str | None) -> Embedder | None:
    """The embedder Jotty bundles whose ``name`` is ``name`` (a ``WordLlamaEmbedder`` of any
    dimension and pooling, ``MiniLMInt8Embedder`` with its model here, ``MiniLMEmbedder``) if it
    can run here, else None: how ``Memory`` finds the embedder that wrote a scope before its default
    changed."""
    found: Embedder | None = wordllama_for(name)
    if found is not None or name not in MINILM_NAMES:
        return found
    if name == MiniLMInt8Embedder.name:
        return embedders_onnx.usable()
    try:
        return MiniLMEmbedder()
    except ValidationError:  # its extra is not installed here
        return None


def _import_wordllama() -> Any:
    """``import wordllama``, undoing the ``logging.basicConfig(level=INFO)`` it runs on import."""
    with root_logging_kept():
        import wordllama
    return wordllama


@contextlib.contextmanager
def root_logging_kept() -> Iterator[None]:
    """Undo what the block does to the root logger's handlers and level (a library must not
    configure the application's logging; some packages call ``logging.basicConfig``)."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        yield
    finally:
        for handler in root.handlers[:]:
            if handler not in handlers:
                root.removeHandler(handler)
        root.setLevel(level)


def _load_wordllama(config: str, dimension: int) -> Any:
    from pathlib import Path

    wordllama = _import_wordllama()
    WordLlama = wordllama.WordLlama

    # The wheel keeps its files in wordllama/weights and wordllama/tokenizers; pointing the cache
    # at the package folder finds both, and disable_download turns a missing file into an error.
    folder = Path(wordllama.__file__).parent
    try:
        return WordLlama.load(config, cache_dir=folder, dim=256, trunc_dim=dimension, disable_download=True)
    except FileNotFoundError as exc:
        raise AgentError(
            f"the wordllama package lacks its bundled {config} model ({exc}): reinstall it "
            "(pip install --force-reinstall 'jotty[memory]') or pass another embedder"
        ) from exc


def default_embedder(pooling: str = DEFAULT_POOLING) -> Embedder | None:
    """``WordLlamaEmbedder(pooling=pooling)`` (default ``"unit"``) when the ``jotty[memory]`` extra is
    installed, else None (lexical only)."""
    try:
        import numpy  # noqa: F401

        _import_wordllama()
    except ImportError:
        log.info("jotty[memory] is not installed: memory recall is lexical only")
        return None
    return WordLlamaEmbedder(pooling=pooling)


class OpenAIEmbedder:
    """An OpenAI-compatible embeddings endpoint (``POST {base_url}/embeddings``).

    ``model``, ``base_url`` and ``api_key`` default like ``LLMAgent``'s (``JOTTY_LLM_BASE_URL``,
    ``OPENAI_API_KEY``, ...; the model from ``JOTTY_EMBEDDING_MODEL``, else
    ``text-embedding-3-small``). ``dimension`` is asked of the endpoint on first use if not given.
    """

    def __init__(
        self,
        model: str | None = None,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        dimension: int | None = None,
        batch_size: int = 256,
        timeout: float = 60.0,
    ) -> None:
        import os

        from jotty.agents.llm_config import LLMConfig

        model = model or os.environ.get("JOTTY_EMBEDDING_MODEL") or "text-embedding-3-small"
        self._config = LLMConfig.resolve(model, base_url, api_key)
        if dimension is not None and (isinstance(dimension, bool) or not isinstance(dimension, int) or dimension < 1):
            raise ValidationError(f"dimension must be a whole number >= 1, got {dimension!r}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValidationError(f"batch_size must be a whole number >= 1, got {batch_size!r}")
        self.name = f"openai-{model}"
        self._dimension = dimension
        self._batch = batch_size
        self._timeout = timeout
        self._client: Any = None
        self._lock = threading.Lock()

    @property
    def dimension(self) -> int:
        """The vectors' length (asked of the endpoint once if not given)."""
        if self._dimension is None:
            self._dimension = len(self._request(["dimension"])[0])
        return self._dimension

    def _request(self, texts: list[str]) -> list[list[float]]:
        with self._lock:
            if self._client is None:
                try:
                    import openai
                except ImportError as exc:
                    raise AgentError("OpenAIEmbedder needs the openai package: pip install 'jotty[llm]'") from exc
                self._client = openai.OpenAI(
                    base_url=self._config.base_url, api_key=self._config.api_key, timeout=self._timeout
                )
            client = self._client
        try:
            response = client.embeddings.create(model=self._config.model, input=texts)
        except Exception as exc:
            raise AgentError(
                f"the embeddings endpoint {self._config.base_url or 'OpenAI'} failed for model "
                f"{self._config.model!r} ({type(exc).__name__}: {exc}): check the server, model and key"
            ) from exc
        rows = sorted(response.data, key=lambda item: item.index)
        if len(rows) != len(texts):
            raise AgentError(f"the embeddings endpoint returned {len(rows)} vectors for {len(texts)} texts")
        return [list(row.embedding) for row in rows]

    def embed(self, texts: Sequence[str]) -> Any:
        """Vectors for ``texts`` (requests of at most ``batch_size`` texts)."""
        import numpy as np

        vectors: list[list[float]] = []
        items = list(texts)
        for start in range(0, len(items), self._batch):
            vectors.extend(self._request(items[start : start + self._batch]))
        if self._dimension is None and vectors:
            self._dimension = len(vectors[0])
        return np.asarray(vectors, dtype=np.float32).reshape(len(items), self.dimension)


def embed_texts(embedder: Embedder, texts: list[str]) -> Any:
    """Unit vectors of ``texts``, checked against the embedder's dimension."""
    from jotty.memory.vectors import normalise

    vectors = normalise(embedder.embed(texts))
    if vectors.shape != (len(texts), embedder.dimension):
        raise StoreError(
            f"the embedder {embedder.name!r} returned vectors of shape {vectors.shape} for {len(texts)} texts of "
            f"dimension {embedder.dimension}: fix the embedder"
        )
    return vectors
