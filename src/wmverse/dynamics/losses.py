"""Pure loss and scoring functions of the dynamics package (no state, no RNG)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def split_heads(out: torch.Tensor, obs_dim: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(…, obs_dim + 2) joint output -> (delta (…, obs_dim), reward (…), done_logit (…))."""
    return out[..., :obs_dim], out[..., obs_dim], out[..., obs_dim + 1]


def transition_loss(
    out: torch.Tensor,
    target_delta: torch.Tensor,
    target_reward: torch.Tensor,
    target_done: torch.Tensor,
    *,
    reward_weight: float = 1.0,
    done_weight: float = 1.0,
    done_pos_weight: float = 1.0,
) -> tuple[torch.Tensor, dict[str, float]]:
    """Joint loss: MSE on the normalised delta and reward, BCE on the done logit.

    ``out`` is (E, B, obs_dim + 2); targets are (E, B, obs_dim), (E, B), (E, B). Losses are
    averaged over batch and summed over members, so each member gets a full-size gradient.
    ``done_pos_weight`` up-weights the rare terminal transitions in the BCE.
    Returns (loss, metrics) with per-head means over members.
    """
    delta, reward, done_logit = split_heads(out, target_delta.shape[-1])
    obs_l = ((delta - target_delta) ** 2).mean(dim=(-1, -2))
    rew_l = ((reward - target_reward) ** 2).mean(dim=-1)
    pos_weight = torch.tensor(float(done_pos_weight))
    done_l = F.binary_cross_entropy_with_logits(
        done_logit, target_done, reduction="none", pos_weight=pos_weight
    ).mean(dim=-1)
    per_member = obs_l + reward_weight * rew_l + done_weight * done_l
    loss = per_member.sum()
    metrics = {
        "loss": float(per_member.detach().mean()),
        "obs_loss": float(obs_l.detach().mean()),
        "reward_loss": float(rew_l.detach().mean()),
        "done_loss": float(done_l.detach().mean()),
    }
    return loss, metrics


def td_value_loss(
    value: torch.Tensor,
    scaled_reward: torch.Tensor,
    done: torch.Tensor,
    next_value: torch.Tensor,
    *,
    discount: float,
) -> torch.Tensor:
    """TD regression of ``value`` onto ``scaled_reward + discount * (1 - done) * next_value``.

    Values live in units of ``1 / (1 - discount)`` rewards, so ``scaled_reward`` is the real
    reward times ``(1 - discount)`` and a constant reward of 1 has the fixed point 1. All
    tensors share one shape, (E, B) for E members; ``next_value`` is a constant (no
    gradient). For n-step targets, ``scaled_reward`` holds the discounted sum of the n rewards and
    ``next_value`` is already discounted by ``discount ** (n - 1)``. Averaged over the batch and
    summed over members, like :func:`transition_loss`.
    """
    target = scaled_reward + discount * (1.0 - done) * next_value
    return ((value - target.detach()) ** 2).mean(dim=-1).sum()


def mse(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Mean squared error over the last axis (vectorised over leading axes)."""
    return ((a - b) ** 2).mean(dim=-1)


def member_mean(member_values: torch.Tensor) -> torch.Tensor:
    """Mean over the members (axis 0) as a chain of element-wise additions: (E, …) -> (…).

    Unlike ``Tensor.mean(0)``, whose CPU reduction strategy (and so its rounding) changes
    with the size of the other axes, every element's result is independent of how many rows
    are computed together (a batched dream gives each row the numbers it gets alone).
    """
    members = member_values.unbind(0)
    total = members[0]
    for m in members[1:]:
        total = total + m
    return total / len(members)


def logistic(x: torch.Tensor) -> torch.Tensor:
    """The logistic function ``1 / (1 + exp(-x))``, element by element.

    ``torch.sigmoid``'s vectorised CPU kernel rounds the elements that do not fill a whole
    vector (the tensor's tail) differently, so an element's value would depend on the size
    of the tensor; ``exp``, addition and division do not.
    """
    return 1.0 / (1.0 + torch.exp(-x))


def disagreement(member_values: torch.Tensor) -> torch.Tensor:
    """Epistemic uncertainty: variance across members (axis 0), averaged over the last axis.

    (E, …, D) -> (…). Zero for a single member. Row-wise like :func:`member_mean`.
    """
    if member_values.shape[0] < 2:
        return torch.zeros(member_values.shape[1:-1])
    centred = member_values - member_mean(member_values)  # faster than Tensor.var on CPU
    return member_mean(centred.square()).mean(dim=-1)


def survival_return(
    rewards: torch.Tensor,
    done_probs: torch.Tensor,
    *,
    discount: float = 1.0,
    uncertainty: torch.Tensor | None = None,
    uncertainty_penalty: float = 0.0,
    terminal_value: torch.Tensor | None = None,
) -> torch.Tensor:
    """Expected discounted return of imagined rollouts under the predicted termination.

    ``rewards`` and ``done_probs`` are (N, H); the reward of step t counts with the
    probability of having survived steps < t (a step's own reward is earned even if it
    terminates). An ``uncertainty`` (N, H) penalty, weighted the same way, discourages
    plans through regions the ensemble disagrees on. A ``terminal_value`` (N,) -- the value
    of each rollout's last state -- is added with weight ``discount ** H`` times the
    probability of surviving all H steps. Returns (N,).
    """
    h = rewards.shape[-1]
    alive = torch.cumprod(1.0 - done_probs, dim=-1)
    alive_before = torch.cat([torch.ones_like(alive[..., :1]), alive[..., :-1]], dim=-1)
    disc = discount ** torch.arange(h, dtype=rewards.dtype)
    score = rewards
    if uncertainty is not None and uncertainty_penalty:
        score = score - uncertainty_penalty * uncertainty
    total = (score * alive_before * disc).sum(dim=-1)
    if terminal_value is not None:
        total = total + discount**h * alive[..., -1] * terminal_value
    return total
