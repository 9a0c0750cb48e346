"""Pure loss functions of the canvas world model (no state, no randomness)."""

from __future__ import annotations

import torch


def masked_canvas_loss(
    pred: torch.Tensor,
    target: torch.Tensor,
    presence: torch.Tensor,
    loss_weight: torch.Tensor,
    elementwise: torch.Tensor | None = None,
    normalize: bool = False,
) -> torch.Tensor:
    """``L = sum((pred - target)^2 * presence * loss_weight)``.

    ``pred``, ``target`` and ``presence`` share a shape ``(..., N)``; ``loss_weight``
    broadcasts against it (typically ``(B, 1, N)``). Absent positions contribute nothing,
    whatever ``target`` holds there (NaN included). ``elementwise`` replaces the squared
    error when given (custom per-field losses). With ``normalize`` the sum is divided by
    ``sum(presence * loss_weight)`` (clamped at 1e-8), a weighted mean.
    """
    presence = presence.to(pred.dtype)
    safe_target = torch.where(presence > 0, target, torch.zeros_like(target))
    err = (pred - safe_target) ** 2 if elementwise is None else elementwise
    w = presence * loss_weight
    total = (torch.where(w > 0, err, torch.zeros_like(err)) * w).sum()
    if normalize:
        return total / w.sum().clamp_min(1e-8)
    return total


def masked_rmse(pred: torch.Tensor, target: torch.Tensor, presence: torch.Tensor) -> torch.Tensor:
    """Root mean squared error over present positions only."""
    presence = presence.to(pred.dtype)
    safe_target = torch.where(presence > 0, target, torch.zeros_like(target))
    return (((pred - safe_target) ** 2 * presence).sum() / presence.sum().clamp_min(1.0)).sqrt()


def diffusion_x0_loss(
    x0_pred: torch.Tensor,
    x0: torch.Tensor,
    presence: torch.Tensor,
    loss_weight: torch.Tensor,
    noised: torch.Tensor,
) -> torch.Tensor:
    """Weighted mean squared error of the clean-canvas prediction on present, noised positions."""
    return masked_canvas_loss(x0_pred, x0, presence * noised, loss_weight, normalize=True)
