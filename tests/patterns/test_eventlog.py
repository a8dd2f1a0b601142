"""EventLog keeps events as plain slots and hands out the same Event objects on every read."""

from __future__ import annotations

import pytest

from jotty.events import Event
from jotty.patterns.eventlog import EventLog


def test_events_read_back_in_order_by_index_slice_and_iteration() -> None:
    log = EventLog("run-1")
    log.add("step_started", "chain/a", {"attempt": 1})
    agent_event = Event("text_chunk", "chain/a", "run-1", {"text": "hi"})
    log.add_event(agent_event)
    log.add("step_completed", "chain/a", {"attempt": 1})
    assert len(log) == 3
    assert [e.type for e in log] == ["step_started", "text_chunk", "step_completed"]
    assert log[1] is agent_event and log[-1].type == "step_completed" and log[0] is log[0]
    assert [e.type for e in log[1:]] == ["text_chunk", "step_completed"]
    assert log[0].run_id == "run-1" and log[0].data == {"attempt": 1} and log[0].at > 0
    with pytest.raises(IndexError, match="event index 3 out of range"):
        log[3]
