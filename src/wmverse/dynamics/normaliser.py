"""Running mean/std normalisation of observations, deltas and rewards.

Statistics are torch buffers, so they travel in ``state_dict()`` and a restored model
normalises exactly as the original did.
"""

from __future__ import annotations

import torch
from torch import nn


class RunningNormaliser(nn.Module):
    """Per-dimension running mean and variance (Chan's parallel update of Welford's sums).

    The standard deviation is shrunk towards 1 by ``prior_count`` pseudo-observations, so
    the first few samples do not produce huge normalised values, and floored at
    ``min_std`` so constant dimensions (CartPole's reward) stay finite.
    """

    def __init__(self, dim: int, *, prior_count: float = 1.0, min_std: float = 1e-4) -> None:
        super().__init__()
        self.dim = dim
        self.prior_count = prior_count
        self.min_std = min_std
        self.register_buffer("count", torch.zeros((), dtype=torch.float64))
        self.register_buffer("mean", torch.zeros(dim, dtype=torch.float64))
        self.register_buffer("m2", torch.zeros(dim, dtype=torch.float64))
        self._cache: tuple[torch.Tensor, torch.Tensor] | None = None

    def update(self, x: torch.Tensor) -> None:
        """Fold a batch ``x`` of shape (N, dim) into the statistics."""
        x = x.detach().reshape(-1, self.dim).to(torch.float64)
        n = x.shape[0]
        if n == 0:
            return
        batch_mean = x.mean(0)
        batch_m2 = ((x - batch_mean) ** 2).sum(0)
        total = self.count + n
        delta = batch_mean - self.mean
        self.mean += delta * (n / total)
        self.m2 += batch_m2 + delta**2 * (self.count * n / total)
        self.count.fill_(total)
        self._cache = None

    def stats(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(mean, std) as float32 tensors of shape (dim,)."""
        if self._cache is None:
            var = (self.m2 + self.prior_count) / (self.count + self.prior_count)
            std = var.sqrt().clamp_min(self.min_std)
            self._cache = (self.mean.float(), std.float())
        return self._cache

    def normalise(self, x: torch.Tensor) -> torch.Tensor:
        mean, std = self.stats()
        return (x - mean) / std

    def denormalise(self, x: torch.Tensor) -> torch.Tensor:
        mean, std = self.stats()
        return x * std + mean

    def _load_from_state_dict(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        self._cache = None
        super()._load_from_state_dict(*args, **kwargs)
