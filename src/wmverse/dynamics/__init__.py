"""Dynamics world model (seed 003): learned transition models, dream rollouts, planning.

Importing this package pulls in torch but not gymnasium; the agent and environments live
in :mod:`wmverse.dynamics.agent` and :mod:`wmverse.dynamics.envs`.
"""

from .cycle import CognitiveCycle
from .metrics import REGISTRY, MetricsServer, WorldModelMetrics, serve_metrics
from .model import BatchRollout, TorchWorldModel, build_world_model
from .planner import DreamRolloutPlanner, PlannerConfig, PlanningMethod, PlanResult
from .types import (
    DreamRollout,
    InvalidInputError,
    ModelInput,
    ModelOutput,
    PredictionTarget,
    TransitionBackend,
    WorldModel,
    WorldModelConfig,
)

__all__ = [
    "REGISTRY",
    "BatchRollout",
    "CognitiveCycle",
    "DreamRollout",
    "DreamRolloutPlanner",
    "InvalidInputError",
    "MetricsServer",
    "ModelInput",
    "ModelOutput",
    "PlanResult",
    "PlannerConfig",
    "PlanningMethod",
    "PredictionTarget",
    "TorchWorldModel",
    "TransitionBackend",
    "WorldModel",
    "WorldModelConfig",
    "WorldModelMetrics",
    "build_world_model",
    "serve_metrics",
]
