"""``TorchWorldModel``: the seed's WorldModel with real torch networks for every backend.

The model learns normalised observation deltas, rewards and termination from a bounded
replay buffer. Async Protocol methods (``predict``, ``dream_rollout``, ``update``,
``surprise``, ``snapshot``) serialise on an asyncio lock; the synchronous verbs
(``predict_batch``, ``rollout_batch``, ``learn``, ``observe``, ``train_steps``) are the
same maths for callers that batch or that run outside an event loop.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import weakref
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from .buffer import ReplayBuffer
from .losses import disagreement, mse, split_heads, transition_loss
from .metrics import WorldModelMetrics
from .networks import EnsembleMLP, build_network
from .normaliser import RunningNormaliser
from .rollout import BatchRollout
from .types import DreamRollout, InvalidInputError, ModelInput, ModelOutput, WorldModelConfig
from .validation import InputValidator

_NAMES = itertools.count()


class TorchWorldModel(InputValidator):
    """A learned dynamics model (MLP, LSTM, TRANSFORMER or vectorised ENSEMBLE).

    Contracts:
      * inputs are validated before anything changes; a bad input raises
        :class:`InvalidInputError` and leaves weights, optimiser, normalisers, buffer
        and counters untouched;
      * predictions are deterministic (ensemble mean; no sampling), so the same seed and
        the same data give the same numbers;
      * ``prediction_error`` in outputs is the MSE of the last ground truth the model was
        shown (``update``/``learn``/``surprise``), 0.0 before any.
    """

    def __init__(
        self, config: WorldModelConfig | None = None, *, name: str | None = None, registry: Any = None
    ) -> None:
        self._cfg = config or WorldModelConfig()
        cfg = self._cfg
        self._gen = torch.Generator().manual_seed(int(cfg.seed))
        self.net = build_network(cfg, self._gen)
        # Optional termination classifier on the state reached: done is usually a function
        # of the next state (CartPole: |x| or |theta| past a limit), which generalises from
        # far fewer terminal examples than a joint (obs, action) head.
        self.done_net = (
            EnsembleMLP(cfg.members, cfg.obs_dim, cfg.hidden_dim, 1, cfg.num_layers, self._gen)
            if cfg.done_from_next_obs
            else None
        )
        self.obs_norm = RunningNormaliser(cfg.obs_dim)
        self.delta_norm = RunningNormaliser(cfg.obs_dim)
        self.reward_norm = RunningNormaliser(1)
        self.optimizer = torch.optim.Adam(self._parameters(), lr=cfg.learning_rate)
        self.buffer = ReplayBuffer(cfg.max_buffer_size, cfg.obs_dim)
        self._step_count = 0
        self._grad_steps = 0
        self._last_error = 0.0
        self._last_loss = float("nan")
        self.name = name or f"{cfg.backend.name.lower()}-{next(_NAMES)}"
        self.metrics = WorldModelMetrics(self.name, registry)
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )

    def _parameters(self) -> list[torch.nn.Parameter]:
        params = list(self.net.parameters())
        if self.done_net is not None:
            params += list(self.done_net.parameters())
        return params

    def _done_logit(self, next_obs: torch.Tensor) -> torch.Tensor:
        """(E, B, D) next observations -> (E, B) termination logits of the done classifier."""
        assert self.done_net is not None
        return self.done_net(self.obs_norm.normalise(next_obs)).squeeze(-1)

    # ------------------------------------------------------------------ properties
    @property
    def config(self) -> WorldModelConfig:
        return self._cfg

    @property
    def step_count(self) -> int:
        """Real transitions consumed through ``update``/``learn``."""
        return self._step_count

    @property
    def grad_steps(self) -> int:
        return self._grad_steps

    @property
    def buffer_size(self) -> int:
        return len(self.buffer)

    @property
    def last_prediction_error(self) -> float:
        return self._last_error

    @property
    def last_loss(self) -> float:
        return self._last_loss

    # ------------------------------------------------------------------ maths
    def _features(self, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        onehot = F.one_hot(actions, self._cfg.action_dim).to(obs.dtype)
        return torch.cat([self.obs_norm.normalise(obs), onehot], dim=-1)

    def _forward(
        self, obs_win: torch.Tensor, act_win: torch.Tensor, mask: torch.Tensor | None
    ) -> dict[str, torch.Tensor]:
        """One model step on left-padded windows (B, W, D)/(B, W)/(B, W); predicts the last."""
        if self._cfg.window == 1:
            out = self.net(self._features(obs_win[:, -1], act_win[:, -1]))
        else:
            out = self.net(self._features(obs_win, act_win), mask)
        delta_n, rew_n, done_logit = split_heads(out, self._cfg.obs_dim)
        member_next = obs_win[:, -1].unsqueeze(0) + self.delta_norm.denormalise(delta_n)
        if self.done_net is not None:
            done_logit = self._done_logit(member_next)
        reward = self.reward_norm.denormalise(rew_n.unsqueeze(-1)).squeeze(-1)
        return {
            "next_obs": member_next.mean(0),
            "member_next_obs": member_next,
            "reward": reward.mean(0),
            "done_prob": torch.sigmoid(done_logit).mean(0),
            "uncertainty": disagreement(delta_n),
        }

    @torch.no_grad()
    def _rollout(
        self, obs0: torch.Tensor, actions: torch.Tensor, early_exit: bool
    ) -> dict[str, torch.Tensor]:
        """Roll (N, D) start states through (N, H) actions; early exit only makes sense for N=1."""
        n, h = actions.shape
        w = self._cfg.window
        d = self._cfg.obs_dim
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
                step = self._forward(obs_hist[:, t : t + w], act_hist[:, t : t + w], valid[:, t : t + w])
            else:  # memoryless backends: no history bookkeeping on the hot path
                step = self._forward(obs.unsqueeze(1), actions[:, t : t + 1], None)
            for key in outs:
                outs[key].append(step[key])
            obs = step["next_obs"]
            if early_exit and bool((step["done_prob"] > self._cfg.done_threshold).all()):
                break
        return {key: torch.stack(vals, dim=1) for key, vals in outs.items()}

    def predict_batch(self, observations: Any, actions: Any) -> dict[str, torch.Tensor]:
        """One-step predictions for (N, obs_dim) observations and (N,) actions (no history).

        Returns tensors ``next_obs`` (N, D), ``member_next_obs`` (E, N, D), ``reward`` (N,),
        ``done_prob`` (N,), ``uncertainty`` (N,).
        """
        obs = torch.as_tensor(np.asarray(observations, dtype=np.float32))
        if obs.dim() != 2 or obs.shape[1] != self._cfg.obs_dim or not torch.isfinite(obs).all():
            raise InvalidInputError(
                f"observations must be finite with shape (N, {self._cfg.obs_dim}), got {tuple(obs.shape)}"
            )
        acts = self._actions(actions)
        if acts.shape != (obs.shape[0],):
            raise InvalidInputError(f"actions must have shape ({obs.shape[0]},), got {tuple(acts.shape)}")
        with torch.no_grad():
            mask = torch.ones(obs.shape[0], 1, dtype=torch.bool)
            return (
                self._forward(obs.unsqueeze(1), acts.unsqueeze(1), mask)
                if self._cfg.window == 1
                else self._forward_padded(obs, acts)
            )

    def _forward_padded(self, obs: torch.Tensor, acts: torch.Tensor) -> dict[str, torch.Tensor]:
        w = self._cfg.window
        obs_win = torch.zeros(obs.shape[0], w, obs.shape[1])
        act_win = torch.zeros(obs.shape[0], w, dtype=torch.long)
        mask = torch.zeros(obs.shape[0], w, dtype=torch.bool)
        obs_win[:, -1], act_win[:, -1], mask[:, -1] = obs, acts, True
        return self._forward(obs_win, act_win, mask)

    def rollout_batch(self, initial_obs: Any, action_sequences: Any) -> BatchRollout:
        """Imagine N trajectories at once: one batched forward pass per step.

        ``initial_obs`` is (obs_dim,) shared by all sequences or (N, obs_dim);
        ``action_sequences`` is (N, H) integer actions.
        """
        acts = self._actions(action_sequences)
        if acts.dim() != 2:
            raise InvalidInputError(f"action_sequences must have shape (N, H), got {tuple(acts.shape)}")
        obs = torch.as_tensor(np.asarray(initial_obs, dtype=np.float32))
        if obs.dim() == 1:
            obs = self._obs(initial_obs, "initial_obs").expand(acts.shape[0], -1)
        elif obs.shape != (acts.shape[0], self._cfg.obs_dim) or not torch.isfinite(obs).all():
            raise InvalidInputError(
                f"initial_obs must be finite with shape ({self._cfg.obs_dim},) or ({acts.shape[0]}, {self._cfg.obs_dim})"
            )
        out = self._rollout(obs, acts, early_exit=False)
        self.metrics.rollout_steps_total.inc(acts.numel())
        return BatchRollout(
            out["next_obs"], out["reward"], out["done_prob"], out["uncertainty"], self._cfg.done_threshold
        )

    # ------------------------------------------------------------------ learning
    def observe(self, obs: Any, action: Any, next_obs: Any, reward: Any, done: Any) -> int:
        """Validate and store one real transition without a gradient step; returns its slot."""
        o, a = self._obs(obs), self._action(action)
        n = self._obs(next_obs, "actual_next_obs")
        r = self._scalar(reward, "reward")
        return self._store(o, a, n, r, bool(done))

    def _store(self, o: torch.Tensor, a: int, n: torch.Tensor, r: float, d: bool) -> int:
        self.obs_norm.update(o.unsqueeze(0))
        self.delta_norm.update((n - o).unsqueeze(0))
        self.reward_norm.update(torch.tensor([[r]]))
        slot = self.buffer.add(o, a, n, r, d)
        self.metrics.buffer_size.set(len(self.buffer))
        return slot

    def _train_step(self, include_slot: int | None = None, batch_size: int | None = None) -> float:
        cfg = self._cfg
        b = int(batch_size or cfg.batch_size)
        e = cfg.members
        slots = self.buffer.sample((e, b), self._gen)
        if include_slot is not None:
            slots[:, 0] = include_slot
        if cfg.window == 1:
            data = self.buffer.get(slots)  # (E, B, ...)
            out = self.net(self._features(data["obs"], data["action"]))
        else:
            data = self.buffer.get(slots)
            hist, valid = self.buffer.windows(slots[0], cfg.window)  # (B, W)
            keep = torch.randint(1, cfg.window + 1, (b, 1), generator=self._gen)
            valid &= torch.arange(cfg.window) >= cfg.window - keep
            win = self.buffer.get(hist)
            out = self.net(self._features(win["obs"], win["action"]), valid)
        if self.done_net is not None:  # trained on real next states, used on predicted ones
            nxt = data["next_obs"] if data["next_obs"].dim() == 3 else data["next_obs"].unsqueeze(0)
            out = torch.cat([out[..., : cfg.obs_dim + 1], self._done_logit(nxt).unsqueeze(-1)], dim=-1)
        target_delta = self.delta_norm.normalise(data["next_obs"] - data["obs"])
        target_reward = self.reward_norm.normalise(data["reward"].unsqueeze(-1)).squeeze(-1)
        loss, metrics = transition_loss(
            out,
            target_delta,
            target_reward,
            data["done"],
            reward_weight=cfg.reward_loss_weight,
            done_weight=cfg.done_loss_weight,
            done_pos_weight=cfg.done_pos_weight,
        )
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self._parameters(), cfg.grad_clip)
        self.optimizer.step()
        self._grad_steps += 1
        self._last_loss = metrics["loss"]
        self.metrics.train_loss.set(self._last_loss)
        return self._last_loss

    def train_steps(self, n: int = 1, batch_size: int | None = None) -> list[float]:
        """``n`` gradient steps on minibatches drawn from the buffer; returns the losses."""
        if len(self.buffer) == 0:
            raise RuntimeError("the replay buffer is empty: call update()/observe() first")
        return [self._train_step(batch_size=batch_size) for _ in range(int(n))]

    def _error(self, o: torch.Tensor, a: int, n: torch.Tensor) -> float:
        with torch.no_grad():
            pred = self._forward_padded(o.unsqueeze(0), torch.tensor([a]))
        return float(mse(pred["next_obs"][0], n))

    def learn(self, inp: ModelInput, actual_next_obs: Any, actual_reward: Any, actual_done: Any) -> float:
        """Synchronous :meth:`update`: store, one gradient step including it; returns the loss."""
        o, a = self._input(inp)
        n = self._obs(actual_next_obs, "actual_next_obs")
        r = self._scalar(actual_reward, "actual_reward")
        self._last_error = self._error(o, a, n)
        self.metrics.surprise_score.set(self._last_error)
        slot = self._store(o, a, n, r, bool(actual_done))
        loss = self._train_step(include_slot=slot)
        self._step_count += 1
        self.metrics.update_total.inc()
        return loss

    # ------------------------------------------------------------------ Protocol
    def _lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        lock = self._locks.get(loop)
        if lock is None:
            lock = self._locks[loop] = asyncio.Lock()
        return lock

    def _output(self, step: dict[str, torch.Tensor], i: int = 0) -> ModelOutput:
        p = float(step["done_prob"][i])
        return ModelOutput(
            next_observation=tuple(float(x) for x in step["next_obs"][i].tolist()),
            predicted_reward=float(step["reward"][i]),
            predicted_done=p > self._cfg.done_threshold,
            prediction_error=self._last_error,
            done_probability=p,
            uncertainty=float(step["uncertainty"][i]),
        )

    async def predict(self, inp: ModelInput) -> ModelOutput:
        """One-step forward pass: (obs, action) -> next-state prediction."""
        o, a = self._input(inp)
        async with self._lock():
            with torch.no_grad():
                step = self._forward_padded(o.unsqueeze(0), torch.tensor([a]))
            return self._output(step)

    async def dream_rollout(
        self, initial_obs: tuple[float, ...], action_sequence: Sequence[int]
    ) -> DreamRollout:
        """Imagined trajectory; ends after the first step predicted done."""
        o = self._obs(initial_obs, "initial_obs")
        acts = self._actions(list(action_sequence)).reshape(1, -1)
        async with self._lock():
            if acts.shape[1] == 0:
                return DreamRollout(steps=(), total_imagined_reward=0.0, surprise_score=0.0)
            out = self._rollout(o.unsqueeze(0), acts, early_exit=True)
            steps = tuple(
                self._output({k: v[:, t] for k, v in out.items()}) for t in range(out["reward"].shape[1])
            )
            self.metrics.rollout_steps_total.inc(len(steps))
        return DreamRollout(
            steps=steps,
            total_imagined_reward=sum(s.predicted_reward for s in steps),
            surprise_score=sum(s.prediction_error for s in steps) / max(len(steps), 1),
            uncertainty=sum(s.uncertainty for s in steps) / max(len(steps), 1),
        )

    async def dream_rollouts(
        self, initial_obs: tuple[float, ...], action_sequences: Any
    ) -> list[DreamRollout]:
        """Batched :meth:`dream_rollout`: all (N, H) sequences imagined together, one
        forward pass per step; each result is cut after its first predicted done."""
        async with self._lock():
            batch = self.rollout_batch(initial_obs, action_sequences)
        ends = (batch.done_steps + 1).clamp_max(batch.rewards.shape[1]).tolist()
        obs, rew, done, unc = (
            t.tolist() for t in (batch.observations, batch.rewards, batch.done_probs, batch.uncertainty)
        )
        err, thr = self._last_error, self._cfg.done_threshold
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

    async def update(
        self, inp: ModelInput, actual_next_obs: tuple[float, ...], actual_reward: float, actual_done: bool
    ) -> float:
        """Online update from a real transition; returns the scalar loss of its gradient step."""
        async with self._lock():
            return self.learn(inp, actual_next_obs, actual_reward, actual_done)

    async def train(self, steps: int = 1, batch_size: int | None = None) -> list[float]:
        """``steps`` minibatch gradient steps on the replay buffer, under the lock."""
        async with self._lock():
            return self.train_steps(steps, batch_size)

    async def surprise(self, inp: ModelInput, actual_next_obs: tuple[float, ...]) -> float:
        """MSE between the predicted and the actual next observation."""
        o, a = self._input(inp)
        n = self._obs(actual_next_obs, "actual_next_obs")
        async with self._lock():
            err = self._error(o, a, n)
            self._last_error = err
            self.metrics.surprise_score.set(err)
        return err

    async def snapshot(self, include_buffer: bool = True) -> dict:
        """Config, counters and a deep copy of all state (torch tensors; ``torch.save``-able)."""
        async with self._lock():
            return self.state_snapshot(include_buffer=include_buffer)

    # ------------------------------------------------------------------ persistence
    def state_snapshot(self, include_buffer: bool = True) -> dict[str, Any]:
        """Synchronous :meth:`snapshot`."""
        snap: dict[str, Any] = {
            "config": self._cfg.to_dict(),
            "step_count": self._step_count,
            "buffer_size": len(self.buffer),
            "name": self.name,
            "grad_steps": self._grad_steps,
            "last_prediction_error": self._last_error,
            "last_loss": self._last_loss,
            "network": copy.deepcopy(self.net.state_dict()),
            "done_network": copy.deepcopy(self.done_net.state_dict()) if self.done_net is not None else None,
            "normalisers": {
                "obs": copy.deepcopy(self.obs_norm.state_dict()),
                "delta": copy.deepcopy(self.delta_norm.state_dict()),
                "reward": copy.deepcopy(self.reward_norm.state_dict()),
            },
            "optimizer": copy.deepcopy(self.optimizer.state_dict()),
            "rng_state": self._gen.get_state().clone(),
        }
        if include_buffer:
            snap["buffer"] = self.buffer.state_dict()
        return snap

    def load_snapshot(self, snap: dict[str, Any]) -> None:
        """Restore weights, normalisers, optimiser, RNG, counters (and buffer if present)."""
        if WorldModelConfig.from_dict(snap["config"]) != self._cfg:
            raise ValueError("snapshot config differs from this model's config; use from_snapshot()")
        self.net.load_state_dict(snap["network"])
        if self.done_net is not None:
            self.done_net.load_state_dict(snap["done_network"])
        self.obs_norm.load_state_dict(snap["normalisers"]["obs"])
        self.delta_norm.load_state_dict(snap["normalisers"]["delta"])
        self.reward_norm.load_state_dict(snap["normalisers"]["reward"])
        self.optimizer.load_state_dict(copy.deepcopy(snap["optimizer"]))
        self._gen.set_state(snap["rng_state"].clone())
        if "buffer" in snap:
            self.buffer.load_state_dict(snap["buffer"])
        self._step_count = int(snap["step_count"])
        self._grad_steps = int(snap.get("grad_steps", 0))
        self._last_error = float(snap.get("last_prediction_error", 0.0))
        self._last_loss = float(snap.get("last_loss", float("nan")))
        self.metrics.buffer_size.set(len(self.buffer))

    @classmethod
    def from_snapshot(
        cls, snap: dict[str, Any], *, name: str | None = None, registry: Any = None
    ) -> TorchWorldModel:
        """A new model equal to the one that produced ``snap``."""
        model = cls(WorldModelConfig.from_dict(snap["config"]), name=name, registry=registry)
        model.load_snapshot(snap)
        return model


def build_world_model(
    config: WorldModelConfig | None = None, *, name: str | None = None, registry: Any = None
) -> TorchWorldModel:
    """A working, untrained world model for ``config.backend`` (default: the seed's MLP config)."""
    return TorchWorldModel(config or WorldModelConfig(), name=name, registry=registry)
