"""What a CLI or dashboard calls: list runs, show one, read its events, resume it."""

from __future__ import annotations

from typing import Any, Protocol, TypeVar

from jotty.errors import NotFoundError, ValidationError
from jotty.events import EventSink
from jotty.runs.records import RunRecord, RunStatus, RunSummary
from jotty.runs.store import StoreArg, StoredEvent, using_store

R_co = TypeVar("R_co", covariant=True)


class Resumable(Protocol[R_co]):
    """Anything that runs durably by ``run_id`` (every ``jotty.patterns`` flow)."""

    async def run(
        self, input: Any, *, store: StoreArg = None, run_id: str | None = None, sink: EventSink | None = None
    ) -> R_co: ...


async def list_runs(
    store: StoreArg = None, *, status: RunStatus | str | None = None, limit: int = 50
) -> list[RunSummary]:
    """The newest runs first (at most ``limit``), optionally only those in ``status``."""
    if limit < 1:
        raise ValidationError(f"list_runs: limit must be at least 1, got {limit}")
    wanted = _status(status)
    async with using_store(store) as opened:
        return await opened.list_runs(status=wanted, limit=limit)


async def get_run(run_id: str, store: StoreArg = None) -> RunRecord:
    """One run with its steps and token shape; ``NotFoundError`` when the store has no such run."""
    async with using_store(store) as opened:
        run = await opened.get_run(run_id)
        if run is None:
            raise _unknown(run_id, opened.location)
        return run


async def get_events(run_id: str, store: StoreArg = None, *, after: int = 0) -> list[StoredEvent]:
    """The run's stored events with id above ``after``: poll with the last id to follow a live run."""
    async with using_store(store) as opened:
        if await opened.get_run(run_id) is None:
            raise _unknown(run_id, opened.location)
        return await opened.get_events(run_id, after=after)


async def resume(run_id: str, flow: Resumable[R_co], *, store: StoreArg = None, sink: EventSink | None = None) -> R_co:
    """Continue run ``run_id`` with ``flow`` (the same flow shape it started with) from its checkpoints.

    Completed steps are not run again; a finished run returns its stored result.
    """
    async with using_store(store) as opened:
        run = await opened.get_run(run_id)
        if run is None:
            raise _unknown(run_id, opened.location)
        return await flow.run(run.input, store=opened, run_id=run_id, sink=sink)


def _status(status: RunStatus | str | None) -> RunStatus | None:
    if status is None:
        return None
    try:
        return RunStatus(status)
    except ValueError:
        known = ", ".join(s.value for s in RunStatus)
        raise ValidationError(f"unknown run status {status!r}: use one of {known}") from None


def _unknown(run_id: str, location: str) -> NotFoundError:
    return NotFoundError(
        f"no run {run_id!r} in the store {location}: list the runs with `jotty runs list` "
        "(jotty.runs.list_runs), or check the store path"
    )
