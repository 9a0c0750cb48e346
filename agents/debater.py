"""The tendency agent's processor: a debater that proposes claims and stakes observations.

A :class:`TendencyDebater` is the model an agent of ``worlds/training`` carries. It wraps one
:class:`wmverse.debate.TendencyAgent` and answers the world's requests: :meth:`propose` (claims from the
training observations the world sent), :meth:`stake` (PRO on its own claims, CON on rivals') and
:meth:`apply_resolution` (the allocation the world settled on). As a ``torch.nn.Module`` it is a valid
unaiverse processor: ``forward(text)`` names the tendency that owns ``text`` according to the claims this
debater has seen in the last debate.

Checkpoints: :meth:`TendencyDebater.checkpoint_state` returns what the debater keeps between requests
(see there) and :meth:`TendencyDebater.restore_checkpoint_state` puts it back into a fresh debater, which
then answers the next requests exactly as the original would have. (Not ``state_dict``, whose torch
contract unaiverse relies on: see :mod:`agents.learner`.)
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

    def checkpoint_state(self) -> dict[str, Any]:
        """What the debater keeps between requests, as plain values: the agent's allocation, claims, claims
        seen at the last staking (the next proposals answer them), proposal settings, round counter
        (it names the claims) and calibration offset; the judge's name and the training texts it is
        prepared on. No generator: each proposal draws from one seeded by (seed, epoch, tendency)."""
        return {
            "version": 1,
            "tendency": self.tendency.value,
            "core": self.core.state_dict(),
            "judge": self._judge_name,
            "train_texts": list(self._train_texts),
        }

    def restore_checkpoint_state(self, state: dict[str, Any]) -> None:
        """Put back what :meth:`checkpoint_state` captured (``ValueError`` for another tendency's state)."""
        if state.get("version") != 1 or parse_tendency(state["tendency"]) is not self.tendency:
            raise ValueError(f"not a version-1 state of the {self.tendency.value} debater")
        self.core.load_state_dict(state["core"])
        self._judge_name = str(state["judge"])
        self._train_texts = [str(t) for t in state["train_texts"]]

    @property
    def allocation(self) -> float:
        """This tendency's current share."""
        return float(self.core.allocation)

    def forward(self, text: str) -> str:
        """The tendency owning ``text`` given the last claims seen (anchors before any debate)."""
        judge = self._judge() if self._train_texts else shared_judge(self._judge_name, [text])
        return judge.owners([text], self.core.seen_claims)[0].value
