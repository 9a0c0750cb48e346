"""Pure functions of the debate's training dynamics and statistics.

Reallocation (move toward normalised scores, clip, renormalise), the convergence /
patience rule, the learning-rate schedule, the exact one-sided binomial test and the
Clopper-Pearson interval. No state, no randomness, no I/O.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .tendency import TENDENCY_ORDER, Tendency

__all__ = [
    "ConvergenceTracker",
    "binomial_test_greater",
    "clopper_pearson",
    "learning_rate_at",
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
    """The seed's convergence delta: ``sum(|change|)`` over tendencies."""
    return float(sum(abs(v) for v in changes.values()))


def learning_rate_at(epoch: int, initial_lr: float, lr_decay: float) -> float:
    """Learning rate of 1-based ``epoch``: ``initial_lr * lr_decay ** (epoch - 1)``."""
    return initial_lr * lr_decay ** (epoch - 1)


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


def _log_binom_pmf(ks: np.ndarray, n: int, p: float) -> np.ndarray:
    from scipy.special import gammaln

    log_coef = gammaln(n + 1.0) - gammaln(ks + 1.0) - gammaln(n - ks + 1.0)
    with np.errstate(divide="ignore"):
        return log_coef + ks * np.log(p) + (n - ks) * np.log1p(-p)


def binomial_test_greater(k: int, n: int, p: float) -> float:
    """Exact one-sided p-value ``P(X >= k)`` for ``X ~ Binomial(n, p)``."""
    if n < 0 or not 0 <= k or not 0.0 <= p <= 1.0:
        raise ValueError(f"invalid binomial test k={k}, n={n}, p={p}")
    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    if p in (0.0, 1.0):
        return float(p == 1.0)
    logs = _log_binom_pmf(np.arange(k, n + 1, dtype=np.float64), n, p)
    m = logs.max()
    return float(min(1.0, math.exp(m) * np.exp(logs - m).sum()))


def _binomial_cdf(k: int, n: int, p: float) -> float:
    """``P(X <= k)``."""
    return 1.0 - binomial_test_greater(k + 1, n, p)


def clopper_pearson(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper-Pearson) two-sided interval for a binomial proportion, by bisection."""
    if n <= 0:
        return 0.0, 1.0
    alpha = 1.0 - confidence

    def solve(f, target: float) -> float:  # f increasing in p
        lo, hi = 0.0, 1.0
        for _ in range(80):
            mid = 0.5 * (lo + hi)
            if f(mid) < target:
                lo = mid
            else:
                hi = mid
        return 0.5 * (lo + hi)

    lower = 0.0 if k == 0 else solve(lambda q: binomial_test_greater(k, n, q), alpha / 2)
    upper = 1.0 if k == n else solve(lambda q: 1.0 - _binomial_cdf(k, n, q), 1.0 - alpha / 2)
    return lower, upper
