"""Tendency agents: each argues that its tendency drives the person.

An agent proposes claims grounded in the training observations it believes it owns,
then stakes observations PRO on its own claims and CON on rivals'. Agents remember the
claims they saw while staking, so the next round's proposals answer the rivals' latest
positions (in the first round, every tendency is represented by its anchor sentence).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .claims import Claim, Stake, StakeSide
from .judges import Judge
from .observations import ObservationStore
from .tendency import DEFAULT_ALLOCATIONS, TENDENCY_ORDER, Tendency, parse_tendency

__all__ = ["AgentPool", "TendencyAgent", "best_per_tendency"]


def best_per_tendency(relevance: np.ndarray, claims: Sequence[Claim]) -> np.ndarray:
    """(n, 7) best relevance per tendency from an (n, c) matrix; ``-inf`` where a tendency has no claim."""
    out = np.full((relevance.shape[0], len(TENDENCY_ORDER)), -np.inf, dtype=np.float64)
    owner = np.array([c.tendency.index for c in claims], dtype=np.int64)
    for k in np.unique(owner):  # at most 7 column groups, never a loop over pairs
        out[:, k] = relevance[:, owner == k].max(axis=1)
    return out


@dataclass
class TendencyAgent:
    """One tendency's advocate.

    ``allocation`` is the share of behaviour it currently explains; ``claims`` its latest
    proposals; ``offset`` the judge's learned bias toward its tendency (subtracted from its
    scores when predicting, see :mod:`.ownership`; 0 = uncalibrated). ``n_claims`` claims of up to ``evidence_per_claim`` observations each are
    proposed per round; ``exploration`` is the Gumbel noise scale used when choosing
    evidence (0 = greedy).
    """

    tendency: Tendency
    allocation: float
    claims: list[Claim] = field(default_factory=list)
    n_claims: int = 3
    evidence_per_claim: int = 4
    exploration: float = 0.01
    rounds: int = 0
    offset: float = 0.0
    seen_claims: list[Claim] = field(default_factory=list, repr=False)

    def propose(
        self,
        train_store: ObservationStore,
        judge: Judge,
        rng: np.random.Generator,
        offsets: np.ndarray | None = None,
    ) -> list[Claim]:
        """Propose up to ``n_claims`` claims from the observations this agent owns best.

        Ownership margin = this tendency's best score minus the best rival score, where
        scores come from the claims seen in the last staking round (anchors at first),
        less the per-tendency calibration ``offsets`` when given.
        Evidence is the top margins (Gumbel-perturbed by ``rng``), grouped into coherent
        claims by greedy farthest-point seeding and
        capacity-limited nearest-seed assignment. Sets and returns ``self.claims``.
        """
        self.rounds += 1
        texts = train_store.texts
        if not texts:
            self.claims = []
            return []
        scores = np.asarray(judge.tendency_scores(texts, self.seen_claims), dtype=np.float64)
        if offsets is not None:
            scores = scores - np.asarray(offsets, dtype=np.float64)[None, :]
        i = self.tendency.index
        margin = scores[:, i] - np.delete(scores, i, axis=1).max(axis=1)
        key = margin.copy()
        if self.exploration > 0:
            key += self.exploration * rng.gumbel(size=len(key))
        m = min(len(texts), self.n_claims * self.evidence_per_claim)
        chosen = np.argsort(-key, kind="stable")[:m]
        if int((margin[chosen] > 0).sum()) >= self.evidence_per_claim:
            chosen = chosen[margin[chosen] > 0]
        n_groups = max(1, min(self.n_claims, math.ceil(len(chosen) / self.evidence_per_claim)))
        sim = np.asarray(judge.similarity([texts[j] for j in chosen], [texts[j] for j in chosen]))
        seeds = [0]
        while len(seeds) < n_groups:
            seeds.append(int(np.argmin(sim[:, seeds].max(axis=1))))
        # capacity-limited assignment, strongest evidence first (at most n_claims * evidence items)
        group = np.full(len(chosen), -1)
        group[seeds] = np.arange(len(seeds))
        room = np.full(len(seeds), self.evidence_per_claim) - np.bincount(group[seeds], minlength=len(seeds))
        for j in range(len(chosen)):
            if group[j] < 0:
                pref = np.where(room > 0, sim[j, seeds], -np.inf)
                group[j] = int(np.argmax(pref))
                room[group[j]] -= 1
        claims = []
        for g in range(len(seeds)):
            members = chosen[group == g]
            if len(members) == 0:  # a duplicated seed left this group empty
                continue
            ids = tuple(train_store[int(j)].id for j in members)
            evidence = tuple(texts[j] for j in members)
            more = f" (+{len(evidence) - 1} more)" if len(evidence) > 1 else ""
            claims.append(
                Claim(
                    id=f"{self.tendency.value}-r{self.rounds}-c{g + 1}",
                    tendency=self.tendency,
                    text=f"{self.tendency.value.upper()} ({self.tendency.description}) explains: "
                    f"{evidence[0]}{more}",
                    support_ids=ids,
                    evidence=evidence,
                    direct_score=float(margin[members].mean()),
                )
            )
        self.claims = claims
        return claims

    def stake(
        self,
        train_store: ObservationStore,
        claims: Sequence[Claim],
        judge: Judge,
        offsets: np.ndarray | None = None,
    ) -> list[Stake]:
        """Stake every observation this agent owns: PRO on its best own claim, CON on the
        strongest rival claim, both weighted by the ownership margin (best own relevance
        minus best rival relevance, each less its tendency's calibration offset when
        ``offsets`` are given). Remembers ``claims`` for the next proposal round.
        """
        self.seen_claims = list(claims)
        own_cols = np.array([c.tendency is self.tendency for c in claims], dtype=bool)
        if not own_cols.any() or own_cols.all() or len(train_store) == 0:
            return []
        rel = np.asarray(judge.relevance(train_store.texts, claims), dtype=np.float64)
        if offsets is not None:
            rel = rel - np.asarray(offsets, dtype=np.float64)[[c.tendency.index for c in claims]][None, :]
        own_rel = np.where(own_cols[None, :], rel, -np.inf)
        rival_rel = np.where(own_cols[None, :], -np.inf, rel)
        margin = own_rel.max(axis=1) - rival_rel.max(axis=1)
        owned = np.flatnonzero(margin > 0)
        pro_col = own_rel.argmax(axis=1)
        con_col = rival_rel.argmax(axis=1)
        ids = train_store.ids
        stakes = []
        for j in owned.tolist():
            w = float(margin[j])
            stakes.append(Stake(ids[j], claims[pro_col[j]].id, StakeSide.PRO, w, self.tendency))
            stakes.append(Stake(ids[j], claims[con_col[j]].id, StakeSide.CON, w, self.tendency))
        return stakes

    def reset(self) -> None:
        """Forget claims and seen claims (allocation is kept)."""
        self.claims, self.seen_claims, self.rounds = [], [], 0

    def state_dict(self) -> dict[str, Any]:
        """Everything a later round depends on, as plain values (claims as :meth:`Claim.to_json`):
        the allocation, the claims and the claims seen, the proposal settings, ``rounds`` (it names the
        next claims) and the calibration ``offset``."""
        return {
            "tendency": self.tendency.value,
            "allocation": self.allocation,
            "claims": [c.to_json() for c in self.claims],
            "seen_claims": [c.to_json() for c in self.seen_claims],
            "n_claims": self.n_claims,
            "evidence_per_claim": self.evidence_per_claim,
            "exploration": self.exploration,
            "rounds": self.rounds,
            "offset": self.offset,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Put back what :meth:`state_dict` captured (``ValueError`` if it is another tendency's)."""
        if parse_tendency(state["tendency"]) is not self.tendency:
            raise ValueError(
                f"state of the {state['tendency']} agent loaded into the {self.tendency.value} one"
            )
        self.allocation = float(state["allocation"])
        self.claims = [Claim.from_json(c) for c in state["claims"]]
        self.seen_claims = [Claim.from_json(c) for c in state["seen_claims"]]
        self.n_claims, self.evidence_per_claim = int(state["n_claims"]), int(state["evidence_per_claim"])
        self.exploration, self.rounds = float(state["exploration"]), int(state["rounds"])
        self.offset = float(state["offset"])


class AgentPool:
    """The seven tendency agents. ``pool[tendency]``, iteration in tendency order, ``all()``."""

    def __init__(self, allocations: dict[Tendency, float] | None = None, **agent_kwargs):
        allocations = dict(DEFAULT_ALLOCATIONS if allocations is None else allocations)
        missing = [t.value for t in TENDENCY_ORDER if t not in allocations]
        if missing:
            raise ValueError(f"allocations missing for: {', '.join(missing)}")
        if abs(sum(allocations.values()) - 1.0) > 1e-6:
            raise ValueError(f"allocations must sum to 1, got {sum(allocations.values()):.6f}")
        self._agents = {t: TendencyAgent(t, float(allocations[t]), **agent_kwargs) for t in TENDENCY_ORDER}

    def __getitem__(self, tendency: Tendency | str) -> TendencyAgent:
        return self._agents[parse_tendency(tendency)]

    def __iter__(self) -> Iterator[TendencyAgent]:
        return iter(self._agents.values())

    def __len__(self) -> int:
        return len(self._agents)

    def all(self) -> list[TendencyAgent]:
        """Agents in tendency order."""
        return list(self._agents.values())

    def allocations(self) -> dict[Tendency, float]:
        """Current allocations, tendency -> share."""
        return {t: a.allocation for t, a in self._agents.items()}

    def set_allocations(self, allocations: dict[Tendency, float]) -> None:
        """Overwrite every agent's allocation."""
        for t, a in self._agents.items():
            a.allocation = float(allocations[t])

    def offsets(self) -> np.ndarray:
        """(7,) the agents' calibration offsets in tendency order (zeros when uncalibrated)."""
        return np.array([a.offset for a in self._agents.values()], dtype=np.float64)

    def set_offsets(self, offsets: Sequence[float] | np.ndarray) -> None:
        """Overwrite every agent's calibration offset (tendency order)."""
        if len(offsets) != len(self._agents):
            raise ValueError(f"need {len(self._agents)} offsets, got {len(offsets)}")
        for a, v in zip(self._agents.values(), offsets, strict=True):
            a.offset = float(v)

    def claims(self) -> list[Claim]:
        """All agents' current claims, in tendency order."""
        return [c for a in self._agents.values() for c in a.claims]

    def configure(self, n_claims: int, evidence_per_claim: int, exploration: float) -> None:
        """Set the proposal settings of every agent."""
        if n_claims < 1 or evidence_per_claim < 1 or exploration < 0:
            raise ValueError("n_claims and evidence_per_claim must be >= 1, exploration >= 0")
        for a in self._agents.values():
            a.n_claims, a.evidence_per_claim, a.exploration = n_claims, evidence_per_claim, exploration
