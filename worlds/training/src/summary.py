"""The end-of-run report of the training world (printed by the runtime through ``WWorld.summary()``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from wmverse.debate import DEFAULT_ALLOCATIONS

__all__ = ["badge_order", "format_summary"]


def badge_order(badge: dict[str, Any]) -> tuple:
    """Learners' badges first, then the tendencies', each by name and type: the order of the summary, the
    same however the agents' suggestions interleaved on their way to the world."""
    return ("tendency" in badge, str(badge.get("tendency") or badge.get("learner")), str(badge["badge_type"]))


def format_summary(session: Any, badges: Sequence[dict[str, Any]]) -> str:
    """Allocation table (start -> end), validation (value, CI, p-value), convergence and badges.

    The stats database and dashboard paths are printed by the runtime, for every world.
    """
    lines = ["=" * 64, "TRAINING WORLD SUMMARY", "=" * 64]
    tc = session.config.train
    status = (
        "converged"
        if session.converged
        else ("max epochs reached" if session.finished else "stopped before the end of training")
    )
    lines.append(
        f"Epochs run: {session.epoch} / {tc.max_epochs} ({status}); judge: {tc.judge}; seed: {tc.seed}"
    )
    lines.append(f"Observations: {len(session.train)} train, {len(session.val)} held out")
    lines.append("")
    lines.append(f"{'Tendency':<12} {'start':>7} {'final':>7} {'change':>8}  {'epochs won':>10}")
    wins: dict[Any, int] = {}
    for rec in session.history:
        wins[rec.winner] = wins.get(rec.winner, 0) + 1
    for t in session.tendencies:
        a0, a1 = DEFAULT_ALLOCATIONS[t], session.allocations[t]
        lines.append(f"{t.value:<12} {a0:7.3f} {a1:7.3f} {a1 - a0:+8.3f}  {wins.get(t, 0):>10}")
    lines.append("")
    if session.validations:
        v = session.validations[-1]
        lines.append(
            f"Validation ({v.metric}, held-out only): {v.value:.1%} ({v.correct}/{v.n}), "
            f"95% CI [{v.ci_low:.1%}, {v.ci_high:.1%}], chance {v.chance:.1%}, p={v.p_value:.3g}"
        )
    else:
        lines.append("Validation: not run")
    lines.append("")
    if badges:
        lines.append(f"Badges ({len(badges)}):")
        for b in sorted(badges, key=badge_order):
            lines.append(
                f"  [{b['badge_type']}] {b.get('tendency') or b.get('learner')} score={b['score']:.2f}: {b['description']}"
            )
    else:
        lines.append("Badges: none (training did not converge and validation was not significant)")
    return "\n".join(lines)
