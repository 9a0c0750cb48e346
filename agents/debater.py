"""The tendency agent's processor: a debater that proposes claims and stakes observations.

A :class:`TendencyDebater` is the model an agent of ``worlds/training`` carries. It wraps one
:class:`wmverse.debate.TendencyAgent` and answers the world's requests: :meth:`propose` (claims from the
training observations the world sent), :meth:`stake` (PRO on its own claims, CON on rivals') and
:meth:`apply_resolution` (the allocation the world settled on). As a ``torch.nn.Module`` it is a valid
unaiverse processor: ``forward(text)`` names the tendency that owns ``text`` according to the claims this
debater has seen in the last debate.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from wmverse.debate import DEFAULT_ALLOCATIONS, Claim, ObservationStore, Stake, TendencyAgent, shared_judge
from wmverse.debate.tendency import parse_tendency

__all__ = ["TendencyDebater"]


class TendencyDebater(torch.nn.Module):
    """The model of one tendency agent; deterministic given the seed and epoch the world sends."""

    def __init__(self, tendency: str):
        """``tendency``: the tendency this agent argues for ('survival', 'status', ...)."""
        super().__init__()
        self.tendency = parse_tendency(tendency)
        self.core = TendencyAgent(self.tendency, DEFAULT_ALLOCATIONS[self.tendency])
        self._judge_name = "lexical"
        self._train_texts: list[str] = []

    def _judge(self) -> Any:
        return shared_judge(self._judge_name, self._train_texts)

    def propose(
        self,
        train: ObservationStore,
        epoch: int,
        seed: int,
        judge: str,
        claims_per_agent: int,
        evidence_per_claim: int,
        exploration: float,
    ) -> list[Claim]:
        """This tendency's claims for ``epoch``; its noise comes from a generator seeded by (seed, epoch,
        tendency), so the agents' proposals do not depend on the order in which they are asked."""
        self._judge_name = judge
        self._train_texts = train.texts
        self.core.n_claims = int(claims_per_agent)
        self.core.evidence_per_claim = int(evidence_per_claim)
        self.core.exploration = float(exploration)
        rng = np.random.default_rng([int(seed), int(epoch), self.tendency.index])
        return list(self.core.propose(train, self._judge(), rng))

    def stake(self, train: ObservationStore, all_claims: Sequence[Claim]) -> list[Stake]:
        """Stakes on every claim of the epoch (PRO own, CON rivals'); remembers the claims for next epoch."""
        self._train_texts = train.texts
        return list(self.core.stake(train, list(all_claims), self._judge()))

    def apply_resolution(self, allocation: float) -> None:
        """Adopt the allocation the world computed for this tendency."""
        self.core.allocation = float(allocation)

    @property
    def allocation(self) -> float:
        """This tendency's current share."""
        return float(self.core.allocation)

    def forward(self, text: str) -> str:
        """The tendency owning ``text`` given the last claims seen (anchors before any debate)."""
        judge = self._judge() if self._train_texts else shared_judge(self._judge_name, [text])
        return judge.owners([text], self.core.seen_claims)[0].value
