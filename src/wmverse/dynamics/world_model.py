"""``TorchWorldModel``: the async ``WorldModel`` Protocol over a model, a buffer and a trainer.

A thin facade. It checks every input (:mod:`.input_checks`) before anything changes, then
delegates: predictions to the :class:`~.model.TransitionModel`, storage to the
:class:`~.buffer.ReplayBuffer`, gradient steps to the :class:`~.trainer.ModelTrainer` and
dreams to :mod:`.rollout`. The async Protocol methods (``predict``, ``dream_rollout``,
``dream_rollouts``, ``update``, ``train``, ``surprise``, ``snapshot``) serialise on one
asyncio lock per event loop; the synchronous verbs (``predict_batch``, ``rollout_batch``,
``learn``, ``observe``, ``train_steps``, ``state_snapshot``) are the same maths for callers
that batch or that run outside an event loop.
"""

from __future__ import annotations

import asyncio
import itertools
import weakref
from collections.abc import Sequence
from typing import Any

import torch

from . import rollout
from .buffer import ReplayBuffer
from .input_checks import InputChecks
from .metrics import WorldModelMetrics
from .model import TransitionModel
from .networks import EnsembleMLP
from .normaliser import RunningNormaliser
from .rollout import BatchRollout
from .trainer import ModelTrainer
from .types import DreamRollout, ModelInput, ModelOutput, WorldModelConfig

_NAMES = itertools.count()


class TorchWorldModel:
    """A learned dynamics model (MLP, LSTM, TRANSFORMER or vectorised ENSEMBLE).

    Contracts:
      * inputs are checked before anything changes; a bad input raises
        :class:`~.types.InvalidInputError` and leaves weights, optimiser, normalisers,
        buffer and counters untouched;
      * predictions are deterministic (ensemble mean; no sampling), so the same seed and
        the same data give the same numbers;
      * ``prediction_error`` in outputs is the MSE of the last ground truth the model was
        shown (``update``/``learn``/``surprise``), 0.0 before any;
      * a snapshot restores the model exactly: training continues with the same numbers.
    """

    def __init__(
        self, config: WorldModelConfig | None = None, *, name: str | None = None, registry: Any = None
    ) -> None:
        cfg = config or WorldModelConfig()
        self.model = TransitionModel(cfg)
        self.checks = InputChecks(cfg)
        self.buffer = ReplayBuffer(cfg.max_buffer_size, cfg.obs_dim)
        self.name = name or f"{cfg.backend.name.lower()}-{next(_NAMES)}"
        self.metrics = WorldModelMetrics(self.name, registry)
        self.trainer = ModelTrainer(self.model, self.buffer, self.metrics)
        self._last_error = 0.0
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )

    # ------------------------------------------------------------------ properties
    @property
    def config(self) -> WorldModelConfig:
        return self.model.config

    @property
    def net(self) -> torch.nn.Module:
        """The transition network."""
        return self.model.net

    @property
    def done_net(self) -> EnsembleMLP | None:
        """The termination classifier on next states (None unless ``done_from_next_obs``)."""
        return self.model.done_net

    @property
    def obs_norm(self) -> RunningNormaliser:
        """Observation normaliser (shared with anything that must see states as the model does)."""
        return self.model.obs_norm

    @property
    def optimizer(self) -> torch.optim.Optimizer:
        return self.trainer.optimizer

    @property
    def step_count(self) -> int:
        """Real transitions consumed through ``update``/``learn``."""
        return self.trainer.step_count

    @property
    def grad_steps(self) -> int:
        return self.trainer.grad_steps

    @property
    def buffer_size(self) -> int:
        return len(self.buffer)

    @property
    def last_prediction_error(self) -> float:
        return self._last_error

    @property
    def last_loss(self) -> float:
        return self.trainer.last_loss

    def _record_error(self, err: float) -> None:
        self._last_error = err
        self.metrics.surprise_score.set(err)

    # ------------------------------------------------------------------ synchronous verbs
    def predict_batch(self, observations: Any, actions: Any) -> dict[str, torch.Tensor]:
        """One-step predictions for (N, obs_dim) observations and (N,) actions (no history).

        Returns tensors ``next_obs`` (N, D), ``member_next_obs`` (E, N, D), ``reward`` (N,),
        ``done_prob`` (N,), ``uncertainty`` (N,).
        """
        obs = self.checks.obs_batch(observations)
        return self.model.predict(obs, self.checks.action_batch(actions, obs.shape[0]))

    def rollout_batch(self, initial_obs: Any, action_sequences: Any) -> BatchRollout:
        """Imagine N trajectories at once: one batched forward pass per step.

        ``initial_obs`` is (obs_dim,) shared by all sequences or (N, obs_dim);
        ``action_sequences`` is (N, H) integer actions.
        """
        acts = self.checks.action_sequences(action_sequences)
        obs = self.checks.initial_obs(initial_obs, acts.shape[0])
        batch = rollout.rollout_batch(self.model, obs, acts)
        self.metrics.rollout_steps_total.inc(acts.numel())
        return batch

    def prediction_error(self, obs: Any, action: Any, next_obs: Any) -> float:
        """Surprise of one real transition without recording it (no counter or metric changes)."""
        o, a = self.checks.obs(obs), self.checks.action(action)
        return self.model.error(o, a, self.checks.obs(next_obs, "actual_next_obs"))

    def observe(self, obs: Any, action: Any, next_obs: Any, reward: Any, done: Any) -> int:
        """Check and store one real transition without a gradient step; returns its slot."""
        o, a = self.checks.obs(obs), self.checks.action(action)
        n = self.checks.obs(next_obs, "actual_next_obs")
        r = self.checks.scalar(reward, "reward")
        return self.trainer.observe(o, a, n, r, bool(done))

    def learn(self, inp: ModelInput, actual_next_obs: Any, actual_reward: Any, actual_done: Any) -> float:
        """Synchronous :meth:`update`: record the surprise, store, one gradient step including it;
        returns the loss."""
        o, a = self.checks.model_input(inp)
        n = self.checks.obs(actual_next_obs, "actual_next_obs")
        r = self.checks.scalar(actual_reward, "actual_reward")
        self._record_error(self.model.error(o, a, n))
        return self.trainer.learn(o, a, n, r, bool(actual_done))

    def train_steps(self, n: int = 1, batch_size: int | None = None) -> list[float]:
        """``n`` gradient steps on minibatches drawn from the buffer; returns the losses."""
        return self.trainer.train_steps(n, batch_size)

    # ------------------------------------------------------------------ Protocol
    def _lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        lock = self._locks.get(loop)
        if lock is None:
            lock = self._locks[loop] = asyncio.Lock()
        return lock

    async def predict(self, inp: ModelInput) -> ModelOutput:
        """One-step forward pass: (obs, action) -> next-state prediction. Learns nothing."""
        o, a = self.checks.model_input(inp)
        async with self._lock():
            with torch.no_grad():
                step = self.model.forward_padded(o.unsqueeze(0), torch.tensor([a]))
            return rollout.model_output(step, self._last_error, self.config.done_threshold)

    async def dream_rollout(
        self, initial_obs: tuple[float, ...], action_sequence: Sequence[int]
    ) -> DreamRollout:
        """Imagined trajectory; ends after the first step predicted done."""
        o = self.checks.obs(initial_obs, "initial_obs")
        acts = self.checks.actions(list(action_sequence)).reshape(1, -1)
        async with self._lock():
            result = rollout.dream(self.model, o, acts, self._last_error)
            self.metrics.rollout_steps_total.inc(len(result.steps))
        return result

    async def dream_rollouts(
        self, initial_obs: tuple[float, ...], action_sequences: Any
    ) -> list[DreamRollout]:
        """Batched :meth:`dream_rollout`: all (N, H) sequences imagined together, one
        forward pass per step; each result is cut after its first predicted done."""
        async with self._lock():
            batch = self.rollout_batch(initial_obs, action_sequences)
        return rollout.dreams(batch, self._last_error)

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
        """MSE between the predicted and the actual next observation; recorded as the
        ``prediction_error`` of later outputs."""
        o, a = self.checks.model_input(inp)
        n = self.checks.obs(actual_next_obs, "actual_next_obs")
        async with self._lock():
            err = self.model.error(o, a, n)
            self._record_error(err)
        return err

    async def snapshot(self, include_buffer: bool = True) -> dict:
        """Config, counters and a deep copy of all state (torch tensors; ``torch.save``-able)."""
        async with self._lock():
            return self.state_snapshot(include_buffer=include_buffer)

    # ------------------------------------------------------------------ persistence
    def state_snapshot(self, include_buffer: bool = True) -> dict[str, Any]:
        """Synchronous :meth:`snapshot`.

        Keys: ``config``, ``step_count``, ``buffer_size``, ``name``, ``grad_steps``,
        ``last_prediction_error``, ``last_loss``, ``network``, ``done_network``,
        ``normalisers``, ``optimizer``, ``rng_state`` and, with ``include_buffer``, ``buffer``.
        """
        model, trainer = self.model.state_snapshot(), self.trainer.state_snapshot()
        snap: dict[str, Any] = {
            "config": model["config"],
            "step_count": trainer["step_count"],
            "buffer_size": len(self.buffer),
            "name": self.name,
            "grad_steps": trainer["grad_steps"],
            "last_prediction_error": self._last_error,
            "last_loss": trainer["last_loss"],
            "network": model["network"],
            "done_network": model["done_network"],
            "normalisers": model["normalisers"],
            "optimizer": trainer["optimizer"],
            "rng_state": model["rng_state"],
        }
        if include_buffer:
            snap["buffer"] = self.buffer.state_dict()
        return snap

    def load_snapshot(self, snap: dict[str, Any]) -> None:
        """Restore weights, normalisers, optimiser, RNG, counters (and buffer if present).

        Raises ValueError, changing nothing, if ``snap`` comes from a different config.
        """
        self.model.load_snapshot(snap)
        self.trainer.load_snapshot(snap)
        if "buffer" in snap:
            self.buffer.load_state_dict(snap["buffer"])
        self._last_error = float(snap.get("last_prediction_error", 0.0))
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
    """A working, untrained world model for ``config.backend`` (default: ``WorldModelConfig()``)."""
    return TorchWorldModel(config or WorldModelConfig(), name=name, registry=registry)
