"""The arena: resolves a round of debate into claim trees, scores, a winner and new allocations.

A round is four steps:

1. ``agent.propose(train_store, judge, rng)`` for each agent;
2. ``agent.stake(train_store, all_claims, judge)`` for each agent;
3. :meth:`Arena.resolve` builds the trees and scores;
4. :func:`~.scoring.reallocate` moves allocations toward the normalised scores.

:func:`settle_debate` is steps 3 and 4 (the agents' claims and stakes already collected);
:meth:`Arena.run_full_debate` is all four. A training epoch (steps 3 and 4 plus the
convergence check and the learning-rate decay) is :func:`~.epoch.run_epoch_step`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from .agents import AgentPool
from .claims import Claim, ClaimTree, Stake
from .judges import Judge
from .observations import ObservationStore
from .scoring import reallocate
from .tendency import TENDENCY_ORDER, Tendency

__all__ = ["Arena", "DebateResult", "settle_debate"]


@dataclass
class DebateResult:
    """Outcome of one round.

    ``scores`` is each tendency's summed net claim score; ``winner`` the highest-scoring
    tendency (None without claims). ``allocations`` / ``allocation_changes`` are filled in
    once the round's reallocation has run (empty straight out of :meth:`Arena.resolve`).
    """

    winner: Tendency | None
    claims: list[Claim]
    scores: dict[Tendency, float]
    trees: dict[str, ClaimTree] = field(default_factory=dict)
    allocations: dict[Tendency, float] = field(default_factory=dict)
    allocation_changes: dict[Tendency, float] = field(default_factory=dict)
    total_stakes: int = 0

    @property
    def winning_score(self) -> float:
        """Score of the winner (0 without one)."""
        return self.scores.get(self.winner, 0.0) if self.winner is not None else 0.0


def settle_debate(
    claims: Sequence[Claim],
    stakes: Iterable[Stake],
    allocations: Mapping[Tendency, float],
    learning_rate: float,
    min_allocation: float = 0.03,
    max_allocation: float = 0.50,
) -> DebateResult:
    """Resolve the collected claims and stakes (:meth:`Arena.resolve`) and reallocate
    ``allocations`` toward the scores; the result carries the new allocations and the
    changes ``new - old`` per tendency. ``allocations`` is not modified."""
    result = Arena.resolve(claims, stakes)
    old = dict(allocations)
    new = reallocate(old, result.scores, learning_rate, min_allocation, max_allocation)
    changes = {t: new[t] - old[t] for t in TENDENCY_ORDER}
    return replace(result, allocations=new, allocation_changes=changes)


class Arena:
    """Runs debate rounds; owns a random generator (``seed``) used when none is passed."""

    def __init__(
        self,
        judge: Judge | None = None,
        min_allocation: float = 0.03,
        max_allocation: float = 0.50,
        seed: int = 0,
    ):
        self.judge = judge
        self.min_allocation = min_allocation
        self.max_allocation = max_allocation
        self.rng = np.random.default_rng(seed)

    @staticmethod
    def resolve(claims: Sequence[Claim], stakes: Iterable[Stake]) -> DebateResult:
        """Build claim trees, sum net scores per tendency, pick the winner (ties: tendency order)."""
        stakes = list(stakes)
        trees = ClaimTree.build(claims, stakes)
        scores = {t: 0.0 for t in TENDENCY_ORDER}
        for tree in trees.values():
            scores[tree.claim.tendency] += tree.net_score()
        present = {c.tendency for c in claims}
        winner = max((t for t in TENDENCY_ORDER if t in present), key=lambda t: scores[t], default=None)
        return DebateResult(winner, list(claims), scores, trees, total_stakes=len(stakes))

    def run_full_debate(
        self,
        observations: ObservationStore,
        agents: AgentPool,
        learning_rate: float,
        judge: Judge | None = None,
        rng: np.random.Generator | None = None,
    ) -> tuple[dict[str, ClaimTree], DebateResult]:
        """Propose, stake, resolve and reallocate once; the agents keep the new state."""
        judge = judge if judge is not None else self.judge
        if judge is None:
            raise ValueError("Arena.run_full_debate needs a judge (Arena(judge=...) or judge=...)")
        rng = rng if rng is not None else self.rng
        claims = [c for agent in agents for c in agent.propose(observations, judge, rng)]
        stakes = [s for agent in agents for s in agent.stake(observations, claims, judge)]
        result = settle_debate(
            claims, stakes, agents.allocations(), learning_rate, self.min_allocation, self.max_allocation
        )
        agents.set_allocations(result.allocations)
        return result.trees, result
