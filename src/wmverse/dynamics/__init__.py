"""Dynamics world model: learned transition models, dream rollouts, planning.

Implements seed 003 (the ASI-Build Phase 13.1-13.2 dynamics world-model specification):
the names and fields in :mod:`.types`, the Prometheus metrics, ``CognitiveCycle`` and the
50 ms planning budget follow it; everything added beyond it carries defaults, so code
written against the specification keeps working.

Layout, one concept per module:

- :mod:`.types`: the contract (configs, records, the ``WorldModel`` Protocol);
- :mod:`.networks`, :mod:`.normaliser`, :mod:`.losses`: network families, running
  statistics and the pure loss/scoring functions;
- :mod:`.model`: ``TransitionModel``, networks + normalisers, forward maths, loss, state;
- :mod:`.buffer`: the replay buffer; :mod:`.trainer`: the optimiser and gradient steps;
- :mod:`.rollout`: dreaming (batched imagined trajectories);
- :mod:`.world_model`: ``TorchWorldModel``, the async Protocol facade over all of them;
- :mod:`.input_checks`: input checking; :mod:`.metrics`: Prometheus metrics;
- :mod:`.planner`, :mod:`.value`, :mod:`.cycle`: planning on dreams, one state at a time
  or N states in one batched dream (``plan_batch`` / ``act_batch``, one seeded
  ``PlanStream`` per state).

Importing this package pulls in torch but not gymnasium; the agent and environments live
in :mod:`wmverse.dynamics.agent` and :mod:`wmverse.dynamics.envs`, and
:mod:`wmverse.dynamics.resume` captures and restores an agent's whole state (checkpoints).
"""

from .buffer import ReplayBuffer
from .cycle import CognitiveCycle
from .metrics import REGISTRY, MetricsServer, WorldModelMetrics, serve_metrics
from .model import TransitionModel
from .planner import (
    DreamRolloutPlanner,
    PlannerConfig,
    PlanningMethod,
    PlanResult,
    PlanStream,
    derived_generator,
)
from .rollout import BatchRollout
from .trainer import ModelTrainer
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
from .world_model import TorchWorldModel, build_world_model

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
    "ModelTrainer",
    "PlanResult",
    "PlanStream",
    "PlannerConfig",
    "PlanningMethod",
    "PredictionTarget",
    "ReplayBuffer",
    "TorchWorldModel",
    "TransitionBackend",
    "TransitionModel",
    "WorldModel",
    "WorldModelConfig",
    "WorldModelMetrics",
    "build_world_model",
    "derived_generator",
    "serve_metrics",
]
