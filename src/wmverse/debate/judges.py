"""Judges: who decides how relevant an observation is to a claim, and which tendency owns it.

Every judge satisfies :class:`Judge`. :class:`VectorJudge` is the base of the judges that
map texts to L2-normalised vectors, cache them, and compute relevance as ONE matrix
product ``obs (n, d) @ claims (c, d).T``; a claim's vector is the normalised blend of its
tendency's anchor sentence and the mean of its evidence vectors, so no claim text is ever
re-encoded per epoch. The concrete judges live in their own modules
(:mod:`.lexical_judge`, :mod:`.embedding_judge`, :mod:`.llm_judge`) and
:func:`~.judge_factory.make_judge` builds one by name.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterable, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from .claims import Claim
from .observations import Observation, ObservationStore
from .tendency import TENDENCY_ORDER, Tendency, description_texts

__all__ = ["N_TENDENCIES", "Judge", "VectorJudge", "as_texts", "prior_logits"]

N_TENDENCIES = len(TENDENCY_ORDER)


def as_texts(items: Iterable[Observation | str] | ObservationStore) -> list[str]:
    """Texts of observations, or the strings themselves."""
    out = []
    for it in items:
        if isinstance(it, Observation):
            out.append(it.content)
        elif isinstance(it, str):
            out.append(it)
        else:
            raise TypeError(f"expected Observation or str, got {type(it).__name__}")
    return out


def prior_logits(allocations: dict[Tendency, float] | None, weight: float) -> np.ndarray:
    """``weight * log(7 * allocation)`` per tendency (zeros when no allocations or weight 0)."""
    if not allocations or weight == 0.0:
        return np.zeros(N_TENDENCIES)
    a = np.array([max(allocations.get(t, 1.0 / N_TENDENCIES), 1e-9) for t in TENDENCY_ORDER])
    return weight * np.log(N_TENDENCIES * a)


@runtime_checkable
class Judge(Protocol):
    """Decides relevance and ownership. All methods are deterministic and batched."""

    name: str

    def prepare(self, texts: Sequence[str]) -> None:
        """See the training corpus once before use (fit vocabularies, warm caches)."""

    def similarity(self, a: Sequence[str], b: Sequence[str]) -> np.ndarray:
        """(len(a), len(b)) text-to-text similarity."""

    def relevance(self, items: Sequence[str], claims: Sequence[Claim]) -> np.ndarray:
        """(len(items), len(claims)) relevance of each text to each claim; larger = more relevant."""

    def tendency_scores(self, items: Sequence[str], claims: Sequence[Claim]) -> np.ndarray:
        """(len(items), 7) best relevance per tendency; a tendency without claims uses its anchor."""

    def owners(
        self,
        items: Sequence[str],
        claims: Sequence[Claim],
        allocations: dict[Tendency, float] | None = None,
        prior_weight: float = 0.0,
    ) -> list[Tendency]:
        """The tendency that owns each text, given the claims and (optionally) the allocations."""

    def config(self) -> dict[str, Any]:
        """JSON-able settings from which :func:`~.judge_factory.make_judge` rebuilds an equivalent judge."""


class VectorJudge:
    """Base of judges that embed texts into unit vectors (subclasses implement ``_encode``).

    ``anchor_weight`` is the weight of the tendency's anchor (its description vector) in a
    claim's vector, relative to the mean of its evidence vectors (weight 1). ``descriptions``
    says what that anchor is: ``seed``, the embedding of the tendency's anchor sentence (the
    original model), or ``exemplars``, the normalised mean of the anchor sentence and the
    tendency's generic exemplar sentences (:func:`~.tendency.description_texts`).
    """

    name = "vector"

    def __init__(self, anchor_weight: float = 2.0, descriptions: str = "seed"):
        if anchor_weight < 0:
            raise ValueError("anchor_weight must be >= 0")
        description_texts(TENDENCY_ORDER[0], descriptions)  # validates the mode
        self.anchor_weight = float(anchor_weight)
        self.descriptions = descriptions
        self._cache: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()
        # small memos of whole matrices: the debate asks for the same ones many times per epoch
        self._memo: dict[tuple, np.ndarray] = {}

    def _memoised(self, key: tuple, build) -> np.ndarray:
        hit = self._memo.get(key)
        if hit is None:
            hit = build()
            if len(self._memo) >= 32:
                self._memo.pop(next(iter(self._memo)))
            self._memo[key] = hit
        return hit

    # -- to implement -------------------------------------------------------------
    def _encode(self, texts: list[str]) -> np.ndarray:
        raise NotImplementedError("_encode(texts: list[str]) -> np.ndarray (n, d), rows L2-normalised")

    # -- embedding with a cache ---------------------------------------------------
    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """(n, d) float32 unit vectors; each distinct text is encoded once per judge."""
        texts = tuple(texts)
        missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            vecs = np.asarray(self._encode(missing), dtype=np.float32)
            with self._lock:
                for t, v in zip(missing, vecs, strict=True):
                    self._cache[t] = v
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if len(texts) < 8:
            return np.stack([self._cache[t] for t in texts])
        return self._memoised(("embed", texts), lambda: np.stack([self._cache[t] for t in texts]))

    @property
    def dim(self) -> int:
        """Vector dimension."""
        if self._cache:
            return int(next(iter(self._cache.values())).shape[0])
        return int(self.embed(["dimension probe"]).shape[1])

    def description_corpus(self) -> list[str]:
        """Every sentence that describes a tendency under this judge's ``descriptions``."""
        return [text for t in TENDENCY_ORDER for text in description_texts(t, self.descriptions)]

    def prepare(self, texts: Sequence[str]) -> None:
        """Warm the cache with the corpus and the description sentences."""
        self.embed(list(texts) + self.description_corpus())

    def anchor_matrix(self) -> np.ndarray:
        """(7, d) unit anchor vectors in :data:`TENDENCY_ORDER` (see ``descriptions``)."""
        if self.descriptions == "seed":
            return self.embed([t.anchor_text for t in TENDENCY_ORDER])
        return self._memoised(("anchors", self.descriptions), self._description_means)

    def _description_means(self) -> np.ndarray:
        rows = [self.embed(description_texts(t, self.descriptions)).mean(axis=0) for t in TENDENCY_ORDER]
        mean = np.stack(rows)
        return (mean / np.maximum(np.linalg.norm(mean, axis=1, keepdims=True), 1e-12)).astype(np.float32)

    def with_descriptions(self, descriptions: str) -> VectorJudge:
        """This judge with other ``descriptions`` (``self`` when they are the same). The copy
        shares the text-vector cache, which does not depend on the descriptions."""
        if descriptions == self.descriptions:
            return self
        description_texts(TENDENCY_ORDER[0], descriptions)
        twin = copy.copy(self)
        twin.descriptions = descriptions
        twin._memo = {}
        twin._lock = threading.Lock()
        twin._cache = self._cache if self._cache_is_final() else {}
        return twin

    def _cache_is_final(self) -> bool:
        """Whether cached vectors can no longer change (a judge that refits would clear them)."""
        return True

    def claim_matrix(self, claims: Sequence[Claim]) -> np.ndarray:
        """(c, d) unit vectors: ``normalise(anchor_weight * anchor + mean(evidence))``.

        A claim without evidence is represented by the embedding of its text. The mixing
        is one product of a (c, m) weight matrix with the (m, d) cached vectors.
        """
        if not claims:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._memoised(("claims", tuple(claims)), lambda: self._claim_matrix(claims))

    def _claim_matrix(self, claims: Sequence[Claim]) -> np.ndarray:
        texts: dict[str, int] = {}
        rows, cols, vals = [], [], []

        def col(text: str) -> int:
            return texts.setdefault(text, len(texts))

        for r, c in enumerate(claims):
            parts = list(c.evidence) or [c.text]
            for e in parts:
                rows.append(r)
                cols.append(col(e))
                vals.append(1.0 / len(parts))
            if self.anchor_weight and self.descriptions == "seed":
                rows.append(r)
                cols.append(col(c.tendency.anchor_text))
                vals.append(self.anchor_weight)
        weights = np.zeros((len(claims), len(texts)), dtype=np.float32)
        np.add.at(weights, (np.array(rows), np.array(cols)), np.array(vals, dtype=np.float32))
        mixed = weights @ self.embed(list(texts))
        if self.anchor_weight and self.descriptions != "seed":
            mixed += self.anchor_weight * self.anchor_matrix()[[c.tendency.index for c in claims]]
        return mixed / np.maximum(np.linalg.norm(mixed, axis=1, keepdims=True), 1e-12)

    # -- the Judge protocol ----------------------------------------------------------
    def similarity(self, a: Sequence[str], b: Sequence[str]) -> np.ndarray:
        return self.embed(a) @ self.embed(b).T

    def relevance(self, items: Sequence[str], claims: Sequence[Claim]) -> np.ndarray:
        return self.embed(items) @ self.claim_matrix(claims).T

    def tendency_scores(self, items: Sequence[str], claims: Sequence[Claim]) -> np.ndarray:
        # Prototypes grouped by tendency (claims, or the anchor when a tendency has none),
        # one matmul, then a segmented max over each tendency's columns.
        groups: list[list[Claim]] = [[] for _ in TENDENCY_ORDER]
        for c in claims:
            groups[c.tendency.index].append(c)
        protos: list[np.ndarray] = []
        starts: list[int] = []
        anchors = self.anchor_matrix()
        n_cols = 0
        for k, g in enumerate(groups):
            starts.append(n_cols)
            block = self.claim_matrix(g) if g else anchors[k : k + 1]
            protos.append(block)
            n_cols += len(block)
        scores = self.embed(items) @ np.concatenate(protos).T
        if scores.shape[0] == 0:
            return np.zeros((0, N_TENDENCIES), dtype=np.float32)
        return np.maximum.reduceat(scores, np.array(starts), axis=1)

    def owners(
        self,
        items: Sequence[str],
        claims: Sequence[Claim],
        allocations: dict[Tendency, float] | None = None,
        prior_weight: float = 0.0,
    ) -> list[Tendency]:
        scores = self.tendency_scores(items, claims) + prior_logits(allocations, prior_weight)[None, :]
        return [TENDENCY_ORDER[k] for k in np.argmax(scores, axis=1)]

    def config(self) -> dict[str, Any]:
        cfg: dict[str, Any] = {"name": self.name, "anchor_weight": self.anchor_weight}
        if self.descriptions != "seed":  # saved models of the original judges stay as they were
            cfg["descriptions"] = self.descriptions
        return cfg
