"""``EventLog``: a run's events, recorded cheaply and read as ``Event`` objects.

An event nobody listens to yet is kept as a plain tuple; it becomes an ``Event`` when read.
A step then costs a tuple per event instead of an object, which matters at thousands of branches.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from time import time
from typing import Any, overload

from jotty.events import Event

_Entry = Event | tuple[str, str, dict[str, Any], float]


class EventLog(Sequence[Event]):
    """The events of one run session, in order."""

    __slots__ = ("_entries", "run_id")

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self._entries: list[_Entry] = []

    def add(self, type: str, path: str, data: dict[str, Any]) -> None:
        """Record an event that no one needs as an object yet."""
        self._entries.append((type, path, data, time()))

    def add_event(self, event: Event) -> None:
        self._entries.append(event)

    def _event(self, index: int) -> Event:
        entry = self._entries[index]
        if isinstance(entry, Event):
            return entry
        event = Event(entry[0], entry[1], self.run_id, entry[2], entry[3])
        self._entries[index] = event
        return event

    def __len__(self) -> int:
        return len(self._entries)

    @overload
    def __getitem__(self, index: int) -> Event: ...

    @overload
    def __getitem__(self, index: slice) -> list[Event]: ...

    def __getitem__(self, index: int | slice) -> Event | list[Event]:
        if isinstance(index, slice):
            return [self._event(i) for i in range(*index.indices(len(self._entries)))]
        return self._event(index)

    def __iter__(self) -> Iterator[Event]:
        for index in range(len(self._entries)):
            yield self._event(index)

    def __repr__(self) -> str:
        return f"EventLog({len(self._entries)} events)"
