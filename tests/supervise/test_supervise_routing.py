"""Tasks without an agent type are routed by what past outcomes taught, and say why."""

from __future__ import annotations

from collections.abc import Callable

from jotty.queue import SQLiteTaskQueue
from jotty.supervise import Supervisor, SupervisorConfig


async def test_router_learns_per_category_which_agent_type_succeeds(
    config: Callable[..., SupervisorConfig], queue: SQLiteTaskQueue, agents: dict[str, str]
) -> None:
    cfg = config({"coder": {"argv": [agents["coder"], "{title}"]}, "crasher": {"argv": [agents["crasher"]]}})
    for i in range(3):  # experience: in "bugfix", coder succeeds and crasher fails
        await queue.create_task(f"fix bug {i}", category="bugfix", status="pending", agent_type="coder")
        await queue.create_task(
            f"fix bug {i}", category="bugfix", status="pending", agent_type="crasher", max_retries=0
        )
    await Supervisor(cfg, queue).run(burst=True)

    routed = [
        await queue.create_task(f"fix another bug {i}", category="bugfix", status="pending", agent_type="auto")
        for i in range(3)
    ]
    stats = await Supervisor(cfg, queue).run(burst=True)
    assert stats.completed == 3
    for task_id in routed:
        task = await queue.get_task(task_id)
        assert task is not None and task.agent_type == "coder" and task.status == "completed"
        why = task.metadata["routing"]
        assert why["agent_type"] == "coder" and why["reason"] in ("exploit", "predictor")
        assert "coder" in why["why"]


async def test_untried_agent_types_are_explored_first(
    config: Callable[..., SupervisorConfig], queue: SQLiteTaskQueue, agents: dict[str, str]
) -> None:
    cfg = config({"coder": {"argv": [agents["coder"], "{title}"]}, "other": {"argv": [agents["coder"], "{title}"]}})
    first = await queue.create_task("write docs", category="docs", status="pending", agent_type="auto")
    await Supervisor(cfg, queue).run(burst=True)
    second = await queue.create_task("write more docs", category="docs", status="pending", agent_type="auto")
    await Supervisor(cfg, queue).run(burst=True)
    picked = [(await queue.get_task(t)) for t in (first, second)]
    assert {t.agent_type for t in picked if t is not None} == {"coder", "other"}
    assert all(t is not None and "never been tried" in t.metadata["routing"]["why"] for t in picked)


async def test_routing_can_be_turned_off(config: Callable[..., SupervisorConfig], queue: SQLiteTaskQueue) -> None:
    task_id = await queue.create_task("t", status="pending", agent_type="auto")
    stats = await Supervisor(config(routing=False), queue).run(burst=True)
    task = await queue.get_task(task_id)
    assert stats.claimed == 0 and task is not None and task.status == "pending" and task.agent_type == "auto"
