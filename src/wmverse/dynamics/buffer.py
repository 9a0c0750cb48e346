"""Bounded replay buffer of real transitions, with history windows for sequence models."""

from __future__ import annotations

from typing import Any

import torch


class ReplayBuffer:
    """Ring buffer of (obs, action, next_obs, reward, done) with episode bookkeeping.

    Storage grows by doubling up to ``capacity``; beyond it the oldest transitions are
    overwritten. Each transition gets a global index ``gid`` and an episode id; a new
    episode starts after a done or when an observation does not continue the previous
    transition's next observation. ``windows`` uses both to build left-padded histories
    that never cross an episode boundary or an evicted slot.
    """

    def __init__(self, capacity: int, obs_dim: int) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity}")
        self.capacity = int(capacity)
        self.obs_dim = int(obs_dim)
        self._size = 0
        self._next_gid = 0
        self._episode = 0
        self._alloc(min(self.capacity, 1024))

    def _alloc(self, n: int) -> None:
        old = getattr(self, "_store", None)
        store = {
            "obs": torch.zeros(n, self.obs_dim),
            "action": torch.zeros(n, dtype=torch.long),
            "next_obs": torch.zeros(n, self.obs_dim),
            "reward": torch.zeros(n),
            "done": torch.zeros(n),
            "episode": torch.full((n,), -1, dtype=torch.long),
            "gid": torch.full((n,), -1, dtype=torch.long),
        }
        if old is not None:
            k = old["obs"].shape[0]
            for key, value in old.items():
                store[key][:k] = value
        self._store = store

    def __len__(self) -> int:
        return self._size

    @property
    def total_added(self) -> int:
        """Transitions ever added (including evicted ones)."""
        return self._next_gid

    def _slot(self, gid: int) -> int:
        return gid % self.capacity

    def add(self, obs: torch.Tensor, action: int, next_obs: torch.Tensor, reward: float, done: bool) -> int:
        """Append one transition (tensors of shape (obs_dim,)); returns its slot."""
        if self._next_gid > 0:
            prev = self._slot(self._next_gid - 1)
            continues = not bool(self._store["done"][prev]) and torch.equal(
                self._store["next_obs"][prev], obs
            )
            if not continues:
                self._episode += 1
        slot = self._slot(self._next_gid)
        if slot >= self._store["obs"].shape[0]:
            self._alloc(min(self.capacity, 2 * self._store["obs"].shape[0]))
        s = self._store
        s["obs"][slot] = obs
        s["action"][slot] = int(action)
        s["next_obs"][slot] = next_obs
        s["reward"][slot] = float(reward)
        s["done"][slot] = float(bool(done))
        s["episode"][slot] = self._episode
        s["gid"][slot] = self._next_gid
        self._next_gid += 1
        self._size = min(self._size + 1, self.capacity)
        return slot

    def sample(self, shape: tuple[int, ...], generator: torch.Generator) -> torch.Tensor:
        """Uniform random slots (with replacement) of the given shape."""
        if self._size == 0:
            raise RuntimeError("cannot sample from an empty replay buffer")
        return torch.randint(0, self._size, shape, generator=generator)

    def latest_slot(self) -> int:
        return self._slot(self._next_gid - 1)

    def get(self, slots: torch.Tensor) -> dict[str, torch.Tensor]:
        """Fields at ``slots`` (any shape); obs fields gain a trailing obs_dim axis."""
        return {key: value[slots] for key, value in self._store.items()}

    def windows(self, slots: torch.Tensor, window: int) -> tuple[torch.Tensor, torch.Tensor]:
        """History slots (…, window) ending at ``slots`` and their validity mask.

        Position ``window - 1`` is the transition itself; earlier positions hold the
        preceding transitions of the same episode, or are invalid (mask False).
        """
        offsets = torch.arange(window - 1, -1, -1)
        gid = self._store["gid"][slots]
        want = gid.unsqueeze(-1) - offsets
        hist = torch.remainder(want, self.capacity).clamp_max(self._store["gid"].shape[0] - 1)
        valid = (want >= 0) & (self._store["gid"][hist] == want)
        valid &= self._store["episode"][hist] == self._store["episode"][slots].unsqueeze(-1)
        return hist, valid

    def forward_windows(self, slots: torch.Tensor, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The ``n`` transitions starting at ``slots``: slots (…, n) and validity (…, n).

        Position 0 is the transition itself; position k is the k-th following transition of
        the same episode, valid only if it exists and was not evicted (so validity is a
        prefix: once a position is invalid, every later one is).
        """
        gid = self._store["gid"][slots]
        want = gid.unsqueeze(-1) + torch.arange(n)
        fwd = torch.remainder(want, self.capacity).clamp_max(self._store["gid"].shape[0] - 1)
        valid = self._store["gid"][fwd] == want
        valid &= self._store["episode"][fwd] == self._store["episode"][slots].unsqueeze(-1)
        return fwd, valid.cumprod(dim=-1).bool()

    def state_dict(self) -> dict[str, Any]:
        n = min(self._store["obs"].shape[0], self.capacity)
        return {
            "capacity": self.capacity,
            "obs_dim": self.obs_dim,
            "size": self._size,
            "next_gid": self._next_gid,
            "episode": self._episode,
            "store": {k: v[:n].clone() for k, v in self._store.items()},
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if int(state["capacity"]) != self.capacity or int(state["obs_dim"]) != self.obs_dim:
            raise ValueError("replay-buffer state does not match this buffer's capacity/obs_dim")
        self._store = {k: v.clone() for k, v in state["store"].items()}
        self._size = int(state["size"])
        self._next_gid = int(state["next_gid"])
        self._episode = int(state["episode"])
