"""Review: a source's search score does not depend on when it was registered."""

from __future__ import annotations

from pathlib import Path

import pytest

from jotty.registry import DataRegistry


async def test_registering_a_source_again_leaves_its_score_as_it_was(registry: DataRegistry, tmp_path: Path) -> None:
    """A catalogue entry is not better for being newer (``registry.WEIGHTS``): the memory's
    ordering by recency (``Weights.recency_order``) must not reach the registry's scores."""
    (tmp_path / "rainfall.csv").write_text("station,day,rain_mm\nporto,2024-01-01,3.2\n")
    (tmp_path / "sunshine.csv").write_text("station,day,sun_hours\nporto,2024-01-01,5.5\n")
    await registry.add_file(tmp_path / "rainfall.csv", "rainfall")
    await registry.add_file(tmp_path / "sunshine.csv", "sunshine")

    async def scores() -> dict[str, float]:
        return {h.source.name: h.score for h in await registry.discover("daily rain per weather station", k=2)}

    before = await scores()
    await registry.add_file(tmp_path / "rainfall.csv", "rainfall")  # now the newest entry
    after = await scores()
    assert set(before) == {"rainfall", "sunshine"}
    assert after == pytest.approx(before)
