"""Memory for every run: hierarchical, consolidated, shared.

``Memory(store, scope, embedder)`` remembers episodes (with salience and novelty: a near-duplicate
reinforces the memory it repeats), recalls them by hybrid lexical + vector search with time in the
ranking, consolidates related episodes into semantic memories with their provenance ("sleep"),
fades unused low-salience episodes to an archive, and reads the router's learning as procedural
memory. It lives in the store: the SQLite file by default, PostgreSQL with a URL.
"""

from jotty.memory.embedders import Embedder, OpenAIEmbedder, WordLlamaEmbedder, default_embedder
from jotty.memory.embedders_minilm import MiniLMEmbedder
from jotty.memory.embedders_onnx import MiniLMInt8Embedder
from jotty.memory.memory import Memory
from jotty.memory.ranking import Weights
from jotty.memory.records import (
    DEFAULT_LEVELS,
    LEVELS,
    ConsolidationReport,
    MemoryHit,
    MemoryStats,
    RememberOutcome,
)
from jotty.memory.validation import MAX_TEXT

__all__ = [
    "DEFAULT_LEVELS",
    "LEVELS",
    "MAX_TEXT",
    "ConsolidationReport",
    "Embedder",
    "Memory",
    "MemoryHit",
    "MemoryStats",
    "MiniLMEmbedder",
    "MiniLMInt8Embedder",
    "OpenAIEmbedder",
    "RememberOutcome",
    "Weights",
    "WordLlamaEmbedder",
    "default_embedder",
]
