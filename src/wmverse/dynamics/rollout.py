"""Batched imagined trajectories (the output of ``TorchWorldModel.rollout_batch``)."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class BatchRollout:
    """N imagined trajectories of H steps computed together (one forward pass per step).

    No early exit: ``done_probs`` says how likely each step terminates; ``done_steps``
    gives the index of the first predicted done (H when none).
    """

    observations: torch.Tensor  # (N, H, obs_dim) predicted next observations
    rewards: torch.Tensor  # (N, H) predicted rewards
    done_probs: torch.Tensor  # (N, H) predicted termination probabilities
    uncertainty: torch.Tensor  # (N, H) ensemble disagreement per step
    done_threshold: float  # threshold that turns probabilities into predicted dones

    @property
    def done_steps(self) -> torch.Tensor:
        """(N,) index of the first step with done_prob > threshold, or H if none."""
        hit = self.done_probs > self.done_threshold
        h = hit.shape[1]
        first = torch.where(hit, torch.arange(h), torch.full_like(hit, h, dtype=torch.long))
        return first.min(dim=1).values

    def truncated_returns(self) -> torch.Tensor:
        """(N,) sum of predicted rewards up to and including the first predicted done."""
        keep = torch.arange(self.rewards.shape[1]) <= self.done_steps.unsqueeze(1)
        return (self.rewards * keep).sum(dim=1)
