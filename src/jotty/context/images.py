"""Tokens of an image content part by its pixels, not by the characters of its data URL.

OpenAI's rule for GPT-4o-class models: ``detail: "low"`` costs 85 tokens; otherwise (``"high"``,
and ``"auto"``, counted as high since it may be) the image is scaled to fit in 2048x2048, then
down so that its shortest side is 768 px, and costs 85 + 170 per 512x512 tile. The size is read
offline from the header of a ``data:...;base64,`` URL (PNG, JPEG, GIF, WebP): only the few bytes
of each header are decoded, never the whole image. When the size cannot be known (a remote URL, an
unknown format, a malformed data URL) the count is ``UNKNOWN_TOKENS``, an estimate.
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Callable, Mapping
from fractions import Fraction
from typing import Any

LOW_DETAIL_TOKENS = 85
"""The cost of a low-detail image, and the base cost of every other."""
TILE_TOKENS = 170
"""The cost of each 512x512 tile of a high-detail image."""
TILE = 512
MAX_SIDE = 2048
SHORT_SIDE = 768


def image_tokens(width: int, height: int, detail: str | None = "auto") -> int:
    """The tokens of a ``width`` x ``height`` image by OpenAI's rule (see the module)."""
    if detail == "low":
        return LOW_DETAIL_TOKENS
    w, h = Fraction(width), Fraction(height)
    scale = min(Fraction(1), MAX_SIDE / max(w, h))  # fit in 2048x2048
    w, h = w * scale, h * scale
    scale = min(Fraction(1), SHORT_SIDE / min(w, h))  # shortest side down to 768
    w, h = w * scale, h * scale
    return LOW_DETAIL_TOKENS + TILE_TOKENS * math.ceil(w / TILE) * math.ceil(h / TILE)


UNKNOWN_TOKENS = image_tokens(MAX_SIDE, SHORT_SIDE, "high")
"""The count of an image of unknown size: the most any image costs by the rule (1445 tokens, 4x2
tiles, a 2048x768 image), so that a fitted window is never over the provider's count for it."""

MAX_SEGMENTS = 64
"""How many JPEG segments are skipped looking for the frame header before giving up."""

Read = Callable[[int, int], bytes]


def data_url_size(url: str) -> tuple[int, int] | None:
    """The width and height of the image in a base64 data URL, from its header; ``None`` when it
    is not one or its format is not PNG, JPEG, GIF or WebP."""
    if url[:5].lower() != "data:":
        return None
    comma = url.find(",", 0, 300)
    if comma < 0 or not url[5:comma].lower().endswith(";base64"):
        return None
    payload = url[comma + 1 :]

    def read(offset: int, size: int) -> bytes:
        """``size`` bytes of the image at ``offset`` (fewer at its end), decoding only their
        base64 characters (4 characters for each 3 bytes)."""
        start, skip = offset // 3 * 4, offset % 3
        chunk = payload[start : -(-(offset + size) // 3) * 4]
        try:
            raw = base64.b64decode(chunk + "=" * (-len(chunk) % 4), validate=True)
        except (binascii.Error, ValueError):
            return b""
        return raw[skip : skip + size]

    head = read(0, 30)
    for sniff in (_png, _gif, _webp, _jpeg):
        size = sniff(head, read)
        if size is not None:
            return size if size[0] > 0 and size[1] > 0 else None
    return None


def _png(head: bytes, read: Read) -> tuple[int, int] | None:
    if head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR" or len(head) < 24:
        return None
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


def _gif(head: bytes, read: Read) -> tuple[int, int] | None:
    if head[:6] not in (b"GIF87a", b"GIF89a") or len(head) < 10:
        return None
    return int.from_bytes(head[6:8], "little"), int.from_bytes(head[8:10], "little")


def _webp(head: bytes, read: Read) -> tuple[int, int] | None:
    if head[:4] != b"RIFF" or head[8:12] != b"WEBP" or len(head) < 30:
        return None
    chunk = head[12:16]
    if chunk == b"VP8 " and head[23:26] == b"\x9d\x01\x2a":  # lossy: 14-bit sizes after the start code
        return int.from_bytes(head[26:28], "little") & 0x3FFF, int.from_bytes(head[28:30], "little") & 0x3FFF
    if chunk == b"VP8L" and head[20] == 0x2F:  # lossless: 14-bit sizes - 1, packed
        bits = int.from_bytes(head[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X":  # extended: 24-bit canvas sizes - 1
        return int.from_bytes(head[24:27], "little") + 1, int.from_bytes(head[27:30], "little") + 1
    return None


_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
"""JPEG start-of-frame markers (not DHT, JPG, DAC, which share the range)."""


def _jpeg(head: bytes, read: Read) -> tuple[int, int] | None:
    """The size in the frame header (SOFn), found by skipping the segments before it (EXIF and
    ICC profiles can take tens of KB: they are skipped by their lengths, not decoded)."""
    if head[:3] != b"\xff\xd8\xff":
        return None
    pos = 2
    for _ in range(MAX_SEGMENTS):
        segment = read(pos, 4)
        if len(segment) < 4 or segment[0] != 0xFF:
            return None
        marker = segment[1]
        if marker == 0xFF:  # a fill byte
            pos += 1
        elif marker == 0x01 or 0xD0 <= marker <= 0xD7:  # markers without a length
            pos += 2
        elif marker in (0xD9, 0xDA):  # the end, or scan data, before any frame header
            return None
        elif marker in _SOF:
            frame = read(pos + 5, 4)  # after the length and the sample precision: height, width
            return (int.from_bytes(frame[2:4], "big"), int.from_bytes(frame[0:2], "big")) if len(frame) == 4 else None
        else:
            pos += 2 + int.from_bytes(segment[2:4], "big")
    return None


def image_part_tokens(part: Mapping[str, Any]) -> tuple[int, bool]:
    """The tokens of an ``image_url`` content part, and whether its size was known (``False``: the
    count is the ``UNKNOWN_TOKENS`` estimate)."""
    image = part.get("image_url")
    url, detail = (image.get("url"), image.get("detail")) if isinstance(image, Mapping) else (image, None)
    if detail == "low":
        return LOW_DETAIL_TOKENS, True
    size = data_url_size(url) if isinstance(url, str) else None
    if size is None:
        return UNKNOWN_TOKENS, False
    return image_tokens(*size, detail), True
