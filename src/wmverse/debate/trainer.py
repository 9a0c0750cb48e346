"""Training: epochs of adversarial debate with held-out validation and early stopping.

The loop reuses the step functions the training world calls one by one
(:meth:`Arena.run_full_debate`, :class:`~.dynamics.ConvergenceTracker`,
:func:`~.dynamics.learning_rate_at`); there is no second implementation.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np

from .agents import AgentPool
from .arena import Arena, DebateResult
from .dynamics import ConvergenceTracker, learning_rate_at, total_change
from .judges import Judge, make_judge
from .observations import ObservationStore
from .tendency import Tendency
from .validation import ValidationResult, Validator

__all__ = ["EpochMetrics", "TrainConfig", "TrainHistory", "Trainer"]


@dataclass
class TrainConfig:
    """Training settings (the seed's fields first, then this implementation's)."""

    max_epochs: int = 10
    """Maximum training rounds; more = finer calibration (and more judge calls)."""
    min_epochs: int = 2
    """Minimum epochs before early stopping may trigger."""
    convergence_threshold: float = 0.005
    """An epoch is calm when sum(|allocation change|) < this; lower = stricter."""
    patience: int = 3
    """Consecutive calm epochs needed before stopping."""
    initial_lr: float = 0.15
    """Starting learning rate (blend weight toward the normalised scores); higher = faster, noisier."""
    lr_decay: float = 0.9
    """Learning rate multiplier after each epoch; lower = more aggressive decay."""
    validation_split: float = 0.2
    """Fraction of observations held out for validation (never used in debate)."""
    min_allocation: float = 0.03
    """Allocation floor for every tendency."""
    max_allocation: float = 0.50
    """Allocation ceiling for every tendency."""
    seed: int = 0
    """Seed of the train/validation split and of the agents' exploration noise."""
    judge: str = "embedding"
    """Judge used when the Trainer is not given one: lexical, embedding or llm."""
    claims_per_agent: int = 3
    """Claims each agent proposes per epoch."""
    evidence_per_claim: int = 4
    """Training observations grounding each claim."""
    exploration: float = 0.01
    """Scale of the Gumbel noise agents add when choosing evidence (0 = greedy)."""
    prior_weight: float = 0.0
    """Weight of log(7 * allocation) added to ownership scores when predicting."""

    def __post_init__(self) -> None:
        problems = []
        if self.max_epochs < 1:
            problems.append("max_epochs must be >= 1")
        if not 0 <= self.min_epochs <= self.max_epochs:
            problems.append("min_epochs must be in [0, max_epochs]")
        if self.convergence_threshold < 0:
            problems.append("convergence_threshold must be >= 0")
        if self.patience < 1:
            problems.append("patience must be >= 1")
        if not 0 <= self.initial_lr <= 1:
            problems.append("initial_lr must be in [0, 1]")
        if not 0 < self.lr_decay <= 1:
            problems.append("lr_decay must be in (0, 1]")
        if not 0 <= self.validation_split < 1:
            problems.append("validation_split must be in [0, 1)")
        if not (0 <= self.min_allocation <= 1 / 7 <= self.max_allocation <= 1):
            problems.append("need 0 <= min_allocation <= 1/7 <= max_allocation <= 1")
        if self.claims_per_agent < 1 or self.evidence_per_claim < 1:
            problems.append("claims_per_agent and evidence_per_claim must be >= 1")
        if self.exploration < 0 or self.prior_weight < 0:
            problems.append("exploration and prior_weight must be >= 0")
        if problems:
            raise ValueError("invalid TrainConfig: " + "; ".join(problems))

    def to_json(self) -> dict[str, Any]:
        """Plain dict of every field."""
        return asdict(self)

    @classmethod
    def field_docs(cls) -> dict[str, str]:
        """Field name -> its one-line doc (parsed from this class's source)."""
        import inspect

        docs: dict[str, str] = {}
        lines = inspect.getsource(cls).splitlines()
        names = {f.name for f in fields(cls)}
        for i, line in enumerate(lines[:-1]):
            name = line.strip().split(":")[0]
            if name in names and lines[i + 1].strip().startswith('"""'):
                docs[name] = lines[i + 1].strip().strip('"')
        return docs


@dataclass
class EpochMetrics:
    """What one epoch did (the seed's fields, plus wall time)."""

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
    """Runs :class:`TrainConfig` epochs of debate on the training split, validating each epoch."""

    def __init__(self, config: TrainConfig | None = None, judge: Judge | None = None):
        self.config = config or TrainConfig()
        self.judge = judge if judge is not None else make_judge(self.config.judge)

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
        ``verbose`` and no logger, a :class:`~.loggers.ConsoleLogger` is used.
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
        arena = Arena(self.judge, cfg.min_allocation, cfg.max_allocation, seed=cfg.seed)
        validator = Validator(self.judge, prior_weight=cfg.prior_weight)
        tracker = ConvergenceTracker(cfg.convergence_threshold, cfg.patience, cfg.min_epochs)
        if logger is not None:
            logger.on_train_start(cfg, {"n_train": len(train_store), "n_validation": len(val_store)})
        history = TrainHistory(epochs_run=0, converged=False, best_epoch=0)
        result: DebateResult | None = None
        best_value = -1.0
        for epoch in range(1, cfg.max_epochs + 1):
            start = time.perf_counter()
            lr = learning_rate_at(epoch, cfg.initial_lr, cfg.lr_decay)
            _, result = arena.run_full_debate(train_store, agents, lr, judge=self.judge, rng=rng)
            val = validator.validate(val_store, result.claims, agents, labels) if len(val_store) else None
            metrics = EpochMetrics(
                epoch=epoch,
                learning_rate=lr,
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
            stop = tracker.update(metrics.delta)
            if progress is not None:
                progress(metrics, val, tracker)
            if stop:
                break
        history.converged = tracker.converged
        if logger is not None:
            logger.on_train_end(history, result)
        assert result is not None
        return history, result
