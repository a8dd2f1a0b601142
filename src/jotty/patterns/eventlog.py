"""``EventLog``: a run's events, recorded cheaply and read as ``Event`` objects.

An event nobody listens to yet is kept as four slots of one flat list (type, path, data, time),
not as an object: a step then allocates nothing the garbage collector has to walk, which matters
at thousands of branches. It becomes an ``Event`` when read.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from time import time
from typing import Any, overload

from jotty.events import Event

_WIDTH = 4


class EventLog(Sequence[Event]):
    """The events of one run session, in order."""

    __slots__ = ("_slots", "run_id")

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self._slots: list[Any] = []

    def add(self, type: str, path: str, data: dict[str, Any]) -> None:
        """Record an event that no one needs as an object yet."""
        self._slots += (type, path, data, time())

    def add_event(self, event: Event) -> None:
        self._slots += (event, None, None, None)

    def _event(self, index: int) -> Event:
        base = index * _WIDTH
        slots = self._slots
        if slots[base + 1] is None:  # an Event already
            event: Event = slots[base]
            return event
        event = Event(slots[base], slots[base + 1], self.run_id, slots[base + 2], slots[base + 3])
        slots[base : base + _WIDTH] = (event, None, None, None)
        return event

    def __len__(self) -> int:
        return len(self._slots) // _WIDTH

    @overload
    def __getitem__(self, index: int) -> Event: ...

    @overload
    def __getitem__(self, index: slice) -> list[Event]: ...

    def __getitem__(self, index: int | slice) -> Event | list[Event]:
        if isinstance(index, slice):
            return [self._event(i) for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(f"event index {index} out of range ({len(self)} events)")
        return self._event(index)

    def __iter__(self) -> Iterator[Event]:
        for index in range(len(self)):
            yield self._event(index)

    def __repr__(self) -> str:
        return f"EventLog({len(self)} events)"
