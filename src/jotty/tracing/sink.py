"""``TracingSink``: what a run's event sink is when it reports spans (kept free of OpenTelemetry
imports, so that code without the ``otel`` extra can ask whether a sink traces already)."""

from __future__ import annotations

import abc

from jotty.events import Event


class TracingSink(abc.ABC):
    """An event sink that turns a run's events into spans."""

    @abc.abstractmethod
    async def __call__(self, event: Event) -> None:
        """Record ``event`` (and pass it on)."""
