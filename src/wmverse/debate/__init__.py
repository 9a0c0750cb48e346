"""The adversarial-debate world model (seed 000).

Seven tendency agents propose claims about a person from observations, stake
observations PRO on their own claims and CON on rivals', and the arena moves their
allocations toward the normalised net scores. Judges (lexical, embedding, LLM) decide
relevance and ownership; the validator reports held-out accuracy against gold labels
(or agreement without them) with an exact binomial test against 1/7.
"""

from .agents import AgentPool, TendencyAgent
from .arena import Arena, DebateResult
from .claims import Claim, ClaimTree, Stake, StakeSide
from .dynamics import (
    ConvergenceTracker,
    binomial_test_greater,
    clopper_pearson,
    learning_rate_at,
    normalise_scores,
    project_allocations,
    reallocate,
    total_change,
)
from .judges import EmbeddingJudge, Judge, LexicalJudge, VectorJudge, make_judge
from .llm_judge import LLMJudge
from .loggers import ConsoleLogger, JSONLogger, MultiLogger, TensorBoardLogger, WandbLogger
from .model import WorldModel, create_world_model
from .observations import (
    Observation,
    ObservationFileError,
    ObservationStore,
    load_labels,
    load_observations,
)
from .tendency import DEFAULT_ALLOCATIONS, Tendency
from .trainer import EpochMetrics, TrainConfig, Trainer, TrainHistory
from .validation import CHANCE, ValidationResult, Validator

#: The seed's name for the convergence helper.
TrainState = ConvergenceTracker

__all__ = [
    "CHANCE",
    "DEFAULT_ALLOCATIONS",
    "AgentPool",
    "Arena",
    "Claim",
    "ClaimTree",
    "ConsoleLogger",
    "ConvergenceTracker",
    "DebateResult",
    "EmbeddingJudge",
    "EpochMetrics",
    "JSONLogger",
    "Judge",
    "LLMJudge",
    "LexicalJudge",
    "MultiLogger",
    "Observation",
    "ObservationFileError",
    "ObservationStore",
    "Stake",
    "StakeSide",
    "TendencyAgent",
    "Tendency",
    "TensorBoardLogger",
    "TrainConfig",
    "TrainHistory",
    "TrainState",
    "Trainer",
    "ValidationResult",
    "Validator",
    "VectorJudge",
    "WandbLogger",
    "WorldModel",
    "binomial_test_greater",
    "clopper_pearson",
    "create_world_model",
    "learning_rate_at",
    "load_labels",
    "load_observations",
    "make_judge",
    "normalise_scores",
    "project_allocations",
    "reallocate",
    "total_change",
]
