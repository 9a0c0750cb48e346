"""Gymnasium classic-control environments behind one discrete-action interface.

The world model's actions are discrete indices (``ModelInput.action: int``),
so continuous environments are driven through evenly spaced action bins.
"""

from __future__ import annotations

from dataclasses import dataclass

import gymnasium as gym
import numpy as np

#: Return at which each supported environment counts as solved (mean over 10 episodes).
SOLVED_RETURN: dict[str, float] = {"CartPole-v1": 475.0, "Pendulum-v1": -200.0}


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
