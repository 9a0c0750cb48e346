"""Honest held-out validation.

With gold labels (a labels mapping, or ``metadata["tendency"]`` on the observations) the
metric is **accuracy**: how often the trained model's owner equals the gold tendency.
Without labels it is **agreement**: how often the trained model's owner equals the
judge's untrained, description-only owner; this measures consistency, not correctness.
Either way the p-value is an exact one-sided binomial test against chance 1/7, with a
95% Clopper-Pearson interval. Labels are read here and nowhere in training.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from .agents import AgentPool
from .claims import Claim
from .dynamics import binomial_test_greater, clopper_pearson
from .judges import Judge
from .observations import Observation, ObservationStore
from .tendency import Tendency, parse_tendency

__all__ = ["CHANCE", "ValidationResult", "Validator", "gold_labels"]

#: Chance level of guessing one of seven tendencies.
CHANCE = 1.0 / 7.0


@dataclass
class ValidationResult:
    """One validation. ``value`` is the accuracy or agreement named by ``metric``;
    ``accuracy`` is kept as an alias of ``value`` for the seed's API (check ``metric``).
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
        """Alias of :attr:`value` (the seed reads ``.accuracy``); see :attr:`metric`."""
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
    (``score + prior_weight * log(7 * allocation)``); it must match the model's.
    """

    def __init__(self, judge: Judge, prior_weight: float = 0.0):
        self.judge = judge
        self.prior_weight = prior_weight

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
        gold = gold_labels(obs, labels)
        if gold:
            scored = [o for o in obs if o.id in gold]
            texts = [o.content for o in scored]
            predicted = self.judge.owners(texts, claims, allocations, self.prior_weight)
            reference = [gold[o.id] for o in scored]
            metric = "accuracy"
        else:
            scored = obs
            texts = [o.content for o in scored]
            predicted = self.judge.owners(texts, claims, allocations, self.prior_weight)
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
