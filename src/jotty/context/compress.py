"""Compressing one part to at most a number of tokens: trim the middle, summarize (extractive),
drop the oldest items of a list, deduplicate. Every function returns text or data that counts at
most ``max_tokens`` by the given counter (data: by ``count_json``), or ``None`` when nothing useful
fits."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from typing import Any

from jotty.context.images import image_part_tokens
from jotty.context.text import as_text

Count = Callable[[str], int]

MARKER = " [... {n} tokens cut ...] "
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
_WORD = re.compile(r"[a-z0-9]{3,}")


def fit_text(text: str, max_tokens: int, count: Count) -> str | None:
    """``text`` cut to ``max_tokens`` by keeping its head and tail around a marker ("trim the
    middle"); ``None`` when not even the marker fits."""
    if count(text) <= max_tokens:
        return text
    total = count(text)
    lo, hi, best = 0, len(text), None
    while lo <= hi:  # the most characters kept (half head, half tail) whose count fits
        keep = (lo + hi) // 2
        candidate = _middle_cut(text, keep, total, count)
        if count(candidate) <= max_tokens:
            best, lo = candidate, keep + 1
        else:
            hi = keep - 1
    return best


def _middle_cut(text: str, keep: int, total: int, count: Count) -> str:
    """``text`` (``total`` tokens) as its first and last ``keep`` characters around a marker."""
    head, tail = text[: keep - keep // 2], text[len(text) - keep // 2 :] if keep // 2 else ""
    return head + MARKER.format(n=max(1, total - count(head) - count(tail))) + tail


def summarize_extractive(text: str, max_tokens: int, count: Count) -> str | None:
    """The sentences of ``text`` that carry its most frequent words, in their order, within
    ``max_tokens``; ``None`` when no sentence fits."""
    sentences = [s.strip() for s in _SENTENCE.split(text) if s.strip()]
    if len(sentences) < 2:
        return None
    freq = Counter(w for s in sentences for w in set(_WORD.findall(s.lower())))
    scored = sorted(
        range(len(sentences)),
        key=lambda i: -sum(freq[w] for w in set(_WORD.findall(sentences[i].lower()))) / (1 + len(sentences[i]) ** 0.5),
    )
    chosen: list[int] = []
    used = 0
    for i in scored:
        cost = count(sentences[i]) + 1
        if used + cost <= max_tokens:
            chosen.append(i)
            used += cost
    if not chosen:
        return None
    summary = " ".join(sentences[i] for i in sorted(chosen))
    return summary if count(summary) <= max_tokens else fit_text(summary, max_tokens, count)


def drop_oldest(items: list[Any], max_tokens: int, count: Count) -> list[Any] | None:
    """The newest items of ``items`` (kept in order) whose JSON fits ``max_tokens``: where the kept
    run starts is found by bisection (a longer run never counts fewer tokens), so a list of n items
    costs about log2(n) counts, not n."""
    lo, hi = 0, len(items)
    while lo < hi:
        mid = (lo + hi) // 2
        if count_json(items[mid:], count) <= max_tokens:
            hi = mid
        else:
            lo = mid + 1
    return items[lo:] or None


def is_conversation(items: list[Any]) -> bool:
    """Whether ``items`` are chat messages (dicts with a ``role``)."""
    return bool(items) and all(isinstance(item, dict) and "role" in item for item in items)


def drop_oldest_messages(messages: list[Any], max_tokens: int, count: Count) -> list[Any] | None:
    """``drop_oldest`` for chat messages: the kept run never starts with a tool result whose call
    was dropped (a provider refuses a tool message without its assistant message)."""
    kept = drop_oldest(messages, max_tokens, count) or []
    start = 0
    while start < len(kept) and kept[start].get("role") == "tool":
        start += 1
    return kept[start:] or None


CONTENT_TYPES = frozenset({"text", "image_url", "input_audio", "file"})
"""The OpenAI content part types; a list with one of them is a message's content parts."""


def is_content_parts(items: list[Any]) -> bool:
    """Whether ``items`` are a chat message's content parts: dicts with a ``type``, one of them a
    ``CONTENT_TYPES`` (``[{"type": "text", ...}, {"type": "image_url", ...}]``)."""
    return (
        bool(items)
        and all(isinstance(item, dict) and isinstance(item.get("type"), str) for item in items)
        and any(item["type"] in CONTENT_TYPES for item in items)
    )


def count_json(value: Any, count: Count) -> int:
    """The tokens of ``value`` as JSON by ``count``, except its images (``split_images``), which
    count by their pixels. A text without ``image_url`` in it is counted as it is, walking nothing."""
    text = as_text(value)
    if "image_url" not in text:
        return count(text)
    stripped, images, _ = split_images(value)
    return count(as_text(stripped)) + images


def split_images(value: Any) -> tuple[Any, int, bool]:
    """``value`` with the URL of each image emptied, the images' tokens (``image_part_tokens``),
    and whether every image's size was known. Images are the ``image_url`` parts of a message's
    content parts: of ``value`` itself, or of the messages of ``value``, a conversation."""
    if not isinstance(value, list):
        return value, 0, True
    if is_content_parts(value):
        return _split_parts(value)
    if not is_conversation(value):
        return value, 0, True
    out, total, known = [], 0, True
    for message in value:
        content = message.get("content")
        if isinstance(content, list) and is_content_parts(content):
            content, tokens, measured = _split_parts(content)
            message = {**message, "content": content}
            total, known = total + tokens, known and measured
        out.append(message)
    return out, total, known


def _split_parts(parts: list[Any]) -> tuple[list[Any], int, bool]:
    out, total, known = [], 0, True
    for part in parts:
        if part["type"] == "image_url":
            tokens, measured = image_part_tokens(part)
            image = part.get("image_url")
            part = {**part, "image_url": {**image, "url": ""} if isinstance(image, dict) else ""}
            total, known = total + tokens, known and measured
        out.append(part)
    return out, total, known


def fit_content_parts(parts: list[Any], max_tokens: int, count: Count) -> tuple[list[Any], int] | None:
    """A message's content parts (by ``count_json``) within ``max_tokens``, still a list of whole parts: the
    text parts trimmed in the middle, the longest first; when that is not enough, the other parts
    (images, audio, files) dropped whole, the largest first. The parts and how many were dropped;
    ``None`` when no part is left that fits."""
    size = {i: count_json([p], count) for i, p in enumerate(parts) if not _is_text(p)}
    others = sorted(size, key=lambda i: (-size[i], -i))
    for dropped in range(len(others) + 1):
        gone = set(others[:dropped])
        kept = [p for i, p in enumerate(parts) if i not in gone]
        fitted = _fit_texts(kept, max_tokens, count) if kept else None
        if fitted is not None:
            return fitted, dropped
    return None


def _is_text(part: Any) -> bool:
    return part.get("type") == "text" and isinstance(part.get("text"), str)


def _fit_texts(parts: list[Any], max_tokens: int, count: Count) -> list[Any] | None:
    """``parts`` with each text part over a length cut to it in the middle, at the longest length
    with which the whole fits; ``None`` when not even their markers fit."""
    if count_json(parts, count) <= max_tokens:
        return parts
    texts = {i: p["text"] for i, p in enumerate(parts) if _is_text(p)}
    totals = {i: count(t) for i, t in texts.items()}

    def cut(cap: int) -> list[Any]:
        return [
            {**p, "text": _middle_cut(texts[i], cap, totals[i], count)} if i in texts and len(texts[i]) > cap else p
            for i, p in enumerate(parts)
        ]

    lo, hi, best = 0, max(map(len, texts.values()), default=0) - 1, None
    while lo <= hi:  # the largest cap on each text's length whose parts fit
        cap = (lo + hi) // 2
        candidate = cut(cap)
        if count_json(candidate, count) <= max_tokens:
            best, lo = candidate, cap + 1
        else:
            hi = cap - 1
    return best


def dedupe_items(items: list[Any]) -> tuple[list[Any], int]:
    """``items`` without repeats (the first of each kept); and how many were removed."""
    seen: set[str] = set()
    out = []
    for item in items:
        key = as_text(item)
        if key in seen:
            continue
        seen.add(key)
        out.append(item)
    return out, len(items) - len(out)
