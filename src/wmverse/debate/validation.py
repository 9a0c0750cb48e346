"""Held-out validation of a trained debate model.

Only observations held out of the debate are scored. With gold labels (a labels mapping, or ``metadata["tendency"]`` on the observations) the
metric is **accuracy**: how often the trained model's owner equals the gold tendency.
Without labels it is **agreement**: how often the trained model's owner equals the
judge's untrained, description-only owner; this measures consistency, not correctness.
Either way the p-value is an exact one-sided binomial test against chance 1/7, with a
95% Clopper-Pearson interval (both from :func:`scipy.stats.binomtest`). Labels are read
here and nowhere in training.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from .agents import AgentPool
from .claims import Claim
from .judges import Judge
from .observations import Observation, ObservationStore
from .ownership import predict_owners
from .tendency import Tendency, parse_tendency

__all__ = [
    "CHANCE",
    "ValidationResult",
    "Validator",
    "binomial_test_greater",
    "clopper_pearson",
    "gold_labels",
]

#: Chance level of guessing one of seven tendencies.
CHANCE = 1.0 / 7.0


def binomial_test_greater(k: int, n: int, p: float) -> float:
    """Exact one-sided p-value ``P(X >= k)`` for ``X ~ Binomial(n, p)``.

    ``k <= 0`` gives 1 and ``k > n`` gives 0; otherwise
    ``scipy.stats.binomtest(k, n, p, alternative="greater").pvalue``.
    """
    if n < 0 or k < 0 or not 0.0 <= p <= 1.0:
        raise ValueError(f"invalid binomial test k={k}, n={n}, p={p}")
    if k == 0:
        return 1.0
    if k > n:
        return 0.0
    from scipy.stats import binomtest

    return float(binomtest(k, n, p, alternative="greater").pvalue)


def clopper_pearson(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper-Pearson) two-sided interval for ``k`` successes in ``n`` trials;
    ``(0, 1)`` when ``n`` is 0."""
    if n <= 0:
        return 0.0, 1.0
    if not 0 <= k <= n:
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")
    from scipy.stats import binomtest

    ci = binomtest(k, n).proportion_ci(confidence_level=confidence, method="exact")
    return float(ci.low), float(ci.high)


@dataclass
class ValidationResult:
    """One validation. ``value`` is the accuracy or agreement named by ``metric``;
    ``accuracy`` is an alias of ``value`` (check ``metric`` for what it measures).
    """

    metric: str
    n: int
    correct: int
    p_value: float
    ci_low: float
    ci_high: float
    chance: float = CHANCE
    predictions: dict[str, Tendency] = field(default_factory=dict, repr=False)

    @property
    def value(self) -> float:
        """Fraction correct (accuracy) or agreeing (agreement); 0 when ``n`` is 0."""
        return self.correct / self.n if self.n else 0.0

    @property
    def accuracy(self) -> float:
        """Alias of :attr:`value`; see :attr:`metric`."""
        return self.value

    def to_json(self) -> dict:
        """JSON-able summary (without per-item predictions)."""
        return {
            "metric": self.metric,
            "value": self.value,
            "n": self.n,
            "correct": self.correct,
            "p_value": self.p_value,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "chance": self.chance,
        }


def gold_labels(
    observations: Sequence[Observation] | ObservationStore, labels: dict[str, Tendency] | None = None
) -> dict[str, Tendency]:
    """Gold tendency per observation id from ``labels``, else from ``metadata["tendency"]``."""
    gold: dict[str, Tendency] = {}
    for obs in observations:
        if labels is not None and obs.id in labels:
            gold[obs.id] = parse_tendency(labels[obs.id])
        elif "tendency" in obs.metadata:
            gold[obs.id] = parse_tendency(obs.metadata["tendency"])
    return gold


class Validator:
    """Scores a trained model on held-out observations with ``judge``.

    ``prior_weight`` is how strongly allocations act as a prior in ownership
    (``score + prior_weight * log(7 * allocation)``) and ``pooled`` whether each tendency's
    claims are pooled into one prototype; both must match the model's. When ``agents`` is an
    :class:`~.agents.AgentPool`, its calibration offsets are subtracted too (:mod:`.ownership`).
    """

    def __init__(self, judge: Judge, prior_weight: float = 0.0, pooled: bool = False):
        self.judge = judge
        self.prior_weight = prior_weight
        self.pooled = pooled

    def validate(
        self,
        test_obs: ObservationStore | Sequence[Observation],
        claims: Sequence[Claim],
        agents: AgentPool | dict[Tendency, float] | None = None,
        labels: dict[str, Tendency] | None = None,
    ) -> ValidationResult:
        """Accuracy against gold labels when any held-out observation has one, else agreement."""
        obs = list(test_obs)
        allocations = agents.allocations() if isinstance(agents, AgentPool) else agents
        offsets = agents.offsets() if isinstance(agents, AgentPool) else None
        gold = gold_labels(obs, labels)
        scored = [o for o in obs if o.id in gold] if gold else obs
        texts = [o.content for o in scored]
        predicted = predict_owners(
            self.judge, texts, claims, allocations, self.prior_weight, offsets, self.pooled
        )
        if gold:
            reference = [gold[o.id] for o in scored]
            metric = "accuracy"
        else:
            reference = self.judge.owners(texts, [], None, 0.0)
            metric = "agreement"
        n = len(scored)
        correct = sum(p == r for p, r in zip(predicted, reference, strict=True))
        lo, hi = clopper_pearson(correct, n)
        return ValidationResult(
            metric=metric,
            n=n,
            correct=correct,
            p_value=binomial_test_greater(correct, n, CHANCE) if n else 1.0,
            ci_low=lo,
            ci_high=hi,
            predictions={o.id: p for o, p in zip(scored, predicted, strict=True)},
        )
