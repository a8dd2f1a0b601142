"""Review: a search of the registry for a year or a date looks for data about it."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from jotty.memory.ranking import fuse
from jotty.memory.timeq import TimeIntent
from jotty.registry import DataRegistry
from jotty.registry.registry import WEIGHTS
from tests.support.candidates import older_and_newer


async def test_a_search_for_a_year_finds_the_data_named_by_it(registry: DataRegistry, tmp_path: Path) -> None:
    """The index's time is when a source was registered, not what its data is about: a question only
    of a time ("2023", "what's new") is not answered by the sources registered then."""
    (tmp_path / "sales_2023.csv").write_text("order_id,amount,ordered_on\n1,12.5,2023-01-02\n")
    (tmp_path / "staff.csv").write_text("name,role\nann,chef\n")
    await registry.add_file(tmp_path / "sales_2023.csv", "sales_2023")
    await registry.add_file(tmp_path / "staff.csv", "staff")
    for question in ("2023", "data from 2023", "what happened in 2023?"):
        hits = await registry.discover(question, k=1)
        assert [h.source.name for h in hits] == ["sales_2023"], question


def test_naming_a_place_does_not_lift_a_source() -> None:
    """Memory prefers memories naming a place for "where" questions; a catalogue does not: "where are
    the invoices?" asks for a source, and the one closer in meaning comes first."""
    found = older_and_newer(0.6, 0.5, answers=np.array([0.0, 1.0]))  # the newer names a place
    assert [seq for seq, _, _ in fuse(found, TimeIntent(), WEIGHTS)] == [1, 2]
    assert [seq for seq, _, _ in fuse(found, TimeIntent())] == [2, 1]  # memory's weights: the place first
