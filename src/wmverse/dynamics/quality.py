"""The planning agent against a random policy over seeds, at the training world's small budget.

For each seed, :func:`train_and_evaluate` builds the :class:`~.agent.DynamicsAgent` at the sizes
of the training world's ``dynamics`` learner (ensemble of 5, width 64, CEM with 64 sequences of
15 steps, a terminal value with 25-step TD targets; these solve CartPole-v1 in about 2,000 real
steps), lets it act and learn for ``train_steps`` real steps (random warm-up first), then plays
``eval_episodes`` planning episodes without learning (``DynamicsAgent.evaluate``: episode k
starts from the env reset with seed ``seed + 10000 + k``) and a uniform random policy on the
same episodes (:func:`~.envs.random_policy_returns` with the same seeds: same start states).

Planning has no wall-clock cut-off (fixed work per decision), so every number is a function of
the seed and the config only. :func:`dynamics_quality` repeats it over seeds and returns the
per-seed mean returns; the statistics over seeds are left to the caller (``wmverse eval``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any

__all__ = [
    "EVAL_SEED_OFFSET",
    "DynamicsQualityConfig",
    "agent_config",
    "dynamics_quality",
    "format_quality",
    "train_and_evaluate",
]

#: Evaluation episode k of seed s resets its env with seed ``s + EVAL_SEED_OFFSET + k``.
EVAL_SEED_OFFSET = 10_000


@dataclass(frozen=True)
class DynamicsQualityConfig:
    """One seed's run: the training world's learner sizes and budget by default."""

    env_id: str = "CartPole-v1"
    """gymnasium environment."""
    train_steps: int = 2000
    """Real environment steps of acting and learning (warm-up included), as the world's 4 x 500."""
    warmup_steps: int = 200
    """Random-action steps before planning starts."""
    pretrain_steps: int = 300
    """Gradient steps on the buffer (world model and value) when warm-up ends."""
    ensemble_size: int = 5
    """Ensemble members of the world model."""
    hidden_dim: int = 64
    """World-model width."""
    population: int = 64
    """Imagined action sequences per CEM iteration."""
    horizon: int = 15
    """Imagined steps per sequence (the learned terminal value sees beyond)."""
    cem_iterations: int = 2
    """CEM refinement rounds per decision."""
    value_n_step: int = 25
    """Rewards summed by the terminal value's TD target before it bootstraps."""
    value_tau: float = 0.03
    """Polyak rate of the value's target network."""
    eval_episodes: int = 10
    """Planning episodes (and random-policy episodes, on the same start states) per seed."""

    def __post_init__(self) -> None:
        for name in (
            "train_steps",
            "ensemble_size",
            "hidden_dim",
            "horizon",
            "cem_iterations",
            "eval_episodes",
        ):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.population < 2:
            raise ValueError(f"population must be >= 2, got {self.population}")
        if self.warmup_steps < 0 or self.pretrain_steps < 0:
            raise ValueError("warmup_steps and pretrain_steps must be >= 0")
        if self.value_n_step < 1 or not 0.0 < self.value_tau <= 1.0:
            raise ValueError("value_n_step must be >= 1 and value_tau in (0, 1]")

    @classmethod
    def quick(cls) -> DynamicsQualityConfig:
        """Tiny budgets for smoke tests (seconds per seed; the agent does not learn to balance)."""
        return cls(
            train_steps=120,
            warmup_steps=60,
            pretrain_steps=10,
            ensemble_size=2,
            hidden_dim=16,
            population=8,
            horizon=4,
            cem_iterations=1,
            value_n_step=5,
            eval_episodes=3,
        )


def agent_config(cfg: DynamicsQualityConfig, seed: int):  # type: ignore[no-untyped-def]
    """The :class:`~.agent.AgentConfig` of one seed's run (fixed work per decision)."""
    from .agent import AgentConfig
    from .planner import PlannerConfig, PlanningMethod
    from .types import TransitionBackend
    from .value import ValueConfig

    planner = PlannerConfig(
        method=PlanningMethod.CEM,
        horizon=cfg.horizon,
        population=cfg.population,
        cem_iterations=cfg.cem_iterations,
        discount=0.99,
        uncertainty_penalty=1.0,
        enforce_budget=False,  # same seed, same decisions, whatever the machine's load
        seed=seed,
    )
    return AgentConfig(
        env_id=cfg.env_id,
        backend=TransitionBackend.ENSEMBLE,
        seed=seed,
        hidden_dim=cfg.hidden_dim,
        ensemble_size=cfg.ensemble_size,
        warmup_steps=cfg.warmup_steps,
        pretrain_steps=cfg.pretrain_steps,
        planner=planner,
        value=ValueConfig(n_step=cfg.value_n_step, target_tau=cfg.value_tau),
    )


def train_and_evaluate(seed: int, cfg: DynamicsQualityConfig | None = None) -> dict[str, Any]:
    """One seed: train ``cfg.train_steps`` real steps, then evaluate planner and random policy.

    Returns ``{"seed", "returns", "random_returns", "mean_return", "random_mean",
    "train_env_steps", "train_episodes", "solved_return", "seconds"}`` (returns per evaluation
    episode, the two lists on the same start states, episode k with env seed
    ``seed + EVAL_SEED_OFFSET + k``).
    """
    from .agent import DynamicsAgent
    from .envs import random_policy_returns

    cfg = cfg or DynamicsQualityConfig()
    t0 = time.perf_counter()
    agent = DynamicsAgent(agent_config(cfg, seed), model_name=f"quality-dynamics-{seed}")
    agent.run_steps(cfg.train_steps)
    returns = agent.evaluate(cfg.eval_episodes, seed_offset=EVAL_SEED_OFFSET)
    rand = random_policy_returns(cfg.env_id, cfg.eval_episodes, seed=seed + EVAL_SEED_OFFSET)
    agent.env.close()
    return {
        "seed": int(seed),
        "returns": [float(r) for r in returns],
        "random_returns": [float(r) for r in rand],
        "mean_return": sum(returns) / len(returns),
        "random_mean": sum(rand) / len(rand),
        "train_env_steps": agent.total_env_steps,
        "train_episodes": agent.episodes_done,
        "solved_return": agent.env.solved_return,
        "seconds": time.perf_counter() - t0,
    }


def dynamics_quality(
    seeds: Iterable[int] = range(10),
    cfg: DynamicsQualityConfig | None = None,
    progress: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """:func:`train_and_evaluate` for every seed (``progress`` is called with each run).

    Returns ``{"env_id", "seeds", "config", "per_seed": {"planning": [mean return...],
    "random": [...]}, "runs": [train_and_evaluate(...)...], "seconds"}``.
    """
    cfg = cfg or DynamicsQualityConfig()
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ValueError("dynamics_quality needs at least one seed")
    t0 = time.perf_counter()
    runs = []
    for seed in seeds:
        runs.append(train_and_evaluate(seed, cfg))
        if progress is not None:
            progress(runs[-1])
    return {
        "env_id": cfg.env_id,
        "seeds": seeds,
        "config": asdict(cfg),
        "per_seed": {
            "planning": [r["mean_return"] for r in runs],
            "random": [r["random_mean"] for r in runs],
        },
        "runs": runs,
        "seconds": time.perf_counter() - t0,
    }


def format_quality(result: dict[str, Any]) -> str:
    """A plain-text table of :func:`dynamics_quality`'s result: mean return per seed and overall."""
    seeds = result["seeds"]
    cfg = result["config"]
    head = f"{'policy':<10}" + "".join(f"{'seed ' + str(s):>9}" for s in seeds) + f"{'mean':>9}"
    lines = [
        f"{result['env_id']}: mean return over {cfg['eval_episodes']} evaluation episodes after "
        f"{cfg['train_steps']} real steps ({result['seconds']:.0f} s)",
        head,
        "-" * len(head),
    ]
    for name, values in result["per_seed"].items():
        mean = sum(values) / len(values)
        lines.append(f"{name:<10}" + "".join(f"{v:9.1f}" for v in values) + f"{mean:9.1f}")
    return "\n".join(lines)
