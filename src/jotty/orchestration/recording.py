"""Recording Conductor runs in the runs table, and resuming them without repeating an attempt.

A Conductor run is a durable flow run (``jotty.runs``): its steps, events, tokens and token shape
are stored like any flow's, so ``jotty runs list/show`` and the dashboard show it. Each attempt at
``conductor/<n>-<actor>`` is checkpointed when it ends, accepted or not, with what the router
needs to replay it: the learning step (state, outcome, reward) and, in dynamic mode, the route
decision. Running the same ``run_id`` again:

- after a crash (the run is still ``running``: its process died), replays the checkpointed
  attempts into the router's trajectory and goes on with the next one, so no finished attempt
  runs twice and the run learns once from all of them;
- after the run ended ``failed``, keeps the accepted attempts and tries again from the failure
  (the previous session already learned from its steps, so they are not replayed);
- after the run completed, returns the stored result.

A queued goal runs as ``task-<task_id>``: a worker that picks the task up again after another
worker died (or after a failure) resumes that run.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from jotty.errors import ValidationError
from jotty.learning import RouteDecision, Trajectory
from jotty.learning.decision import CandidateScore, Reason
from jotty.learning.store import StoreSpec
from jotty.learning.trajectory import Outcome
from jotty.learning.trajectory import Step as LearnedStep
from jotty.patterns.execution import Execution
from jotty.runs import CheckpointError, RunRecord, RunStatus, RunStore, StepRecord, StoreArg, get_run
from jotty.runs.codec import dumps_loose

RunsArg = bool | str | os.PathLike[str] | RunStore
"""What ``Conductor(runs=...)`` accepts: True (record in the Conductor's store), False (keep
runs in memory only), or a run store (a path, URL or ``RunStore``)."""

EXTRA_KEY = "conductor"
"""The key of a checkpoint's ``extra`` that marks (and describes) a Conductor attempt."""
METADATA_KEY = "conductor"
"""The key of a run's metadata that marks a Conductor run (its mode and context)."""

_ATTEMPT = re.compile(r"(\d+)-(.+)")


@dataclass(frozen=True)
class Recording:
    """Where a Conductor records its runs."""

    store: StoreArg


def recording_for(runs: object, learning_store: StoreSpec) -> Recording | None:
    """The ``Recording`` of ``Conductor(runs=runs, store=learning_store)``, or None (in memory).

    ``True`` records in the learning store when that is a path or URL (one database holds
    everything), else in the default store.
    """
    if runs is False:
        return None
    if runs is True:
        if learning_store is None or isinstance(learning_store, str | os.PathLike):
            return Recording(learning_store)
        return Recording(None)
    if isinstance(runs, str | os.PathLike | RunStore):
        return Recording(runs)
    raise ValidationError(
        "runs must be True (record runs in the Conductor's store), False (keep them in memory only), "
        f"a path or database URL, or a jotty.runs.RunStore; got {type(runs).__name__}"
    )


@dataclass(frozen=True)
class Replayed:
    """A checkpointed attempt: who ran, how it went, and what the router knew."""

    number: int
    actor: str
    path: str
    accepted: bool
    output: Any
    error: str | None
    step: LearnedStep | None
    decision: RouteDecision | None


def attempt_extra(step: LearnedStep, accepted: bool, decision: dict[str, Any] | None) -> dict[str, Any]:
    """What an attempt's checkpoint keeps so that a resumed run can replay it: the router's
    learning ``step`` and, in dynamic mode, its ``decision`` (``RouteDecision.to_dict()``)."""
    learned = {
        "state": step.state,
        "actor": step.actor,
        "outcome": str(step.outcome),
        "reward": step.reward,
        "tokens": step.tokens,
        "seconds": step.seconds,
        "validated": step.validated,
    }
    return {EXTRA_KEY: {"accepted": accepted, "step": learned, "decision": decision}}


async def checkpoint_attempt(ex: Execution, record: StepRecord, output: Any, extra: dict[str, Any]) -> None:
    """Checkpoint one attempt; a non-JSON output fails with the fix for a Conductor."""
    try:
        await ex.finish(record, output, extra)
    except CheckpointError as exc:
        raise CheckpointError(
            f"{exc}. A Conductor records every run in the runs table: make the actor return JSON "
            "data, or pass Conductor(..., runs=False) to keep its runs in memory only"
        ) from exc


def replayed_attempts(ex: Execution, root: str) -> dict[int, Replayed]:
    """The checkpointed attempts directly under ``root``, by number."""
    found: dict[int, Replayed] = {}
    prefix = root + "/"
    for path, extra in ex.extras.items():
        mine = extra.get(EXTRA_KEY) if path.startswith(prefix) else None
        match = _ATTEMPT.fullmatch(path[len(prefix) :]) if mine else None
        if not mine or match is None:
            continue
        record = ex.records[path]
        learned = mine.get("step")
        found[int(match.group(1))] = Replayed(
            number=int(match.group(1)),
            actor=match.group(2),
            path=path,
            accepted=bool(mine.get("accepted")),
            output=ex.outputs.get(path),
            error=record.error,
            step=None if learned is None else _learned_step(learned),
            decision=None if mine.get("decision") is None else _decision(mine["decision"]),
        )
    return found


def replay_into(trajectory: Trajectory, attempts: dict[int, Replayed]) -> None:
    """Rebuild the trajectory of a run that died: its steps and decisions, in order. The failure
    streaks read from the store at start already count these attempts' failures: take them out,
    so that stuck detection does not count them twice."""
    failures: Counter[str] = Counter()
    for number in sorted(attempts):
        attempt = attempts[number]
        if attempt.decision is not None:
            trajectory.decisions.append(attempt.decision)
        if attempt.step is not None:
            trajectory.steps.append(attempt.step)
            if attempt.step.outcome is not Outcome.OK:
                failures[attempt.actor] += 1
    for actor, count in failures.items():
        if actor in trajectory.prior_failures:
            trajectory.prior_failures[actor] = max(0, trajectory.prior_failures[actor] - count)


async def stored_status(store: StoreArg, run_id: str) -> RunStatus | None:
    """The status of run ``run_id`` in ``store``, or None when there is no such run."""
    run = await stored_run(store, run_id)
    return None if run is None else run.status


async def stored_run(store: StoreArg, run_id: str) -> RunRecord | None:
    """Run ``run_id`` as ``store`` holds it, or None when there is no such run."""
    from jotty.errors import NotFoundError
    from jotty.runs.shared import shared_store

    try:
        return await get_run(run_id, await shared_store(store))
    except NotFoundError:
        return None


def run_metadata(mode: str, context: dict[str, Any]) -> dict[str, Any]:
    """What a Conductor run stores with itself: its mode and context (as JSON, anything else as
    its repr: the context is for people and tools to read, it is not replayed)."""
    loaded = json.loads(dumps_loose(context))
    return {METADATA_KEY: {"mode": mode, "context": loaded}}


def finished_attempt(steps: list[StepRecord], root: str) -> tuple[str | None, str | None]:
    """(actor, path) of the last accepted attempt among a finished run's ``steps``."""
    best: tuple[int, str, str] | None = None
    prefix = root + "/"
    for record in steps:
        match = _ATTEMPT.fullmatch(record.path[len(prefix) :]) if record.path.startswith(prefix) else None
        if match is not None and record.ok and (best is None or int(match.group(1)) > best[0]):
            best = (int(match.group(1)), match.group(2), record.path)
    return (None, None) if best is None else (best[1], best[2])


def task_run_id(task_id: str) -> str:
    """The run id of a queued task's goal: the same on every worker that picks the task up."""
    return f"task-{task_id}"


def _learned_step(data: dict[str, Any]) -> LearnedStep:
    return LearnedStep(
        state=data["state"],
        actor=data["actor"],
        outcome=Outcome(data["outcome"]),
        reward=float(data["reward"]),
        tokens=int(data.get("tokens", 0)),
        seconds=float(data.get("seconds", 0.0)),
        validated=data.get("validated"),
    )


def _decision(data: dict[str, Any]) -> RouteDecision:
    scores = {name: CandidateScore(**score) for name, score in data.get("scores", {}).items()}
    return RouteDecision(
        actor=data["actor"],
        reason=Reason(data["reason"]),
        state=data["state"],
        scores=scores,
        explanation=data.get("explanation", ""),
        abandoned=tuple(data.get("abandoned", ())),
    )
