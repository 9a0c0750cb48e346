"""The debate's scoring and allocation maths (wmverse.debate.scoring)."""

import numpy as np
import pytest

from wmverse.debate import (
    DEFAULT_ALLOCATIONS,
    ConvergenceTracker,
    Tendency,
    learning_rate_at,
    next_learning_rate,
    normalise_scores,
    project_allocations,
    reallocate,
    total_change,
)
from wmverse.debate.tendency import TENDENCY_ORDER


def test_default_allocations_and_descriptions():
    assert abs(sum(DEFAULT_ALLOCATIONS.values()) - 1) < 1e-12
    assert DEFAULT_ALLOCATIONS[Tendency.CONNECTION] == 0.20
    assert Tendency.SURVIVAL.value == "survival"
    assert "risk mitigation" in Tendency.SURVIVAL.description


def test_normalise_scores_clips_negatives_and_handles_all_zero():
    shares = normalise_scores({Tendency.SURVIVAL: 3.0, Tendency.STATUS: 1.0, Tendency.MEANING: -5.0})
    assert shares[Tendency.SURVIVAL] == pytest.approx(0.75)
    assert shares[Tendency.MEANING] == 0.0
    flat = normalise_scores({t: -1.0 for t in Tendency})
    assert all(v == pytest.approx(1 / 7) for v in flat.values())


@pytest.mark.parametrize("lo, hi", [(0.03, 0.5), (0.0, 1.0), (0.1, 0.2), (1 / 7, 1 / 7), (0.05, 0.3)])
def test_reallocation_stays_in_bounds_and_sums_to_one(lo, hi):
    rng = np.random.default_rng(0)
    for _ in range(300):
        old = rng.dirichlet(np.full(7, 0.3))
        old = project_allocations(old, lo, hi)
        scores = dict(
            zip(TENDENCY_ORDER, (rng.standard_normal(7) * rng.exponential(5, 7)).tolist(), strict=True)
        )
        new = reallocate(dict(zip(TENDENCY_ORDER, old, strict=True)), scores, rng.uniform(0, 1), lo, hi)
        values = np.array(list(new.values()))
        assert abs(values.sum() - 1) < 1e-9
        assert values.min() >= lo - 1e-9 and values.max() <= hi + 1e-9


def test_reallocation_moves_toward_normalised_scores():
    old = dict(DEFAULT_ALLOCATIONS)
    scores = {t: (10.0 if t is Tendency.CURIOSITY else 1.0) for t in Tendency}
    new = reallocate(old, scores, 0.15, 0.03, 0.5)
    assert new[Tendency.CURIOSITY] > old[Tendency.CURIOSITY]
    # away from the clip region the update is exactly the blend
    target = normalise_scores(scores)
    for t in Tendency:
        assert new[t] == pytest.approx(0.85 * old[t] + 0.15 * target[t])
    assert reallocate(old, scores, 0.0, 0.03, 0.5) == pytest.approx(old)


def test_water_filling_renormalises_without_breaking_the_ceiling():
    # one winner takes everything: the ceiling must hold and the rest share the remainder
    out = project_allocations(np.array([0.94, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01]), 0.03, 0.5)
    assert out[0] == pytest.approx(0.5)
    assert out[1:] == pytest.approx(np.full(6, 0.5 / 6))
    assert out.sum() == pytest.approx(1.0)
    # naive clip-then-divide would push entries back below the floor
    out = project_allocations(np.array([0.0, 0.0, 0.0, 0.0, 0.0, 0.5, 0.5]), 0.1, 0.4)
    assert out.min() >= 0.1 - 1e-12 and out.max() <= 0.4 + 1e-12 and out.sum() == pytest.approx(1.0)


def test_infeasible_bounds_and_bad_lr_are_rejected():
    with pytest.raises(ValueError, match="infeasible"):
        project_allocations(np.full(7, 1 / 7), 0.2, 0.5)
    with pytest.raises(ValueError, match="learning rate"):
        reallocate(dict(DEFAULT_ALLOCATIONS), {}, 1.5)


def test_convergence_needs_patience_and_min_epochs():
    tracker = ConvergenceTracker(threshold=0.01, patience=2, min_epochs=4)
    # calm, calm (patience met) but min_epochs not yet reached
    assert [tracker.update(d) for d in (0.001, 0.001, 0.001)] == [False, False, False]
    assert tracker.update(0.001) is True and tracker.converged
    tracker = ConvergenceTracker(threshold=0.01, patience=3, min_epochs=0)
    # a noisy epoch resets the patience counter
    assert [tracker.update(d) for d in (0.001, 0.001, 0.5, 0.001, 0.001, 0.001)] == [False] * 5 + [True]
    assert not ConvergenceTracker(threshold=0.0).update(0.0)  # delta < 0 never happens


def test_learning_rate_decays_iteratively_and_delta():
    assert next_learning_rate(0.15, 0.9) == 0.15 * 0.9
    assert learning_rate_at(1, 0.15, 0.9) == 0.15
    # the same floats as an epoch-by-epoch run (lr = lr * decay), not initial * decay ** k
    assert learning_rate_at(3, 0.15, 0.9) == 0.15 * 0.9 * 0.9
    lr = 0.15
    for epoch in range(1, 12):
        assert learning_rate_at(epoch, 0.15, 0.9) == lr
        lr = next_learning_rate(lr, 0.9)
    assert total_change({Tendency.SURVIVAL: -0.02, Tendency.STATUS: 0.03}) == pytest.approx(0.05)
