"""``jotty memory``: search, show, add, consolidate, stats, forget and export, as a user runs them."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from jotty.memory import Memory
from jotty.orchestration import AgentConfig, Conductor

from .checks import error, ok
from .conftest import Jotty

ROOT = Path(__file__).resolve().parents[2]


def real_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """The installed command in a subprocess, piped (no terminal), 80 columns."""
    env = {**os.environ, "COLUMNS": "80"}
    env.pop("JOTTY_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "jotty", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def remembered_by_a_run(db: Path) -> None:
    """A Conductor run remembers its outcome in the conductor scope, as in real use."""

    def answer(value: str) -> str:
        return "the Faro office closes at 17:00 on Fridays"

    async def go() -> None:
        with Conductor([AgentConfig("clerk", answer)], store=db) as conductor:
            await conductor.run("when does the Faro office close on Fridays?")

    asyncio.run(go())


def test_the_real_cli_finds_what_a_run_remembered_and_reads_well_piped(db: Path) -> None:
    remembered_by_a_run(db)
    found = real_cli("memory", "search", "Faro office Fridays", "--db", str(db))
    assert found.returncode == 0, found.stderr
    assert "\x1b[" not in found.stdout  # piped: no colour codes
    assert all(len(line) <= 80 for line in found.stdout.splitlines())
    assert "Faro office" in found.stdout and "episodic" in found.stdout

    hits = json.loads(real_cli("memory", "search", "Faro office", "--json", "--db", str(db)).stdout)
    assert hits[0]["metadata"]["actor"] == "clerk" and hits[0]["level"] == "episodic"
    shown = real_cli("memory", "show", hits[0]["id"], "--db", str(db))
    assert shown.returncode == 0 and "Sources (1)" in shown.stdout and "clerk" in shown.stdout
    assert all(len(line) <= 80 for line in shown.stdout.splitlines())

    actor = json.loads(real_cli("memory", "stats", "--scope", "actor:clerk", "--json", "--db", str(db)).stdout)
    assert actor["total"] == 1 and actor["levels"]["episodic"] == 1


def test_add_search_consolidate_stats_export_and_forget(jotty: Jotty, db: Path, tmp_path: Path) -> None:
    added = json.loads(ok(jotty("memory", "add", "Ada moved to Lisbon in May", "-m", '{"source": "chat"}', "--json")))
    assert added["action"] == "stored" and added["id"].startswith("mem-")
    again = ok(jotty("memory", "add", "Ada moved to Lisbon in May"))
    assert again.startswith(f"reinforced {added['id']}")
    for fact in ("Ada rented a flat in Lisbon", "Ada found a job in Lisbon", "Ada joined a Lisbon rowing club"):
        ok(jotty("memory", "add", fact))
    assert "Ada moved to Lisbon" in ok(jotty("memory", "search", "where does Ada live?"))

    report = json.loads(ok(jotty("memory", "consolidate", "--json")))
    assert report["lease"] and report["replayed"] == 4
    assert "replayed" in ok(jotty("memory", "consolidate"))
    stats = json.loads(ok(jotty("memory", "stats", "--json")))
    assert stats["levels"]["episodic"] + stats["levels"]["semantic"] + stats["absorbed"] >= 4

    out = tmp_path / "memories.jsonl"
    assert "exported" in ok(jotty("memory", "export", "--output", str(out)))
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    texts = {source["text"] for row in rows for source in row["sources"]}
    assert "Ada moved to Lisbon in May" in texts and "Ada joined a Lisbon rowing club" in texts

    gone = json.loads(ok(jotty("memory", "forget", added["id"], "--json")))
    assert gone == {"scope": "conductor", "forgotten": 1}
    assert error(jotty("memory", "show", added["id"])).startswith(f"error: no memory '{added['id']}'")


def test_bad_input_is_a_clear_error_and_leaves_the_memory_intact(jotty: Jotty, db: Path) -> None:
    ok(jotty("memory", "add", "the Porto depot opens at 8"))
    before = json.loads(ok(jotty("memory", "stats", "--json")))
    assert "text is empty" in error(jotty("memory", "add", "  "))
    assert "no memory 'mem-nope'" in error(jotty("memory", "show", "mem-nope"))
    assert "no memory 'mem-nope'" in error(jotty("memory", "forget", "mem-nope"))  # a wrong id forgets nothing
    assert json.loads(ok(jotty("memory", "stats", "--json"))) == before

    async def count() -> int:
        async with Memory(db, "conductor") as memory:
            return (await memory.stats()).total

    assert asyncio.run(count()) == 1


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["memory", "search", "depot", "-k", "0"], "Invalid value for -k: give a whole number from 1 to 1000, got 0"),
        (["memory", "search", "depot", "-k", "1001"], "-k: give a whole number from 1 to 1000, got 1001"),
        (["memory", "consolidate", "--max-episodes", "0"], "--max-episodes: give a whole number from 1 to 50000"),
        (["data", "search", "depot", "-k", "0"], "Invalid value for '-k'"),
        (["runs", "list", "-n", "0"], "Invalid value for '--limit' / '-n'"),
    ],
)
def test_a_count_out_of_range_is_a_usage_error_in_every_command(tmp_path: Path, args: list[str], said: str) -> None:
    # memory search -k 0 exited 1 (the library's error), data search -k 0 exited 2 (typer's)
    done = real_cli(*args, "--db", str(tmp_path / "jotty.db"))
    assert done.returncode == 2 and done.stdout == "", done
    assert all(len(line) <= 80 for line in done.stderr.splitlines()), done.stderr
    assert said in " ".join(done.stderr.replace("│", " ").split()), done.stderr


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (
            ["memory", "search", "depot", "--level", "dreams"],
            "Invalid value for --level: 'dreams' is not one of working, episodic, semantic, procedural, archive, all",
        ),
        (["memory", "add", "x y z", "--importance", "2"], "Invalid value for --importance: give a number from 0 to 1"),
        (["memory", "add", "x y z", "--importance", "-0.5"], "--importance: give a number from 0 to 1, got -0.5"),
        (["memory", "add", "x y z", "--importance", "nan"], "--importance: give a number from 0 to 1, got nan"),
        (["memory", "forget"], "say what to forget: memory ids, --level, --before DATE, or --all --yes"),
        (["memory", "forget", "--all"], "--all deletes every memory of scope 'conductor': add --yes to confirm"),
        # the sweep: every other option value a command refused with exit 1
        (
            ["memory", "add", "x y z", "--level", "archive"],
            "--level: 'archive' is not one of working, episodic, semantic",
        ),
        (["memory", "add", "x y z", "-m", "{bad"], '--metadata: must be a JSON object such as \'{"source": "notes"}\''),
        (["memory", "add", "x y z", "-m", "[1, 2]"], "--metadata: must be a JSON object such as"),
        (["memory", "add", "x y z", "-m", '{"n": NaN}'], "--metadata: metadata must be JSON-serialisable"),
        (["memory", "forget", "--level", "dreams"], "'dreams' is not one of working, episodic, semantic, archive, all"),
        (["memory", "forget", "--level", "procedural"], "'procedural' is not one of working, episodic, semantic"),
        (["memory", "forget", "--before", "yesterday"], "--before: the date 'yesterday' is not an ISO 8601 time"),
        (["memory", "export", "--level", "dreams"], "--level: 'dreams' is not one of working, episodic, semantic"),
        (["memory", "export", "--level", "procedural"], "'procedural' is not one of working, episodic, semantic"),
        (
            ["memory", "stats", "--scope", "no spaces"],
            "Invalid value for --scope: scope 'no spaces' is not a valid name",
        ),
        (["memory", "search", "depot", "-s", "a!b"], "--scope: scope 'a!b' is not a valid name"),
    ],
)
def test_a_bad_option_is_a_usage_error_and_leaves_the_memory_intact(db: Path, args: list[str], said: str) -> None:
    # each exited 1, as a runtime error does; a usage error exits 2 and says what to give
    assert real_cli("memory", "add", "the Porto depot opens at 8", "--db", str(db)).returncode == 0
    before = real_cli("memory", "export", "--db", str(db)).stdout
    done = real_cli(*args, "--db", str(db))
    assert done.returncode == 2 and done.stdout == "", done
    assert "Traceback" not in done.stderr and "\x1b[" not in done.stderr, done.stderr
    assert all(len(line) <= 80 for line in done.stderr.splitlines()), done.stderr
    assert said in " ".join(done.stderr.replace("│", " ").split()), done.stderr
    assert real_cli("memory", "export", "--db", str(db)).stdout == before


def test_forgetting_what_matches_nothing_forgets_nothing_and_is_no_error(jotty: Jotty) -> None:
    ok(jotty("memory", "add", "the Porto depot opens at 8"))
    assert ok(jotty("memory", "forget", "--level", "archive")) == "forgot 0 memories in conductor\n"
    gone = json.loads(ok(jotty("memory", "forget", "--before", "2000-01-01", "--json")))
    assert gone == {"scope": "conductor", "forgotten": 0}
    assert json.loads(ok(jotty("memory", "stats", "--json")))["total"] == 1


def test_searching_from_the_cli_is_a_look_not_a_use(jotty: Jotty, db: Path) -> None:
    added = json.loads(ok(jotty("memory", "add", "the Porto depot opens at 8", "--json")))
    for _ in range(3):
        assert "Porto depot" in ok(jotty("memory", "search", "when does the Porto depot open?"))

    async def uses(recall: bool) -> int:
        async with Memory(db, scope="conductor") as memory:
            if recall:
                await memory.recall("when does the Porto depot open?")
        async with Memory(db, scope="conductor") as memory:
            hit = await memory.get(added["id"])
            assert hit is not None
            return hit.uses

    assert asyncio.run(uses(recall=False)) == 0  # browsing neither strengthens a memory nor keeps it from fading
    assert asyncio.run(uses(recall=True)) == 1  # a run's recall does


def test_search_cuts_a_long_text_and_escapes_the_query_it_shows(db: Path) -> None:
    """A memory of 30,000 characters filled about 1,000 lines of a search's table; the query in
    the title was printed raw, so an escape sequence in it restyled the terminal."""
    long = "the Lisbon depot ledger " + "lorem ipsum dolor " * 1_600
    assert real_cli("memory", "add", long, "--db", str(db)).returncode == 0
    found = real_cli("memory", "search", "Lisbon depot ledger", "--db", str(db))
    assert found.returncode == 0, found.stderr
    lines = found.stdout.splitlines()
    assert len(lines) < 30 and all(len(line) <= 80 for line in lines), found.stdout
    assert "…" in found.stdout and "`jotty memory show ID` shows one whole" in found.stdout
    hits = json.loads(real_cli("memory", "search", "Lisbon depot ledger", "--json", "--db", str(db)).stdout)
    assert hits[0]["text"] == long  # JSON keeps the whole text

    shown = real_cli("memory", "search", "Lisbon \x1b[2J\x1b[31mdepot", "--db", str(db))
    assert shown.returncode == 0 and "\x1b" not in shown.stdout, shown.stdout
    assert shown.stdout.startswith("Memory conductor: Lisbon \\x1b[2J\\x1b[31mdepot"), shown.stdout


def test_db_help_offers_redis_only_where_it_works(jotty: Jotty) -> None:
    """``--db`` of memory, data and learning said "postgresql://... or redis://...": redis is refused there."""
    for command in (("memory", "search"), ("data", "show"), ("learning", "show"), ("chat",), ("dashboard",)):
        said = " ".join(ok(jotty(*command, "--help", db_path=None)).replace("│", " ").split())
        assert "an SQLite file or postgresql://... (not redis://" in said, (command, said)
    queue = ok(jotty("queue", "list", "--help", db_path=None)).replace("│", " ")
    assert "postgresql://... or redis://..." in " ".join(queue.split())


def test_search_reads_the_days_of_a_question_in_the_zone_given(jotty: Jotty, db: Path) -> None:
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    there = ZoneInfo("America/Los_Angeles")
    today = datetime.now(there).replace(hour=0, minute=0, second=0, microsecond=0)
    noon_yesterday = (today - timedelta(days=1)).replace(hour=12)

    async def remember() -> None:
        async with Memory(db, "conductor") as memory:
            await memory.remember("repainted the fence", at=noon_yesterday)

    asyncio.run(remember())
    asked = ("memory", "search", "What did I do yesterday?", "--json")
    hits = json.loads(ok(jotty(*asked, "--timezone", "America/Los_Angeles")))
    if datetime.now(there) >= today + timedelta(days=1):  # midnight passed there meanwhile: another yesterday
        pytest.skip("the day changed in Los Angeles during the test")
    assert [hit["text"] for hit in hits] == ["repainted the fence"]
    assert hits[0]["why"]["window"][0] == (today - timedelta(days=1)).isoformat()  # midnight there, its offset


def test_search_refuses_an_unknown_zone_as_a_usage_error(tmp_path: Path) -> None:
    done = real_cli("memory", "search", "depot", "--timezone", "Mars/Olympus", "--db", str(tmp_path / "jotty.db"))
    assert done.returncode == 2 and done.stdout == "", done
    said = " ".join(done.stderr.replace("│", " ").split())
    assert "Mars/Olympus" in said and "Europe/Lisbon" in said, done.stderr


def test_an_unknown_zone_on_the_command_line_is_told_what_the_command_line_takes(tmp_path: Path) -> None:
    done = real_cli("memory", "search", "depot", "--tz", "Europe/Lisbn", "--db", str(tmp_path / "jotty.db"))
    said = " ".join(done.stderr.replace("│", " ").split())
    assert done.returncode == 2 and done.stdout == "" and not (tmp_path / "jotty.db").exists(), done
    assert "'Europe/Lisbn' is not a known time zone" in said, done.stderr
    assert "tzinfo" not in said, done.stderr  # a Python object: no one can type one after --tz
