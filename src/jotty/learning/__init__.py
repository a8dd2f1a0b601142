"""Learning for the Conductor: which actor to run next.

Q-learning with TD(lambda) traces over each run's (state, actor) steps, an outcome predictor per
actor (success counts by category and keyword, shrunk hierarchically), a UCB-style exploration
bonus that counts what related goals taught, and abandoning actors stuck on a goal. Everything
learned lives in the store (``LearningStore``; SQLite by default) and is merged by increments, so
every process sharing the store learns together.
"""

from jotty.learning.decision import CandidateScore, Reason, RouteDecision
from jotty.learning.features import GoalFeatures, extract_keywords
from jotty.learning.predictor import Estimate, estimate
from jotty.learning.records import FeatureStats, Observation, QValue
from jotty.learning.reward import DEFAULT_WEIGHTS, RewardWeights, reward
from jotty.learning.router import ActorsExhaustedError, Router
from jotty.learning.sqlite_store import SQLiteLearningStore
from jotty.learning.store import LearningStore, open_store
from jotty.learning.summary import LearningSummary, QUpdate
from jotty.learning.table import KeywordRow, LearningRow, LearningTable, learning_table
from jotty.learning.td import Transition, td_lambda
from jotty.learning.trajectory import Outcome, Step, Trajectory, state_key

__all__ = [
    "DEFAULT_WEIGHTS",
    "ActorsExhaustedError",
    "CandidateScore",
    "Estimate",
    "FeatureStats",
    "GoalFeatures",
    "KeywordRow",
    "LearningRow",
    "LearningStore",
    "LearningSummary",
    "LearningTable",
    "Observation",
    "Outcome",
    "QUpdate",
    "QValue",
    "Reason",
    "RewardWeights",
    "RouteDecision",
    "Router",
    "SQLiteLearningStore",
    "Step",
    "Trajectory",
    "Transition",
    "estimate",
    "extract_keywords",
    "learning_table",
    "open_store",
    "reward",
    "state_key",
    "td_lambda",
]
