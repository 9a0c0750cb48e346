"""Input validation shared by the world models: check everything before mutating anything."""

from __future__ import annotations

import math
import operator
from typing import Any

import numpy as np
import torch

from .types import InvalidInputError, ModelInput, WorldModelConfig


class InputValidator:
    """Mixin turning user inputs into tensors, or raising :class:`InvalidInputError`.

    Needs ``self._cfg`` (a :class:`WorldModelConfig`).
    """

    _cfg: WorldModelConfig

    def _obs(self, obs: Any, what: str = "observation") -> torch.Tensor:
        try:
            arr = np.asarray(obs, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(f"{what} must be a sequence of numbers ({exc})") from None
        if arr.ndim != 1 or arr.shape[0] != self._cfg.obs_dim:
            raise InvalidInputError(
                f"{what} has shape {arr.shape}, expected ({self._cfg.obs_dim},) = obs_dim"
            )
        if not np.isfinite(arr).all():
            raise InvalidInputError(f"{what} contains NaN or infinite values")
        return torch.as_tensor(arr, dtype=torch.float32)

    def _action(self, action: Any) -> int:
        if isinstance(action, bool):
            raise InvalidInputError(f"action must be an integer index, got {action!r}")
        try:
            a = operator.index(action)
        except TypeError:
            raise InvalidInputError(f"action must be an integer index, got {action!r}") from None
        if not 0 <= a < self._cfg.action_dim:
            raise InvalidInputError(f"action {a} out of range [0, {self._cfg.action_dim})")
        return a

    def _actions(self, actions: Any) -> torch.Tensor:
        try:
            arr = np.asarray(actions)
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(f"actions must be integer indices ({exc})") from None
        if arr.size and not np.issubdtype(arr.dtype, np.integer):
            raise InvalidInputError(f"actions must be integer indices, got dtype {arr.dtype}")
        t = torch.as_tensor(arr.astype(np.int64, copy=False))
        if t.numel() and (int(t.min()) < 0 or int(t.max()) >= self._cfg.action_dim):
            raise InvalidInputError(f"actions out of range [0, {self._cfg.action_dim})")
        return t

    def _input(self, inp: ModelInput) -> tuple[torch.Tensor, int]:
        if not isinstance(inp, ModelInput):
            raise InvalidInputError(f"expected a ModelInput, got {type(inp).__name__}")
        return self._obs(inp.observation), self._action(inp.action)

    def _scalar(self, value: Any, what: str) -> float:
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise InvalidInputError(f"{what} must be a number, got {value!r}") from None
        if not math.isfinite(v):
            raise InvalidInputError(f"{what} must be finite, got {v}")
        return v
