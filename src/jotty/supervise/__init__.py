"""``jotty supervise``: coding agents (claude, cursor, opencode, any argv) on queued tasks.

Each task gets a git worktree and branch, a prompt file and a capped log; its agent runs under a
small runner in its own process group, with the PID, log, worktree and branch recorded on the
task; the result (exit code, commits, diffstat, log tail, verdict) goes through the queue's rules.
"""

from jotty.supervise.config import AgentType, SuccessCheck, SupervisorConfig, load_config
from jotty.supervise.status import RunningAgent, running_agents
from jotty.supervise.supervisor import Supervisor

__all__ = [
    "AgentType",
    "RunningAgent",
    "SuccessCheck",
    "Supervisor",
    "SupervisorConfig",
    "load_config",
    "running_agents",
]
