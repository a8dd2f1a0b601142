"""The runs page: runs filtered by status, flow, owner and time, newest first, paged by a cursor.

Paging is by keyset (``created_at``, ``run_id``), never by offset, so page 1,000 costs what page 1
costs; with the indexes of migration 0006 every filter is one index range scan, at any store size.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from jotty.dashboard import params
from jotty.dashboard.reader import Reader
from jotty.errors import ValidationError
from jotty.runs import RunStatus

COLUMNS = "run_id, flow, status, error, created_at, updated_at, finished_at, owner, prompt_tokens, completion_tokens"
STATUSES = tuple(str(s) for s in RunStatus)


def _cursor(raw: str | None) -> tuple[float, str] | None:
    if raw is None:
        return None
    stamp, _, run_id = raw.partition("~")
    try:
        return float(stamp), run_id
    except ValueError:
        raise ValidationError(f"cursor={raw!r} is not one this API gave: use the 'next' value of a page") from None


def _row(row: tuple[Any, ...], now: float) -> dict[str, Any]:
    created, updated, finished = row[4], row[5], row[6]
    end = finished if finished is not None else (now if row[2] == "running" else updated)
    return {
        "run_id": row[0],
        "flow": row[1],
        "status": row[2],
        "error": row[3],
        "created_at": created,
        "finished_at": finished,
        "duration": max(0.0, end - created),
        "owner": row[7],
        "prompt_tokens": row[8],
        "completion_tokens": row[9],
        "tokens": row[8] + row[9],
    }


async def runs_page(reader: Reader, query: Mapping[str, str]) -> dict[str, Any]:
    """One page of runs for the filters in ``query`` (status, flow, owner, since, until, limit, cursor)."""
    status = params.choice(query, "status", STATUSES)
    flow = params.text(query, "flow")
    owner = params.text(query, "owner")
    since = params.moment(query, "since")
    until = params.moment(query, "until")
    limit = params.integer(query, "limit", 50, 1, 500)
    cursor = _cursor(params.text(query, "cursor"))
    where = params.Where()
    where.equal(status=status, flow=flow, owner=owner)
    if since is not None:
        where.add("created_at >= ?", since)
    if until is not None:
        where.add("created_at < ?", until)
    if cursor is not None:
        where.after_cursor("run_id", *cursor)
    statement = f"SELECT {COLUMNS} FROM jotty_runs {where.clause} ORDER BY created_at DESC, run_id LIMIT ?"
    rows = await reader.rows(statement, [*where.args, limit + 1])
    now = time.time()
    runs = [_row(r, now) for r in rows[:limit]]
    more = len(rows) > limit
    last = runs[-1] if runs else None
    return {
        "runs": runs,
        "next": f"{last['created_at']!r}~{last['run_id']}" if more and last else None,
        "filters": {"status": status, "flow": flow, "owner": owner, "since": since, "until": until},
        "statuses": list(STATUSES),
    }


async def flows(reader: Reader) -> list[str]:
    """The names of the flows that have runs (for the filter's choices), at most 200."""
    rows = await reader.rows("SELECT DISTINCT flow FROM jotty_runs ORDER BY flow LIMIT 200")
    return [r[0] for r in rows]
