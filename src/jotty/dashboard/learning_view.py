"""The learning page: what the router learned per actor and goal category, and the learning curve:
how many actors a dynamic Conductor run tried before one was accepted, run after run."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jotty.dashboard import params
from jotty.dashboard.reader import Reader

STATS = (
    "SELECT actor, feature, attempts, successes, reward, tokens, seconds FROM jotty_learning_stats "
    "WHERE feature = '*' OR feature LIKE 'category:%' ORDER BY feature, actor LIMIT 2000"
)
ROUTES = (
    "SELECT run_id, COUNT(*), MIN(at) FROM jotty_events WHERE type = 'route_chosen' "
    "GROUP BY run_id ORDER BY MIN(at) DESC LIMIT ?"
)


async def learning_page(reader: Reader, query: Mapping[str, str]) -> dict[str, Any]:
    """Actors by category (attempts, success rate, mean reward, tokens) and the learning curve."""
    window = params.integer(query, "window", 10, 1, 1000)
    runs = params.integer(query, "runs", 1000, 10, 100_000)
    categories: dict[str, list[dict[str, Any]]] = {}
    if await reader.has_table("jotty_learning_stats"):
        for actor, feature, attempts, successes, reward, tokens, seconds in await reader.rows(STATS):
            category = "all goals" if feature == "*" else feature.removeprefix("category:")
            categories.setdefault(category, []).append(
                {
                    "actor": actor,
                    "attempts": attempts,
                    "successes": successes,
                    "success_rate": round(successes / attempts, 3) if attempts else None,
                    "mean_reward": round(reward / attempts, 3) if attempts else None,
                    "tokens_per_attempt": round(tokens / attempts, 1) if attempts else None,
                    "seconds_per_attempt": round(seconds / attempts, 3) if attempts else None,
                }
            )
    for actors in categories.values():
        actors.sort(key=lambda a: -(a["mean_reward"] or 0))
    tries = [n for _run, n, _at in reversed(await reader.rows(ROUTES, (runs,)))]
    curve = []
    for i in range(len(tries)):
        recent = tries[max(0, i - window + 1) : i + 1]
        curve.append(
            {
                "run": i + 1,
                "tries": tries[i],
                "mean_tries": round(sum(recent) / len(recent), 3),
                "first_try_rate": round(sum(t == 1 for t in recent) / len(recent), 3),
            }
        )
    return {"categories": categories, "curve": curve, "window": window}
