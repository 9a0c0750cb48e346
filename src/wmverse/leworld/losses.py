"""Pure loss and schedule functions of LeWorld (no module state)."""

from __future__ import annotations

import math

import torch.nn.functional as F
from torch import Tensor

_EPS = 1e-8


def next_state_loss(prediction: Tensor, target: Tensor) -> Tensor:
    """Mean squared error of the predicted next state."""
    return F.mse_loss(prediction, target)


def balance_loss(router_probs: Tensor) -> Tensor:
    """Routing balance: ``n * sum(u^2) / sum(u)^2 - 1`` of the mean gate per SLM ``u``.

    ``router_probs`` (B, n). Zero when every SLM is used equally, ``n - 1`` when only one is.
    """
    usage = router_probs.mean(0)
    n = usage.shape[-1]
    return n * (usage**2).sum() / (usage.sum() ** 2 + _EPS) - 1


def diversity_loss(p_high: Tensor, p_low: Tensor) -> Tensor:
    """Address diversity: probability that two distinct SLMs pick the same start address.

    ``p_high``, ``p_low`` (B, n, half). With independent bytes this is the mean over
    ordered pairs ``i != j`` of ``<p_high_i, p_high_j> * <p_low_i, p_low_j>``. Zero for n < 2.
    """
    n = p_high.shape[1]
    if n < 2:
        return p_high.new_zeros(())
    same = (p_high @ p_high.transpose(1, 2)) * (p_low @ p_low.transpose(1, 2))  # (B, n, n)
    off = same.sum((1, 2)) - same.diagonal(dim1=1, dim2=2).sum(-1)
    return (off / (n * (n - 1))).mean()


def routing_entropy_loss(router_probs: Tensor) -> Tensor:
    """Mean binary entropy of the gates (low = decisive routing)."""
    p = router_probs.clamp(1e-6, 1 - 1e-6)  # 1 - 1e-8 rounds to 1 in float32
    return -(p * p.log() + (1 - p) * (1 - p).log()).mean()


def address_loss(
    start_logits_high: Tensor,
    start_logits_low: Tensor,
    range_logits: Tensor,
    target_start: Tensor,
    target_end: Tensor,
    half_space: int,
    max_read_range: int,
) -> Tensor:
    """Phase-1 SLM loss: CE(high byte) + CE(low byte) + 0.5 CE(range length - 1)."""
    tgt = target_start.long()
    addr = F.cross_entropy(start_logits_high, tgt // half_space) + F.cross_entropy(
        start_logits_low, tgt % half_space
    )
    tgt_range = (target_end - target_start).clamp(1, max_read_range) - 1
    return addr + 0.5 * F.cross_entropy(range_logits, tgt_range.long())


def paired_branch_objective(
    total_with: Tensor, prediction_with: Tensor, prediction_without: Tensor, lambda_info_util: float
) -> tuple[Tensor, Tensor]:
    """Phase-3 objective (ProactAgent-style paired branches).

    ``improvement = (prediction_without - prediction_with).detach()`` (positive: the info
    request helped); ``objective = total_with - lambda_info_util * improvement``.
    Returns ``(objective, improvement)``.
    """
    improvement = (prediction_without - prediction_with).detach()
    return total_with - lambda_info_util * improvement, improvement


def warmup_factor(step: int, warmup_steps: int) -> float:
    """Linear warm-up multiplier in (0, 1]."""
    if warmup_steps <= 0:
        return 1.0
    return min(1.0, (step + 1) / warmup_steps)


def cosine_restart_factor(epoch: float, period: int, period_mult: int = 2) -> float:
    """Cosine annealing with warm restarts (SGDR) multiplier in [0, 1] at a (fractional) epoch."""
    period = max(1, int(period))
    t, length = float(epoch), float(period)
    while t >= length:
        t -= length
        length *= period_mult
    return 0.5 * (1 + math.cos(math.pi * t / length))


def routing_entropy(masks: Tensor) -> tuple[float, Tensor]:
    """Routing entropy ``-sum_i u_i log u_i`` of the mean usage ``u_i`` of each SLM.

    ``masks`` (..., n) hard gates. Returns ``(entropy, usage)``.
    """
    usage = masks.reshape(-1, masks.shape[-1]).float().mean(0)
    return max(0.0, float(-(usage * (usage + _EPS).log()).sum())), usage
