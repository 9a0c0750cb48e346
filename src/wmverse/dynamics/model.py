"""``TransitionModel``: the networks and normalisers of a world model, and their maths.

The model learns normalised observation deltas, rewards and termination. It owns the
random generator that initialises its weights; the trainer borrows the same generator to
draw minibatches, so one seed fixes every number. It holds no optimiser and no data: the
optimiser lives in :mod:`.trainer`, the data in :mod:`.buffer`, dreaming in :mod:`.rollout`
and the async ``WorldModel`` API in :mod:`.world_model`.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
import torch.nn.functional as F

from .losses import logistic, member_mean, mse, split_heads, transition_loss
from .networks import EnsembleMLP, build_network
from .normaliser import RunningNormaliser
from .types import WorldModelConfig


class TransitionModel:
    """A learned dynamics model (MLP, LSTM, TRANSFORMER or vectorised ENSEMBLE).

    Contracts:
      * predictions are deterministic (ensemble mean; no sampling) and gradient-free where
        documented, so the same seed and the same data give the same numbers;
      * inputs are tensors already checked by :class:`~.input_checks.InputChecks`;
      * :meth:`loss` is pure given the batch: it reads the weights and normalisers and
        changes nothing;
      * :meth:`state_snapshot` / :meth:`load_snapshot` cover exactly the model's part of a
        world-model snapshot (``config``, ``network``, ``done_network``, ``normalisers``,
        ``rng_state``).
    """

    def __init__(self, config: WorldModelConfig) -> None:
        self.config = cfg = config
        self.generator = torch.Generator().manual_seed(int(cfg.seed))
        self.net = build_network(cfg, self.generator)
        # Optional termination classifier on the state reached: done is usually a function
        # of the next state (CartPole: |x| or |theta| past a limit), which generalises from
        # far fewer terminal examples than a joint (obs, action) head.
        self.done_net = (
            EnsembleMLP(cfg.members, cfg.obs_dim, cfg.hidden_dim, 1, cfg.num_layers, self.generator)
            if cfg.done_from_next_obs
            else None
        )
        self.obs_norm = RunningNormaliser(cfg.obs_dim)
        self.delta_norm = RunningNormaliser(cfg.obs_dim)
        self.reward_norm = RunningNormaliser(1)

    def parameters(self) -> list[torch.nn.Parameter]:
        """Trainable parameters: the transition network's, then the done classifier's."""
        params = list(self.net.parameters())
        if self.done_net is not None:
            params += list(self.done_net.parameters())
        return params

    def update_normalisers(self, obs: torch.Tensor, next_obs: torch.Tensor, reward: float) -> None:
        """Fold one real transition ((obs_dim,) tensors) into the running statistics."""
        self.obs_norm.update(obs.unsqueeze(0))
        self.delta_norm.update((next_obs - obs).unsqueeze(0))
        self.reward_norm.update(torch.tensor([[reward]]))

    # ------------------------------------------------------------------ forward maths
    def features(self, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """(..., D) observations and (...) actions -> (..., D + A) network inputs."""
        onehot = F.one_hot(actions, self.config.action_dim).to(obs.dtype)
        return torch.cat([self.obs_norm.normalise(obs), onehot], dim=-1)

    def done_logit(self, next_obs: torch.Tensor) -> torch.Tensor:
        """(E, B, D) next observations -> (E, B) termination logits of the done classifier."""
        assert self.done_net is not None
        return self.done_net(self.obs_norm.normalise(next_obs)).squeeze(-1)

    def step(
        self, obs_win: torch.Tensor, act_win: torch.Tensor, mask: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One model step on left-padded windows (B, W, D)/(B, W)/(B, W); predicts the last.

        Returns (``packed`` (B, D + 3), ``member_next_obs`` (E, B, D)); ``packed`` holds, in
        this order, the next observation (D), reward, done probability and uncertainty (see
        :meth:`forward`). Every member mean is a chain of element-wise additions
        (:func:`~.losses.member_mean`), so each row's numbers are those it gets alone.
        """
        cfg = self.config
        d = cfg.obs_dim
        if cfg.window == 1:
            out = self.net(self.features(obs_win[:, -1], act_win[:, -1]))
        else:
            out = self.net(self.features(obs_win, act_win), mask)
        delta_n, rew_n, done_logit = split_heads(out, d)
        member_next = obs_win[:, -1].unsqueeze(0) + self.delta_norm.denormalise(delta_n)
        if self.done_net is not None:
            done_logit = self.done_logit(member_next)
        reward = self.reward_norm.denormalise(rew_n.unsqueeze(-1))
        done = logistic(done_logit).unsqueeze(-1)
        # one mean over the members for every output: next obs, reward, done, normalised delta
        mean = member_mean(torch.cat([member_next, reward, done, delta_n], dim=-1))  # (B, 2D + 2)
        if cfg.members > 1:  # disagreement of the normalised deltas, as losses.disagreement
            centred = delta_n - mean[:, d + 2 :]
            unc = member_mean(centred.square()).mean(dim=-1, keepdim=True)
        else:
            unc = torch.zeros(mean.shape[0], 1)
        return torch.cat([mean[:, : d + 2], unc], dim=-1), member_next

    def forward(
        self, obs_win: torch.Tensor, act_win: torch.Tensor, mask: torch.Tensor | None
    ) -> dict[str, torch.Tensor]:
        """One model step on left-padded windows (B, W, D)/(B, W)/(B, W); predicts the last.

        Returns ``next_obs`` (B, D), ``member_next_obs`` (E, B, D), ``reward`` (B,),
        ``done_prob`` (B,) and ``uncertainty`` (B,) (member disagreement, normalised units):
        the ensemble means of :meth:`step`.
        """
        packed, member_next = self.step(obs_win, act_win, mask)
        d = self.config.obs_dim
        return {
            "next_obs": packed[:, :d],
            "member_next_obs": member_next,
            "reward": packed[:, d],
            "done_prob": packed[:, d + 1],
            "uncertainty": packed[:, d + 2],
        }

    def forward_padded(self, obs: torch.Tensor, acts: torch.Tensor) -> dict[str, torch.Tensor]:
        """:meth:`forward` on (B, D) observations and (B,) actions without history.

        Sequence backends see a window whose earlier positions are masked out.
        """
        w = self.config.window
        obs_win = torch.zeros(obs.shape[0], w, obs.shape[1])
        act_win = torch.zeros(obs.shape[0], w, dtype=torch.long)
        mask = torch.zeros(obs.shape[0], w, dtype=torch.bool)
        obs_win[:, -1], act_win[:, -1], mask[:, -1] = obs, acts, True
        return self.forward(obs_win, act_win, mask)

    @torch.no_grad()
    def predict(self, obs: torch.Tensor, acts: torch.Tensor) -> dict[str, torch.Tensor]:
        """Gradient-free one-step predictions for (N, D) observations and (N,) actions.

        Same keys and shapes as :meth:`forward`.
        """
        if self.config.window == 1:
            mask = torch.ones(obs.shape[0], 1, dtype=torch.bool)
            return self.forward(obs.unsqueeze(1), acts.unsqueeze(1), mask)
        return self.forward_padded(obs, acts)

    def error(self, obs: torch.Tensor, action: int, next_obs: torch.Tensor) -> float:
        """Surprise: MSE of the predicted next observation of (obs, action) against ``next_obs``."""
        with torch.no_grad():
            pred = self.forward_padded(obs.unsqueeze(0), torch.tensor([action]))
        return float(mse(pred["next_obs"][0], next_obs))

    # ------------------------------------------------------------------ loss
    def loss(
        self,
        data: dict[str, torch.Tensor],
        history: dict[str, torch.Tensor] | None = None,
        valid: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """Joint transition loss of a minibatch, as (loss, metrics) of :func:`~.losses.transition_loss`.

        ``data`` holds the buffer fields of the (E, B) transitions to predict. Memoryless
        backends read their inputs from ``data``; sequence backends from ``history``, the
        fields of (B, W) history windows, with validity mask ``valid`` (B, W). The done
        classifier, when present, is trained on the real next states.
        """
        cfg = self.config
        if history is None:
            out = self.net(self.features(data["obs"], data["action"]))
        else:
            out = self.net(self.features(history["obs"], history["action"]), valid)
        if self.done_net is not None:
            nxt = data["next_obs"] if data["next_obs"].dim() == 3 else data["next_obs"].unsqueeze(0)
            out = torch.cat([out[..., : cfg.obs_dim + 1], self.done_logit(nxt).unsqueeze(-1)], dim=-1)
        target_delta = self.delta_norm.normalise(data["next_obs"] - data["obs"])
        target_reward = self.reward_norm.normalise(data["reward"].unsqueeze(-1)).squeeze(-1)
        return transition_loss(
            out,
            target_delta,
            target_reward,
            data["done"],
            reward_weight=cfg.reward_loss_weight,
            done_weight=cfg.done_loss_weight,
            done_pos_weight=cfg.done_pos_weight,
        )

    # ------------------------------------------------------------------ persistence
    def state_snapshot(self) -> dict[str, Any]:
        """Deep copies of the config (as a dict), weights, normalisers and RNG state."""
        return {
            "config": self.config.to_dict(),
            "network": copy.deepcopy(self.net.state_dict()),
            "done_network": copy.deepcopy(self.done_net.state_dict()) if self.done_net is not None else None,
            "normalisers": {
                "obs": copy.deepcopy(self.obs_norm.state_dict()),
                "delta": copy.deepcopy(self.delta_norm.state_dict()),
                "reward": copy.deepcopy(self.reward_norm.state_dict()),
            },
            "rng_state": self.generator.get_state().clone(),
        }

    def check_snapshot(self, snap: dict[str, Any]) -> None:
        """Raise ValueError, changing nothing, if ``snap`` was taken from another config."""
        if WorldModelConfig.from_dict(snap["config"]) != self.config:
            raise ValueError("snapshot config differs from this model's config; use from_snapshot()")

    def load_snapshot(self, snap: dict[str, Any]) -> None:
        """Restore weights, normalisers and RNG from a snapshot of the same config."""
        self.check_snapshot(snap)
        self.net.load_state_dict(snap["network"])
        if self.done_net is not None:
            self.done_net.load_state_dict(snap["done_network"])
        self.obs_norm.load_state_dict(snap["normalisers"]["obs"])
        self.delta_norm.load_state_dict(snap["normalisers"]["delta"])
        self.reward_norm.load_state_dict(snap["normalisers"]["reward"])
        self.generator.set_state(snap["rng_state"].clone())

    @classmethod
    def from_snapshot(cls, snap: dict[str, Any]) -> TransitionModel:
        """A new model equal to the one that produced ``snap``."""
        model = cls(WorldModelConfig.from_dict(snap["config"]))
        model.load_snapshot(snap)
        return model
