"""The insight registry: ``@insight(title, columns)`` on a generator of rows."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from jotty.dashboard.insights.data import FlowRuns

Generator = Callable[[FlowRuns], Iterator[dict[str, Any]]]


@dataclass(frozen=True)
class Insight:
    """One registered insight: its name (the function's), title, columns, and the generator."""

    name: str
    title: str
    columns: tuple[str, ...]
    generate: Generator
    chart: str | None = None
    """A column to draw as bars next to the table, if any."""
    limit: int = 20


INSIGHTS: dict[str, Insight] = {}


def insight(
    title: str, columns: tuple[str, ...], *, chart: str | None = None, limit: int = 20
) -> Callable[[Generator], Generator]:
    """Register the decorated generator as an insight; its docstring is the insight's description."""

    def register(fn: Generator) -> Generator:
        INSIGHTS[fn.__name__] = Insight(fn.__name__, title, columns, fn, chart, limit)
        return fn

    return register


def run_insights(runs: FlowRuns) -> list[dict[str, Any]]:
    """Every registered insight over ``runs``: title, description, columns and rows."""
    out = []
    for item in INSIGHTS.values():
        rows = []
        for row in item.generate(runs):
            rows.append(row)
            if len(rows) >= item.limit:
                break
        out.append(
            {
                "name": item.name,
                "title": item.title,
                "description": (item.generate.__doc__ or "").strip(),
                "columns": list(item.columns),
                "chart": item.chart,
                "rows": rows,
            }
        )
    return out
