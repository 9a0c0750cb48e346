"""The ``leworld`` learner's plan and badge rule (world side).

Plan: ``run_phase(1)``, ``run_phase(2)``, ``run_phase(3)``, ``evaluate`` (phases with 0 epochs are skipped,
except phase 1). Badge: held-out next-state MSE of LeWorld < the memory-free baseline's -> 'pro', score
``1 - mse_leworld / mse_memory_free``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from agents.learners.base import EVALUATE
from agents.learners.leworld import LeWorldLearnerConfig

from .protocol import SIM_S_SCALE, LearnerBadge, LearnerSpec, LearnerStep, env_ints

__all__ = ["LeWorldLearner"]


class LeWorldLearner(LearnerSpec):
    """The ``leworld`` role: phases 1-3 then evaluation; badge when LeWorld beats the memory-free baseline."""

    kind = "leworld"
    title = "LeWorld"
    train_actions = ("run_phase",)
    config_type = LeWorldLearnerConfig

    #: Cost model (``LearnerStep.sim_s``, see ``SIM_S_SCALE``), from measured wall seconds (rounded up: LeWorld
    #: is not the critical path): per training epoch (a phase of none still builds the model), per evaluation.
    SIM_S_PER_EPOCH: ClassVar[float] = SIM_S_SCALE * 0.7
    SIM_S_PER_EVALUATION: ClassVar[float] = SIM_S_SCALE * 0.5

    def plan(self) -> list[LearnerStep]:
        epochs = self.config.phase_epochs
        phases = [k for k in (1, 2, 3) if epochs[k - 1] > 0 or k == 1]
        steps = [
            LearnerStep(
                i, "run_phase", {"phase": k}, f"phase {k}", max(1, epochs[k - 1]) * self.SIM_S_PER_EPOCH
            )
            for i, k in enumerate(phases)
        ]
        return steps + [LearnerStep(len(steps), EVALUATE, {}, "evaluate", self.SIM_S_PER_EVALUATION)]

    def badge(self, evaluation: Mapping[str, Any]) -> LearnerBadge | None:
        try:
            ours = float(evaluation["leworld"]["mse"])
            base = float(evaluation["memory_free"]["mse"])
        except (KeyError, TypeError, ValueError):
            return None
        if not ours < base:
            return None
        return LearnerBadge(
            badge_type="pro",
            score=min(1.0, max(0.0, 1.0 - ours / base)),
            reason="beats_memory_free",
            description=(
                f"LeWorld held-out next-state MSE {ours:.4f} < memory-free baseline {base:.4f} "
                f"({self.config.difficulty}, {self.config.num_val} held-out sequences)"
            ),
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> LeWorldLearner:
        """``WMVERSE_SEED``, ``WMVERSE_LEWORLD_EPOCHS`` ("p1,p2,p3"), ``WMVERSE_LEWORLD_SEQUENCES``
        ("train,val"), ``WMVERSE_LEWORLD_DIFFICULTY``, ``WMVERSE_LEWORLD_ORACLE`` (1 to train the oracle)."""
        d = LeWorldLearnerConfig()
        seed = env_ints(environ, "WMVERSE_SEED", (d.seed,))[0]
        epochs = env_ints(environ, "WMVERSE_LEWORLD_EPOCHS", d.phase_epochs)
        n_train, n_val = env_ints(environ, "WMVERSE_LEWORLD_SEQUENCES", (d.num_train, d.num_val))
        difficulty = environ.get("WMVERSE_LEWORLD_DIFFICULTY", "").strip().lower() or d.difficulty
        oracle = environ.get("WMVERSE_LEWORLD_ORACLE", "").strip().lower() in ("1", "true", "yes")
        return cls(
            LeWorldLearnerConfig(
                seed=seed,
                difficulty=difficulty,
                num_train=n_train,
                num_val=n_val,
                phase_epochs=epochs,  # type: ignore[arg-type]
                oracle=oracle,
            )
        )

    def summary_line(self, evaluation: Mapping[str, Any]) -> str:
        lw, mf = evaluation.get("leworld", {}), evaluation.get("memory_free", {})
        line = (
            f"held-out MSE {lw.get('mse', float('nan')):.4f} vs memory-free {mf.get('mse', float('nan')):.4f}"
        )
        if "oracle" in evaluation:
            line += f", oracle {evaluation['oracle']['mse']:.4f}"
        return line + f"; routing entropy {lw.get('routing_entropy', float('nan')):.3f}"
