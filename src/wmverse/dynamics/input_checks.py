"""Input checking for the world models: turn user inputs into tensors or refuse them.

Every check runs before anything is mutated, so a refused input leaves weights, optimiser,
normalisers, buffer and counters exactly as they were.
"""

from __future__ import annotations

import math
import operator
from typing import Any

import numpy as np
import torch

from .types import InvalidInputError, ModelInput, WorldModelConfig


class InputChecks:
    """Checks inputs against a config's ``obs_dim`` and ``action_dim``.

    Every method returns the checked value as a tensor (or a Python scalar) and raises
    :class:`InvalidInputError` naming the offending argument otherwise; none has side effects.
    """

    def __init__(self, config: WorldModelConfig) -> None:
        self.obs_dim = config.obs_dim
        self.action_dim = config.action_dim

    def obs(self, obs: Any, what: str = "observation") -> torch.Tensor:
        """One finite observation of length ``obs_dim`` -> float32 tensor (obs_dim,)."""
        try:
            arr = np.asarray(obs, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(f"{what} must be a sequence of numbers ({exc})") from None
        if arr.ndim != 1 or arr.shape[0] != self.obs_dim:
            raise InvalidInputError(f"{what} has shape {arr.shape}, expected ({self.obs_dim},) = obs_dim")
        if not np.isfinite(arr).all():
            raise InvalidInputError(f"{what} contains NaN or infinite values")
        return torch.as_tensor(arr, dtype=torch.float32)

    def obs_batch(self, observations: Any) -> torch.Tensor:
        """Finite observations of shape (N, obs_dim) -> float32 tensor (N, obs_dim)."""
        obs = torch.as_tensor(np.asarray(observations, dtype=np.float32))
        if obs.dim() != 2 or obs.shape[1] != self.obs_dim or not torch.isfinite(obs).all():
            raise InvalidInputError(
                f"observations must be finite with shape (N, {self.obs_dim}), got {tuple(obs.shape)}"
            )
        return obs

    def initial_obs(self, initial_obs: Any, n: int) -> torch.Tensor:
        """Start states of ``n`` rollouts: (obs_dim,) shared by all, or (n, obs_dim) -> (n, obs_dim)."""
        obs = torch.as_tensor(np.asarray(initial_obs, dtype=np.float32))
        if obs.dim() == 1:
            return self.obs(initial_obs, "initial_obs").expand(n, -1)
        if obs.shape != (n, self.obs_dim) or not torch.isfinite(obs).all():
            raise InvalidInputError(
                f"initial_obs must be finite with shape ({self.obs_dim},) or ({n}, {self.obs_dim})"
            )
        return obs

    def action(self, action: Any) -> int:
        """One integer action index in ``[0, action_dim)`` (booleans are refused)."""
        if isinstance(action, bool):
            raise InvalidInputError(f"action must be an integer index, got {action!r}")
        try:
            a = operator.index(action)
        except TypeError:
            raise InvalidInputError(f"action must be an integer index, got {action!r}") from None
        if not 0 <= a < self.action_dim:
            raise InvalidInputError(f"action {a} out of range [0, {self.action_dim})")
        return a

    def actions(self, actions: Any) -> torch.Tensor:
        """Integer action indices of any shape -> int64 tensor of the same shape."""
        try:
            arr = np.asarray(actions)
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(f"actions must be integer indices ({exc})") from None
        if arr.size and not np.issubdtype(arr.dtype, np.integer):
            raise InvalidInputError(f"actions must be integer indices, got dtype {arr.dtype}")
        t = torch.as_tensor(arr.astype(np.int64, copy=False))
        if t.numel() and (int(t.min()) < 0 or int(t.max()) >= self.action_dim):
            raise InvalidInputError(f"actions out of range [0, {self.action_dim})")
        return t

    def action_batch(self, actions: Any, n: int) -> torch.Tensor:
        """``n`` integer actions -> int64 tensor (n,)."""
        acts = self.actions(actions)
        if acts.shape != (n,):
            raise InvalidInputError(f"actions must have shape ({n},), got {tuple(acts.shape)}")
        return acts

    def action_sequences(self, action_sequences: Any) -> torch.Tensor:
        """(N, H) integer action sequences -> int64 tensor (N, H)."""
        acts = self.actions(action_sequences)
        if acts.dim() != 2:
            raise InvalidInputError(f"action_sequences must have shape (N, H), got {tuple(acts.shape)}")
        return acts

    def model_input(self, inp: ModelInput) -> tuple[torch.Tensor, int]:
        """A :class:`ModelInput` -> (observation tensor (obs_dim,), action index)."""
        if not isinstance(inp, ModelInput):
            raise InvalidInputError(f"expected a ModelInput, got {type(inp).__name__}")
        return self.obs(inp.observation), self.action(inp.action)

    def scalar(self, value: Any, what: str) -> float:
        """A finite real number -> float."""
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise InvalidInputError(f"{what} must be a number, got {value!r}") from None
        if not math.isfinite(v):
            raise InvalidInputError(f"{what} must be finite, got {v}")
        return v
