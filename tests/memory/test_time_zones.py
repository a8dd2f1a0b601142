"""Days in a question are days where the asker is: ``recall(now=<aware datetime>)`` reads them in
that datetime's zone, ``Memory(timezone=...)`` sets the default (the process's local zone)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from jotty.errors import ValidationError
from jotty.memory import Memory
from jotty.memory.timeq import local_zone, time_intent

LA = ZoneInfo("America/Los_Angeles")
SUNDAY_EVENING = datetime(2024, 6, 30, 20, tzinfo=LA)  # Monday 03:00 in UTC


def window(question: str, now: datetime, zone: ZoneInfo | timezone = UTC) -> tuple[datetime, datetime] | None:
    found = time_intent(question, now.timestamp(), zone).window
    return None if found is None else (datetime.fromtimestamp(found[0], zone), datetime.fromtimestamp(found[1], zone))


def test_yesterday_and_weekends_are_of_the_askers_zone() -> None:
    assert window("What did I do yesterday?", SUNDAY_EVENING, LA) == (
        datetime(2024, 6, 29, tzinfo=LA),
        datetime(2024, 6, 30, tzinfo=LA),
    )
    assert window("What did I do this weekend?", SUNDAY_EVENING, LA) == (
        datetime(2024, 6, 29, tzinfo=LA),
        SUNDAY_EVENING,
    )
    assert window("What did I do last weekend?", SUNDAY_EVENING, LA) == (
        datetime(2024, 6, 22, tzinfo=LA),
        datetime(2024, 6, 24, tzinfo=LA),
    )
    # the same moment in UTC is Monday: yesterday is Sunday, the weekend just past is this one
    assert window("What did I do yesterday?", SUNDAY_EVENING, UTC) == (
        datetime(2024, 7, 1, tzinfo=UTC) - timedelta(days=1),
        datetime(2024, 7, 1, tzinfo=UTC),
    )
    assert window("What did I do last weekend?", SUNDAY_EVENING, UTC) == (
        datetime(2024, 6, 29, tzinfo=UTC),
        datetime(2024, 7, 1, tzinfo=UTC),
    )


@pytest.mark.parametrize(
    ("question", "start", "end"),
    [
        ("What happened today?", datetime(2024, 6, 30, tzinfo=LA), SUNDAY_EVENING),
        ("What did I do earlier today?", datetime(2024, 6, 30, tzinfo=LA), SUNDAY_EVENING),
        ("What did I eat this morning?", datetime(2024, 6, 30, tzinfo=LA), datetime(2024, 6, 30, 12, tzinfo=LA)),
        ("How was this afternoon?", datetime(2024, 6, 30, 12, tzinfo=LA), datetime(2024, 6, 30, 18, tzinfo=LA)),
        ("What did I do this evening?", datetime(2024, 6, 30, 18, tzinfo=LA), SUNDAY_EVENING),
        ("What did we cook tonight?", datetime(2024, 6, 30, 18, tzinfo=LA), SUNDAY_EVENING),
        ("What happened last night?", datetime(2024, 6, 29, 18, tzinfo=LA), datetime(2024, 6, 30, 6, tzinfo=LA)),
    ],
)
def test_parts_of_the_day(question: str, start: datetime, end: datetime) -> None:
    assert window(question, SUNDAY_EVENING, LA) == (start, end)
    assert not time_intent(question, SUNDAY_EVENING.timestamp(), LA).recent


def test_a_part_of_the_day_yet_to_come_names_no_time_gone_by() -> None:
    assert window("What is planned for this evening?", datetime(2024, 6, 30, 9, tzinfo=LA), LA) is None
    just_after_midnight = datetime(2024, 6, 30, 1, tzinfo=LA)
    assert window("What happened last night?", just_after_midnight, LA) == (
        datetime(2024, 6, 29, 18, tzinfo=LA),
        just_after_midnight,
    )


@pytest.mark.parametrize(
    ("question", "zone", "start"),
    [
        ("What happened on 2024-03-01?", "Asia/Tokyo", datetime(2024, 3, 1, tzinfo=ZoneInfo("Asia/Tokyo"))),
        ("What happened in May 2023?", "Europe/Lisbon", datetime(2023, 5, 1, tzinfo=ZoneInfo("Europe/Lisbon"))),
        ("What happened in 2022?", "America/Los_Angeles", datetime(2022, 1, 1, tzinfo=LA)),
    ],
)
def test_named_dates_are_of_the_zone(question: str, zone: str, start: datetime) -> None:
    found = time_intent(question, SUNDAY_EVENING.timestamp(), ZoneInfo(zone)).window
    assert found is not None and found[0] == start.timestamp()


@pytest.mark.parametrize(
    ("question", "now", "hours"),
    [
        ("What happened on 2024-03-10?", SUNDAY_EVENING, 23),  # clocks go forward: 23 hours
        ("What happened on 2024-11-03?", SUNDAY_EVENING, 25),  # and back: 25
        ("What did I do yesterday?", datetime(2024, 3, 11, 12, tzinfo=LA), 23),
        ("What did I do yesterday?", datetime(2024, 11, 4, 12, tzinfo=LA), 25),
        ("What did I do last weekend?", datetime(2024, 3, 13, 12, tzinfo=LA), 47),
    ],
)
def test_a_day_that_changes_the_clocks_is_as_long_as_it_is(question: str, now: datetime, hours: int) -> None:
    found = time_intent(question, now.timestamp(), LA).window
    assert found is not None and found[1] - found[0] == hours * 3600


async def test_recall_reads_days_in_the_zone_of_now(store: str) -> None:
    saturday = datetime(2024, 6, 29, 10, tzinfo=LA)  # Saturday 17:00 UTC
    sunday = datetime(2024, 6, 30, 10, tzinfo=LA)
    async with Memory(store, scope="zones", timezone="UTC") as memory:
        ids = {
            "sat": await memory.remember("Planted tomatoes in the garden", at=saturday),
            "sun": await memory.remember("Repainted the fence", at=sunday),
        }
        asked = "What did I do yesterday?"
        assert [h.id for h in await memory.recall(asked, now=SUNDAY_EVENING)] == [ids["sat"]]
        # the same moment as epoch seconds or in UTC: the memory's zone (UTC), where it is Monday
        assert [h.id for h in await memory.recall(asked, now=SUNDAY_EVENING.timestamp())] == [ids["sun"]]
        assert [h.id for h in await memory.recall(asked, now=SUNDAY_EVENING.astimezone(UTC))] == [ids["sun"]]
        assert [h.id for h in await memory.recall(asked, now="2024-06-30T20:00:00-07:00")] == [ids["sat"]]
        hits = await memory.recall(asked, now=SUNDAY_EVENING)
        assert hits[0].created_at == saturday.astimezone(UTC) and hits[0].created_at.tzinfo == UTC
        assert hits[0].why["window"] == ["2024-06-29T00:00:00-07:00", "2024-06-30T00:00:00-07:00"]
    async with Memory(store, scope="zones", timezone=LA) as memory:
        assert [h.id for h in await memory.recall(asked, now=SUNDAY_EVENING.timestamp())] == [ids["sat"]]
        assert memory.scoped("zones").timezone == LA


async def test_a_day_that_changes_the_clocks_holds_its_last_hour(store: str) -> None:
    async with Memory(store, scope="dst", timezone="America/Los_Angeles", embedder=False) as memory:
        late = await memory.remember("Watched the fireworks", at=datetime(2024, 3, 10, 23, 30, tzinfo=LA))
        await memory.remember("Walked the dog", at=datetime(2024, 3, 11, 0, 30, tzinfo=LA))
        await memory.remember("Baked bread", at=datetime(2024, 3, 9, 23, 30, tzinfo=LA))
        hits = await memory.recall("What happened on 2024-03-10?", now=datetime(2024, 3, 12, tzinfo=LA))
        assert [h.id for h in hits] == [late]


@pytest.mark.parametrize("zone", ["Europe/Lisbon", ZoneInfo("Asia/Tokyo"), timezone(timedelta(hours=-8)), UTC])
def test_a_zone_is_a_key_or_a_tzinfo(tmp_path: Path, zone: str | ZoneInfo | timezone) -> None:
    memory = Memory(tmp_path / "m.db", timezone=zone)
    assert memory.timezone == (ZoneInfo(zone) if isinstance(zone, str) else zone)


@pytest.mark.parametrize("zone", ["Mars/Olympus", "", "../etc/passwd", "Europe/Lisbon\x00", 5])
def test_an_unknown_zone_is_refused_at_construction_and_nothing_is_written(tmp_path: Path, zone: object) -> None:
    db = tmp_path / "m.db"
    with pytest.raises(ValidationError, match="Europe/Lisbon"):
        Memory(db, timezone=zone)  # type: ignore[arg-type]
    assert not db.exists()


def test_the_default_zone_is_the_processs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    assert local_zone() == ZoneInfo("Asia/Tokyo")
    assert Memory(tmp_path / "m.db").timezone == ZoneInfo("Asia/Tokyo")
    monkeypatch.setenv("TZ", "UTC")
    assert Memory(tmp_path / "m.db").timezone.utcoffset(SUNDAY_EVENING) == timedelta(0)


def test_a_tz_that_is_a_zone_file_is_that_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    tokyo = Path("/usr/share/zoneinfo/Asia/Tokyo")
    if not tokyo.exists():
        pytest.skip("no system zone files here")
    monkeypatch.setenv("TZ", f":{tokyo}")
    assert local_zone().utcoffset(datetime(2024, 6, 30)) == timedelta(hours=9)
    assert local_zone().utcoffset(datetime(2024, 1, 30)) == timedelta(hours=9)
    monkeypatch.setenv("TZ", "/usr/share/zoneinfo/America/Los_Angeles")  # rules, not this moment's offset
    assert local_zone().utcoffset(datetime(2024, 1, 30)) == timedelta(hours=-8)
    assert local_zone().utcoffset(datetime(2024, 6, 30)) == timedelta(hours=-7)


def test_a_tzinfo_that_tells_no_offset_is_refused(tmp_path: Path) -> None:
    from datetime import tzinfo

    class Nowhere(tzinfo):
        def utcoffset(self, dt: datetime | None) -> timedelta | None:
            return None

    for zone in (tzinfo(), Nowhere()):
        with pytest.raises(ValidationError, match="Europe/Lisbon"):
            Memory(tmp_path / "m.db", timezone=zone)
    assert not (tmp_path / "m.db").exists()
