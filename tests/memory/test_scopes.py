"""``Memory.remember_scopes``: several scopes of one store in one transaction, each distinct text
embedded once, and each scope deduplicated on its own."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from jotty.errors import ValidationError
from jotty.memory import Memory
from jotty.memory.embedders import WordLlamaEmbedder
from tests.runs.backends import Backend


class CountingEmbedder(WordLlamaEmbedder):
    """The real offline embedder, counting the texts it is asked to embed."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []

    def embed(self, texts: Sequence[str]) -> Any:
        self.texts.extend(texts)
        return super().embed(texts)


async def test_a_text_for_two_scopes_is_embedded_once_and_stored_in_each(store: str) -> None:
    embedder = CountingEmbedder()
    async with Memory(store, "conductor", embedder) as memory:
        text = "reconcile the invoices for Acme-12 in Lisbon -> done: 12 items"
        other = "Acme-12 asked for the Lisbon invoices by Friday"
        out = await memory.remember_scopes({"conductor": [text, other], "actor:worker": [{"text": text}]})
        assert sorted(embedder.texts) == sorted([text, other])  # three items, two distinct texts
        assert [o.action for o in out["conductor"]] == ["stored", "stored"]
        assert [o.action for o in out["actor:worker"]] == ["stored"]
        assert out["actor:worker"][0].id != out["conductor"][0].id  # each scope holds its own memory
        actor = memory.scoped("actor:worker")
        hits = await actor.recall("Acme-12 invoices Lisbon", k=5)
        assert [h.id for h in hits] == [out["actor:worker"][0].id]
        assert [h.text for h in await memory.recall("Acme-12 invoices Lisbon", k=5)].count(text) == 1

        again = await memory.remember_scopes({"actor:worker": [text], "conductor": [other]})
        assert again["actor:worker"][0].action == "reinforced"  # near-duplicates are found per scope
        assert again["actor:worker"][0].id == out["actor:worker"][0].id
        assert again["conductor"][0].id == out["conductor"][1].id


async def test_salience_and_skips_stay_per_entry(store: str) -> None:
    async with Memory(store, "conductor", min_salience=0.5) as memory:
        out = await memory.remember_scopes(
            {
                "conductor": [{"text": "the Faro office closes on Fridays", "importance": 0.9}, "ok"],
                "team:ops": [],
            }
        )
        assert [o.action for o in out["conductor"]] == ["stored", "skipped"]
        assert "below 0.50" in out["conductor"][1].reason
        assert out["team:ops"] == []
        assert (await memory.scoped("team:ops").stats()).total == 0


REFUSE = {  # a real refusal by the store, on the scope that is written second (scopes go in order)
    "sqlite": [
        "CREATE TRIGGER refuse_beta BEFORE INSERT ON jotty_memory WHEN new.scope = 'beta' "
        "BEGIN SELECT RAISE(ABORT, 'beta is read-only'); END"
    ],
    "postgres": [
        "CREATE FUNCTION refuse_beta() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "IF NEW.scope = 'beta' THEN RAISE EXCEPTION 'beta is read-only'; END IF; RETURN NEW; END $$",
        "CREATE TRIGGER refuse_beta BEFORE INSERT ON jotty_memory FOR EACH ROW EXECUTE FUNCTION refuse_beta()",
    ],
}


async def test_a_failure_in_the_second_scope_leaves_neither_written(backend: Backend) -> None:
    async with Memory(backend.store, "alpha") as memory:
        await memory.stats()  # creates the tables
        for statement in REFUSE[backend.kind]:
            backend.rows(statement)
        with pytest.raises(Exception, match="beta is read-only"):  # StoreError on SQLite; psycopg's own on PostgreSQL
            await memory.remember_scopes({"alpha": ["Lisbon ships on Mondays"], "beta": ["Porto ships on Tuesdays"]})
        assert (await memory.stats()).total == 0  # alpha's insert ran first, and was rolled back
        assert (await memory.scoped("beta").stats()).total == 0
        again = await memory.remember_scopes({"alpha": ["Lisbon ships on Mondays"]})
        assert [o.action for o in again["alpha"]] == ["stored"]


async def test_bad_input_says_what_to_pass(tmp_path: Path) -> None:
    async with Memory(tmp_path / "memory.db", "conductor") as memory:
        with pytest.raises(ValidationError, match="dict of"):
            await memory.remember_scopes([("conductor", ["x"])])  # type: ignore[arg-type]
        with pytest.raises(ValidationError, match="list of items"):
            await memory.remember_scopes({"conductor": "just a string"})
        with pytest.raises(ValidationError):
            await memory.remember_scopes({"": ["x"]})
        assert (await memory.stats()).total == 0
