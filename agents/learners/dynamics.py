"""The dynamics world model as a learner agent trains it: act, learn online, dream and plan.

Plan: ``run_env_steps(n)`` x ``chunks`` (real CartPole-v1 steps: random warm-up, then planning in dreams
while the world model learns online), ``run_episode`` (finish or play one episode with the planner and
report it, with its imagined rollout beside what really happened), then ``evaluate`` (planning episodes on
fresh seeds, no learning, beside a random policy on the same seeds; the episodes run side by side and the
planner decides for all running ones in one batched dream per step, episode k with its own seeded random
stream, so the returns are those of playing the episodes one at a time).

Reports: surprise (mean one-step prediction error), train loss, replay-buffer size, episode returns and
lengths, planning time, and for the last finished episode the open-loop imagined trajectory and the real
one under the same actions.

Planning here has no wall-clock budget (``time_budget_s`` is huge), so a run is a function of the seed only.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .base import EVALUATE, LearnerRunner, json_safe

__all__ = ["EVAL_WORKERS_VAR", "DynamicsLearnerConfig", "DynamicsRunner", "SOLVED_FALLBACK", "eval_workers"]

#: Solved return used when the environment declares none (CartPole-v1's threshold).
SOLVED_FALLBACK = 475.0
#: Environment variable: shares of the evaluation played at the same time (default: the process's cores).
EVAL_WORKERS_VAR = "WMVERSE_EVAL_WORKERS"


@dataclass(frozen=True)
class DynamicsLearnerConfig:
    """Sizes of the dynamics learner in the world."""

    seed: int = 0
    """Seeds the environment, the world model and the planner."""
    env_id: str = "CartPole-v1"
    """gymnasium environment."""
    chunks: int = 4
    """``run_env_steps`` requests before the episode request."""
    chunk_steps: int = 500
    """Real environment steps per ``run_env_steps`` request (the defaults learn from 2,000 real steps)."""
    warmup_steps: int = 200
    """Random-action steps before planning starts."""
    pretrain_steps: int = 300
    """Gradient steps on the buffer (world model and value) when warm-up ends."""
    ensemble_size: int = 5
    """Ensemble members of the world model."""
    hidden_dim: int = 64
    """World-model width."""
    population: int = 64
    """Imagined action sequences per CEM iteration (the library's agent uses 150)."""
    horizon: int = 15
    """Imagined steps per sequence (the library's agent uses 25); the learned terminal value sees beyond."""
    replan_every: int = 1
    """Real steps between replans (a surprise above the model's threshold replans at once)."""
    value_n_step: int = 25
    """Rewards summed by the terminal value's TD target before it bootstraps (library default 10)."""
    value_tau: float = 0.03
    """Polyak rate of the value's target network (library default 0.01): with the shorter horizon and
    fixed step budget the value has to catch up faster."""
    eval_episodes: int = 10
    """Planning episodes of the evaluation (the issue's target: mean return >= 475 over 10 episodes)."""
    max_episode_steps: int = 500
    """Real steps the ``run_episode`` request may take at most before it reports anyway."""

    def __post_init__(self) -> None:
        for name in (
            "chunk_steps",
            "replan_every",
            "ensemble_size",
            "hidden_dim",
            "population",
            "horizon",
            "eval_episodes",
        ):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.value_n_step < 1 or not 0.0 < self.value_tau <= 1.0:
            raise ValueError("value_n_step must be >= 1 and value_tau in (0, 1]")
        if self.chunks < 0 or self.warmup_steps < 0 or self.pretrain_steps < 0:
            raise ValueError("chunks, warmup_steps and pretrain_steps must be >= 0")


def eval_workers(environ: Mapping[str, str] | None = None) -> int:
    """How many shares the evaluation's episodes are played in at the same time: ``WMVERSE_EVAL_WORKERS``, else
    the cores this process may run on (the returns are the same however many; see
    ``DynamicsAgent.evaluate``). A value that is not a positive integer raises ValueError naming the variable."""
    from wmverse.runtime.threads import available_cores

    raw = (os.environ if environ is None else environ).get(EVAL_WORKERS_VAR, "").strip()
    if not raw:
        return available_cores()
    if not (raw.isascii() and raw.isdigit()) or int(raw) < 1:  # ASCII: '²'.isdigit() holds, int('²') fails
        raise ValueError(f"{EVAL_WORKERS_VAR} must be a positive integer, got {raw!r}")
    return int(raw)


def _episode(e: Any) -> dict[str, Any]:
    return {
        "episode": e.episode,
        "return": e.episode_return,
        "length": e.length,
        "env_steps": e.env_steps,
        "planned": e.planned,
        "mean_surprise": e.mean_surprise,
    }  # (no planning wall time: reports must be a function of the seed only)


class DynamicsRunner(LearnerRunner):
    """Agent side: a ``wmverse.dynamics.agent.DynamicsAgent`` (ensemble world model + CEM planner)."""

    def __init__(self, config: DynamicsLearnerConfig) -> None:
        from wmverse.dynamics.agent import AgentConfig, DynamicsAgent
        from wmverse.dynamics.planner import PlannerConfig, PlanningMethod
        from wmverse.dynamics.types import TransitionBackend
        from wmverse.dynamics.value import ValueConfig

        self.config = c = config
        planner = PlannerConfig(
            method=PlanningMethod.CEM,
            horizon=c.horizon,
            population=c.population,
            cem_iterations=2,
            discount=0.99,
            uncertainty_penalty=1.0,
            time_budget_s=1e9,  # no wall-clock cut-off: same seed, same decisions
            replan_every=c.replan_every,
            seed=c.seed,
        )
        self.agent = DynamicsAgent(
            AgentConfig(
                env_id=c.env_id,
                backend=TransitionBackend.ENSEMBLE,
                seed=c.seed,
                hidden_dim=c.hidden_dim,
                ensemble_size=c.ensemble_size,
                warmup_steps=c.warmup_steps,
                pretrain_steps=c.pretrain_steps,
                planner=planner,
                value=ValueConfig(n_step=c.value_n_step, target_tau=c.value_tau),
            ),
            model_name=f"world-dynamics-{c.seed}",
        )
        self.solved_return = self.agent.env.solved_return or SOLVED_FALLBACK
        # read when built: a bad WMVERSE_EVAL_WORKERS fails the first request, not the last
        self.eval_workers = eval_workers()

    def run(self, action: str, args: Mapping[str, Any]) -> dict[str, Any]:
        if action == "run_env_steps":
            n = int(args.get("n", 0))
            if n < 1:
                raise ValueError(f"run_env_steps needs n >= 1, got {n}")
            return self._report(self.agent.run_steps(n))
        if action == "run_episode":
            return self.run_episode()
        if action == EVALUATE:
            return self.evaluate(int(args.get("episodes", self.config.eval_episodes)))
        raise ValueError(f"the dynamics learner cannot run {action!r}")

    def _report(self, rep: Any, episodes: list | None = None) -> dict[str, Any]:
        episodes = list(rep.episodes) if episodes is None else list(episodes)
        out: dict[str, Any] = {
            "env_steps": rep.env_steps,
            "total_env_steps": rep.total_env_steps,
            "surprise": rep.mean_surprise,
            "train_loss": rep.train_loss,
            "buffer_size": rep.buffer_size,
            "episodes": [_episode(e) for e in episodes],
        }
        if episodes:
            last = episodes[-1]
            out["imagined"] = [list(s) for s in last.imagined]
            out["real"] = [list(s) for s in last.real]
        return json_safe(out)

    def run_episode(self) -> dict[str, Any]:
        """Play until an episode ends (at most ``max_episode_steps`` steps) and report it."""
        before = self.agent.total_env_steps
        finished, surprises, rep = [], [], None
        while not finished and self.agent.total_env_steps - before < self.config.max_episode_steps:
            rep = self.agent.run_steps(1)
            finished.extend(rep.episodes)
            surprises.append(rep.mean_surprise)
        assert rep is not None
        out = self._report(rep, finished)
        out["env_steps"] = self.agent.total_env_steps - before
        out["surprise"] = sum(surprises) / len(surprises)
        return out

    def evaluate(self, episodes: int) -> dict[str, Any]:
        """Planning returns on fresh seeds (no learning) beside a random policy on the same seeds.

        The episodes are played together, one batched plan per step for those still running
        (``DynamicsAgent.evaluate``), in as many shares at the same time as this process may use cores
        (:func:`eval_workers`; forked copies, in a learner's own process); each return is that of the episode
        played alone."""
        from wmverse.dynamics.envs import random_policy_returns

        returns = self.agent.evaluate(episodes, workers=self.eval_workers)
        rand = random_policy_returns(self.config.env_id, episodes, seed=self.config.seed + 10_000)
        return json_safe(
            {
                "returns": returns,
                "mean_return": sum(returns) / len(returns),
                "random_returns": rand,
                "random_mean": sum(rand) / len(rand),
                "solved_return": self.solved_return,
                "train_env_steps": self.agent.total_env_steps,
                "buffer_size": self.agent.model.buffer_size,
            }
        )

    def state_dict(self) -> dict[str, Any]:
        """``agent``: ``wmverse.dynamics.resume.agent_state``: the ensemble world model (weights,
        normalisers, Adam state, its minibatch generator, counters) with its replay buffer (contents, fill,
        write position, episode ids), the terminal value (networks, target network, Adam state, generator),
        the planner's streams (generators, CEM warm starts, current plans), the CartPole env (the unwrapped
        env's ``state`` array and ``np_random``, the time limit's steps in the episode, the episodes
        started) and the agent's exploration generator, counters and running episode. A request may end
        mid-episode: the resumed runner carries on with the same episode, as the original does."""
        from wmverse.dynamics.resume import agent_state

        return {"agent": agent_state(self.agent)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        from wmverse.dynamics.resume import load_agent_state

        load_agent_state(self.agent, state["agent"])

    def status(self) -> str:
        return (
            f"dynamics learner: {self.agent.total_env_steps} env steps, {self.agent.episodes_done} episodes"
        )
