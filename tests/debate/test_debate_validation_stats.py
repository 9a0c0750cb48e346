"""The held-out validation statistics against values computed by hand (exact rational sums)."""

from fractions import Fraction
from math import comb

import pytest

from wmverse.debate import binomial_test_greater, clopper_pearson


def _tail(k: int, n: int, p: Fraction) -> Fraction:
    """P(X >= k) for X ~ Binomial(n, p), exactly."""
    return sum((comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k, n + 1)), Fraction(0))


def test_p_value_of_14_of_28_against_one_seventh():
    # sum_{i=14}^{28} C(28, i) (1/7)^i (6/7)^(28-i)
    #   = 3707605408794244513 / 459986536544739960976801 = 8.0602476686481e-06
    exact = Fraction(3707605408794244513, 459986536544739960976801)
    assert _tail(14, 28, Fraction(1, 7)) == exact
    assert binomial_test_greater(14, 28, 1 / 7) == pytest.approx(8.0602476686481e-06, rel=1e-9)


@pytest.mark.parametrize("k, n", [(1, 28), (4, 28), (5, 28), (10, 28), (28, 28), (3, 5)])
def test_p_values_equal_exact_binomial_tails(k, n):
    assert binomial_test_greater(k, n, 1 / 7) == pytest.approx(float(_tail(k, n, Fraction(1, 7))), rel=1e-9)


def test_p_value_edge_cases():
    assert binomial_test_greater(0, 10, 0.5) == 1.0
    assert binomial_test_greater(0, 0, 0.5) == 1.0
    assert binomial_test_greater(10, 10, 0.5) == pytest.approx(0.5**10)
    assert binomial_test_greater(1, 10, 0.5) == pytest.approx(1 - 0.5**10)
    assert binomial_test_greater(11, 10, 0.5) == 0.0
    for bad in [(1, 10, 1.5), (-1, 10, 0.5), (1, -1, 0.5)]:
        with pytest.raises(ValueError):
            binomial_test_greater(*bad)


def test_clopper_pearson_closed_forms_at_the_ends():
    # k = 0: (0, 1 - (alpha/2)^(1/n)); k = n: ((alpha/2)^(1/n), 1)
    lo, hi = clopper_pearson(0, 28)
    assert lo == 0.0 and hi == pytest.approx(1 - 0.025 ** (1 / 28), rel=1e-9)
    lo, hi = clopper_pearson(28, 28)
    assert lo == pytest.approx(0.025 ** (1 / 28), rel=1e-9) and hi == 1.0
    assert clopper_pearson(0, 0) == (0.0, 1.0)


@pytest.mark.parametrize("k, n", [(14, 28), (4, 28), (13, 28), (45, 165)])
def test_clopper_pearson_solves_its_defining_equations(k, n):
    lo, hi = clopper_pearson(k, n)
    assert 0 < lo < k / n < hi < 1
    # P(X >= k | lo) = 0.025 and P(X <= k | hi) = 0.025, evaluated exactly
    assert float(_tail(k, n, Fraction(lo))) == pytest.approx(0.025, rel=1e-7)
    assert float(1 - _tail(k + 1, n, Fraction(hi))) == pytest.approx(0.025, rel=1e-7)


def test_clopper_pearson_of_half_is_symmetric_and_known():
    lo, hi = clopper_pearson(14, 28)
    assert lo == pytest.approx(1 - hi, abs=1e-12)
    assert (round(lo, 4), round(hi, 4)) == (0.3065, 0.6935)
    lo90, hi90 = clopper_pearson(14, 28, confidence=0.90)
    assert lo < lo90 < hi90 < hi
