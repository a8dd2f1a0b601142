"""holds_run on both backends: odd run ids (quotes, %, _, backslashes, accents, emoji) match
exactly, and case counts (SQLite's LIKE ignores it: a review's finding)."""

from __future__ import annotations

import pytest

from jotty.memory import Memory


@pytest.mark.parametrize(
    "run_id",
    ['run-"quoted"', "run-100%", "run_a_b", "run-\\back", "run-é-ü-日本", "run-\U0001f600"],
)
async def test_holds_run_finds_odd_run_ids_exactly(store: str, run_id: str) -> None:
    async with Memory(store, "conductor") as memory:
        await memory.remember("tallied the Evora batch", metadata={"run_id": run_id, "kind": "run"})
        assert memory.holds_run(run_id)
        # a near-miss: one character changed where the LIKE wildcard would match it
        other = run_id.replace("%", "x").replace("_", "x").replace("\\", "/") + "-2"
        assert not memory.holds_run(other)


async def test_holds_run_is_case_sensitive(store: str) -> None:
    """A run id given by the caller (Conductor.run(run_id=...)) that differs only in case is another run."""
    async with Memory(store, "conductor") as memory:
        await memory.remember("tallied the Evora batch", metadata={"run_id": "Report-1", "kind": "run"})
        assert memory.holds_run("Report-1")
        assert not memory.holds_run("report-1"), "SQLite LIKE is case-insensitive: another run's memory counts"
