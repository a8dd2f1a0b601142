"""A member that a forget(where=) rewrote while keeping its words (its next item said the same),
then reinforced by the forgotten item said again, passed as only reinforced: the group was built
from the pass's stale read, dated by the forgotten statement (a review's finding). Its time and
metadata must be unchanged too."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from jotty.memory import Memory, consolidate

T0 = datetime(2024, 1, 1, tzinfo=UTC)


async def test_a_group_is_not_dated_by_a_forgotten_statement(store: str, monkeypatch) -> None:
    async with Memory(store, scope="s") as memory:
        e = await memory.remember("Caroline moved to Boston", metadata={"user": "u1"}, at=T0)
        assert (
            await memory.remember("Caroline moved to Boston", metadata={"user": "u2"}, at=T0 + timedelta(days=5)) == e
        )
        await memory.remember("Caroline adopted a dog in Boston", metadata={"user": "u3"}, at=T0 + timedelta(days=6))
        real = consolidate.summarise
        done = []

        async def racing(summarizer, members):
            if not done:
                done.append(1)
                await memory.forget(where={"user": "u1"})  # E keeps its text; u1's day-0 sighting is gone
                again = await memory.remember(
                    "Caroline moved to Boston", metadata={"user": "u1"}, at=T0 + timedelta(days=10)
                )
                assert again == e
            return await real(summarizer, members)

        monkeypatch.setattr(consolidate, "summarise", racing)
        report = await memory.consolidate()
        assert done
        rows = memory.database().read(
            lambda cur: cur.rows(
                "SELECT id, level, text, metadata, created_at FROM jotty_memory WHERE scope = 's' ORDER BY seq"
            )
        )
        for r in rows:
            print(r)
        print(report)
        episode = next(r for r in rows if r[0] == e)
        # nothing said on 2024-01-01 is still remembered: E's first sighting now is day 5
        assert datetime.fromtimestamp(episode[4], UTC).date().isoformat() != "2024-01-01"
        await memory.consolidate()  # a pass that skipped the group takes it now
        groups = memory.database().read(
            lambda cur: cur.rows("SELECT text, metadata FROM jotty_memory WHERE scope = 's' AND level = 'semantic'")
        )
        assert len(groups) == 1
        assert "2024-01-01" not in groups[0][0], groups[0][0]
        assert json.loads(groups[0][1])["span"][0][:10] != "2024-01-01", groups[0][1]
