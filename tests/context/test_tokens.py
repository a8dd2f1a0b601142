"""Token counting offline: toktok-rs by default, with exactly tiktoken's cl100k_base counts, and
tiktoken when toktok-rs is not installed."""

from __future__ import annotations

import random
import sys

import pytest
import tiktoken

from jotty.context import Part, PartKind, SmartContextGuard, tokens
from jotty.context.tokens import OFFLINE_ENCODING, TiktokenCounter, ToktokCounter, default_counter

PIECES = [
    "the",
    " quarterly",
    " report",
    "Revenue",
    " grew",
    "12%",
    "3.14159",
    "2026-12-01",
    "   ",
    "\n",
    "\n\n\n",
    "\r\n",
    "\t",
    "don't",
    "O'Brien's",
    "naïve",
    "São Paulo",
    "東京",
    "😀",
    "👩‍💻",
    "Ελληνικά",
    "مرحبا",
    "def f(x):\n    return x",
    "<|endoftext|>",
    '{"key": [1, 2]}',
    "zxqvbnm",
    "AAAA",
    "...",
    "--",
]


def random_text(rng: random.Random) -> str:
    shape = rng.random()
    if shape < 0.1:  # long runs: whitespace, one letter, one emoji
        return rng.choice([" ", "\n", "x", "😀", "ab"]) * rng.randint(1, 3_000)
    if shape < 0.2:  # random letters and symbols
        return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789 .,;'\n-_") for _ in range(rng.randint(0, 400)))
    return "".join(rng.choice(PIECES) + rng.choice(["", " ", ""]) for _ in range(rng.randint(0, 120)))


def test_the_default_counter_is_toktok_and_needs_no_download() -> None:
    counter = default_counter()
    assert counter.source == "toktok:cl100k_base"
    assert counter.count("hello world") == 2  # cl100k_base: 'hello', ' world'


def test_toktok_counts_exactly_what_tiktoken_counts() -> None:
    encode = tiktoken.get_encoding(OFFLINE_ENCODING).encode_ordinary
    toktok = ToktokCounter(cache_size=0)
    rng = random.Random(20261201)
    texts = [random_text(rng) for _ in range(3_000)] + ["", "x" * 5_000, " " * 5_000, "a" * 10_000, "😀" * 1_000]
    differ = [
        (text[:60], len(encode(text)), toktok.count(text)) for text in texts if len(encode(text)) != toktok.count(text)
    ]
    assert differ == []


def test_without_toktok_tiktoken_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "toktok", None)  # import toktok now fails, as when it is not installed
    monkeypatch.setattr(tokens, "_DEFAULT", None)
    counter = default_counter()
    assert isinstance(counter, TiktokenCounter) and counter.source == "tiktoken:cl100k_base"
    assert counter.count("hello world") == 2


def test_an_unknown_encoding_or_an_estimate_fails_when_the_counter_is_made() -> None:
    with pytest.raises(KeyError):
        ToktokCounter("no_such_encoding")
    with pytest.raises(ValueError, match="an estimate, not a count"):
        ToktokCounter("jev")


def test_surrogates_are_counted_as_tiktoken_counts_them() -> None:
    """Text decoded with ``surrogateescape`` (tool output, file names) holds lone surrogates; a pair
    of surrogates may come from UTF-16 text."""
    encode = tiktoken.get_encoding(OFFLINE_ENCODING).encode_ordinary
    lone = b"caf\xe9 accounts".decode("utf-8", "surrogateescape")
    for text in (lone, lone * 40, "\ud83d\ude00 paired", "\udcff" * 3):
        assert ToktokCounter(cache_size=0).count(text) == len(encode(text)), text
    window = SmartContextGuard(20).assemble([Part("tool", lone * 5, PartKind.TOOL)])
    assert window.counter == "toktok:cl100k_base" and window.tokens <= 20
