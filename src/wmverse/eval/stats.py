"""Statistics over seeds for ``wmverse eval``: one interval and one pair of paired tests for every model.

Every harness hands back one number per seed and arm; these functions turn them into the mean
with its 95% Student-t interval and a paired comparison of the trained model with a baseline.
The maths is that of :mod:`wmverse.debate.baselines` (``mean_interval``, ``paired_greater``),
used here for every model, so all rows of the table are tested the same way:

* ``diff`` is always ``trained - baseline`` (in the metric's units);
* the p-values are one-sided, for "the trained model is better than the baseline": higher for
  accuracies and returns, lower for errors (Wilcoxon signed-rank with zero differences dropped,
  and the paired t-test; 1.0 where a test is undefined, e.g. all differences zero);
* ``wins`` / ``losses`` / ``ties`` count seeds where the trained model is better / worse / equal.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

__all__ = ["compare", "finite_or_none", "summarise"]


def summarise(values: Sequence[float]) -> dict[str, Any]:
    """``{"mean", "ci_low", "ci_high", "per_seed"}``: the mean with its 95% Student-t interval
    (``ci_low = ci_high = mean`` for one value)."""
    from wmverse.debate.baselines import mean_interval

    values = [float(v) for v in values]
    if not values:
        raise ValueError("summarise needs at least one value")
    mean, low, high = mean_interval(values)
    return {"mean": mean, "ci_low": low, "ci_high": high, "per_seed": values}


def compare(trained: Sequence[float], baseline: Sequence[float], higher_is_better: bool) -> dict[str, Any]:
    """Paired comparison of ``trained`` with ``baseline`` (one pair per seed), as in the module doc.

    Returns ``{"diff", "diff_ci_low", "diff_ci_high", "wins", "losses", "ties", "p_wilcoxon",
    "p_t", "p_sign", "alternative"}`` where ``alternative`` names the one-sided hypothesis tested
    on the raw values (``"trained > baseline"`` or ``"trained < baseline"``).
    """
    from wmverse.debate.baselines import paired_greater

    if len(trained) != len(baseline):
        raise ValueError(f"paired samples differ in length: {len(trained)} vs {len(baseline)}")
    if not trained:
        raise ValueError("compare needs at least one pair")
    better, worse = (trained, baseline) if higher_is_better else (baseline, trained)
    p = paired_greater(better, worse)  # its differences: better - worse
    sign = 1.0 if higher_is_better else -1.0
    low, high = sign * p["diff_ci_low"], sign * p["diff_ci_high"]
    return {
        "diff": sign * p["mean_diff"],
        "diff_ci_low": min(low, high),
        "diff_ci_high": max(low, high),
        "wins": p["wins"],
        "losses": p["losses"],
        "ties": p["ties"],
        "p_wilcoxon": p["p_wilcoxon"],
        "p_t": p["p_t"],
        "p_sign": p["p_sign"],
        "alternative": "trained > baseline" if higher_is_better else "trained < baseline",
    }


def finite_or_none(x: Any) -> Any:
    """``x`` with every non-finite float (NaN, inf) replaced by ``None``, recursively: strict JSON."""
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {k: finite_or_none(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [finite_or_none(v) for v in x]
    return x
