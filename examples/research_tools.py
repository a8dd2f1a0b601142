"""The Python agents of ``research_chain.yaml`` (a flow definition run with ``jotty run``).

``fetch`` fails on its first call in a run (the flow retries it), ``legal`` is always down (the parallel
needs only 3 of its 4 branches) and ``write`` is overloaded (its fallback ``plain_write`` runs).
They report made-up token counts, so the run has a token shape to show.
"""

from __future__ import annotations

from typing import Any

from jotty.agents import AgentResult, RunContext, TokenUsage

_timed_out: set[str | None] = set()


def fetch(topic: str, ctx: RunContext) -> AgentResult:
    """Notes on ``topic``; the search API times out on the first call of each run."""
    if ctx.run_id not in _timed_out:
        _timed_out.add(ctx.run_id)
        raise ConnectionError("search API timed out")
    notes = [f"{topic}: finding {i}" for i in range(1, 6)]
    return AgentResult(output=notes, tokens=TokenUsage(prompt=420, completion=180))


def market(notes: list[str]) -> AgentResult:
    return AgentResult(output=f"market: {len(notes)} findings, two with buyers", tokens=TokenUsage(300, 60))


def technical(notes: list[str]) -> AgentResult:
    return AgentResult(output=f"technical: {len(notes)} findings hold up", tokens=TokenUsage(310, 70))


def legal(notes: list[str]) -> str:
    raise RuntimeError("the legal model is unavailable")


def write(analyses: list[Any]) -> str:
    raise RuntimeError("the writer model is overloaded")


def plain_write(analyses: list[Any]) -> str:
    """The fallback writer: the analyses that came back, one per line."""
    market_view, technical_view, _legal, words = analyses
    lines = [view for view in (market_view, technical_view) if view]
    lines.append(f"source notes: {str(words).strip()} words")
    return "REPORT\n" + "\n".join(f"- {line}" for line in lines)
