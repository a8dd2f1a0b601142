"""An image content part counts by its pixels (OpenAI's rule for GPT-4o-class models), read from
the header of its data URL, not by the characters of its base64: a photo "cost" hundreds of
thousands of tokens, so a context retry nearly always dropped it."""

from __future__ import annotations

import base64
import random
import struct
import zlib
from dataclasses import replace
from typing import Any

import pytest

from jotty.context import Part, PartKind, SmartContextGuard, as_text, images
from jotty.context.compress import count_json, fit_content_parts
from jotty.context.guard import IMAGE_ESTIMATE, ContextBudgetError
from jotty.context.images import UNKNOWN_TOKENS, data_url_size, image_part_tokens, image_tokens
from jotty.context.messages import fit_messages, message_parts, tokens_of
from jotty.context.tokens import default_counter


def png(width: int, height: int, *, noise: bool = False, seed: int = 0) -> bytes:
    """A valid PNG: 1-bit grayscale (8-bit random pixels with ``noise``, for a photo's bytes)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    depth, row = (8, width) if noise else (1, (width + 7) // 8)
    pixels = random.Random(seed).randbytes(row * height) if noise else bytes(row * height)
    raw = b"".join(b"\x00" + pixels[y * row : (y + 1) * row] for y in range(height))  # filter 0 each row
    ihdr = struct.pack(">IIBBBBB", width, height, depth, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def segment(marker: int, body: bytes) -> bytes:
    return struct.pack(">BBH", 0xFF, marker, len(body) + 2) + body


def jpeg(width: int, height: int, *, exif: int = 0) -> bytes:
    """A JPEG's header up to its frame header (SOF0): JFIF, an EXIF segment of ``exif`` bytes, a
    quantization table and a Huffman table (DHT, whose marker 0xC4 lies among the SOF markers)."""
    jfif = segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
    app1 = segment(0xE1, b"Exif\x00\x00" + bytes(exif)) if exif else b""
    dqt = segment(0xDB, b"\x00" + bytes(range(64)))
    dht = segment(0xC4, b"\x00" + bytes([0, 1] + [0] * 14) + b"\x00")
    sof0 = segment(0xC0, struct.pack(">BHHB", 8, height, width, 3) + b"\x01\x22\x00\x02\x11\x01\x03\x11\x01")
    return b"\xff\xd8" + jfif + app1 + dqt + dht + sof0 + segment(0xDA, b"\x01\x01\x00\x00\x3f\x00") + b"\xff\xd9"


def gif(width: int, height: int) -> bytes:
    """A 1x1 frame on a ``width`` x ``height`` screen (the screen's size is the image's)."""
    return b"GIF89a" + struct.pack("<HHBBB", width, height, 0, 0, 0) + b",\x00\x00\x00\x00\x01\x00\x01\x00\x00;"


def webp(kind: bytes, width: int, height: int) -> bytes:
    """A WebP's RIFF header and the start of its first chunk (lossy, lossless or extended): the
    bytes the size is read from, not a decodable image."""
    if kind == b"VP8 ":
        body = b"\x30\x01\x00\x9d\x01\x2a" + struct.pack("<HH", width, height) + bytes(10)
    elif kind == b"VP8L":
        body = b"\x2f" + ((width - 1) | (height - 1) << 14).to_bytes(4, "little") + bytes(10)
    else:
        body = b"\x10\x00\x00\x00" + (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    riff = b"WEBP" + kind + struct.pack("<I", len(body)) + body
    return b"RIFF" + struct.pack("<I", len(riff)) + riff


def data_url(image: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64," + base64.b64encode(image).decode()


def image_part(url: str, detail: str | None = None) -> dict[str, Any]:
    image = {"url": url} if detail is None else {"url": url, "detail": detail}
    return {"type": "image_url", "image_url": image}


# hand-computed by the rule: fit in 2048x2048, shortest side down to 768, 85 + 170 per 512 tile
RULE = [
    (1024, 1024, "high", 85 + 170 * 4),  # OpenAI's example: 768x768, 2x2 tiles
    (2048, 4096, "high", 85 + 170 * 6),  # OpenAI's example: 1024x2048, then 768x1536, 2x3 tiles
    (4096, 8192, "low", 85),  # OpenAI's example: low detail, whatever the size
    (512, 512, "auto", 85 + 170),  # no scaling, one tile ("auto" counts as high)
    (513, 512, None, 85 + 170 * 2),  # one pixel over a tile; no detail: auto
    (1920, 1080, "auto", 85 + 170 * 6),  # 1365x768: 3x2 tiles
    (3000, 1000, "high", 85 + 170 * 8),  # 2048x683, shortest side under 768: 4x2 tiles, the dearest
    (100, 5000, "high", 85 + 170 * 4),  # 41x2048: 1x4 tiles
    (1, 1, "high", 85 + 170),
]


@pytest.mark.parametrize(("width", "height", "detail", "tokens"), RULE)
def test_a_png_counts_by_the_rule(width: int, height: int, detail: str | None, tokens: int) -> None:
    url = data_url(png(width, height))
    assert data_url_size(url) == (width, height)
    assert image_part_tokens(image_part(url, detail)) == (tokens, True)
    assert image_tokens(height, width, detail) == tokens  # the rule is the same on its side


@pytest.mark.parametrize(("width", "height", "detail", "tokens"), RULE)
def test_a_jpeg_counts_by_its_frame_header(width: int, height: int, detail: str | None, tokens: int) -> None:
    url = data_url(jpeg(width, height), "image/jpeg")
    assert data_url_size(url) == (width, height)
    assert image_part_tokens(image_part(url, detail)) == (tokens, True)


def test_a_jpeg_frame_header_after_a_long_exif_segment_is_found_decoding_only_headers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A phone photo's EXIF (a thumbnail in it) can take 60 KB before the frame header: the segments
    are skipped by their lengths, each header decoded alone, never the whole image."""
    photo = jpeg(4032, 3024, exif=60_000) + random.Random(1).randbytes(2_000_000)  # then "scan data"
    decoded: list[int] = []
    b64decode = base64.b64decode

    def counting(data: Any, *args: Any, **kwargs: Any) -> bytes:
        decoded.append(len(data))
        return b64decode(data, *args, **kwargs)

    monkeypatch.setattr(images.base64, "b64decode", counting)
    url = data_url(photo, "image/jpeg")
    assert image_part_tokens(image_part(url, "high")) == (85 + 170 * 4, True)  # 2048x1536, 1024x768: 2x2 tiles
    assert data_url_size(url) == (4032, 3024)
    assert 0 < sum(decoded) < 4096, decoded


def test_gif_and_webp_sizes_are_read() -> None:
    assert data_url_size(data_url(gif(640, 480), "image/gif")) == (640, 480)
    for kind in (b"VP8 ", b"VP8L", b"VP8X"):
        assert data_url_size(data_url(webp(kind, 1600, 900), "image/webp")) == (1600, 900), kind
    # 1600x900 -> 1365x768: 3x2 tiles
    assert image_part_tokens(image_part(data_url(webp(b"VP8L", 1600, 900)))) == (85 + 170 * 6, True)


def test_the_size_is_sniffed_from_the_bytes_not_the_media_type() -> None:
    assert data_url_size(data_url(png(300, 200), "image/jpeg")) == (300, 200)
    assert data_url_size("DATA:IMAGE/PNG;BASE64," + base64.b64encode(png(30, 20)).decode()) == (30, 20)


def test_the_unknown_size_default_is_the_dearest_image_by_the_rule() -> None:
    assert UNKNOWN_TOKENS == 85 + 170 * 8  # 4x2 tiles: the long side at most 2048, the short at most 768
    dearest = max(image_tokens(w, h, "high") for w in range(64, 6000, 61) for h in range(64, 3000, 59))
    assert dearest == UNKNOWN_TOKENS


@pytest.mark.parametrize(
    "url",
    [
        "data:image/png;base64,!!!!not base64!!!!",
        "data:image/png;base64," + base64.b64encode(b"plain text, not an image").decode(),
        "data:image/png;base64," + base64.b64encode(png(640, 480)[:20]).decode(),  # cut inside IHDR
        "data:image/png;base64," + base64.b64encode(png(640, 480)).decode().replace("A", "*", 1),  # in its header
        "data:image/png," + "%89PNG%0D%0A%1A%0A",  # not base64
        "data:image/png;base64",  # no comma
        "data:image/jpeg;base64," + base64.b64encode(jpeg(0, 480)).decode(),  # height 0: defined later
        "data:image/jpeg;base64," + base64.b64encode(b"\xff\xd8\xff\xe0\x00\x10JFIF").decode(),  # no frame header
        "data:;base64,",
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNgAAAAAgABSK+kcQAAAABJRU5ErkJggg==",
    ],
)
def test_a_malformed_data_url_counts_as_the_labelled_default(url: str) -> None:
    assert data_url_size(url) is None
    assert image_part_tokens(image_part(url, "high")) == (UNKNOWN_TOKENS, False)
    assert image_part_tokens(image_part(url, "low")) == (85, True)  # low detail needs no size


def test_a_remote_url_counts_as_the_labelled_default_unless_low_detail() -> None:
    assert image_part_tokens(image_part("https://example.com/chart.png")) == (UNKNOWN_TOKENS, False)
    assert image_part_tokens(image_part("https://example.com/chart.png", "low")) == (85, True)
    assert image_part_tokens({"type": "image_url", "image_url": "https://example.com/c.png"}) == (UNKNOWN_TOKENS, False)
    assert image_part_tokens({"type": "image_url"}) == (UNKNOWN_TOKENS, False)


# ---------------------------------------------------------------- the guard counts images by their pixels

REPORT = "The north region grew by twelve percent while the south held steady all year. "
QUESTION = {"role": "user", "content": "Which region grew?"}


@pytest.fixture(scope="module")
def photo() -> dict[str, Any]:
    """A 1024x768 PNG of random pixels: about 1 MB of base64, as a photo's; 765 tokens by the rule."""
    return image_part(data_url(png(1024, 768, noise=True)), "high")


def said(text: str, *more: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"type": "text", "text": text}, *more]


def test_the_guard_counts_an_image_by_its_pixels_not_its_bytes(photo: dict[str, Any]) -> None:
    guard, count = SmartContextGuard(), default_counter().count
    plain = image_part(data_url(png(1024, 768)), "high")  # the same size in a few KB
    assert len(photo["image_url"]["url"]) > 1_000_000 > 100_000 > len(plain["image_url"]["url"])
    no_url = Part("chart", said("Sales by region.", image_part("", "high")), PartKind.HISTORY)
    empty = count(no_url.text())  # the part's JSON without the URL: the text the guard counts
    assert guard.count(Part("chart", said("Sales by region.", photo), PartKind.HISTORY)) == empty + 765
    assert guard.count(Part("chart", said("Sales by region.", plain), PartKind.HISTORY)) == empty + 765
    assert count_json(said("Sales.", photo), count) == count(as_text(said("Sales.", image_part("", "high")))) + 765
    message = {"role": "user", "content": said("Sales by region.", photo)}
    assert 765 < tokens_of([message]) < 765 + 60  # was about 740,000: the base64 as text


def test_a_window_says_when_an_image_was_estimated(photo: dict[str, Any]) -> None:
    guard = SmartContextGuard()
    source = guard.counter.source
    known = guard.assemble([Part("chart", said("Sales.", photo), PartKind.HISTORY)], 10_000)
    assert known.counter == source and known.event()["counter"] == source
    remote = said("Sales.", image_part("https://example.com/chart.png"))
    window = guard.assemble([Part("chart", remote, PartKind.HISTORY)], 10_000)
    assert window.counter == source + IMAGE_ESTIMATE and UNKNOWN_TOKENS < window.tokens < UNKNOWN_TOKENS + 40
    history = [{"role": "user", "content": remote}, {"role": "assistant", "content": "A chart."}]  # in a chat history
    window = guard.assemble([Part("history", history, PartKind.HISTORY)], 10_000)
    assert window.counter == source + IMAGE_ESTIMATE and UNKNOWN_TOKENS < window.tokens < UNKNOWN_TOKENS + 60


def test_a_photo_that_used_to_be_dropped_now_fits_while_the_text_is_trimmed(photo: dict[str, Any]) -> None:
    """A context retry of a report and its chart: the chart (765 tokens) stays, the report is trimmed.
    Counted by its base64, the chart was over any budget and always went (``drop_non_text``)."""
    report = REPORT * 200  # about 3,400 tokens
    messages = [
        {"role": "system", "content": "Answer briefly."},
        {"role": "user", "content": said(report, photo)},
        {"role": "assistant", "content": "It shows the regions."},
        QUESTION,
    ]
    before = tokens_of(messages)
    assert 765 + 3_000 < before < 765 + 4_000
    fitted, window = fit_messages(messages, 2_000)
    assert tokens_of(fitted) <= 2_000
    text, image = fitted[1]["content"]
    assert image is photo
    assert text["text"].startswith(report[:40]) and len(text["text"]) < len(report) // 2
    assert [(a.part, a.action) for a in window.actions] == [("1:user", "trim")]
    event = window.event()  # the context_compressed report, in the same counts
    assert event["before"] == before and event["after"] == window.tokens == tokens_of(fitted)


def test_a_chat_history_keeps_its_newest_message_with_a_photo(photo: dict[str, Any]) -> None:
    history = [
        {"role": "assistant", "content": REPORT * 300},
        {"role": "user", "content": said("And this chart?", photo)},
    ]
    window = SmartContextGuard().assemble(
        [Part("goal", "Which region grew?", PartKind.GOAL), Part("history", history, PartKind.HISTORY)], 2_000
    )
    assert window.tokens <= 2_000
    assert window.data()["history"] == history[1:], [a.to_dict() for a in window.actions]


def test_fit_content_parts_keeps_a_photo_that_fits_and_drops_one_that_does_not(photo: dict[str, Any]) -> None:
    count = default_counter().count
    parts = said(REPORT * 100, photo)
    fitted = fit_content_parts(parts, 1_200, count)
    assert fitted is not None and fitted[1] == 0 and fitted[0][1] is photo
    assert 1_100 < count_json(fitted[0], count) <= 1_200
    fitted = fit_content_parts(parts, 700, count)  # less than the photo alone
    assert fitted is not None and fitted[1] == 1 and fitted[0][0]["type"] == "text"
    assert count_json(fitted[0], count) <= 700


class Uncached:
    """The default counter's counts without a cache: every window is first taken at its bounds."""

    source = "uncached"

    def __init__(self) -> None:
        self.count = default_counter().count

    @staticmethod
    def bound(text: str) -> int:
        return len(text.encode("utf-8"))

    @staticmethod
    def cached(text: str) -> None:
        return None


def test_a_window_that_fits_by_its_texts_bounds_counts_its_images_too(photo: dict[str, Any]) -> None:
    """The bounds the guard first takes a window at (its texts' bytes) hold its images' tokens too:
    a window of a few hundred bytes and a photo is not under a budget of 500."""
    guard = SmartContextGuard(counter=Uncached())
    parts = [Part("goal", "Which region grew?", PartKind.GOAL), Part("chart", said("Sales.", photo), PartKind.HISTORY)]
    window = guard.assemble(parts, 500)
    assert window.bound <= 500 and window.tokens <= 500
    assert [(a.part, a.action) for a in window.actions] == [("chart", "drop_non_text")]


def by_hand(messages: list[dict[str, Any]], cost: dict[str, int], counter: Any) -> int:
    """The tokens of ``messages`` counted apart from the guard: each message's text (the JSON of its
    parts, URLs left out) by ``counter``, and each image at ``cost[url]``."""
    total = 0
    for part in message_parts(messages):
        content, images = part.content, 0
        if isinstance(content, list):
            images = sum(cost[p["image_url"]["url"]] for p in content if p["type"] == "image_url")
            content = [
                {**p, "image_url": {**p["image_url"], "url": ""}} if p["type"] == "image_url" else p for p in content
            ]
        total += counter.count(replace(part, content=content).text()) + images
    return total


def test_random_image_conversations_fit_the_budget_by_the_rule() -> None:
    """Images of random sizes and details, a remote one among them: the fit is within the budget
    as the guard counts (``tokens_of``) and as the rule does for the sizes they were made with, the
    two counts agree, and every image left is whole."""
    bad = []
    guard = SmartContextGuard(counter=Uncached())
    for seed in range(40):
        rng = random.Random(seed)
        sizes = [(rng.randint(1, 3000), rng.randint(1, 3000), rng.choice(["low", "high", None])) for _ in range(3)]
        made = [image_part(data_url(png(w, h)), detail) for w, h, detail in sizes]
        cost = {p["image_url"]["url"]: image_tokens(w, h, d) for p, (w, h, d) in zip(made, sizes, strict=True)}
        made.append(image_part("https://example.com/a.png"))
        cost["https://example.com/a.png"] = UNKNOWN_TOKENS
        messages: list[dict[str, Any]] = [{"role": "system", "content": REPORT * rng.randint(0, 5) or "Be brief."}]
        for _ in range(rng.randint(1, 4)):
            chosen = rng.sample(made, rng.randint(0, 2))
            messages.append({"role": "user", "content": said(REPORT * rng.randint(0, 40), *chosen)})
            messages.append({"role": "assistant", "content": REPORT * rng.randint(0, 10) or "Yes."})
        messages.append(QUESTION)
        if tokens_of(messages, guard) != by_hand(messages, cost, guard.counter):
            bad.append((seed, "counts differ", tokens_of(messages, guard), by_hand(messages, cost, guard.counter)))
        budget = rng.randint(100, tokens_of(messages, guard))
        try:
            fitted, _ = fit_messages(messages, budget, guard)
        except ContextBudgetError:
            continue
        if max(tokens_of(fitted, guard), by_hand(fitted, cost, guard.counter)) > budget:
            bad.append((seed, tokens_of(fitted, guard), by_hand(fitted, cost, guard.counter), budget))
        kept = [p for m in fitted if isinstance(m["content"], list) for p in m["content"] if p["type"] != "text"]
        if any(p not in made for p in kept):
            bad.append((seed, "an image was changed"))
    assert bad == [], bad[:5]
