"""Training: epochs of adversarial debate with held-out validation and early stopping.

Each epoch the agents propose and stake on the training split, then
:func:`~.epoch.run_epoch_step` resolves, reallocates, checks convergence and decays the
learning rate: the same step the training world runs, so both compute the same numbers.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .agents import AgentPool
from .arena import DebateResult
from .epoch import convergence_tracker, run_epoch_step
from .judge_factory import make_judge
from .judges import Judge, VectorJudge
from .observations import ObservationStore
from .ownership import calibration_offsets, pool_claims
from .scoring import total_change
from .tendency import Tendency
from .train_config import TrainConfig
from .validation import ValidationResult, Validator

__all__ = ["EpochMetrics", "TrainConfig", "TrainHistory", "Trainer"]


@dataclass
class EpochMetrics:
    """What one epoch did, plus its wall time."""

    epoch: int
    learning_rate: float
    winner: Tendency | None
    winning_score: float
    scores: dict[Tendency, float]
    allocations: dict[Tendency, float]
    allocation_changes: dict[Tendency, float]
    total_stakes: int
    seconds: float = field(default=0.0, compare=False)

    @property
    def delta(self) -> float:
        """sum(|allocation change|), the convergence quantity."""
        return total_change(self.allocation_changes)

    def to_json(self) -> dict[str, Any]:
        """JSON-able dict with tendency names as keys."""
        return {
            "epoch": self.epoch,
            "learning_rate": self.learning_rate,
            "winner": self.winner.value if self.winner else None,
            "winning_score": self.winning_score,
            "scores": {t.value: v for t, v in self.scores.items()},
            "allocations": {t.value: v for t, v in self.allocations.items()},
            "allocation_changes": {t.value: v for t, v in self.allocation_changes.items()},
            "delta": self.delta,
            "total_stakes": self.total_stakes,
        }


@dataclass
class TrainHistory:
    """The run: ``best_epoch`` has the best validation value (informational only; the
    agents keep the last epoch's state, because choosing an epoch on held-out data would
    make the reported figure optimistic)."""

    epochs_run: int
    converged: bool
    best_epoch: int
    metrics: list[EpochMetrics] = field(default_factory=list)
    validation_results: list[ValidationResult] = field(default_factory=list)


class Trainer:
    """Runs :class:`TrainConfig` epochs of debate on the training split, validating each epoch.

    A vector judge is used with ``config.descriptions`` (a twin of the given judge when its
    own differ, sharing its embedding cache); predict with :attr:`judge` afterwards.
    """

    def __init__(self, config: TrainConfig | None = None, judge: Judge | None = None):
        self.config = config or TrainConfig()
        base = judge if judge is not None else make_judge(self.config.judge)
        if isinstance(base, VectorJudge):
            base = base.with_descriptions(self.config.descriptions)
        self.judge = base

    def _split_observations(
        self, observations: ObservationStore, fraction: float
    ) -> tuple[ObservationStore, ObservationStore]:
        """(train, validation) split seeded by ``config.seed``."""
        return observations.split(fraction, seed=self.config.seed)

    def train(
        self,
        observations: ObservationStore,
        agents: AgentPool,
        logger: Any = None,
        verbose: bool = False,
        labels: dict[str, Tendency] | None = None,
    ) -> tuple[TrainHistory, DebateResult]:
        """Train ``agents`` in place; returns ``(history, last DebateResult)``.

        ``labels`` (or ``metadata["tendency"]``) are used by validation only. With
        ``verbose`` and no logger, a :class:`~.loggers.ConsoleLogger` is used. With
        ``config.calibration == "mean"`` the judge's per-tendency bias is re-estimated on the
        training texts before each staking round (the debate's ownership margins use it) and
        stored on the agents for prediction (:mod:`.ownership`).
        """
        from .loggers import ConsoleLogger, ProgressPrinter

        cfg = self.config
        if len(observations) < 2:
            raise ValueError(f"training needs at least 2 observations, got {len(observations)}")
        if logger is None and verbose:
            logger = ConsoleLogger()
        progress = ProgressPrinter(cfg.max_epochs) if verbose else None
        rng = np.random.default_rng(cfg.seed)
        train_store, val_store = self._split_observations(observations, cfg.validation_split)
        self.judge.prepare(train_store.texts)
        agents.configure(cfg.claims_per_agent, cfg.evidence_per_claim, cfg.exploration)
        pooled = cfg.claim_pooling == "pooled"
        calibrate = cfg.calibration == "mean"
        validator = Validator(self.judge, prior_weight=cfg.prior_weight, pooled=pooled)
        texts = train_store.texts
        offsets = calibration_offsets(self.judge, texts, []) if calibrate else None
        agents.set_offsets([0.0] * len(agents))
        tracker = convergence_tracker(cfg)
        if logger is not None:
            logger.on_train_start(cfg, {"n_train": len(train_store), "n_validation": len(val_store)})
        history = TrainHistory(epochs_run=0, converged=False, best_epoch=0)
        result: DebateResult | None = None
        best_value = -1.0
        lr = cfg.initial_lr
        for epoch in range(1, cfg.max_epochs + 1):
            start = time.perf_counter()
            claims = [c for agent in agents for c in agent.propose(train_store, self.judge, rng, offsets)]
            if calibrate:
                offsets = calibration_offsets(self.judge, texts, claims)
            stakes = [s for agent in agents for s in agent.stake(train_store, claims, self.judge, offsets)]
            step = run_epoch_step(claims, stakes, agents.allocations(), lr, cfg, tracker)
            agents.set_allocations(step.allocations)
            if calibrate:
                agents.set_offsets(
                    calibration_offsets(self.judge, texts, pool_claims(claims) if pooled else claims)
                )
            result = step.debate
            val = validator.validate(val_store, result.claims, agents, labels) if len(val_store) else None
            metrics = EpochMetrics(
                epoch=epoch,
                learning_rate=step.learning_rate,
                winner=result.winner,
                winning_score=result.winning_score,
                scores=dict(result.scores),
                allocations=dict(result.allocations),
                allocation_changes=dict(result.allocation_changes),
                total_stakes=result.total_stakes,
                seconds=time.perf_counter() - start,
            )
            history.metrics.append(metrics)
            history.epochs_run = epoch
            if val is not None:
                history.validation_results.append(val)
                if val.value > best_value:
                    best_value, history.best_epoch = val.value, epoch
            elif history.best_epoch == 0:
                history.best_epoch = epoch
            if logger is not None:
                logger.log_epoch(metrics, val)
            if progress is not None:
                progress(metrics, val, tracker)
            if step.converged:
                break
            lr = step.next_learning_rate
        history.converged = tracker.converged
        if logger is not None:
            logger.on_train_end(history, result)
        assert result is not None
        return history, result
