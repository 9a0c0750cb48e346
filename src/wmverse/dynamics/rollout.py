"""Dreaming: imagined trajectories through a :class:`~.model.TransitionModel`.

:func:`rollout` is the model-env loop (feed each predicted state back as the next input);
:func:`rollout_batch` imagines N sequences at once, one batched forward pass per step, and
returns a :class:`BatchRollout`; :func:`dream` and :func:`dreams` turn rollouts into the
``WorldModel`` Protocol's :class:`~.types.DreamRollout` records.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .model import TransitionModel
from .types import DreamRollout, ModelOutput


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


@torch.no_grad()
def rollout(
    model: TransitionModel, obs0: torch.Tensor, actions: torch.Tensor, *, early_exit: bool
) -> dict[str, torch.Tensor]:
    """Roll (N, D) start states through (N, H) actions; gradient-free and deterministic.

    Returns ``next_obs`` (N, H', D), ``reward``, ``done_prob`` and ``uncertainty`` (N, H'),
    where H' = H unless ``early_exit`` stops after the first step at which every sequence is
    predicted done (meant for N = 1). Sequence backends see the dream's own growing history.
    """
    n, h = actions.shape
    w = model.config.window
    d = model.config.obs_dim
    outs: dict[str, list[torch.Tensor]] = {
        "next_obs": [],
        "reward": [],
        "done_prob": [],
        "uncertainty": [],
    }
    if w > 1:  # sequence backends: left-padded history windows that grow with the dream
        obs_hist = torch.zeros(n, w - 1 + h, d)
        act_hist = torch.zeros(n, w - 1 + h, dtype=torch.long)
        valid = torch.zeros(n, w - 1 + h, dtype=torch.bool)
    obs = obs0
    for t in range(h):
        if w > 1:
            pos = w - 1 + t
            obs_hist[:, pos] = obs
            act_hist[:, pos] = actions[:, t]
            valid[:, pos] = True
            step = model.forward(obs_hist[:, t : t + w], act_hist[:, t : t + w], valid[:, t : t + w])
        else:  # memoryless backends: no history bookkeeping on the hot path
            step = model.forward(obs.unsqueeze(1), actions[:, t : t + 1], None)
        for key in outs:
            outs[key].append(step[key])
        obs = step["next_obs"]
        if early_exit and bool((step["done_prob"] > model.config.done_threshold).all()):
            break
    return {key: torch.stack(vals, dim=1) for key, vals in outs.items()}


def rollout_batch(model: TransitionModel, obs0: torch.Tensor, actions: torch.Tensor) -> BatchRollout:
    """All H steps of N imagined trajectories from (N, D) start states and (N, H) actions."""
    out = rollout(model, obs0, actions, early_exit=False)
    return BatchRollout(
        out["next_obs"], out["reward"], out["done_prob"], out["uncertainty"], model.config.done_threshold
    )


def model_output(
    step: dict[str, torch.Tensor], prediction_error: float, done_threshold: float, i: int = 0
) -> ModelOutput:
    """Row ``i`` of a one-step prediction (keys as :meth:`TransitionModel.forward`) as a record."""
    p = float(step["done_prob"][i])
    return ModelOutput(
        next_observation=tuple(float(x) for x in step["next_obs"][i].tolist()),
        predicted_reward=float(step["reward"][i]),
        predicted_done=p > done_threshold,
        prediction_error=prediction_error,
        done_probability=p,
        uncertainty=float(step["uncertainty"][i]),
    )


def dream(
    model: TransitionModel, obs0: torch.Tensor, actions: torch.Tensor, prediction_error: float
) -> DreamRollout:
    """One imagined trajectory from a (D,) state under (1, H) actions, cut after the first
    predicted done; every step reports ``prediction_error`` as its surprise."""
    if actions.shape[1] == 0:
        return DreamRollout(steps=(), total_imagined_reward=0.0, surprise_score=0.0)
    out = rollout(model, obs0.unsqueeze(0), actions, early_exit=True)
    thr = model.config.done_threshold
    steps = tuple(
        model_output({k: v[:, t] for k, v in out.items()}, prediction_error, thr)
        for t in range(out["reward"].shape[1])
    )
    return DreamRollout(
        steps=steps,
        total_imagined_reward=sum(s.predicted_reward for s in steps),
        surprise_score=sum(s.prediction_error for s in steps) / max(len(steps), 1),
        uncertainty=sum(s.uncertainty for s in steps) / max(len(steps), 1),
    )


def dreams(batch: BatchRollout, prediction_error: float) -> list[DreamRollout]:
    """One :class:`DreamRollout` per sequence of ``batch``, each cut after its first predicted
    done; every step reports ``prediction_error`` as its surprise."""
    ends = (batch.done_steps + 1).clamp_max(batch.rewards.shape[1]).tolist()
    obs, rew, done, unc = (
        t.tolist() for t in (batch.observations, batch.rewards, batch.done_probs, batch.uncertainty)
    )
    err, thr = prediction_error, batch.done_threshold
    out = []
    for i, end in enumerate(ends):
        steps = tuple(
            ModelOutput(tuple(obs[i][t]), rew[i][t], done[i][t] > thr, err, done[i][t], unc[i][t])
            for t in range(end)
        )
        out.append(
            DreamRollout(
                steps=steps,
                total_imagined_reward=sum(rew[i][:end]),
                surprise_score=err if end else 0.0,
                uncertainty=sum(unc[i][:end]) / max(end, 1),
            )
        )
    return out
