"""The ``dynamics`` learner's plan and badge rule (world side).

Plan: ``run_env_steps(n)`` x ``chunks``, ``run_episode``, then ``evaluate`` (planning episodes on fresh
seeds, no learning, beside a random policy on the same seeds). Badge: the mean evaluation return reaches
the environment's solved threshold (CartPole-v1: 475) -> 'completed', score = min(1, mean / threshold).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from agents.learners.base import EVALUATE
from agents.learners.dynamics import SOLVED_FALLBACK, DynamicsLearnerConfig

from .protocol import SIM_S_SCALE, LearnerBadge, LearnerSpec, LearnerStep, env_ints

__all__ = ["DynamicsLearner", "SOLVED_FALLBACK"]


class DynamicsLearner(LearnerSpec):
    """The ``dynamics`` role: env-step chunks, one planned episode, evaluation against the solved return."""

    kind = "dynamics"
    title = "Dynamics"
    train_actions = ("run_env_steps", "run_episode")
    config_type = DynamicsLearnerConfig

    #: Cost model (``LearnerStep.sim_s``, see ``SIM_S_SCALE``), from measured wall seconds: per real step with
    #: planning and learning, per typical ``run_episode``, per evaluation episode.
    SIM_S_PER_ENV_STEP: ClassVar[float] = SIM_S_SCALE * 0.018
    SIM_S_PER_EPISODE_REQUEST: ClassVar[float] = SIM_S_SCALE * 3.5
    SIM_S_PER_EVAL_EPISODE: ClassVar[float] = SIM_S_SCALE * 1.1

    def plan(self) -> list[LearnerStep]:
        c = self.config
        steps = [
            LearnerStep(
                k,
                "run_env_steps",
                {"n": c.chunk_steps},
                f"{c.chunk_steps} env steps",
                c.chunk_steps * self.SIM_S_PER_ENV_STEP,
            )
            for k in range(c.chunks)
        ]
        steps.append(
            LearnerStep(len(steps), "run_episode", {}, "episode + plan", self.SIM_S_PER_EPISODE_REQUEST)
        )
        steps.append(
            LearnerStep(
                len(steps),
                EVALUATE,
                {"episodes": c.eval_episodes},
                "evaluate",
                c.eval_episodes * self.SIM_S_PER_EVAL_EPISODE,
            )
        )
        return steps

    def badge(self, evaluation: Mapping[str, Any]) -> LearnerBadge | None:
        try:
            mean = float(evaluation["mean_return"])
            solved = float(evaluation.get("solved_return") or SOLVED_FALLBACK)
            n = len(evaluation["returns"])
        except (KeyError, TypeError, ValueError):
            return None
        if mean < solved:
            return None
        return LearnerBadge(
            badge_type="completed",
            score=min(1.0, mean / solved),
            reason="solved",
            description=(
                f"Planning agent solved {self.config.env_id}: mean return {mean:.1f} >= {solved:.0f} over "
                f"{n} evaluation episode(s) after {evaluation.get('train_env_steps')} real steps"
            ),
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> DynamicsLearner:
        """``WMVERSE_SEED``, ``WMVERSE_DYNAMICS_STEPS`` ("chunks,steps per chunk"),
        ``WMVERSE_DYNAMICS_WARMUP`` ("warm-up steps,pretrain gradient steps"),
        ``WMVERSE_DYNAMICS_EVAL_EPISODES``."""
        d = DynamicsLearnerConfig()
        seed = env_ints(environ, "WMVERSE_SEED", (d.seed,))[0]
        chunks, chunk_steps = env_ints(environ, "WMVERSE_DYNAMICS_STEPS", (d.chunks, d.chunk_steps))
        warm, pre = env_ints(environ, "WMVERSE_DYNAMICS_WARMUP", (d.warmup_steps, d.pretrain_steps))
        (episodes,) = env_ints(environ, "WMVERSE_DYNAMICS_EVAL_EPISODES", (d.eval_episodes,))
        return cls(
            DynamicsLearnerConfig(
                seed=seed,
                chunks=chunks,
                chunk_steps=chunk_steps,
                warmup_steps=warm,
                pretrain_steps=pre,
                eval_episodes=episodes,
            )
        )

    def summary_line(self, evaluation: Mapping[str, Any]) -> str:
        return (
            f"mean eval return {evaluation.get('mean_return', float('nan')):.1f} over "
            f"{len(evaluation.get('returns', []))} episode(s) (random policy "
            f"{evaluation.get('random_mean', float('nan')):.1f}; solved at {evaluation.get('solved_return')})"
        )
