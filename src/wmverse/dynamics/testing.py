"""Known toy dynamics and tiny configs for checking world models (used by the test suite).

Importable so that users can check their own ``WorldModel`` implementations against the
same ground truth: a linear contraction with an action push, and a 1-D walk that ends
past a wall.
"""

from __future__ import annotations

import numpy as np

from .types import ModelInput, TransitionBackend, WorldModelConfig

Transition = tuple[ModelInput, tuple[float, ...], float, bool]


def small_config(backend: TransitionBackend = TransitionBackend.MLP, **overrides) -> WorldModelConfig:  # type: ignore[no-untyped-def]
    """A tiny config (3-D observations, 2 actions, width 32) for fast checks."""
    base = dict(
        backend=backend,
        obs_dim=3,
        action_dim=2,
        hidden_dim=32,
        ensemble_size=4,
        num_layers=2,
        batch_size=32,
        context_window=4,
        num_heads=2,
        learning_rate=3e-3,
        rollout_horizon=6,
        max_buffer_size=2_000,
    )
    base.update(overrides)
    return WorldModelConfig(**base)  # type: ignore[arg-type]


_PUSH = np.array([0.2, -0.1, 0.05])


def linear_step(obs: np.ndarray, action: int) -> tuple[np.ndarray, float, bool]:
    """Known dynamics: ``x' = 0.9 x + push * (2a - 1)``; reward ``x'[0]``; never done."""
    nxt = 0.9 * np.asarray(obs, dtype=np.float64) + _PUSH * (2 * int(action) - 1)
    return nxt, float(nxt[0]), False


def linear_transitions(n: int, seed: int = 0, scale: float = 1.0) -> list[Transition]:
    """``n`` transitions of :func:`linear_step` from states uniform in [-scale, scale]^3."""
    rng = np.random.default_rng(seed)
    out: list[Transition] = []
    for _ in range(n):
        obs = rng.uniform(-scale, scale, size=3)
        a = int(rng.integers(2))
        nxt, r, d = linear_step(obs, a)
        out.append((ModelInput(tuple(obs.tolist()), a), tuple(nxt.tolist()), r, d))
    return out


def wall_walk_transitions(n: int, seed: int = 0, wall: float = 0.9, step: float = 0.25) -> list[Transition]:
    """1-D walk: action 1 moves +step, action 0 moves -step; reward 1; done once x' > wall."""
    rng = np.random.default_rng(seed)
    out: list[Transition] = []
    for _ in range(n):
        x = float(rng.uniform(-1.5, 1.2))
        a = int(rng.integers(2))
        nx = x + (step if a else -step)
        out.append((ModelInput((x,), a), (nx,), 1.0, nx > wall))
    return out
