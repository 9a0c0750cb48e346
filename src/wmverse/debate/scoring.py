"""The debate's scoring and allocation maths.

Score normalisation, reallocation (move toward the normalised scores, clip,
renormalise), the allocation delta, the learning-rate decay and the convergence /
patience rule. No randomness, no I/O (the statistics of held-out validation live in
:mod:`.validation`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .tendency import TENDENCY_ORDER, Tendency

__all__ = [
    "ConvergenceTracker",
    "learning_rate_at",
    "next_learning_rate",
    "normalise_scores",
    "project_allocations",
    "reallocate",
    "total_change",
]


def normalise_scores(scores: dict[Tendency, float]) -> dict[Tendency, float]:
    """Scores as shares of 1: negative scores count as 0; all <= 0 gives equal shares."""
    s = np.array([max(float(scores.get(t, 0.0)), 0.0) for t in TENDENCY_ORDER])
    total = s.sum()
    shares = s / total if total > 0 else np.full(len(s), 1.0 / len(s))
    return dict(zip(TENDENCY_ORDER, shares.tolist(), strict=True))


def project_allocations(values: np.ndarray, lo: float, hi: float, tol: float = 1e-12) -> np.ndarray:
    """Clip ``values`` to ``[lo, hi]`` and renormalise to sum 1 without leaving the bounds.

    Water-filling: clip, then rescale only the entries that can still move in the needed
    direction, re-clip, and repeat; every round pins at least one more entry to a bound,
    so at most ``len(values)`` rounds run. Requires ``n * lo <= 1 <= n * hi``.
    """
    a = np.asarray(values, dtype=np.float64).copy()
    n = a.size
    if not (0.0 <= lo <= hi) or n * lo > 1 + tol or n * hi < 1 - tol:
        raise ValueError(f"infeasible bounds [{lo}, {hi}] for {n} allocations that must sum to 1")
    a = np.clip(np.nan_to_num(a, nan=0.0), lo, hi)
    for _ in range(n + 1):
        total = a.sum()
        if abs(total - 1.0) <= tol:
            break
        movable = a > lo + tol if total > 1.0 else a < hi - tol
        fixed_mass = a[~movable].sum()
        free_mass = a[movable].sum()
        if free_mass <= tol:  # only zeros can move (lo == 0): share the gap equally
            a[movable] += (1.0 - total) / max(int(movable.sum()), 1)
        else:
            a[movable] *= (1.0 - fixed_mass) / free_mass
        a = np.clip(a, lo, hi)
    return a / a.sum() if abs(a.sum() - 1.0) > tol else a


def reallocate(
    allocations: dict[Tendency, float],
    scores: dict[Tendency, float],
    lr: float,
    min_allocation: float = 0.03,
    max_allocation: float = 0.50,
) -> dict[Tendency, float]:
    """New allocations ``project((1 - lr) * old + lr * normalise(scores))``.

    The result lies in ``[min_allocation, max_allocation]`` and sums to 1.
    """
    if not 0.0 <= lr <= 1.0:
        raise ValueError(f"learning rate must be in [0, 1], got {lr}")
    target = normalise_scores(scores)
    old = np.array([float(allocations[t]) for t in TENDENCY_ORDER])
    new = (1.0 - lr) * old + lr * np.array([target[t] for t in TENDENCY_ORDER])
    projected = project_allocations(new, min_allocation, max_allocation)
    return dict(zip(TENDENCY_ORDER, projected.tolist(), strict=True))


def total_change(changes: dict[Tendency, float]) -> float:
    """The convergence delta: ``sum(|change|)`` over tendencies."""
    return float(sum(abs(v) for v in changes.values()))


def next_learning_rate(lr: float, lr_decay: float) -> float:
    """The learning rate of the next epoch: ``lr * lr_decay`` (the only decay rule)."""
    return lr * lr_decay


def learning_rate_at(epoch: int, initial_lr: float, lr_decay: float) -> float:
    """Learning rate of 1-based ``epoch``: :func:`next_learning_rate` applied ``epoch - 1``
    times to ``initial_lr`` (the same floats an epoch-by-epoch run produces)."""
    lr = initial_lr
    for _ in range(epoch - 1):
        lr = next_learning_rate(lr, lr_decay)
    return lr


@dataclass
class ConvergenceTracker:
    """Early-stopping rule: stop once ``delta < threshold`` for ``patience`` consecutive
    epochs and at least ``min_epochs`` epochs have run. ``converged`` records that it did.
    """

    threshold: float = 0.005
    patience: int = 3
    min_epochs: int = 2
    epoch: int = 0
    calm_epochs: int = 0
    converged: bool = False

    def update(self, delta: float) -> bool:
        """Record one epoch's delta; return True when training should stop (converged)."""
        self.epoch += 1
        self.calm_epochs = self.calm_epochs + 1 if delta < self.threshold else 0
        self.converged = self.calm_epochs >= max(self.patience, 1) and self.epoch >= self.min_epochs
        return self.converged
