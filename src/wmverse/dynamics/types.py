"""The dynamics world model's contract: enums, frozen records, config and Protocol.

Fields beyond the original specification carry defaults, so code written against it keeps
working.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from enum import Enum, auto
from typing import Any, Protocol, runtime_checkable


class TransitionBackend(Enum):
    """Backend used for the world model's forward pass."""

    MLP = auto()  # feed-forward MLP on the current (obs, action): fast, low capacity
    LSTM = auto()  # recurrent over a window of recent (obs, action) steps
    TRANSFORMER = auto()  # attention over a window of recent (obs, action) steps
    ENSEMBLE = auto()  # N vectorised MLPs; their disagreement is epistemic uncertainty


class PredictionTarget(Enum):
    """What the model predicts on each step (every backend trains all heads)."""

    NEXT_OBS = auto()  # next observation vector (learned as a normalised delta)
    REWARD = auto()  # scalar reward
    DONE = auto()  # episode-termination flag (a logit, thresholded at 0.5)
    ALL = auto()  # the joint head: obs + reward + done


class InvalidInputError(ValueError):
    """A transition or query does not fit the model (shape, range or non-finite value).

    Raised before anything is mutated: the weights, optimiser, normalisers, buffer and
    counters are unchanged when it propagates.
    """


@dataclass(frozen=True)
class ModelInput:
    """Single (obs, action) pair passed to a WorldModel."""

    observation: tuple[float, ...]  # current observation vector, length obs_dim
    action: int  # discrete action index in [0, action_dim)


@dataclass(frozen=True)
class ModelOutput:
    """Predicted next state."""

    next_observation: tuple[float, ...]  # predicted next observation
    predicted_reward: float  # predicted reward
    predicted_done: bool  # predicted termination (done probability > done_threshold)
    prediction_error: float  # MSE of the model on the last ground truth it saw (0 if none)
    done_probability: float = 0.0  # probability behind predicted_done
    uncertainty: float = 0.0  # ensemble disagreement (normalised units); 0 for single nets


@dataclass(frozen=True)
class DreamRollout:
    """Result of an imagined trajectory through the world model."""

    steps: tuple[ModelOutput, ...]  # ordered imagined steps (ends at the first predicted done)
    total_imagined_reward: float  # sum of predicted rewards over ``steps``
    surprise_score: float  # mean prediction_error across steps
    uncertainty: float = 0.0  # mean epistemic uncertainty across steps


@dataclass(frozen=True)
class WorldModelConfig:
    """Hyper-parameters of a dynamics world model (specified fields first, then additions)."""

    backend: TransitionBackend = TransitionBackend.MLP  # network family
    obs_dim: int = 64  # length of an observation vector
    action_dim: int = 8  # number of discrete actions
    hidden_dim: int = 256  # width of hidden layers (d_model for the transformer)
    ensemble_size: int = 5  # members when backend == ENSEMBLE (1 otherwise)
    rollout_horizon: int = 10  # steps per dream rollout used by planners
    learning_rate: float = 3e-4  # Adam step size
    surprise_threshold: float = 0.05  # prediction error above this triggers re-planning
    max_buffer_size: int = 100_000  # replay-buffer capacity (oldest transitions evicted)
    seed: int = 0  # seeds weight init and minibatch sampling (the model owns its RNG)
    num_layers: int = 2  # hidden layers (MLP/ensemble) or recurrent/attention layers
    batch_size: int = 64  # minibatch size for gradient steps on the buffer
    context_window: int = 8  # history steps seen by LSTM/TRANSFORMER (1 for MLP/ensemble)
    num_heads: int = 4  # attention heads (TRANSFORMER); must divide hidden_dim
    done_threshold: float = 0.5  # done probability above which a step counts as terminal
    done_loss_weight: float = 1.0  # weight of the termination BCE in the joint loss
    done_pos_weight: float = 1.0  # BCE weight of terminal transitions (they are rare)
    done_from_next_obs: bool = False  # done from a classifier of the (predicted) next observation
    reward_loss_weight: float = 1.0  # weight of the reward MSE in the joint loss
    grad_clip: float = 10.0  # max gradient norm per step

    def __post_init__(self) -> None:
        if not isinstance(self.backend, TransitionBackend):
            raise ValueError(f"backend must be a TransitionBackend, got {self.backend!r}")
        for name in ("obs_dim", "action_dim", "hidden_dim", "ensemble_size", "rollout_horizon"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("max_buffer_size", "num_layers", "batch_size", "context_window", "num_heads"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be > 0, got {self.learning_rate}")
        if not 0.0 < self.done_threshold < 1.0:
            raise ValueError(f"done_threshold must be in (0, 1), got {self.done_threshold}")
        if self.backend is TransitionBackend.TRANSFORMER and self.hidden_dim % self.num_heads:
            raise ValueError(f"hidden_dim {self.hidden_dim} is not divisible by num_heads {self.num_heads}")

    @property
    def members(self) -> int:
        """Number of networks evaluated per forward pass."""
        return self.ensemble_size if self.backend is TransitionBackend.ENSEMBLE else 1

    @property
    def window(self) -> int:
        """History length fed to the network (1 for the memoryless backends)."""
        sequential = self.backend in (TransitionBackend.LSTM, TransitionBackend.TRANSFORMER)
        return self.context_window if sequential else 1

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python form (backend by name), suitable for JSON."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["backend"] = self.backend.name
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WorldModelConfig:
        """Inverse of :meth:`to_dict`; accepts a backend given by name or enum."""
        data = dict(data)
        backend = data.get("backend", TransitionBackend.MLP)
        if isinstance(backend, str):
            backend = TransitionBackend[backend]
        data["backend"] = backend
        return cls(**data)


@runtime_checkable
class WorldModel(Protocol):
    """Predictive model of environment dynamics."""

    async def predict(self, inp: ModelInput) -> ModelOutput:
        """One-step forward pass: (obs, action) -> next-state prediction. Pure (no learning)."""
        ...

    async def dream_rollout(
        self,
        initial_obs: tuple[float, ...],
        action_sequence: Sequence[int],
    ) -> DreamRollout:
        """Simulate a trajectory through the model, stopping after the first predicted done."""
        ...

    async def update(
        self,
        inp: ModelInput,
        actual_next_obs: tuple[float, ...],
        actual_reward: float,
        actual_done: bool,
    ) -> float:
        """Store a real transition and take one gradient step; returns the scalar loss."""
        ...

    async def surprise(self, inp: ModelInput, actual_next_obs: tuple[float, ...]) -> float:
        """Prediction error (MSE over observation dims) of ``inp`` against the real outcome."""
        ...

    async def snapshot(self) -> dict:
        """Config, ``step_count``, ``buffer_size`` and the state needed to restore exactly."""
        ...
