"""Agent adapters: Python functions, CLI programs and LLMs behind one ``Agent`` protocol.

``LLMAgent`` needs the ``openai`` package (``pip install 'jotty[llm]'``), imported only when one
is made.
"""

from jotty.agents.base import Agent, AgentResult, RunContext, TokenUsage
from jotty.agents.command import CommandAgent
from jotty.agents.function import FunctionAgent
from jotty.agents.llm import LLMAgent
from jotty.agents.tools import Tool
from jotty.agents.worktree import Worktree, create_worktree, git_worktree, remove_worktree

__all__ = [
    "Agent",
    "AgentResult",
    "CommandAgent",
    "FunctionAgent",
    "LLMAgent",
    "RunContext",
    "TokenUsage",
    "Tool",
    "Worktree",
    "create_worktree",
    "git_worktree",
    "remove_worktree",
]
