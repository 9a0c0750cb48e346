"""The Trainer and the Validator of the training world, split into the steps the world runs as actions.

A :class:`TrainingSession` owns the observations, the held-out split, the allocations and the learning-rate
schedule. The world drives it one request at a time: :meth:`begin_epoch`, then it collects every tendency
agent's claims (:meth:`record_claims`) and stakes (:meth:`record_stakes`), then :meth:`resolve` (debate
resolution, reallocation, learning-rate decay, convergence) and :meth:`validate` (held-out observations
only). Claims and stakes come from the agents; everything else is computed here with
:mod:`wmverse.debate`'s own pieces, so the world trains exactly like ``Trainer.train`` does.

Pure Python (no unaiverse): tests drive it directly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from wmverse.debate import (
    DEFAULT_ALLOCATIONS,
    Claim,
    Stake,
    Tendency,
    Validator,
    convergence_tracker,
    load_labels,
    load_observations,
    run_epoch_step,
    shared_judge,
)

from . import codec
from .config import TrainingWorldConfig

__all__ = ["EpochRecord", "ValidationRecord", "BadgeDecision", "TrainingSession"]


@dataclass(frozen=True)
class EpochRecord:
    """What one epoch of debate decided."""

    epoch: int
    """1-based epoch number."""
    learning_rate: float
    """Learning rate used by this epoch's reallocation."""
    winner: Tendency
    """Tendency owning the highest-scoring claim."""
    winning_claim: str
    """Text of the winning claim."""
    claim_scores: dict[Tendency, float]
    """Summed net score of each tendency's claim trees (its claim score)."""
    stakes_pro: dict[Tendency, int]
    """PRO stakes each tendency placed."""
    stakes_con: dict[Tendency, int]
    """CON stakes each tendency placed."""
    n_claims: dict[Tendency, int]
    """Claims each tendency proposed."""
    allocations: dict[Tendency, float]
    """Allocations after reallocation (sum 1, within bounds)."""
    delta: float
    """Sum of absolute allocation changes."""
    converged: bool
    """True when the convergence rule says stop after this epoch."""


@dataclass(frozen=True)
class ValidationRecord:
    """The validator's verdict on the held-out observations after an epoch."""

    epoch: int
    metric: str
    """'accuracy' (against gold labels) or 'agreement' (no labels)."""
    value: float
    n: int
    correct: int
    p_value: float
    ci_low: float
    ci_high: float
    chance: float


@dataclass(frozen=True)
class BadgeDecision:
    """A badge the world decided to award (to the tendency's agent)."""

    tendency: Tendency
    badge_type: str
    score: float
    description: str
    reason: str
    """'converged' or 'validation_significant'."""


@dataclass
class TrainingSession:
    """State of one training run of the world (see the module docstring for the step order)."""

    config: TrainingWorldConfig
    observations: Any = None
    train: Any = None
    val: Any = None
    labels: dict[str, Tendency] | None = None
    allocations: dict[Tendency, float] = field(default_factory=dict)
    learning_rate: float = 0.0
    epoch: int = 0
    history: list[EpochRecord] = field(default_factory=list)
    validations: list[ValidationRecord] = field(default_factory=list)
    converged: bool = False
    _claims: dict[Tendency, list[Claim]] = field(default_factory=dict)
    _stakes: dict[Tendency, list[Stake]] = field(default_factory=dict)
    _tracker: Any = None

    def __post_init__(self) -> None:
        cfg = self.config
        tc = cfg.train
        if self.observations is None:
            self.observations = load_observations(cfg.observations_path)
        if self.labels is None and cfg.labels_path is not None:
            self.labels = load_labels(cfg.labels_path)
        if len(self.observations) < 2:
            raise ValueError(f"training needs at least 2 observations, got {len(self.observations)}")
        self.train, self.val = self.observations.split(tc.validation_split, seed=tc.seed)
        self.allocations = dict(DEFAULT_ALLOCATIONS)
        self.learning_rate = tc.initial_lr
        self._tracker = convergence_tracker(tc)

    @property
    def judge(self) -> Any:
        """The world's judge (validation), prepared on the training texts like the agents' judges."""
        return shared_judge(self.config.train.judge, self.train.texts)

    def request_settings(self) -> dict[str, Any]:
        """The proposal settings every propose request carries (from the TrainConfig)."""
        tc = self.config.train
        return {
            "seed": tc.seed,
            "judge": tc.judge,
            "claims_per_agent": tc.claims_per_agent,
            "evidence_per_claim": tc.evidence_per_claim,
            "exploration": tc.exploration,
        }

    # -- protocol ----------------------------------------------------------------------------------------
    @property
    def tendencies(self) -> tuple[Tendency, ...]:
        """All tendencies, in the fixed order every loop of the world uses."""
        return tuple(Tendency)

    def training_payload(self) -> list[dict[str, str]]:
        """Training observations as sent to agents: id, content, source only (metadata and labels stay here)."""
        return codec.observations_payload(self.train)

    @property
    def finished(self) -> bool:
        """True once training converged or ran ``max_epochs`` epochs."""
        return self.converged or (
            self.epoch >= self.config.train.max_epochs and len(self.history) >= self.epoch
        )

    def begin_epoch(self) -> int:
        """Start the next epoch (clears the collected claims and stakes); returns its 1-based number."""
        if self.finished:
            raise RuntimeError("training already finished")
        self.epoch += 1
        self._claims = {}
        self._stakes = {}
        return self.epoch

    def record_claims(self, tendency: Tendency, claims: Sequence[Claim]) -> None:
        """Store the claims ``tendency``'s agent proposed this epoch (each must be of that tendency)."""
        for c in claims:
            if c.tendency is not tendency:
                raise ValueError(f"agent {tendency.value} proposed a claim of {c.tendency.value}: {c.id}")
        self._claims[tendency] = list(claims)

    def has_all_claims(self) -> bool:
        """True when every tendency proposed this epoch."""
        return all(t in self._claims for t in self.tendencies)

    def all_claims(self) -> list[Claim]:
        """Every claim of the epoch, tendencies in fixed order."""
        return [c for t in self.tendencies for c in self._claims.get(t, [])]

    def record_stakes(self, tendency: Tendency, stakes: Sequence[Stake]) -> None:
        """Store ``tendency``'s stakes for this epoch (each must be placed by that tendency)."""
        for s in stakes:
            if s.agent is not tendency:
                raise ValueError(f"agent {tendency.value} sent a stake of {s.agent.value}")
        self._stakes[tendency] = list(stakes)

    def has_all_stakes(self) -> bool:
        """True when every tendency staked this epoch."""
        return all(t in self._stakes for t in self.tendencies)

    def resolve(self) -> EpochRecord:
        """Resolve the debate, reallocate, decay the learning rate and check convergence: the library's one
        epoch step (:func:`wmverse.debate.run_epoch_step`) on the claims and stakes the agents sent."""
        if not (self.has_all_claims() and self.has_all_stakes()):
            missing = [t.value for t in self.tendencies if t not in self._claims or t not in self._stakes]
            raise RuntimeError(f"cannot resolve epoch {self.epoch}: missing claims/stakes of {missing}")
        claims = self.all_claims()
        stakes = [s for t in self.tendencies for s in self._stakes[t]]
        tc = self.config.train
        step = run_epoch_step(claims, stakes, self.allocations, self.learning_rate, tc, self._tracker)
        self.allocations = dict(step.allocations)
        self.learning_rate = step.next_learning_rate
        self.converged = step.converged
        rec = EpochRecord(
            epoch=self.epoch,
            learning_rate=step.learning_rate,
            winner=step.winner,
            winning_claim=step.winning_claim_text,
            claim_scores=step.claim_scores,
            stakes_pro=step.stakes_pro,
            stakes_con=step.stakes_con,
            n_claims=step.n_claims,
            allocations=dict(step.allocations),
            delta=step.delta,
            converged=step.converged,
        )
        self.history.append(rec)
        return rec

    def validate(self) -> ValidationRecord:
        """Judge the held-out observations with the current claims and allocations."""
        validator = Validator(self.judge, prior_weight=self.config.train.prior_weight)
        res = validator.validate(self.val, self.all_claims(), self.allocations, self.labels)
        rec = ValidationRecord(epoch=self.epoch, **res.to_json())
        self.validations.append(rec)
        return rec

    # -- badges -----------------------------------------------------------------------------------------
    def badge_decisions(self, when: str) -> list[BadgeDecision]:
        """Badges the world awards at the end: converged training (every tendency agent, 'completed', score =
        1 - last delta / threshold clipped to [0, 1]) and significant validation (p < significance: the
        agent of the last epoch's winner, 'pro', score = accuracy). ``when`` is a timestamp string for the
        description."""
        out: list[BadgeDecision] = []
        if self.converged and self.history:
            last = self.history[-1]
            score = min(1.0, max(0.0, 1.0 - last.delta / max(self.config.train.convergence_threshold, 1e-12)))
            for t in self.tendencies:
                out.append(
                    BadgeDecision(
                        tendency=t,
                        badge_type="completed",
                        score=score,
                        reason="converged",
                        description=(
                            f"Training converged at epoch {last.epoch} (allocation delta {last.delta:.4f} < "
                            f"{self.config.train.convergence_threshold}); final allocation of {t.value} "
                            f"{self.allocations[t]:.3f}; awarded {when}"
                        ),
                    )
                )
        if self.validations and self.history:
            v = self.validations[-1]
            if v.p_value < self.config.significance:
                w = self.history[-1].winner
                out.append(
                    BadgeDecision(
                        tendency=w,
                        badge_type="pro",
                        score=min(1.0, max(0.0, v.value)),
                        reason="validation_significant",
                        description=(
                            f"Validation significant at epoch {v.epoch}: {v.metric} {v.value:.1%} on {v.n} "
                            f"held-out observations vs chance {v.chance:.1%}, p={v.p_value:.2e} < "
                            f"{self.config.significance}; winner {w.value}; awarded {when}"
                        ),
                    )
                )
        return out
