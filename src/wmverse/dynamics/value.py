"""A learned terminal value for the planner: how much return lies beyond the dream's horizon.

A dream of H steps cannot see a failure that starts building up earlier and lands later
(CartPole's cart drifting towards the edge of the track: stopping it takes longer than a
25-step look-ahead). :class:`TerminalValue` learns, from the same replay buffer as the
world model, the discounted return of the agent's own behaviour from a state, by n-step
TD (the episode's next rewards, then a bootstrap) with a slowly moving target network, and the planner adds it at the end of each dream
(value-augmented model-predictive control).

The value is stored in units of ``1 / (1 - discount)`` rewards, so a constant reward of 1
maps to values in [0, 1]; ``__call__`` returns reward units. Several members are trained
on independent minibatches and the minimum is used (pessimism), as in clipped double-Q.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import torch

from .buffer import ReplayBuffer
from .losses import td_value_loss
from .networks import EnsembleMLP
from .normaliser import RunningNormaliser


@dataclass(frozen=True)
class ValueConfig:
    """Hyper-parameters of :class:`TerminalValue`."""

    hidden_dim: int = 64  # width of each member
    num_layers: int = 2  # hidden layers of each member
    members: int = 2  # independent value heads; their minimum is the value used
    learning_rate: float = 1e-3  # Adam step size
    batch_size: int = 128  # minibatch per member per gradient step
    discount: float = 0.99  # TD discount (the planner should use the same)
    target_tau: float = 0.01  # Polyak rate of the target network per gradient step
    n_step: int = 10  # rewards summed before bootstrapping (faster propagation than TD(0))
    grad_clip: float = 10.0  # gradient-norm clip
    seed: int = 0  # seeds initialisation and minibatch sampling

    def __post_init__(self) -> None:
        if not 0.0 < self.discount < 1.0:
            raise ValueError(f"discount must be in (0, 1), got {self.discount}")
        if not 0.0 < self.target_tau <= 1.0:
            raise ValueError(f"target_tau must be in (0, 1], got {self.target_tau}")
        if self.n_step < 1:
            raise ValueError(f"n_step must be >= 1, got {self.n_step}")
        if self.members < 1 or self.batch_size < 1 or self.hidden_dim < 1 or self.num_layers < 1:
            raise ValueError("members, batch_size, hidden_dim and num_layers must be >= 1")


class TerminalValue:
    """State value of the behaviour policy, learned by n-step TD from a :class:`ReplayBuffer`.

    Contracts: ``__call__`` is deterministic and gradient-free, maps (..., obs_dim) to (...)
    in reward units (pessimistic minimum over members); ``train_step`` takes one Adam step on
    fresh minibatches and never modifies the buffer. Observations are normalised with the
    ``obs_norm`` it is given (the world model's, so both see states the same way).
    """

    def __init__(self, obs_dim: int, obs_norm: RunningNormaliser, config: ValueConfig | None = None) -> None:
        self.config = c = config or ValueConfig()
        self.obs_dim = int(obs_dim)
        self.obs_norm = obs_norm
        self._gen = torch.Generator().manual_seed(int(c.seed))
        self.net = EnsembleMLP(c.members, self.obs_dim, c.hidden_dim, 1, c.num_layers, self._gen)
        self.target = copy.deepcopy(self.net).requires_grad_(False)
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=c.learning_rate)
        self.scale = 1.0 / (1.0 - c.discount)  # reward units per stored value unit
        self.grad_steps = 0
        self.last_loss = float("nan")

    def _members(self, net: EnsembleMLP, obs: torch.Tensor) -> torch.Tensor:
        """(E, B, D) or (B, D) observations -> (E, B) stored-unit values."""
        return net(self.obs_norm.normalise(obs)).squeeze(-1)

    @torch.no_grad()
    def __call__(self, obs: torch.Tensor) -> torch.Tensor:
        flat = obs.reshape(-1, self.obs_dim)
        values = self._members(self.net, flat).min(dim=0).values * self.scale
        return values.reshape(obs.shape[:-1])

    def train_step(self, buffer: ReplayBuffer) -> float:
        """One n-step TD step on minibatches from ``buffer``; returns the loss.

        Target: the discounted rewards of up to ``n_step`` following transitions of the same
        episode, plus the discounted (pessimistic, target-network) value of the state after
        the last of them unless it terminated. Episodes cut without termination bootstrap.
        """
        c = self.config
        slots = buffer.sample((c.members, c.batch_size), self._gen)  # (E, B)
        fwd, valid = buffer.forward_windows(slots, c.n_step)  # (E, B, n)
        data = buffer.get(fwd)
        disc = c.discount ** torch.arange(c.n_step, dtype=torch.float32)
        mask = valid.float()
        scaled = (data["reward"] / self.scale * disc * mask).sum(-1)  # (E, B)
        last = valid.sum(-1, keepdim=True) - 1  # index of the last valid transition (>= 0)
        last_next = (
            data["next_obs"].gather(-2, last.unsqueeze(-1).expand(-1, -1, 1, self.obs_dim)).squeeze(-2)
        )
        last_done = data["done"].gather(-1, last).squeeze(-1)
        with torch.no_grad():  # every target member on every bootstrap state, then the minimum
            flat = last_next.reshape(-1, self.obs_dim)
            boot = self._members(self.target, flat).min(dim=0).values.view(c.members, c.batch_size)
            boot = boot * c.discount ** last.squeeze(-1).float()  # one more discount is in the loss
        pred = self._members(self.net, data["obs"][..., 0, :])  # (E, B): member e on its own minibatch
        loss = td_value_loss(pred, scaled, last_done, boot, discount=c.discount)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.net.parameters(), c.grad_clip)
        self.optimizer.step()
        with torch.no_grad():
            for p, tp in zip(self.net.parameters(), self.target.parameters(), strict=True):
                tp.lerp_(p, c.target_tau)
        self.grad_steps += 1
        self.last_loss = float(loss.detach())
        return self.last_loss

    def train_steps(self, buffer: ReplayBuffer, n: int) -> list[float]:
        return [self.train_step(buffer) for _ in range(int(n))]

    def state_dict(self) -> dict[str, Any]:
        return {
            "net": copy.deepcopy(self.net.state_dict()),
            "target": copy.deepcopy(self.target.state_dict()),
            "optimizer": copy.deepcopy(self.optimizer.state_dict()),
            "rng_state": self._gen.get_state().clone(),
            "grad_steps": self.grad_steps,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.net.load_state_dict(state["net"])
        self.target.load_state_dict(state["target"])
        self.optimizer.load_state_dict(copy.deepcopy(state["optimizer"]))
        self._gen.set_state(state["rng_state"].clone())
        self.grad_steps = int(state["grad_steps"])
