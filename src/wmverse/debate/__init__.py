"""The adversarial-debate world model of a person (the project's seed 000).

Seven tendency agents propose claims about a person from observations, stake
observations PRO on their own claims and CON on rivals', and the arena moves their
allocations toward the normalised net scores. Judges (lexical, embedding, LLM) decide
relevance and ownership; the validator reports held-out accuracy against gold labels
(or agreement without them) with an exact binomial test against 1/7.

Modules: :mod:`.tendency`, :mod:`.observations`, :mod:`.claims` (data);
:mod:`.judges` (protocol, vector base), :mod:`.lexical_judge`, :mod:`.embedding_judge`,
:mod:`.llm_judge`, :mod:`.judge_factory` (``make_judge``), :mod:`.judge_cache`
(``shared_judge``); :mod:`.agents`, :mod:`.arena`, :mod:`.scoring` (scores, allocations,
convergence, learning-rate decay); :mod:`.epoch` (one training epoch, used by the
:class:`Trainer` and by the training world); :mod:`.train_config`, :mod:`.trainer`,
:mod:`.validation` (held-out validation), :mod:`.ownership` (calibrated ownership and
pooled claims), :mod:`.baselines` (honest baselines and :func:`debate_quality`),
:mod:`.loggers`, :mod:`.model`, :mod:`.cli`.
"""

from .agents import AgentPool, TendencyAgent
from .arena import Arena, DebateResult, settle_debate
from .baselines import debate_quality
from .claims import Claim, ClaimTree, Stake, StakeSide
from .embedding_judge import EmbeddingJudge
from .epoch import EpochStep, convergence_tracker, run_epoch_step
from .judge_cache import shared_judge
from .judge_factory import make_judge
from .judges import Judge, VectorJudge
from .lexical_judge import LexicalJudge
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
from .ownership import calibration_offsets, pool_claims, predict_owners
from .scoring import (
    ConvergenceTracker,
    learning_rate_at,
    next_learning_rate,
    normalise_scores,
    project_allocations,
    reallocate,
    total_change,
)
from .tendency import DEFAULT_ALLOCATIONS, Tendency
from .train_config import TrainConfig
from .trainer import EpochMetrics, Trainer, TrainHistory
from .validation import CHANCE, ValidationResult, Validator, binomial_test_greater, clopper_pearson

#: Alias of :class:`ConvergenceTracker` (its name in seed 000).
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
    "EpochStep",
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
    "convergence_tracker",
    "calibration_offsets",
    "create_world_model",
    "debate_quality",
    "learning_rate_at",
    "load_labels",
    "load_observations",
    "make_judge",
    "next_learning_rate",
    "normalise_scores",
    "pool_claims",
    "predict_owners",
    "project_allocations",
    "reallocate",
    "run_epoch_step",
    "settle_debate",
    "shared_judge",
    "total_change",
]
