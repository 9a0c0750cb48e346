"""Claims, stakes and claim trees: the debate's units of argument.

A claim is the root of a tree. Observations are staked on it PRO (by its own agent) or
CON (by rivals); its net score is ``direct + sum(pro weights) - sum(con weights)``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from .tendency import Tendency, parse_tendency

__all__ = ["Claim", "ClaimTree", "Stake", "StakeSide"]


class StakeSide(Enum):
    """Whether a stake supports (PRO) or attacks (CON) a claim."""

    PRO = "pro"
    CON = "con"


@dataclass(frozen=True)
class Claim:
    """A tendency's assertion about the person, grounded in training observations.

    ``support_ids`` are the observations the claim was built from and ``evidence`` their
    contents (so a saved claim is self-contained); ``direct_score`` is the claim's own
    strength before any stake.
    """

    id: str
    tendency: Tendency
    text: str
    support_ids: tuple[str, ...] = ()
    evidence: tuple[str, ...] = ()
    direct_score: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """A JSON-able dict; inverse of :meth:`from_json`."""
        return {
            "id": self.id,
            "tendency": self.tendency.value,
            "text": self.text,
            "support_ids": list(self.support_ids),
            "evidence": list(self.evidence),
            "direct_score": self.direct_score,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Claim:
        """Rebuild a claim written by :meth:`to_json`."""
        return cls(
            id=str(data["id"]),
            tendency=parse_tendency(data["tendency"]),
            text=str(data["text"]),
            support_ids=tuple(data.get("support_ids", ())),
            evidence=tuple(data.get("evidence", ())),
            direct_score=float(data.get("direct_score", 0.0)),
        )


@dataclass(frozen=True)
class Stake:
    """An observation staked on a claim by an agent, with a non-negative weight."""

    observation_id: str
    claim_id: str
    side: StakeSide
    weight: float
    agent: Tendency

    def __post_init__(self) -> None:
        if self.weight < 0:
            raise ValueError(f"stake weight must be >= 0, got {self.weight}")


@dataclass
class ClaimTree:
    """A claim with the PRO and CON stakes placed on it."""

    claim: Claim
    pro: list[Stake] = field(default_factory=list)
    con: list[Stake] = field(default_factory=list)

    def add(self, stake: Stake) -> None:
        """Attach ``stake``; it must target this tree's claim."""
        if stake.claim_id != self.claim.id:
            raise ValueError(f"stake on {stake.claim_id!r} added to the tree of {self.claim.id!r}")
        (self.pro if stake.side is StakeSide.PRO else self.con).append(stake)

    def net_score(self) -> float:
        """``direct + sum(pro) - sum(con)``."""
        return self.claim.direct_score + sum(s.weight for s in self.pro) - sum(s.weight for s in self.con)

    @property
    def n_stakes(self) -> int:
        """Number of stakes placed on this claim."""
        return len(self.pro) + len(self.con)

    @staticmethod
    def build(claims: Iterable[Claim], stakes: Iterable[Stake]) -> dict[str, ClaimTree]:
        """Trees keyed by claim id; a stake on an unknown claim raises ``KeyError``."""
        trees = {c.id: ClaimTree(c) for c in claims}
        for s in stakes:
            if s.claim_id not in trees:
                raise KeyError(f"stake on unknown claim {s.claim_id!r}")
            trees[s.claim_id].add(s)
        return trees
