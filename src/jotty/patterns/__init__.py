"""The seven execution patterns: composable flows over agents and nested flows.

Every flow is an ``Agent``: any pattern nests in any other (as a Step, a branch, a member, a
worker). ``await flow.run(input)`` runs in memory; ``store=`` makes the run durable and resumable.
"""

from jotty.patterns.chain import Chain, Sequential
from jotty.patterns.contracts import Contract
from jotty.patterns.crew import Worker, WorkItem
from jotty.patterns.execution import Execution, Scope
from jotty.patterns.flow import Flow
from jotty.patterns.parallel import Parallel
from jotty.patterns.phased import Phase, Phased
from jotty.patterns.result import RunResult
from jotty.patterns.step import Step, run_step
from jotty.patterns.strategies import PASS_THROUGH, Abort, Fallback, Retry, Skip, Strategy
from jotty.patterns.stream import RunStream
from jotty.patterns.subagent import SubAgent
from jotty.patterns.supervisor import Supervisor
from jotty.patterns.team import Member, Team, TeamTask

__all__ = [
    "PASS_THROUGH",
    "Abort",
    "Chain",
    "Contract",
    "Execution",
    "Fallback",
    "Flow",
    "Member",
    "Parallel",
    "Phase",
    "Phased",
    "Retry",
    "RunResult",
    "RunStream",
    "Scope",
    "Sequential",
    "Skip",
    "Step",
    "Strategy",
    "SubAgent",
    "Supervisor",
    "Team",
    "TeamTask",
    "WorkItem",
    "Worker",
    "run_step",
]
