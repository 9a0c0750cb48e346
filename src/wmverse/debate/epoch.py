"""One training epoch of the debate, after the agents have proposed and staked.

:func:`run_epoch_step` is the whole epoch on the collected claims and stakes: resolve the
debate (claim trees, net scores, winner), reallocate toward the normalised scores within
the :class:`~.train_config.TrainConfig` bounds, measure the allocation delta, update the
convergence rule and decay the learning rate (``lr_next = lr * lr_decay``, starting at
``initial_lr``). The library :class:`~.trainer.Trainer` and the training world both run
their epochs through it, so they compute the same numbers::

    tracker = convergence_tracker(config)
    allocations, lr = dict(DEFAULT_ALLOCATIONS), config.initial_lr
    for epoch in range(1, config.max_epochs + 1):
        claims, stakes = ...  # every agent proposes, then every agent stakes
        step = run_epoch_step(claims, stakes, allocations, lr, config, tracker)
        allocations, lr = step.allocations, step.next_learning_rate
        if step.converged:
            break
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from .arena import DebateResult, settle_debate
from .claims import Claim, ClaimTree, Stake, StakeSide
from .scoring import ConvergenceTracker, next_learning_rate
from .tendency import TENDENCY_ORDER, Tendency
from .train_config import TrainConfig

__all__ = ["EpochStep", "convergence_tracker", "run_epoch_step"]


def convergence_tracker(config: TrainConfig) -> ConvergenceTracker:
    """A fresh convergence rule with ``config``'s threshold, patience and minimum epochs."""
    return ConvergenceTracker(config.convergence_threshold, config.patience, config.min_epochs)


@dataclass(frozen=True)
class EpochStep:
    """Everything one epoch decided (see :func:`run_epoch_step`)."""

    epoch: int
    """1-based number of this epoch (the convergence tracker's count after its update)."""
    learning_rate: float
    """Learning rate this epoch's reallocation used."""
    next_learning_rate: float
    """Learning rate of the next epoch: ``learning_rate * lr_decay``."""
    debate: DebateResult
    """The resolved debate: claims, trees, scores, winner (None without claims), the new
    allocations, the per-tendency changes and the number of stakes."""
    winner: Tendency
    """The debate's winner; the first tendency when nobody made a claim."""
    winning_claim: Claim | None
    """The winner's highest-scoring claim (first on ties); None when the winner has none."""
    stakes_pro: dict[Tendency, int]
    """PRO stakes each tendency placed."""
    stakes_con: dict[Tendency, int]
    """CON stakes each tendency placed."""
    n_claims: dict[Tendency, int]
    """Claims each tendency proposed."""
    delta: float
    """``sum(|new - old|)`` over the allocations, the convergence quantity."""
    converged: bool
    """True when the convergence rule says stop after this epoch."""

    @property
    def allocations(self) -> dict[Tendency, float]:
        """Allocations after reallocation (sum 1, within the bounds)."""
        return self.debate.allocations

    @property
    def allocation_changes(self) -> dict[Tendency, float]:
        """``new - old`` allocation per tendency."""
        return self.debate.allocation_changes

    @property
    def scores(self) -> dict[Tendency, float]:
        """Summed net score of each tendency's claim trees."""
        return self.debate.scores

    @property
    def claim_scores(self) -> dict[Tendency, float]:
        """:attr:`scores` as plain floats, every tendency in order."""
        return {t: float(self.debate.scores[t]) for t in TENDENCY_ORDER}

    @property
    def trees(self) -> dict[str, ClaimTree]:
        """Claim trees by claim id."""
        return self.debate.trees

    @property
    def total_stakes(self) -> int:
        """Number of stakes placed this epoch."""
        return self.debate.total_stakes

    @property
    def winning_claim_text(self) -> str:
        """Text of :attr:`winning_claim` ("" without one)."""
        return self.winning_claim.text if self.winning_claim is not None else ""


def run_epoch_step(
    claims: Sequence[Claim],
    stakes: Iterable[Stake],
    allocations: Mapping[Tendency, float],
    learning_rate: float,
    config: TrainConfig,
    tracker: ConvergenceTracker,
) -> EpochStep:
    """Run one epoch on the agents' ``claims`` and ``stakes``.

    Resolves the debate, reallocates ``allocations`` with ``learning_rate`` within
    ``[config.min_allocation, config.max_allocation]``, computes the delta, records it in
    ``tracker`` (updated in place; build it with :func:`convergence_tracker`) and decays the
    learning rate by ``config.lr_decay``. ``allocations`` itself is not modified: the caller
    stores ``step.allocations`` and ``step.next_learning_rate`` for the next epoch.
    """
    stakes = list(stakes)
    old = dict(allocations)
    result = settle_debate(claims, stakes, old, learning_rate, config.min_allocation, config.max_allocation)
    new = result.allocations
    delta = float(sum(abs(new[t] - old[t]) for t in TENDENCY_ORDER))
    converged = tracker.update(delta)
    winner = result.winner if result.winner is not None else TENDENCY_ORDER[0]
    own = [tree for tree in result.trees.values() if tree.claim.tendency is winner]
    best = max(own, key=lambda tree: tree.net_score(), default=None)
    return EpochStep(
        epoch=tracker.epoch,
        learning_rate=learning_rate,
        next_learning_rate=next_learning_rate(learning_rate, config.lr_decay),
        debate=result,
        winner=winner,
        winning_claim=best.claim if best is not None else None,
        stakes_pro={
            t: sum(1 for s in stakes if s.agent is t and s.side is StakeSide.PRO) for t in TENDENCY_ORDER
        },
        stakes_con={
            t: sum(1 for s in stakes if s.agent is t and s.side is StakeSide.CON) for t in TENDENCY_ORDER
        },
        n_claims={t: sum(1 for c in claims if c.tendency is t) for t in TENDENCY_ORDER},
        delta=delta,
        converged=converged,
    )
