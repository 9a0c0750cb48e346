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


def sparsity_loss(router_probs: Tensor) -> Tensor:
    """Routing sparsity: the mean gate probability (the expected share of SLMs gated on).

    An L1 penalty on the gates: every SLM pays for being on, so only those whose read
    lowers the next-state loss by more than the weight stay on for a given input.
    """
    return router_probs.mean()


def load_balance_loss(mask: Tensor, router_probs: Tensor) -> Tensor:
    """Switch-Transformer load balancing ``n * sum_i f_i * P_i`` (1 when balanced).

    ``f_i``: share of the hard gate activations (``mask`` (B, n), no gradient) that go to
    SLM ``i``; ``P_i``: share of the gate probability mass on SLM ``i``. The gradient moves
    probability from the SLMs that carry the most load to the others, so a sparsity term
    does not collapse routing onto one SLM for every input.
    """
    n = router_probs.shape[-1]
    load = mask.detach().reshape(-1, n).sum(0)
    mass = router_probs.reshape(-1, n).sum(0)
    return n * ((load / (load.sum() + _EPS)) * (mass / (mass.sum() + _EPS))).sum()


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
    present: Tensor | None = None,
) -> Tensor:
    """Phase-1 SLM loss: CE(high byte) + CE(low byte) + 0.5 CE(range length - 1).

    ``present`` (B,) bool: average only over the rows that have a range (an empty column
    has no address to learn); ``None``: every row. Zero when no row has one.
    """
    tgt = target_start.long()
    tgt_range = (target_end - target_start).clamp(1, max_read_range) - 1
    if present is None:
        addr = F.cross_entropy(start_logits_high, tgt // half_space) + F.cross_entropy(
            start_logits_low, tgt % half_space
        )
        return addr + 0.5 * F.cross_entropy(range_logits, tgt_range.long())
    per_row = (
        F.cross_entropy(start_logits_high, tgt // half_space, reduction="none")
        + F.cross_entropy(start_logits_low, tgt % half_space, reduction="none")
        + 0.5 * F.cross_entropy(range_logits, tgt_range.long(), reduction="none")
    )
    w = present.to(per_row.dtype)
    return (per_row * w).sum() / w.sum().clamp(min=1)


def confidence_loss(confidence: Tensor, present: Tensor) -> Tensor:
    """Binary cross-entropy of an SLM's confidence (a probability) against "its column has a range"."""
    return F.binary_cross_entropy(confidence.clamp(1e-6, 1 - 1e-6), present.to(confidence.dtype))


def paired_branch_objective(
    total_with: Tensor,
    prediction_with: Tensor,
    prediction_without: Tensor,
    lambda_info_util: float,
    *,
    detached: bool = False,
) -> tuple[Tensor, Tensor]:
    """Phase-3 objective (ProactAgent-style paired branches).

    ``improvement = prediction_without - prediction_with`` (positive: the info request
    helped); ``objective = total_with - lambda_info_util * improvement``. The branch
    without the request is the baseline and never carries a gradient (one through it would
    teach the model to predict worse without the request). The branch with it does, so
    raising the improvement trains the request head and the SLMs' modulation. ``detached``
    gives the reference's version, whose improvement is a constant that trains nothing.
    Returns ``(objective, improvement)``.
    """
    improvement = prediction_without.detach() - prediction_with
    if detached:
        improvement = improvement.detach()
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
    """Entropy (nats) of the share of the load each SLM carries, and the mean usage of each.

    ``masks`` (..., n) hard gates; ``u_i`` = share of inputs that gate SLM ``i`` on; the
    entropy is that of ``u / sum(u)``: ``log n`` when the SLMs carry equal loads (dense or
    balanced sparse routing alike), 0 when one SLM carries all of it (or none is ever on).
    Returns ``(entropy, usage)``.
    """
    usage = masks.reshape(-1, masks.shape[-1]).float().mean(0)
    share = usage / (usage.sum() + _EPS)
    return max(0.0, float(-(share * (share + _EPS).log()).sum())), usage


def routing_per_input(masks: Tensor) -> tuple[float, float]:
    """``(entropy, slms)``: mean over inputs of the entropy (nats) of the normalised hard
    gates (``log k`` with ``k`` SLMs on, 0 with at most one) and mean number of SLMs on."""
    m = masks.reshape(-1, masks.shape[-1]).float()
    on = m.sum(-1)
    return float(on.clamp(min=1).log().mean()), float(on.mean())
