"""The ``canvas`` learner's plan and badge rule (world side).

Plan: ``run_curriculum_phase(0)``, ``(1)``, ``(2)`` (a phase longer than ``phase_chunk`` steps in parts:
``run_curriculum_phase(2, steps=150)`` four times) then ``evaluate`` (a forecast); with ``curriculum="dag"``
one ``run_dag_node(name)`` per node of ``wmverse.canvas.STANDARD_DAG`` in tier order, then ``evaluate``.
Badge: the canvas RMSE is below BOTH baselines' on every target -> 'pro', score = mean over targets of
``1 - rmse_canvas / min(rmse_random_walk, rmse_ar1)``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, ClassVar

from agents.learners.base import EVALUATE
from agents.learners.canvas import BASELINES, CanvasLearnerConfig

from .protocol import SIM_S_SCALE, LearnerBadge, LearnerSpec, LearnerStep, env_ints

__all__ = ["CanvasLearner"]


class CanvasLearner(LearnerSpec):
    """The ``canvas`` role: three curriculum phases, then forecasts against the baselines."""

    kind = "canvas"
    title = "Canvas"
    train_actions = ("run_curriculum_phase", "run_dag_node")
    config_type = CanvasLearnerConfig

    #: Cost model (``LearnerStep.sim_s``, see ``SIM_S_SCALE``), from measured wall seconds (rounded up: the
    #: canvas is not the critical path): per training step, per forecast evaluation.
    SIM_S_PER_STEP: ClassVar[float] = SIM_S_SCALE * 0.06
    SIM_S_PER_EVALUATION: ClassVar[float] = SIM_S_SCALE * 0.5

    def plan(self) -> list[LearnerStep]:
        forecast = LearnerStep(0, EVALUATE, {}, "forecast", self.SIM_S_PER_EVALUATION)
        if self.config.curriculum == "dag":
            from wmverse.canvas.dag import STANDARD_DAG, tiers

            order = [n for tier in tiers(list(STANDARD_DAG)) for n in tier]
            cost = self.config.dag_steps * self.SIM_S_PER_STEP
            steps = [LearnerStep(k, "run_dag_node", {"node": n}, n, cost) for k, n in enumerate(order)]
            return steps + [dataclasses.replace(forecast, index=len(steps))]
        steps: list[LearnerStep] = []
        chunk = self.config.phase_chunk
        for k, name in enumerate(("independent", "coupling", "integration")):
            n = self.config.phase_steps[k]
            parts = -(-n // chunk) if chunk and n > chunk else 1
            for j in range(parts):
                args = {"phase": k} if parts == 1 else {"phase": k, "steps": chunk}
                label = name if parts == 1 else f"{name} {j + 1}/{parts}"
                part = min(chunk, n - j * chunk) if parts > 1 else n
                steps.append(
                    LearnerStep(len(steps), "run_curriculum_phase", args, label, part * self.SIM_S_PER_STEP)
                )
        return steps + [dataclasses.replace(forecast, index=len(steps))]

    def badge(self, evaluation: Mapping[str, Any]) -> LearnerBadge | None:
        table = evaluation.get("rmse") or {}
        ours = table.get("canvas") or {}
        if not ours or any(b not in table for b in BASELINES):
            return None
        margins = []
        for key, value in ours.items():
            best = min(float(table[b][key]) for b in BASELINES)
            if value is None or not float(value) < best:
                return None
            margins.append(1.0 - float(value) / best)
        parts = ", ".join(
            f"{k} {float(v):.3f} (RW {float(table['random walk'][k]):.3f}, AR(1) {float(table['AR(1)'][k]):.3f})"
            for k, v in ours.items()
        )
        return LearnerBadge(
            badge_type="pro",
            score=min(1.0, max(0.0, sum(margins) / len(margins))),
            reason="beats_baselines",
            description=f"Canvas held-out one-step RMSE beats the random walk and AR(1): {parts}",
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> CanvasLearner:
        """``WMVERSE_SEED``, ``WMVERSE_CANVAS_STEPS`` ("p0,p1,p2" optimiser steps per phase),
        ``WMVERSE_CANVAS_CURRICULUM`` (seq | dag) and ``WMVERSE_CANVAS_DAG_STEPS`` (steps per DAG node)."""
        d = CanvasLearnerConfig()
        seed = env_ints(environ, "WMVERSE_SEED", (d.seed,))[0]
        steps = env_ints(environ, "WMVERSE_CANVAS_STEPS", d.phase_steps)
        (dag_steps,) = env_ints(environ, "WMVERSE_CANVAS_DAG_STEPS", (d.dag_steps,))
        curriculum = environ.get("WMVERSE_CANVAS_CURRICULUM", "").strip().lower() or d.curriculum
        return cls(
            CanvasLearnerConfig(
                seed=seed,
                curriculum=curriculum,
                dag_steps=dag_steps,
                phase_steps=steps,  # type: ignore[arg-type]
            )
        )

    def summary_line(self, evaluation: Mapping[str, Any]) -> str:
        t = evaluation.get("rmse") or {}
        keys = sorted((t.get("canvas") or {}).keys())
        return "; ".join(
            f"{k} RMSE canvas {t['canvas'][k]:.3f} / RW {t['random walk'][k]:.3f} / AR(1) {t['AR(1)'][k]:.3f}"
            for k in keys
        )
