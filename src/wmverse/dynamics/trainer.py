"""``ModelTrainer``: fits a :class:`~.model.TransitionModel` to a :class:`~.buffer.ReplayBuffer`.

The trainer owns the optimiser and the learning counters; it draws minibatches with the
model's own generator, so training is reproducible from the model's seed alone.
"""

from __future__ import annotations

import copy
from typing import Any

import torch

from .buffer import ReplayBuffer
from .metrics import WorldModelMetrics
from .model import TransitionModel


class ModelTrainer:
    """Adam on the joint transition loss over uniform minibatches of the replay buffer.

    Contracts:
      * every gradient step samples an independent (members, batch) minibatch, so each
        ensemble member trains on its own bootstrap; sequence backends see history windows
        truncated to a random length, so they also learn from short histories;
      * :meth:`observe` stores without training; :meth:`learn` stores, then takes one step
        whose minibatch contains the new transition;
      * inputs are tensors already checked by :class:`~.input_checks.InputChecks`;
      * :meth:`state_snapshot` / :meth:`load_snapshot` cover exactly the trainer's part of a
        world-model snapshot (``step_count``, ``grad_steps``, ``last_loss``, ``optimizer``).
    """

    def __init__(self, model: TransitionModel, buffer: ReplayBuffer, metrics: WorldModelMetrics) -> None:
        self.model = model
        self.buffer = buffer
        self.metrics = metrics
        self.optimizer = torch.optim.Adam(model.parameters(), lr=model.config.learning_rate)
        self.step_count = 0  # real transitions consumed through learn()
        self.grad_steps = 0  # gradient steps taken
        self.last_loss = float("nan")  # loss of the latest gradient step

    def observe(
        self, obs: torch.Tensor, action: int, next_obs: torch.Tensor, reward: float, done: bool
    ) -> int:
        """Store one real transition and fold it into the normalisers; returns its slot."""
        self.model.update_normalisers(obs, next_obs, reward)
        slot = self.buffer.add(obs, action, next_obs, reward, done)
        self.metrics.buffer_size.set(len(self.buffer))
        return slot

    def learn(
        self, obs: torch.Tensor, action: int, next_obs: torch.Tensor, reward: float, done: bool
    ) -> float:
        """Store one real transition and take one gradient step that includes it; returns the loss."""
        slot = self.observe(obs, action, next_obs, reward, done)
        loss = self.train_step(include_slot=slot)
        self.step_count += 1
        self.metrics.update_total.inc()
        return loss

    def train_step(self, include_slot: int | None = None, batch_size: int | None = None) -> float:
        """One gradient step on a fresh minibatch (``include_slot`` forced into every member's
        first row); returns the loss."""
        cfg = self.model.config
        b = int(batch_size or cfg.batch_size)
        gen = self.model.generator
        slots = self.buffer.sample((cfg.members, b), gen)
        if include_slot is not None:
            slots[:, 0] = include_slot
        data = self.buffer.get(slots)  # (E, B, ...)
        if cfg.window == 1:
            loss, metrics = self.model.loss(data)
        else:
            hist, valid = self.buffer.windows(slots[0], cfg.window)  # (B, W)
            keep = torch.randint(1, cfg.window + 1, (b, 1), generator=gen)
            valid &= torch.arange(cfg.window) >= cfg.window - keep
            loss, metrics = self.model.loss(data, self.buffer.get(hist), valid)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.grad_clip)
        self.optimizer.step()
        self.grad_steps += 1
        self.last_loss = metrics["loss"]
        self.metrics.train_loss.set(self.last_loss)
        return self.last_loss

    def train_steps(self, n: int = 1, batch_size: int | None = None) -> list[float]:
        """``n`` gradient steps on minibatches drawn from the buffer; returns the losses.

        Raises RuntimeError on an empty buffer.
        """
        if len(self.buffer) == 0:
            raise RuntimeError("the replay buffer is empty: call update()/observe() first")
        return [self.train_step(batch_size=batch_size) for _ in range(int(n))]

    def state_snapshot(self) -> dict[str, Any]:
        """Counters and a deep copy of the optimiser state."""
        return {
            "step_count": self.step_count,
            "grad_steps": self.grad_steps,
            "last_loss": self.last_loss,
            "optimizer": copy.deepcopy(self.optimizer.state_dict()),
        }

    def load_snapshot(self, snap: dict[str, Any]) -> None:
        """Restore the optimiser and counters (``grad_steps``/``last_loss`` default to 0/NaN)."""
        self.optimizer.load_state_dict(copy.deepcopy(snap["optimizer"]))
        self.step_count = int(snap["step_count"])
        self.grad_steps = int(snap.get("grad_steps", 0))
        self.last_loss = float(snap.get("last_loss", float("nan")))
