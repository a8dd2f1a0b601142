"""What level L4 learns from earlier runs of a flow: which step follows which (in the order their
windows started; a retry's or fallback's window is the same step again, not a successor), and
which sources each step needed. Kept per flow name; ``save``/``load`` keep it in a JSON file
between processes."""

from __future__ import annotations

import json
import os
import tempfile
import threading
from collections import Counter
from pathlib import Path
from typing import Any

from jotty.errors import ValidationError


class PrefetchModel:
    """Transitions between step paths and the sources each step path loaded, counted per flow."""

    def __init__(self) -> None:
        self._next: dict[str, dict[str, Counter[str]]] = {}
        self._needs: dict[str, dict[str, Counter[str]]] = {}
        self._queries: dict[str, dict[str, str]] = {}
        self._runs: set[str] = set()
        self._lock = threading.Lock()

    def learned(self, run_id: str) -> bool:
        """Whether the run ``run_id`` was learned from already (live or from the store); marks it."""
        with self._lock:
            known = run_id in self._runs
            self._runs.add(run_id)
            return known

    def record(self, flow: str, previous: str, path: str, sources: list[str], query: str = "") -> None:
        """Step ``path`` of ``flow`` ran after ``previous`` (``""``: first in its run) and loaded
        ``sources`` with ``query``."""
        with self._lock:
            self._queries.setdefault(flow, {})[path] = query
            self._next.setdefault(flow, {}).setdefault(previous, Counter())[path] += 1
            needs = self._needs.setdefault(flow, {}).setdefault(path, Counter())
            needs.update(sources)
            needs["__runs__"] += 1

    def predict(self, flow: str, path: str) -> tuple[str | None, list[str]]:
        """The step most likely to follow ``path`` (``""``: the first step) and the sources it
        loaded in at least half of its earlier runs; ``(None, [])`` without history."""
        with self._lock:
            following = self._next.get(flow, {}).get(path)
            if not following:
                return None, []
            successor = following.most_common(1)[0][0]
            needs = self._needs.get(flow, {}).get(successor, Counter())
            runs = needs.get("__runs__", 0) or 1
            return successor, [s for s, n in needs.items() if s != "__runs__" and n * 2 >= runs]

    def query(self, flow: str, path: str) -> str:
        """The query step ``path`` loaded its sources with last time."""
        with self._lock:
            return self._queries.get(flow, {}).get(path, "")

    def to_dict(self) -> dict[str, Any]:
        with self._lock:
            return {
                "next": {f: {p: dict(c) for p, c in m.items()} for f, m in self._next.items()},
                "needs": {f: {p: dict(c) for p, c in m.items()} for f, m in self._needs.items()},
                "queries": {f: dict(m) for f, m in self._queries.items()},
            }

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the model to ``path`` (atomically)."""
        target = Path(path)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".prefetch-")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(self.to_dict(), out)
        os.replace(tmp, target)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> PrefetchModel:
        """A model read from ``path`` (an empty one when the file does not exist)."""
        model = cls()
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            model._next = {f: {p: Counter(c) for p, c in m.items()} for f, m in data["next"].items()}
            model._needs = {f: {p: Counter(c) for p, c in m.items()} for f, m in data["needs"].items()}
            model._queries = {f: dict(m) for f, m in data.get("queries", {}).items()}
        except FileNotFoundError:
            return model
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ValidationError(f"{path} is not a prefetch model written by PrefetchModel.save: {exc}") from None
        return model


async def learn_from_store(store: Any, flow: str, model: PrefetchModel, *, runs: int = 5, scan: int = 200) -> int:
    """Teach ``model`` from the ``context_window`` events of the newest ``runs`` finished runs of
    ``flow`` in a run store (any level: each window event names its step and sources), so that L4
    learns across processes. Runs it learned from already are skipped. Returns how many it read."""
    read = 0
    for summary in await store.list_runs(limit=scan):
        if read >= runs:
            break
        if summary.flow != flow or summary.finished_at is None or model.learned(summary.run_id):
            continue
        windows: list[tuple[int, int, str, list[str], str]] = []
        started: set[str] = set()
        session = 0
        for stored in await store.get_events(summary.run_id):
            event = stored.event
            data = event.data
            if event.type in ("run_started", "run_resumed"):  # a resumed run's sessions count anew
                session += 1
            if event.type != "context_window" or "sources" not in data or data.get("repeat"):
                continue
            if attempt_of(event.step_path, started) is not None:  # a run stored before "repeat" was
                continue
            started.add(event.step_path)
            order = data.get("order", len(windows))
            windows.append((session, order, event.step_path, list(data["sources"]), data.get("query", "")))
        previous = ""
        for _, _, path, sources, query in sorted(windows, key=lambda w: w[:2]):  # in the order they started
            model.record(flow, previous, path, sources, query)
            previous = path
        read += 1
    return read


FALLBACK = "/fallback"
"""Where a step's fallback runs, beside the step (``<step>/fallback``)."""


def attempt_of(path: str, started: set[str]) -> str | None:
    """The step that the window at ``path`` is another attempt of (a retry at the same path, a
    fallback at ``<step>/fallback``, a Team's reassigned task), or ``None`` for a step's first
    window (``started``: the paths of the first windows so far)."""
    if path in started:
        return path
    step = path.removesuffix(FALLBACK)
    return step if step != path and step in started else None


PREFETCH = PrefetchModel()
"""The process-wide model used when a ``ContextPolicy`` is not given one."""
