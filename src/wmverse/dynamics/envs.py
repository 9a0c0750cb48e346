"""Gymnasium classic-control environments behind one discrete-action interface.

The world model's actions are discrete indices (``ModelInput.action: int``),
so continuous environments are driven through evenly spaced action bins.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

#: Return at which each supported environment counts as solved (mean over 10 episodes).
SOLVED_RETURN: dict[str, float] = {"CartPole-v1": 475.0, "Pendulum-v1": -200.0}

#: Attribute values an env layer's state is made of (numbers, flags, numpy arrays); the rest (spaces,
#: renderers, specs, the wrapped env) is rebuilt by ``gym.make``.
_PLAIN = (bool, int, float, str, type(None), np.ndarray, np.generic)


def _layers(env: gym.Env) -> list[Any]:
    """The wrappers from the outermost in, then the unwrapped env."""
    out = [env]
    while hasattr(out[-1], "env"):
        out.append(out[-1].env)
    return out


def _plain_vars(layer: Any) -> dict[str, Any]:
    """Copies of ``layer``'s own plain attributes (CartPole's ``state``, ``steps_beyond_terminated``;
    ``TimeLimit._elapsed_steps``; ``OrderEnforcing._has_reset``...), the random generator excepted."""
    return {k: copy.copy(v) for k, v in vars(layer).items() if isinstance(v, _PLAIN) and k != "_np_random"}


@dataclass(frozen=True)
class StepResult:
    observation: tuple[float, ...]  # next observation
    reward: float  # real reward
    terminated: bool  # true termination (what the done head learns)
    truncated: bool  # time limit (not a termination)


class DiscreteActionEnv:
    """A gymnasium env with integer actions in ``[0, action_dim)`` and tuple observations."""

    def __init__(self, env_id: str, *, seed: int = 0, action_bins: int = 5) -> None:
        self.env_id = env_id
        try:
            self.env = gym.make(env_id)
        except gym.error.Error as exc:  # unknown id, missing extra, bad version
            raise ValueError(
                f"cannot make gymnasium environment {env_id!r}: {exc} (supported: {', '.join(SOLVED_RETURN)} "
                "and other classic-control ids with a discrete or 1-D continuous action space)"
            ) from exc
        space = self.env.action_space
        if isinstance(space, gym.spaces.Discrete):
            self.action_dim = int(space.n)
            self._values: np.ndarray | None = None
        elif isinstance(space, gym.spaces.Box) and space.shape == (1,):
            if action_bins < 2:
                raise ValueError("action_bins must be >= 2 for a continuous action space")
            self.action_dim = action_bins
            self._values = np.linspace(
                float(space.low[0]), float(space.high[0]), action_bins, dtype=np.float32
            )
        else:
            raise ValueError(f"{env_id}: unsupported action space {space}")
        self.obs_dim = int(np.prod(self.env.observation_space.shape))
        self.solved_return = SOLVED_RETURN.get(env_id)
        self._seed = int(seed)
        self._episodes = 0

    def reset(self) -> tuple[float, ...]:
        """Start an episode; episode k uses seed ``seed + k`` so runs are reproducible."""
        obs, _ = self.env.reset(seed=self._seed + self._episodes)
        self._episodes += 1
        return tuple(float(x) for x in np.asarray(obs).ravel())

    def step(self, action: int) -> StepResult:
        if not 0 <= int(action) < self.action_dim:
            raise ValueError(f"action {action} out of range [0, {self.action_dim})")
        act = int(action) if self._values is None else np.array([self._values[int(action)]], dtype=np.float32)
        obs, reward, terminated, truncated, _ = self.env.step(act)
        return StepResult(
            tuple(float(x) for x in np.asarray(obs).ravel()), float(reward), bool(terminated), bool(truncated)
        )

    def state_dict(self) -> dict[str, Any]:
        """A copy of where the env stands, mid-episode included: the episodes started (the next reset's
        seed), every plain attribute of every layer (the physics state, the time limit's step count,
        the order checks) and the unwrapped env's ``np_random`` state."""
        layers = _layers(self.env)
        rng = getattr(layers[-1], "_np_random", None)  # None until the first reset: nothing drawn yet
        return {
            "env_id": self.env_id,
            "episodes": self._episodes,
            "layers": [{"type": type(x).__name__, "vars": _plain_vars(x)} for x in layers],
            "np_random": None if rng is None else copy.deepcopy(rng.bit_generator.state),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Put back what :meth:`state_dict` captured, into an env made with the same id."""
        layers = _layers(self.env)
        types = [x["type"] for x in state["layers"]]
        if state["env_id"] != self.env_id or types != [type(x).__name__ for x in layers]:
            raise ValueError(f"env state of {state['env_id']} {types} does not fit this {self.env_id} env")
        if state["np_random"] is not None:
            layers[-1].np_random.bit_generator.state = copy.deepcopy(state["np_random"])
        for layer, saved in zip(layers, state["layers"], strict=True):
            for key, value in saved["vars"].items():
                setattr(layer, key, copy.copy(value))
        self._episodes = int(state["episodes"])

    def close(self) -> None:
        self.env.close()


def random_policy_returns(env_id: str, episodes: int = 10, seed: int = 0) -> list[float]:
    """Returns of a uniform random policy (the baseline reported beside the planner)."""
    env = DiscreteActionEnv(env_id, seed=seed)
    rng = np.random.default_rng(seed)
    returns = []
    for _ in range(episodes):
        env.reset()
        total, done = 0.0, False
        while not done:
            res = env.step(int(rng.integers(env.action_dim)))
            total += res.reward
            done = res.terminated or res.truncated
        returns.append(total)
    env.close()
    return returns
