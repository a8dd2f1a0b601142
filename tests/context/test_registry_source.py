"""A registered data source in a level's window (L3 scopes it to its category)."""

from __future__ import annotations

from pathlib import Path

from jotty.context import ContextPolicy, registry_source
from jotty.registry import DataRegistry
from tests.context.flows import Seen, flows


async def test_a_registry_source_feeds_the_steps_of_its_category(tmp_path: Path) -> None:
    (tmp_path / "sales.csv").write_text("region,amount\nnorth,120\nsouth,80\n")
    async with DataRegistry(str(tmp_path / "store.db")) as registry:
        await registry.add(tmp_path / "sales.csv", "sales")
        policy = ContextPolicy(sources=[registry_source(registry, "sales", category="analysis")])
        seen = Seen()
        result = await flows(seen)["chain"].run("go", level="L3", policy=policy)
    assert result.ok
    table = seen.last("analyse")["parts"]["source:sales"]
    assert table == {
        "columns": ["region", "amount"],
        "rows": [{"region": "north", "amount": "120"}, {"region": "south", "amount": "80"}],
    }
    assert "source:sales" not in seen.last("write")["parts"]
