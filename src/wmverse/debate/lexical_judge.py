"""The lexical judge: TF-IDF over hashed word stems, cosine relevance (numpy only, no model)."""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from .judges import VectorJudge

__all__ = ["LexicalJudge", "tokenize"]

_WORD = re.compile(r"[a-z]+")
_STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being below
    between both but by can could did do does doing down during each few for from further had has have having
    he her here hers herself him himself his how i if in into is it its itself just me more most my myself no
    nor not now of off on once only or other our ours ourselves out over own same she should so some such than
    that the their theirs them themselves then there these they this those through to too under until up very
    was we were what when where which while who whom why will with would you your yours yourself""".split()
)


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "ly", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def tokenize(text: str) -> list[str]:
    """Lowercase word stems without stop words."""
    return [_stem(w) for w in _WORD.findall(text.lower()) if w not in _STOPWORDS and len(w) > 2]


class LexicalJudge(VectorJudge):
    """TF-IDF over hashed word stems, cosine relevance; numpy only, no model.

    ``prepare(corpus)`` fits the inverse document frequencies (it is a no-op once fitted);
    before fitting every term has idf 1.
    """

    name = "lexical"

    def __init__(
        self,
        n_features: int = 4096,
        anchor_weight: float = 2.0,
        idf: Sequence[float] | None = None,
        descriptions: str = "seed",
    ):
        super().__init__(anchor_weight=anchor_weight, descriptions=descriptions)
        if n_features < 16:
            raise ValueError("n_features must be >= 16")
        self.n_features = int(n_features)
        self.idf = np.ones(self.n_features, dtype=np.float32)
        self.fitted = False
        if idf is not None:  # a saved, already fitted judge
            if len(idf) != self.n_features:
                raise ValueError(f"idf has {len(idf)} entries, expected n_features={self.n_features}")
            self.idf = np.asarray(idf, dtype=np.float32)
            self.fitted = True

    def _bucket(self, token: str) -> int:
        return zlib.crc32(token.encode("utf-8")) % self.n_features

    def fit(self, corpus: Sequence[str]) -> LexicalJudge:
        """Fit idf = ``log((1 + N) / (1 + df)) + 1`` on ``corpus`` and clear the cache."""
        df = np.zeros(self.n_features, dtype=np.float64)
        for text in corpus:
            for b in {self._bucket(t) for t in tokenize(text)}:
                df[b] += 1
        self.idf = (np.log((1 + len(corpus)) / (1 + df)) + 1).astype(np.float32)
        self.fitted = True
        self._cache.clear()
        self._memo.clear()
        return self

    def prepare(self, texts: Sequence[str]) -> None:
        if not self.fitted:
            self.fit(list(texts) + self.description_corpus())
        super().prepare(texts)

    def _cache_is_final(self) -> bool:
        return self.fitted

    def _encode(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.n_features), dtype=np.float32)
        for i, text in enumerate(texts):
            for tok in tokenize(text):
                out[i, self._bucket(tok)] += 1.0
        np.log1p(out, out=out)
        out *= self.idf[None, :]
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)

    def config(self) -> dict[str, Any]:
        cfg = {**super().config(), "n_features": self.n_features}
        if self.fitted:
            cfg["idf"] = [round(float(x), 5) for x in self.idf]
        return cfg
