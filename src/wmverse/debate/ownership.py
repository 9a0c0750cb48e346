"""Ownership: which tendency a text belongs to, and what training learns for deciding it.

A judge gives each text a best relevance per tendency (:meth:`~.judges.Judge.tendency_scores`).
Training can learn two things on top, both from the unlabelled training observations only:

* **calibration offsets**: a judge favours some tendencies whatever the text says (their
  descriptions sit closer to the person's everyday vocabulary), so rivals lose
  observations they should own and their allocations sink. The offset of a tendency is
  its mean score over the training observations; ownership compares ``score - offset``.
* **pooled claims**: each tendency's claims merged into one prototype (the description
  plus the mean of all their evidence), instead of the best single claim of three or four
  observations.

The allocations act as a prior: ``+ prior_weight * log(7 * allocation)``. For a judge that
does not score with vectors (the LLM judge), ownership is the judge's own
:meth:`~.judges.Judge.owners` and offsets do not apply.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from .claims import Claim
from .judges import Judge, VectorJudge, prior_logits
from .tendency import TENDENCY_ORDER, Tendency

__all__ = ["calibration_offsets", "ownership_scores", "pool_claims", "predict_owners"]


def pool_claims(claims: Sequence[Claim]) -> list[Claim]:
    """One claim per tendency holding the evidence of all its claims (tendency order;
    tendencies without claims are left out, so judges fall back to their description)."""
    out = []
    for t in TENDENCY_ORDER:
        own = [c for c in claims if c.tendency is t]
        if not own:
            continue
        evidence = tuple(e for c in own for e in (c.evidence or (c.text,)))
        out.append(
            Claim(
                id=f"{t.value}-pooled",
                tendency=t,
                text=f"{t.value.upper()}: {len(own)} claims pooled",
                support_ids=tuple(i for c in own for i in c.support_ids),
                evidence=evidence,
                direct_score=float(np.mean([c.direct_score for c in own])),
            )
        )
    return out


def calibration_offsets(judge: Judge, texts: Sequence[str], claims: Sequence[Claim]) -> np.ndarray:
    """(7,) mean score of each tendency over ``texts`` (zeros without texts or for a judge
    that is not a :class:`~.judges.VectorJudge`)."""
    if not texts or not isinstance(judge, VectorJudge):
        return np.zeros(len(TENDENCY_ORDER))
    return np.asarray(judge.tendency_scores(list(texts), claims), dtype=np.float64).mean(axis=0)


def ownership_scores(
    judge: Judge,
    texts: Sequence[str],
    claims: Sequence[Claim],
    allocations: Mapping[Tendency, float] | None = None,
    prior_weight: float = 0.0,
    offsets: Sequence[float] | np.ndarray | None = None,
) -> np.ndarray:
    """(n, 7) ``tendency_scores - offsets + prior_weight * log(7 * allocation)``."""
    scores = np.asarray(judge.tendency_scores(list(texts), claims))
    if offsets is not None:
        scores = scores - np.asarray(offsets, dtype=scores.dtype)[None, :]
    return scores + prior_logits(dict(allocations) if allocations else None, prior_weight)[None, :]


def predict_owners(
    judge: Judge,
    texts: Sequence[str],
    claims: Sequence[Claim],
    allocations: Mapping[Tendency, float] | None = None,
    prior_weight: float = 0.0,
    offsets: Sequence[float] | np.ndarray | None = None,
    pooled: bool = False,
) -> list[Tendency]:
    """The owner of each text: argmax of :func:`ownership_scores` over ``claims`` (pooled
    with :func:`pool_claims` when ``pooled``). Without offsets and pooling this equals
    ``judge.owners(texts, claims, allocations, prior_weight)``."""
    claims = pool_claims(claims) if pooled else list(claims)
    if not isinstance(judge, VectorJudge):
        return judge.owners(list(texts), claims, dict(allocations) if allocations else None, prior_weight)
    if not texts:
        return []
    scores = ownership_scores(judge, texts, claims, allocations, prior_weight, offsets)
    return [TENDENCY_ORDER[k] for k in np.argmax(scores, axis=1)]
