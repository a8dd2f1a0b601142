"""Insights across the runs of one flow. Each insight is one generator function over ``FlowRuns``
that yields table rows; ``@insight`` registers it, so adding an insight is adding one function."""

from jotty.dashboard.insights.builtin import register_builtins
from jotty.dashboard.insights.data import FlowRuns, StepRun, load_flow_runs
from jotty.dashboard.insights.registry import INSIGHTS, Insight, insight, run_insights

register_builtins()

__all__ = ["INSIGHTS", "FlowRuns", "Insight", "StepRun", "insight", "load_flow_runs", "run_insights"]
