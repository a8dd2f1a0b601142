from __future__ import annotations

import email.utils
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jotty.agents.retry import Backoff, retry_after, retryable_status
from jotty.agents.template import Template
from jotty.errors import AgentError, ValidationError

names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,10}", fullmatch=True)


def escape(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


@given(st.text())
def test_escaped_text_renders_to_itself(text: str) -> None:
    assert Template.parse(escape(text)).render({}) == text


@given(st.lists(st.tuples(st.text(), names), max_size=4), st.text(), st.dictionaries(names, st.text()))
def test_placeholders_are_filled_and_literal_text_kept(
    pieces: list[tuple[str, str]], tail: str, values: dict[str, str]
) -> None:
    source = "".join(f"{escape(lit)}{{{name}}}" for lit, name in pieces) + escape(tail)
    template = Template.parse(source)
    assert template.names == tuple(name for _, name in pieces)
    full = {name: values.get(name, f"<{name}>") for _, name in pieces}
    assert template.render(full) == "".join(lit + full[name] for lit, name in pieces) + tail


@pytest.mark.parametrize("source", ["{", "}", "{}", "{ x}", "{a.b}", "{a[0]}", "{a!r}", "{a:>3}", "{1x}", "x{y"])
def test_malformed_placeholders_are_rejected(source: str) -> None:
    with pytest.raises(ValidationError, match="bad placeholder"):
        Template.parse(source)


def test_non_string_values_render_as_json_and_missing_ones_are_named() -> None:
    template = Template.parse("--data={input}")
    assert template.render({"input": {"k": [1, None]}}) == '--data={"k": [1, null]}'
    assert template.render({"input": None}) == "--data="
    assert template.render({"input": 7}) == "--data=7"
    with pytest.raises(AgentError, match=r"needs \{input\}.*known: none"):
        template.render({})


@given(st.integers(min_value=0, max_value=40), st.floats(min_value=0, max_value=10), st.floats(0, 100))
def test_backoff_is_exponential_jittered_and_capped(attempt: int, base: float, cap: float) -> None:
    delay = Backoff(base, cap).delay(attempt)
    ceiling = min(cap, base * 2.0**attempt)
    assert ceiling * 0.75 <= delay <= ceiling


@given(st.integers(min_value=0, max_value=8))
def test_backoff_grows_by_at_least_half_between_retries_below_the_cap(attempt: int) -> None:
    backoff = Backoff(0.1, cap=1000)
    assert backoff.delay(attempt + 1) >= 1.499 * backoff.delay(attempt)


def test_retry_after_wins_up_to_its_limit() -> None:
    backoff = Backoff(base=100, cap=100, max_retry_after=5)
    assert backoff.delay(3, retry_after=1.5) == 1.5
    assert backoff.delay(3, retry_after=60) == 5


def test_retry_after_header_forms() -> None:
    assert retry_after({"Retry-After": "3"}) == 3
    assert retry_after({"retry-after": "0.25"}) == 0.25
    assert retry_after({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    in_a_minute = email.utils.formatdate(time.time() + 60, usegmt=True)
    assert 55 <= (retry_after({"Retry-After": in_a_minute}) or 0) <= 60
    assert retry_after({"Retry-After": "soon"}) is None
    assert retry_after({"Retry-After": "-1"}) is None
    assert retry_after({}) is None and retry_after(None) is None


@pytest.mark.parametrize(
    ("status", "retry"), [(429, True), (500, True), (503, True), (408, True), (400, False), (401, False), (404, False)]
)
def test_retryable_statuses(status: int, retry: bool) -> None:
    assert retryable_status(status) is retry
