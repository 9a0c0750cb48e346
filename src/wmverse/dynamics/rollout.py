"""Dreaming: imagined trajectories through a :class:`~.model.TransitionModel`.

:func:`rollout` is the model-env loop (feed each predicted state back as the next input),
imagining shared action prefixes once; :func:`rollout_batch` imagines N sequences at once,
one batched forward pass per step, and
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


#: Block alignment of the deduplicated batch (see :func:`rollout`).
ALIGN = 8


def _start_groups(obs0: torch.Tensor) -> torch.Tensor:
    """(N,) id of each row's start state: runs of equal consecutive rows share one id (a
    planner's batch repeats each state over its population); ids increase with the row."""
    same = (obs0[1:] == obs0[:-1]).all(dim=1)
    return torch.cat([torch.zeros(1, dtype=torch.long), (~same).long().cumsum(0)])


def _layout(k: int, root: torch.Tensor, roots: int) -> tuple[torch.Tensor | None, int]:
    """Positions of k groups, numbered root by root (group g's root: ``root[g]``; unused for
    one root), in a batch where each root's groups form one block starting at a multiple of
    :data:`ALIGN`; returns (positions (k,), or None for ``arange(k)``, and the batch's rows)."""
    if roots == 1:
        return None, -(-k // ALIGN) * ALIGN
    count = torch.bincount(root, minlength=roots)
    padded = (count + ALIGN - 1) // ALIGN * ALIGN
    shift = padded.cumsum(0) - count.cumsum(0)  # padding rows before each root's block ends
    return torch.arange(k) + (shift - padded + count)[root], int(padded.sum())


@torch.no_grad()
def rollout(
    model: TransitionModel, obs0: torch.Tensor, actions: torch.Tensor, *, early_exit: bool
) -> dict[str, torch.Tensor]:
    """Roll (N, D) start states through (N, H) actions; gradient-free and deterministic.

    Returns ``next_obs`` (N, H', D), ``reward``, ``done_prob`` and ``uncertainty`` (N, H'),
    where H' = H unless ``early_exit`` stops after the first step at which every sequence is
    predicted done (meant for N = 1). Sequence backends see the dream's own growing history.

    Shared prefixes are imagined once: sequences with the same start state (consecutive
    equal rows of ``obs0``) and the same actions so far have the same dream so far, so each
    step runs the model on one row per distinct (start, prefix) and copies its outputs to the
    others. A planner's population shares many prefixes: all its sequences start from one
    state and CEM concentrates on few actions (the world's CartPole planner imagines ~10
    distinct rows of 64 per step). The distinct rows of each start state form one block of
    the model's batch, in the order of their prefixes, starting at a multiple of
    :data:`ALIGN`: CPU matmul kernels round a row by its position in the batch (MKL: by its
    parity) and take other paths for batches under 4 rows, so this keeps every number of a
    start state's dream independent of the other start states in the batch (so a planner's
    decision for a state is the same batched or alone; checked bitwise with MKL for the
    agents' widths, 64; other kernels and shapes may differ by rounding).
    """
    n, h = actions.shape
    w = model.config.window
    d = model.config.obs_dim
    a_dim = model.config.action_dim
    if w > 1:  # sequence backends: left-padded history windows that grow with the dream
        obs_hist = torch.zeros(n, w - 1 + h, d)
        act_hist = torch.zeros(n, w - 1 + h, dtype=torch.long)
        valid = torch.zeros(n, w - 1 + h, dtype=torch.bool)
    group = _start_groups(obs0)  # (N,) each row's (start, prefix) group; ids root-major
    root = torch.arange(int(group[-1]) + 1)  # (k,) start state of each group
    roots = root.shape[0]
    frozen = False  # every prefix is distinct: the layout no longer changes
    rows_n = torch.arange(n)
    steps: list[torch.Tensor] = []  # (N, D + 3) packed outputs per step
    obs = obs0
    for t in range(h):
        if not frozen:
            keys, group = torch.unique(group * a_dim + actions[:, t], return_inverse=True)
            if roots > 1:
                root = root[keys // a_dim]
            pos, rows = _layout(keys.shape[0], root, roots)
            gather = group if pos is None else pos[group]  # (N,) batch row of each row's outputs
            src = torch.zeros(rows, dtype=torch.long)  # padding rows repeat row 0 (outputs unused)
            src[gather] = rows_n  # any row of a group: they are equal
            frozen = keys.shape[0] == n
        if w > 1:
            p = w - 1 + t
            obs_hist[:, p] = obs
            act_hist[:, p] = actions[:, t]
            valid[:, p] = True
            win = slice(t, t + w)
            packed, _ = model.step(obs_hist[src, win], act_hist[src, win], valid[src, win])
        else:  # memoryless backends: no history bookkeeping on the hot path
            packed, _ = model.step(obs[src].unsqueeze(1), actions[src, t : t + 1], None)
        steps.append(packed[gather])
        obs = steps[-1][:, :d]
        if early_exit and bool((steps[-1][:, d + 1] > model.config.done_threshold).all()):
            break
    out = torch.stack(steps, dim=1)  # (N, H', D + 3)
    return {
        "next_obs": out[..., :d].contiguous(),
        "reward": out[..., d].contiguous(),
        "done_prob": out[..., d + 1].contiguous(),
        "uncertainty": out[..., d + 2].contiguous(),
    }


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
